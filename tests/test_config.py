"""The training settings: one dataclass, its presets and what each setting makes a model read."""

from __future__ import annotations

import pytest

from musicrnn.config import PRESETS, Config, preset
from musicrnn.errors import SettingsError


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


@pytest.mark.parametrize("odds", [-3.0, float("nan"), float("inf")])
def test_end_odds_that_are_no_positive_number_are_refused(odds):
    with pytest.raises(SettingsError, match="end_odds"):
        Config(end_odds=odds).validate()


def test_end_odds_default_to_zero_the_samplers_own():
    assert Config().end_odds == 0.0 and PRESETS["chorale"].end_odds == 0.0
    assert Config(end_odds=16.0).validate().end_odds == 16.0


@pytest.mark.parametrize("name", ["end_after", "close_after"])
@pytest.mark.parametrize("notes", [-1, 2.5])
def test_a_piece_length_that_is_no_whole_number_of_notes_is_refused(name, notes):
    with pytest.raises(SettingsError, match=name):
        Config(**{name: notes}).validate()
    assert getattr(Config(), name) == 0 and getattr(Config(**{name: 112}).validate(), name) == 112


def test_a_chord_order_is_up_or_down_and_down_needs_a_beats_model():
    assert Config().chord_order == "up" and preset("chorale", chord_order="down").chord_order == "down"
    with pytest.raises(SettingsError, match="chord_order must be one of up, down"):
        Config(chord_order="sideways").validate()
    with pytest.raises(SettingsError, match="needs a beats model"):
        preset("tutorial", chord_order="down")
