"""The training settings: one dataclass, its presets and what each setting makes a model read."""

from __future__ import annotations

import pytest

from musicrnn.config import preset


def test_a_voice_memory_models_heads_read_the_voice_right_after_the_part():
    cfg = preset("tiny", voice_memory=True)
    assert cfg.given_names("step") == ()
    assert cfg.given_names("part") == ("step",)
    assert cfg.given_names("pitch") == ("step", "part", "voice")
    assert cfg.given_names("duration") == ("step", "part", "voice", "pitch")
    assert cfg.given_inputs == ("step", "part", "voice", "pitch")
    assert preset("tiny").given_inputs == ("step", "part", "pitch")  # without it, as before
    with pytest.raises(ValueError, match="voice_memory needs"):
        preset("tiny", voice_memory=True, parts=False).validate()
