"""The Steer page (AppTest): harmonise a typed melody, follow chords, rewrite a span and undo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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


def steer_page_with_a_dataset() -> AppTest:
    from musicrnn.midi_load import load_paths
    from ui.state import DATASET, Dataset

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.run()
    at.switch_page("pages/steer.py").run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_harmonising_a_typed_melody_shows_each_harmonisation_and_the_report_in_sentences():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 D4/1 E4/1 F4/1 G4/2").run()
    click(at, "Harmonise")
    assert [s.value for s in at.subheader][:2] == ["Harmonisation 1", "Harmonisation 2"]
    said = [m.value for m in at.markdown if m.value.startswith("*Harmonisation")]
    assert len(said) == 2 and all("in its key (Bach's chorales: 93 %)" in text for text in said)
    report = at.dataframe[0].value  # under Details
    assert "bundled chorales (mean)" in report.columns and "voices per onset" in report.index


def test_a_bad_melody_token_is_named_next_to_the_button_which_waits_for_a_fix():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 X9/1").run()
    assert any("'X9/1'" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Harmonise").disabled


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
    assert any("unknown chord 'Zm'" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Generate with these chords").disabled
    next(t for t in at.text_input if t.label == "Chords").set_value("C G Am F").run()
    click(at, "Generate with these chords")
    assert not at.error


def test_rewrite_offers_candidates_keep_one_then_undo():
    at = steer_page()
    click(at, "Rewrite")
    keep = [b for b in at.button if b.label.startswith("Keep candidate")]
    assert len(keep) == 4  # as many as asked (the slider starts at 4)
    keep[0].click().run()
    assert not at.exception
    undo = next(b for b in at.button if b.label == "Undo")
    assert not undo.disabled
    undo.click().run()
    assert next(b for b in at.button if b.label == "Undo").disabled


def test_a_dataset_files_top_voice_can_be_harmonised():
    at = steer_page_with_a_dataset()
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


def test_a_span_in_bars_is_rewritten_as_those_bars_beats():
    at = steer_page()
    next(r for r in at.radio if r.label == "Span in").set_value("bars").run()
    assert not at.exception, [e.value for e in at.exception]
    slider = next(s for s in at.slider if s.label == "Span to rewrite (bars)")
    slider.set_value((2.0, 4.0)).run()
    metre = at.session_state["steer_rewrite"].source.iloc[0]
    start, end = 2 * metre["bar_beats"] - metre["bar_beat"], 4 * metre["bar_beats"] - metre["bar_beat"]
    assert any(c.value.startswith(f"= beats {start:g}–{end:g}") for c in at.caption)
    click(at, "Rewrite")
    source = at.session_state["steer_rewrite"].source
    for candidate, _ in at.session_state["steer_rewrite"].candidates:
        notes = candidate.notes
        for outside in (lambda n: n["beat"] < start, lambda n: n["beat"] >= end):
            assert notes[outside(notes)]["pitch"].tolist() == source[outside(source)]["pitch"].tolist()
        assert notes[(notes["beat"] >= start) & (notes["beat"] < end)]["beat"].min() >= start


# --- links: a harmonisation's or rewrite's recipe makes the same notes in a new session ----------------------------


def link_params(at: AppTest, which: int = -1) -> dict[str, str]:
    """The query of a link on the page: the last by default (the candidates' or the harmonisations'; a kept
    piece's own link comes before its candidates)."""
    from urllib.parse import parse_qs, urlsplit

    url = [code.value for code in at.code if "/steer?" in code.value][which]
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def open_steer_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    at.switch_page("pages/steer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_harmonisation_link_makes_the_same_harmonisations_in_a_new_session():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("E4/1 D4/1 C4/2 G4/1 F4/1 E4/2").run()
    at.number_input(key="keep_steer_seed").set_value(6).run()
    click(at, "Harmonise")
    params = link_params(at)
    assert (
        params["kind"] == "harmonize" and params["melody"] == "E4/1 D4/1 C4/2 G4/1 F4/1 E4/2" and params["seed"] == "6"
    )
    again = open_steer_link(params)
    assert next(t for t in again.text_area if t.label == "Melody").value == params["melody"]
    assert again.number_input(key="keep_steer_seed").value == 6
    for (a, midi_a, _), (b, midi_b, _) in zip(
        at.session_state["steer_harmonies"], again.session_state["steer_harmonies"]
    ):
        pd.testing.assert_frame_equal(a, b)
        assert midi_a == midi_b  # the same instruments too


def test_a_tune_in_three_four_with_a_pickup_is_said_harmonised_in_its_bars_and_linked_with_them():
    at = steer_page()
    tune = "3/4 R/2 D4/1 G4/2 B4/0.5 G4/0.5 B4/2 A4/1 G4/2 E4/1 D4/2"
    next(t for t in at.text_area if t.label == "Melody").set_value(tune).run()
    assert any(c.value == "In 3/4, from beat 3 (a pickup)." for c in at.caption)
    click(at, "Harmonise")
    notes = at.session_state["steer_harmonies"][0][0]
    melody = notes[notes["melody"]]
    assert (notes["bar_beats"] == 3).all() and melody["bar_beat"].iloc[0] == 2 and melody["bar_beat"].iloc[1] == 0
    params = link_params(at)
    assert params["melody"] == tune
    again = open_steer_link(params)
    pd.testing.assert_frame_equal(again.session_state["steer_harmonies"][0][0], notes)


def test_a_rewrite_link_and_a_rewrite_of_a_kept_rewrite_make_the_same_candidates():
    at = steer_page()

    def candidates(app: AppTest) -> list[pd.DataFrame]:
        return [c.notes for c, _ in app.session_state["steer_rewrite"].candidates]

    click(at, "Rewrite")
    first, made_first = link_params(at), candidates(at)
    assert first["kind"] == "rewrite" and first["primer"].startswith("bundled:") and "source" not in first
    next(b for b in at.button if b.label == "Keep candidate 2").click().run()
    next(s for s in at.slider if s.label == "Span to rewrite (beats)").set_value((14.0, 18.0)).run()
    click(at, "Rewrite")
    second, made_second = link_params(at), candidates(at)
    assert second["span"] == "14.0-18.0" and "keep=1" in second["source"]  # candidate 2, counted from 0
    for params, mine in ((first, made_first), (second, made_second)):
        made = candidates(open_steer_link(params))
        assert len(made) == len(mine) == 4
        for a, b in zip(mine, made):
            pd.testing.assert_frame_equal(a, b)


def test_a_rewrite_of_a_dataset_file_says_a_link_cannot_make_it():
    at = steer_page_with_a_dataset()
    next(r for r in at.radio if r.label == "Piece").set_value("A dataset file").run()
    click(at, "Rewrite")
    assert any("a fresh app does not have" in i.value for i in at.info)
    assert not [code for code in at.code if "/steer?" in code.value]


def test_a_rewrite_of_the_chord_piece_has_a_link_that_makes_the_chord_piece_and_its_candidates_again():
    at = steer_page()
    next(t for t in at.text_input if t.label == "Chords").set_value("Dm G C").run()
    click(at, "Generate with these chords")
    next(r for r in at.radio if r.label == "Piece").set_value("The piece from Follow chords").run()
    click(at, "Rewrite")
    params = link_params(at)
    assert "chords=Dm" in params["source"]
    mine = [c.notes for c, _ in at.session_state["steer_rewrite"].candidates]
    made = [c.notes for c, _ in open_steer_link(params).session_state["steer_rewrite"].candidates]
    assert len(made) == len(mine) > 0
    for a, b in zip(mine, made):
        pd.testing.assert_frame_equal(a, b)


def test_a_harmonisation_link_opened_on_generate_points_to_the_steer_page():
    from musicrnn.generate import Sampling
    from musicrnn.recipe import Recipe, default_model_id

    params = Recipe(model=default_model_id(), kind="harmonize", melody="C4/1 D4/1", sampling=Sampling()).to_params()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(params)
    at.switch_page("pages/generate.py").run()
    assert not at.exception and "generated" not in at.session_state
    assert any("open it there" in i.value and "/steer?" in i.value for i in at.info)


def test_a_rewrite_of_a_piece_made_by_another_model_says_why_it_has_no_link():
    # The chord piece was made, then the Steer model changed: a link naming the new model could not remake it.
    import dataclasses

    at = steer_page()
    next(t for t in at.text_input if t.label == "Chords").set_value("C F G C").run()
    click(at, "Generate with these chords")
    piece, chords, audio, recipe = at.session_state["steer_chord_pieces"]
    other = dataclasses.replace(recipe, model="trained:0123456789ab")
    at.session_state["steer_chord_pieces"] = (piece, chords, audio, other)
    next(r for r in at.radio if r.label == "Piece").set_value("The piece from Follow chords").run()
    click(at, "Rewrite")
    assert at.session_state["steer_rewrite"].candidates  # the rewrite itself is made
    assert any("No link for these candidates" in i.value and "same model" in i.value for i in at.info)
    assert not [code for code in at.code if "/steer?" in code.value]


def test_a_one_chord_dataset_file_says_it_has_no_passage_to_rewrite():
    import io

    import pretty_midi

    from musicrnn.midi_load import load_one
    from ui.state import DATASET, Dataset

    pm = pretty_midi.PrettyMIDI()
    for pitch in (60, 64, 67):  # three tracks, one note each, all at once: a single chord
        track = pretty_midi.Instrument(program=0)
        track.notes.append(pretty_midi.Note(90, pitch, 0.0, 1.0))
        pm.instruments.append(track)
    data = io.BytesIO()
    pm.write(data)
    chord = load_one("chord.mid", data.getvalue())
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", [chord])
    at.run()
    at.switch_page("pages/steer.py").run()
    next(r for r in at.radio if r.label == "Piece").set_value("A dataset file").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no passage to rewrite" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Rewrite"]


def test_a_kept_rewrite_can_be_played_downloaded_and_shared(download_bytes):
    import io

    import pretty_midi

    at = steer_page()
    click(at, "Rewrite")
    next(b for b in at.button if b.label == "Keep candidate 3").click().run()
    kept = at.session_state["steer_rewrite"].history[-1]
    assert not at.session_state["steer_rewrite"].candidates
    # The piece now plays and downloads as a generated piece does: player, MIDI and WAV, and a link.
    assert len(at.get("audio")) == 1
    assert {"Download MIDI", "Download WAV"} <= {b.label for b in at.get("download_button")}
    midi = pretty_midi.PrettyMIDI(io.BytesIO(download_bytes(at, "Download MIDI")))
    assert sum(len(inst.notes) for inst in midi.instruments) == len(kept)
    params = link_params(at, 0)
    assert params["kind"] == "rewrite" and params["keep"] == "2"  # candidate 3, counted from 0
    again = open_steer_link(params)
    store = again.session_state["steer_rewrite"]
    pd.testing.assert_frame_equal(store.history[-1], kept)  # the link makes that very piece, as the piece now
    assert not store.candidates and len(again.get("audio")) == 1


def test_every_candidate_asked_for_is_shown_with_its_span_and_a_bar_around_it():
    at = steer_page()
    next(s for s in at.slider if s.label == "Candidates").set_value(6).run()
    click(at, "Rewrite")
    keep = [b for b in at.button if b.label.startswith("Keep candidate")]
    assert len(keep) == 6
    assert len(at.get("audio")) == 1 + 6  # the piece now, and each candidate's span on its own
    store = at.session_state["steer_rewrite"]
    start, end = store.span
    for candidate, audio in store.candidates:
        assert audio.seconds < 0.5 * float(candidate.notes["end"].max())  # the span and a bar around it, not the piece
    words = [m.value for m in at.markdown if m.value.startswith("**Candidate")]
    assert "fits the rest of the piece best" in words[0] and "least well" in words[-1]
    assert not any("nats" in text for text in words)


# --- issue 24: chords that are heard, the harmony's key and chromatic colour -----------------------------------


def test_the_chords_tab_starts_at_the_default_strength_and_warns_of_a_key_that_drops_a_root():
    from musicrnn.guide import DEFAULT_CHORD_STRENGTH

    at = steer_page()
    assert at.slider(key="keep_steer_strength").value == DEFAULT_CHORD_STRENGTH
    next(t for t in at.text_input if t.label == "Chords").set_value("C G Am F").run()
    assert not at.warning  # any key: nothing is dropped
    at.selectbox(key="keep_steer_chord_key").set_value("G major").run()
    assert [w.value for w in at.warning] == [
        "G major has no F: the F chord will sound without its root F. Choose another key, or “any key”."
    ]
    at.number_input(key="keep_steer_notes").set_value(40).run()
    click(at, "Generate with these chords")  # generation still works, in the key
    piece, _, _, recipe = at.session_state["steer_chord_pieces"]
    assert recipe.sampling.key == "G:major" and 5 not in set(piece["pitch"] % 12)
    # How it ended is said under it (the closing notes ask for a cadence: this one ends by the model).
    said = (
        f"Ended by the model after {len(piece)} notes."
        if piece.attrs["ended"]
        else "Stopped at 40 notes, the most allowed."
    )
    assert said in [c.value for c in at.caption]


def test_chromatic_colour_is_off_by_default_reaches_the_harmonisation_and_its_link_and_the_key_is_said():
    at = steer_page()
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 D4/1 E4/1 F4/1 E4/1 D4/1 C4/2").run()
    box = at.checkbox(key="keep_steer_chromatic")
    assert box.label == "Chromatic colour" and box.value is False and "melody's key" in box.help
    click(at, "Harmonise")
    assert not at.session_state["steer_harmony_recipe"].sampling.chromatic
    said = [m.value for m in at.markdown]
    assert "Harmonised in C major (read from the melody); the harmony keeps to its notes." in said
    at.checkbox(key="keep_steer_chromatic").check().run()
    click(at, "Harmonise")
    assert at.session_state["steer_harmony_recipe"].sampling.chromatic
    assert any(
        m.value.startswith("Harmonised in C major (read from the melody); chromatic colour") for m in at.markdown
    )
    params = link_params(at)
    assert params["chromatic"] == "True"
    again = open_steer_link(params)
    assert again.checkbox(key="keep_steer_chromatic").value is True
    assert any("chromatic colour" in m.value for m in again.markdown)


def test_a_key_chosen_for_the_harmony_is_used_said_and_linked():
    # Amazing Grace's second phrase ends on its dominant and has no upbeat: it sings G major's whole triad and
    # only D and A of D major's, so it reads G major from the melody (D major until the last note counted only
    # for a key whose triad is sung as fully as any's).
    at = steer_page()
    tune = "3/4 G4/2 B4/0.5 G4/0.5 B4/2 A4/1 D5/5"
    next(t for t in at.text_area if t.label == "Melody").set_value(tune).run()
    choice = at.selectbox(key="keep_steer_key")
    assert choice.value == "from the melody" and "G major" in choice.options and "A minor" in choice.options
    click(at, "Harmonise")
    assert "Harmonised in G major (read from the melody); the harmony keeps to its notes." in [
        m.value for m in at.markdown
    ]
    # Chosen by hand, the harmony is written in it and says so.
    at.selectbox(key="keep_steer_key").set_value("G major").run()
    click(at, "Harmonise")
    assert at.session_state["steer_harmony_recipe"].sampling.key == "G:major"
    assert "Harmonised in G major." in [m.value for m in at.markdown]
    notes = at.session_state["steer_harmonies"][0][0]
    assert set(notes.loc[~notes["melody"], "pitch"] % 12) <= {7, 9, 11, 0, 2, 4, 6}  # G major's notes only
    # and the report judges them by that key (by the key its top notes fit best, they read as 94 % in key)
    said = " ".join(m.value for m in at.markdown)
    assert said.count("100 % of the notes under the melody are in its key") == 2
    params = link_params(at)
    assert params["key"] == "G:major"
    again = open_steer_link(params)
    assert again.selectbox(key="keep_steer_key").value == "G major"
    pd.testing.assert_frame_equal(again.session_state["steer_harmonies"][0][0], notes)
