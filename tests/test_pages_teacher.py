"""What a music teacher met walking the app (issue 26), pinned page by page (AppTest): plain words on the main
path, results never shown as if made with settings they were not made with, numbers that cannot be used said in
words next to their button, and a Home page that leads everywhere."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1.element_tree import Block, Expander

from musicrnn import bundled
from test_pages import assert_no_exception, click, needs_default_model, open_page, small_dataset
from test_pages_newuser import generated_once
from test_pages_steer import steer_page

pytestmark = needs_default_model

# Words a visitor who has never heard of them should not meet outside a "Details" expander.
JARGON = re.compile(r"\bnats?\b|perplexity|bigram|unigram|top-1|cross-entropy|log-probabilit|logit|softmax", re.I)
TEXT = {"markdown", "caption", "info", "success", "warning", "error", "header", "subheader", "title"}


def main_path_text(node) -> list[str]:
    """Every text and label the page shows outside expanders (what a visitor reads without opening Details)."""
    if isinstance(node, Expander):
        return []
    if isinstance(node, Block):
        return [text for child in node.children.values() for text in main_path_text(child)]
    if node.type in TEXT:
        return [str(node.value)]
    if node.type == "metric":
        return [node.label, str(node.value)]
    label = getattr(node, "label", None)
    return [label] if isinstance(label, str) else []


def jargon_on_the_main_path(at) -> list[str]:
    return [text for text in main_path_text(at._tree) if JARGON.search(text)]


def expander(at, starts: str):
    return next(box for box in at.expander if box.label.startswith(starts))


# ---- words ---------------------------------------------------------------------------------------------------------


def test_how_it_works_reads_without_a_glossary_and_keeps_the_figures_under_details():
    at = open_page("how_it_works", small_dataset(3))
    assert jargon_on_the_main_path(at) == []
    said = next(m.value for m in at.markdown if "surprised" in m.value)
    assert "counting" in said and "as unsure as choosing among" in said
    details = expander(at, "Details: the figures")
    assert any("nats" in m.value for m in details.markdown)
    assert "perplexity" in details.dataframe[0].value.columns


def test_how_it_works_counts_the_heads_it_draws():
    from musicrnn.explain import head_order, model_layers

    model = bundled.default_model()
    heads = head_order(model)
    assert len(heads) == sum(layer.kind == "head" for layer in model_layers(model)) == 4  # the drawing's heads
    at = open_page("how_it_works", small_dataset(3))
    text = next(m.value for m in at.markdown if "heads then predict" in m.value)
    assert f"four heads then predict the next note's {', '.join(heads[:3])} and {heads[3]}" in text


def test_steer_reads_without_a_glossary_after_harmonising_and_rewriting():
    at = steer_page()
    click(at, "Harmonise")
    click(at, "Rewrite")
    assert jargon_on_the_main_path(at) == []
    assert any("nats" in c.value for c in expander(at, "Details: how the candidates").caption)


def test_the_list_of_runs_says_in_words_how_each_run_guesses(monkeypatch):
    from musicrnn.infer import read_model_file
    from ui.state import RUNS, ModelEntry

    facts = {"job": "j1", "preset": "tiny", "data": "4 files", "best_epoch": 3, "epochs_run": 4, "when": "10:00"}
    facts.update(score=2.87, bigram=3.23, val_files=["a.mid"])
    data = bundled.DEFAULT_MODEL.read_bytes()
    run = ModelEntry("tiny on 4 files #1", "tiny on 4 files #1", read_model_file(data), data, "trained:x", facts)
    at = open_page("train", small_dataset(2), **{RUNS: [run]})
    table = next(frame.value for frame in at.dataframe if "name" in frame.value.columns)
    assert table["next note, against simple counting"].tolist() == ["11 % less surprised"]
    assert jargon_on_the_main_path(at) == []


def test_home_leads_to_every_page_steer_included():
    from ui.nav import GO_FURTHER, SPECS

    assert set(GO_FURTHER) == set(SPECS) - {"home"}
    at = open_page("home")
    links = " ".join(str(link.proto) for link in at.get("page_link"))
    assert all(label in links for label in GO_FURTHER.values()) and "Steer" in links


# ---- results made with earlier settings ------------------------------------------------------------------------------


def earlier(at) -> list[str]:
    return [w.value for w in at.warning if "made with earlier settings" in w.value or "the earlier settings" in w.value]


def test_generated_pieces_say_when_the_controls_changed_since_they_were_made():
    at = generated_once()
    assert earlier(at) == []  # just made: nothing to say
    at.slider(key="keep_generate_temperature").set_value(0.5).run()
    (said,) = earlier(at)
    from musicrnn.generate import Sampling

    assert f"temperature {Sampling().temperature:g} → 0.5" in said and "Generate" in said
    click(at, "Generate")
    assert earlier(at) == []


def test_a_typed_number_out_of_range_is_said_next_to_the_button_and_nothing_is_made_with_another():
    at = generated_once()
    made = at.session_state["generated"]
    at.number_input(key="keep_generate_notes").set_value(-5).run()
    assert_no_exception(at)
    assert at.number_input(key="keep_generate_notes").value == -5  # the value on screen is the value used
    assert any("Notes (at most): -5 is not allowed" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Generate").disabled
    assert at.session_state["generated"] is made and earlier(at)  # the old pieces stay, marked as earlier
    at.number_input(key="keep_generate_notes").set_value(12).run()
    click(at, "Generate")
    assert len(at.session_state["generated"].pieces[0]) == 12 and not at.error


def test_a_melody_typo_after_harmonising_marks_the_old_harmonisations_as_made_with_the_earlier_melody():
    at = steer_page()
    click(at, "Harmonise")
    assert earlier(at) == []
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 X4/1").run()
    assert any("'X4/1'" in e.value for e in at.error)
    assert earlier(at), "the old harmonisations must not look like the typo's result"
    next(t for t in at.text_area if t.label == "Melody").set_value("C4/1 D4/1 E4/2").run()
    (said,) = earlier(at)
    assert "melody C4/1 D4/1 E4/1 F4/1" in said and "→ C4/1 D4/1 E4/2" in said


def test_chord_pieces_and_rewrite_candidates_say_when_their_settings_changed():
    at = steer_page()
    click(at, "Generate with these chords")
    click(at, "Rewrite")
    assert earlier(at) == []
    next(s for s in at.slider if s.label == "Span to rewrite (beats)").set_value((4.0, 6.0)).run()
    assert any("span beats 8–12 → beats 4–6" in w for w in earlier(at))
    next(t for t in at.text_input if t.label == "Chords").set_value("Dm G C").run()
    assert any("chords C G Am F → Dm G C" in w for w in earlier(at))


@pytest.mark.parametrize("value", [-1, 2**31])
def test_a_seed_that_cannot_be_used_disables_every_steer_button(value):
    at = steer_page()
    at.number_input(key="keep_steer_seed").set_value(value).run()
    assert_no_exception(at)
    assert any(f"Seed: {value:g} is not allowed" in e.value for e in at.error)
    for label in ("Harmonise", "Generate with these chords", "Rewrite"):
        assert next(b for b in at.button if b.label == label).disabled


# ---- the Dataset table ---------------------------------------------------------------------------------------------


def trio_sonata() -> bytes:
    """Corelli as music21 writes him: three tracks that set no program, named in Italian; one very low note."""
    import io

    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    for name, pitches in (("Violino I.", [76, 77, 79]), ("Violino II.", [72, 71, 69]), ("Violone", [11, 43, 45])):
        track = pretty_midi.Instrument(program=0, name=name)
        track.notes += [pretty_midi.Note(90, p, i * 0.5, i * 0.5 + 0.45) for i, p in enumerate(pitches)]
        pm.instruments.append(track)
    data = io.BytesIO()
    pm.write(data)
    return data.getvalue()


def test_the_dataset_table_pins_whole_file_names_and_reads_italian_track_names_and_low_notes():
    import io
    import json
    import zipfile

    from test_pages_newuser import upload

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("kuhlau/sonatina-op55-no1-allegro.mid", trio_sonata())
    at = open_page("dataset", small_dataset(2), keep_dataset_source="My own MIDI files")
    upload(at, ("realworld.zip", archive.getvalue()), ("corelli.mid", trio_sonata()))
    columns = json.loads(at.dataframe[0].proto.columns)
    name = "realworld.zip/kuhlau/sonatina-op55-no1-allegro.mid"
    assert columns["file"]["pinned"] is True and columns["file"]["width"] >= 7 * len(name)
    table = at.dataframe[0].value.set_index("file")
    assert name in table.index
    instruments = table.loc["corelli.mid", "instruments"]
    assert "Violino I. – Violin" in instruments and "Violone – Contrabass" in instruments
    assert "Piano" not in instruments
    pitch_range = next(m.value for m in at.metric if m.label == "Pitch range")
    assert pitch_range == "B−1 – G5"  # short enough for the metric: nothing cut off
    assert any("B−1 is below the piano's lowest key (A0)" in c.value for c in at.caption)


def test_a_training_setting_out_of_range_is_said_above_start_which_waits():
    at = open_page("train", small_dataset(4))
    at.radio(key="keep_train_start_from_uploaded").set_value("A new network").run()  # uploads: fine-tuning first
    at.number_input(key="keep_train_epochs").set_value(0).run()
    assert_no_exception(at)
    assert any(
        "Passes through the music (at most): 0 is not allowed (give a number from 1 to 200)" in e.value
        for e in at.error
    )
    assert next(b for b in at.button if b.label == "Start training").disabled
    at.number_input(key="keep_train_epochs").set_value(3).run()
    assert not at.error and not next(b for b in at.button if b.label == "Start training").disabled


def test_how_it_works_names_the_visitors_own_model_when_the_default_one_guesses_worse():
    from musicrnn.infer import read_model_file
    from musicrnn.midi_load import load_uploads
    from test_pages_newuser import make_midi
    from ui.state import RUNS, Dataset, ModelEntry

    riff = [72, 76, 79, 84, 79, 76] * 12  # a pattern counting learns from the other files at once
    files = [(f"riff{i}.mid", make_midi(((81, riff),), note_seconds=0.2)) for i in range(3)]
    data = bundled.DEFAULT_MODEL.read_bytes()
    run = ModelEntry("my riffs #1", "my riffs #1", read_model_file(data), data, "trained:y", {"job": "j2"})
    at = open_page("how_it_works", Dataset("uploaded", load_uploads(files)), **{RUNS: [run]})
    said = next(item.value for item in at.info if "learnt Bach chorales" in item.value)
    assert "Choose your model **my riffs #1** above" in said
    assert "my riffs #1" in at.radio(key="keep_explain_model").options  # the name it gives is a choice there
