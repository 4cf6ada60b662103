"""scripts/calibrate_endings.py: the end odds stored in a model, and chosen to match its style's lengths."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from helpers_models import ROOT
from musicrnn.config import CONFIG_MEMBER, Config
from musicrnn.finetune import fine_tune_config
from musicrnn.generate import END_ODDS, end_odds
from musicrnn.infer import read_model_file
from musicrnn.styles import model_path

sys.path.insert(0, str(ROOT / "scripts"))
import calibrate_endings  # noqa: E402


@pytest.fixture
def folk_copy(tmp_path):
    path = tmp_path / "folk.keras"
    shutil.copyfile(model_path("folk"), path)
    return path


def test_write_info_adds_the_odds_and_leaves_the_weights_and_other_members_as_they_were(folk_copy):
    before = read_model_file(folk_copy)
    with zipfile.ZipFile(folk_copy) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != CONFIG_MEMBER}
    calibrate_endings.write_info(folk_copy, {"config": {"end_odds": 3.0}, "end_odds_calibration": {"pieces": 2}})
    after = read_model_file(folk_copy)
    assert end_odds(after) == 3.0 and after.info["end_odds_calibration"] == {"pieces": 2}
    assert after.cfg.replace(end_odds=0.0) == before.cfg.replace(end_odds=0.0)  # the other settings as they were
    assert {k: v for k, v in after.info.items() if k not in ("config", "end_odds_calibration")} == {
        k: v for k, v in before.info.items() if k not in ("config", "end_odds_calibration")
    }
    with zipfile.ZipFile(folk_copy) as archive:
        assert {name: archive.read(name) for name in archive.namelist() if name != CONFIG_MEMBER} == members
    for a, b in zip(before.lstms, after.lstms):
        np.testing.assert_array_equal(a.kernel, b.kernel)
    assert not folk_copy.with_suffix(".json").exists()  # no sidecar: none is made


def test_write_info_keeps_what_else_the_sidecar_holds(folk_copy):
    sidecar = folk_copy.with_suffix(".json")
    sidecar.write_text(json.dumps({"evaluation": {"model": {"pitch_cross_entropy": 1.5}}, "config": {"units": 9}}))
    calibrate_endings.write_info(folk_copy, {"config": {"end_odds": 3.0}})
    assert json.loads(sidecar.read_text()) == {
        "evaluation": {"model": {"pitch_cross_entropy": 1.5}},
        "config": {"units": 9, "end_odds": 3.0},
    }


def test_calibration_chooses_the_odds_whose_lengths_are_nearest_the_pieces(monkeypatch):
    """The ladder's odds whose continuations' median length is nearest (as a ratio) the pieces' own."""
    lengths = (400, 390, 300, 150, 120, 80, 50, 40, 30, 20, 10, 5)
    medians = dict(zip(calibrate_endings.LADDER, lengths, strict=True))
    shortest_while_measured = []

    def lengths_at(model, pieces, odds):
        shortest_while_measured.append((model.cfg.end_after, model.cfg.close_after))
        return [medians[odds]] * 3

    monkeypatch.setattr(calibrate_endings, "lengths_at", lengths_at)
    pieces = [[None] * (32 + n) for n in (130, 125, 128)]  # only their lengths are read: 128 new notes in the middle
    result = calibrate_endings.calibrate(SimpleNamespace(cfg=Config()), pieces)
    assert result["config"]["end_odds"] == 16.0  # 120 is nearer 128 than 150 is, as a ratio
    assert result["end_odds_calibration"]["pieces_median_new_notes"] == 128
    # No end before the pieces' 5th percentile of new notes (125.3), a cadence sought from their median (128), and
    # the odds measured with both in force.
    assert result["config"]["end_after"] == 125 and result["config"]["close_after"] == 128
    assert set(shortest_while_measured) == {(125, 128)}


def test_the_shortest_continuation_is_the_pieces_5th_percentile_and_never_below_the_generators_floor():
    from musicrnn.generate import MIN_NOTES_BEFORE_END

    chorales = [[None] * (32 + n) for n in range(100, 300)]
    assert calibrate_endings.shortest_new_notes(chorales) == 109  # the 5th percentile of 100..299
    tunes = [[None] * (32 + n) for n in range(10, 60)]
    assert calibrate_endings.shortest_new_notes(tunes) == MIN_NOTES_BEFORE_END  # 12 would end tunes at once


def test_the_bundled_folk_model_carries_the_odds_nearest_its_tunes_length_and_fine_tuning_keeps_them():
    """The folk model carries its calibration: of the ladder's odds, the one whose continuations are nearest the
    tunes' own length (x16 while any tonic note could end a tune, x128 since an ending needs a strong beat), and a
    visitor's model fine-tuned from it keeps its odds."""
    model = read_model_file(model_path("folk"))
    assert model.cfg.end_odds > 0  # calibrated, not the default by omission
    figures = model.info["end_odds_calibration"]
    by_odds = {float(k): v for k, v in figures["median_new_notes_by_odds"].items()}
    wanted = figures["pieces_median_new_notes"]
    nearest = min(by_odds, key=lambda odds: abs(np.log(by_odds[odds] / wanted)))
    assert end_odds(model) == nearest and nearest in (*by_odds, END_ODDS)
    assert 0.7 < by_odds[nearest] / wanted < 1.4  # its tunes about as long as the tunes
    assert fine_tune_config("folk").end_odds == model.cfg.end_odds
