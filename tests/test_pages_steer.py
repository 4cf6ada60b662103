"""The Steer page (AppTest): harmonise a typed melody, follow chords, rewrite a span and undo."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from musicrnn import bundled

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
pytestmark = pytest.mark.skipif(not bundled.DEFAULT_MODEL.exists(), reason="the bundled model is not built yet")


def steer_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/steer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_harmonising_a_typed_melody_shows_each_harmonisation_and_the_report():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 D4/1 E4/1 F4/1 G4/2").run()
    click(at, "Harmonise")
    assert [s.value for s in at.subheader][:2] == ["Harmonisation 1", "Harmonisation 2"]
    report = at.dataframe[0].value
    assert "bundled chorales (mean)" in report.columns and "voices per onset" in report.index


def test_a_bad_melody_token_is_named_on_the_page():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 X9/1").run()
    click(at, "Harmonise")
    assert any("'X9/1'" in e.value for e in at.error)


def test_an_unknown_chord_is_named_and_good_chords_draw_a_roll():
    at = steer_page()
    next(t for t in at.text_input if t.label == "Chords").set_value("C Zm").run()
    click(at, "Generate with these chords")
    assert any("unknown chord 'Zm'" in e.value for e in at.error)
    next(t for t in at.text_input if t.label == "Chords").set_value("C G Am F").run()
    click(at, "Generate with these chords")
    assert not at.error


def test_rewrite_offers_candidates_keep_one_then_undo():
    at = steer_page()
    click(at, "Rewrite")
    keep = [b for b in at.button if b.label.startswith("Keep candidate")]
    assert len(keep) == 3
    keep[0].click().run()
    assert not at.exception
    undo = next(b for b in at.button if b.label == "Undo")
    assert not undo.disabled
    undo.click().run()
    assert next(b for b in at.button if b.label == "Undo").disabled


def test_a_dataset_files_top_voice_can_be_harmonised():
    from musicrnn.midi import load_paths
    from ui.state import DATASET, Dataset

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.run()
    at.switch_page("pages/steer.py").run()
    next(r for r in at.radio if r.label == "Melody from").set_value("A dataset file's top voice").run()
    assert not at.exception, [e.value for e in at.exception]
    click(at, "Harmonise")
    assert "Harmonisation 1" in [s.value for s in at.subheader]


def test_a_kept_model_choice_that_is_gone_falls_back_to_the_first_model():
    # A run forgotten on the Train page leaves its name as the kept choice; the page must still open on a model.
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["keep_steer_model"] = "a forgotten run"
    at.run()
    at.switch_page("pages/steer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="keep_steer_model").value == at.radio(key="keep_steer_model").options[0]


def test_a_span_in_bars_is_rewritten_as_those_bars_beats():
    at = steer_page()
    next(r for r in at.radio if r.label == "Span in").set_value("bars").run()
    assert not at.exception, [e.value for e in at.exception]
    slider = next(s for s in at.slider if s.label == "Span to rewrite (bars)")
    slider.set_value((2.0, 4.0)).run()
    metre = at.session_state["steer_rewrite"]["source"].iloc[0]
    start, end = 2 * metre["bar_beats"] - metre["bar_beat"], 4 * metre["bar_beats"] - metre["bar_beat"]
    assert any(c.value.startswith(f"= beats {start:g}–{end:g}") for c in at.caption)
    click(at, "Rewrite")
    source = at.session_state["steer_rewrite"]["source"]
    for candidate, _ in at.session_state["steer_rewrite"]["candidates"]:
        notes = candidate.notes
        for outside in (lambda n: n["beat"] < start, lambda n: n["beat"] >= end):
            assert notes[outside(notes)]["pitch"].tolist() == source[outside(source)]["pitch"].tolist()
        assert notes[(notes["beat"] >= start) & (notes["beat"] < end)]["beat"].min() >= start
