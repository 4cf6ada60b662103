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


def keyboards(at: AppTest) -> list:
    return [e for e in at.get("bidi_component") if e.proto.component_name == "musicrnn_keyboard"]


def test_the_on_screen_keyboard_sits_under_the_typed_melody_only():
    at = steer_page()
    source = next(r for r in at.radio if r.label == "Melody from")
    assert source.value == "Typed or played notes"
    assert len(keyboards(at)) == 1 and keyboards(at)[0].proto.js_content.strip()  # sent inline: works offline
    source.set_value("A bundled chorale's top voice").run()
    assert not at.exception and not keyboards(at)


def test_a_key_press_appends_its_token_and_the_edits_remove_tokens():
    from ui.keyboard import BACK, CLEAR, edited

    assert edited("E4/1 D4/1", "C4/2") == "E4/1 D4/1 C4/2"
    assert edited("  ", "R/0.5") == "R/0.5"
    assert edited("E4/1 D4/1\nC4/2", BACK) == "E4/1 D4/1"
    assert edited("", BACK) == ""
    assert edited("E4/1 D4/1", CLEAR) == ""


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


def test_a_harmonisation_downloads_the_melody_as_soprano_and_alto_tenor_bass_tracks(download_bytes):
    import io

    import pretty_midi

    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 D4/1 E4/1 F4/1 G4/2").run()
    click(at, "Harmonise")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(download_bytes(at, "Download MIDI")))
    programs = {inst.name: inst.program for inst in midi.instruments}
    assert programs["Soprano"] == 73 and "Bass voice" in programs  # the melody on the flute, the page's default
    assert set(programs) <= {"Soprano", "Alto", "Tenor", "Bass voice"}
    assert {programs[name] for name in programs if name != "Soprano"} == {0}  # the harmony on the piano
    soprano = next(inst for inst in midi.instruments if inst.name == "Soprano")
    assert [n.pitch for n in soprano.notes] == [60, 62, 64, 65, 67]
