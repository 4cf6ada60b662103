"""scripts/calibrate_melody.py: the melody's lean chosen to match its style's top voices, stored in the model."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers_models import ROOT
from musicrnn.bundled import DEFAULT_PRIMER, PRIMER_NOTES, bundled_model
from musicrnn.config import Config, SettingsError
from musicrnn.generate import Sampling, generate
from musicrnn.recipe import bundled_primer_notes

sys.path.insert(0, str(ROOT / "scripts"))
import calibrate_melody  # noqa: E402


def voices(top: list[int], low: list[int]) -> pd.DataFrame:
    """Two parts in step: the top one singing `top`, the other `low`, one beat a note."""
    rows = [(pitch, float(beat), 0) for beat, pitch in enumerate(top)]
    rows += [(pitch, float(beat), 3) for beat, pitch in enumerate(low)]
    return pd.DataFrame(rows, columns=["pitch", "beat", "part"])


def test_the_top_voice_is_the_highest_part_and_its_moves_are_shared_out():
    piece = voices([72, 74, 74, 79, 77], [48, 43, 45, 47, 48])
    np.testing.assert_array_equal(calibrate_melody.top_voice_moves(piece), [2, 0, 5, 2])
    assert calibrate_melody.shares([calibrate_melody.top_voice_moves(piece)]) == (0.5, 0.25, 0.25)
    assert len(calibrate_melody.top_voice_moves(piece[piece["part"] == 0])) == 0  # a tune has no top voice over others


def test_calibration_chooses_the_pair_nearest_the_pieces_top_voice(monkeypatch):
    # The piece's top voice steps on 4 of its 5 moves, repeats on none, leaps a fourth once.
    pieces = [voices([60, 62, 64, 65, 67, 72], [48] * 6)]
    measured = {}

    def continued(model, openings, step, repeat):
        measured[(step, repeat)] = len(openings)
        return (0.79, 0.02, 0.19) if (step, repeat) == (1.5, 0.5) else (0.6, 0.3, 0.1)

    monkeypatch.setattr(calibrate_melody, "continued_shares", continued)
    result = calibrate_melody.calibrate(SimpleNamespace(cfg=Config()), pieces)
    assert result["config"] == {"melody_step_pull": 1.5, "melody_repeat_push": 0.5}
    assert len(measured) == len(calibrate_melody.STEP_PULLS) * len(calibrate_melody.REPEAT_PUSHES)
    assert result["melody_calibration"]["pieces_top_voice"] == {"steps": 0.8, "repeats": 0.0, "leaps": 0.2}


def test_the_lean_is_a_setting_of_the_model_and_moves_its_melody():
    """The chorale model carries its calibrated lean; with none (the control) its soprano repeats far more."""
    model = bundled_model("chorales")
    assert model.cfg.melody_step_pull > 1.0  # calibrated: 2.5 and 1 against the chorales' sopranos
    primer = bundled_primer_notes(DEFAULT_PRIMER, PRIMER_NOTES)

    def soprano() -> tuple[float, float, float]:
        pieces = generate(model, primer, Sampling(n_notes=160, seed=5, variations=8))
        return calibrate_melody.shares([calibrate_melody.top_voice_moves(p) for p in pieces])

    calibrated = model.cfg
    steps, repeats, _ = soprano()
    model.cfg = calibrated.replace(melody_step_pull=0.0, melody_repeat_push=0.0)
    try:
        plain_steps, plain_repeats, _ = soprano()
    finally:  # the bundled model is read once for the whole test session
        model.cfg = calibrated
    assert steps > plain_steps + 0.1 and repeats < plain_repeats - 0.08, (steps, plain_steps, repeats, plain_repeats)


@pytest.mark.parametrize("value", [-1.0, float("inf")])
def test_a_lean_below_zero_or_unbounded_is_refused(value):
    with pytest.raises(SettingsError, match="melody_step_pull"):
        Config(melody_step_pull=value).validate()
