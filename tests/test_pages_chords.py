"""Generate's "Follow chords" box (issue 19): chords steer each bar, are drawn on the roll, and travel with the
piece's recipe (link and MIDI); a seconds model shows the box disabled with the reason."""

from __future__ import annotations

import json

import pandas as pd

from helpers_models import random_model
from musicrnn import bundled
from musicrnn.harmony import follow_chords
from musicrnn.infer import read_model_file
from musicrnn.model import model_bytes
from musicrnn.notation import parse_chords
from musicrnn.recipe import Recipe, model_id, primer_notes
from test_pages import assert_no_exception, click, needs_default_model, open_page, small_dataset
from test_pages_explain import open_link
from ui.state import TRAINED_MODEL, TRAINED_MODEL_LABEL, ModelEntry

pytestmark = needs_default_model
C_AND_F = {0, 4, 7, 5, 9}


def generate_with_chords(chords: str, strength: float = 1.0):
    at = open_page("generate", small_dataset(2))
    at.number_input(key="keep_generate_notes").set_value(40)
    at.slider(key="keep_generate_variations").set_value(2)
    at.text_input(key="keep_generate_chords").set_value(chords).run()  # the strength slider wakes up with chords
    at.slider(key="keep_generate_chord_strength").set_value(strength).run()
    return click(at, "Generate")


def test_chords_on_generate_steer_every_note_and_are_named_on_the_roll():
    at = generate_with_chords("C:4 F:4")
    result = at.session_state["generated"]
    for notes in result.pieces:
        assert len(notes) == 40 and set(notes["pitch"] % 12) <= C_AND_F
    roll = json.loads(next(c for c in at.get("plotly_chart") if "annotations" in c.proto.spec).proto.spec)
    names = {a.get("text") for a in roll["layout"]["annotations"]}
    assert {"C", "F"} <= names
    assert result.recipe.chords == "C:4 F:4" and result.recipe.chord_strength == 1.0
    assert any("**chords**: C:4 F:4 — only chord tones" in m.value for m in at.markdown)  # in the recipe shown


def test_a_chord_pieces_link_and_midi_recipe_make_the_same_notes():
    at = generate_with_chords("Am Dm E7", strength=0.6)
    original = at.session_state["generated"]
    click(at, "Put the link in the address bar")
    params = dict(at.query_params)
    assert params["chords"] == "Am Dm E7" and float(params["chord_strength"]) == 0.6
    again = open_link(params)
    for a, b in zip(original.pieces, again.session_state["generated"].pieces):
        pd.testing.assert_frame_equal(a, b)
    assert again.text_input(key="keep_generate_chords").value == "Am Dm E7"
    # The MIDI file's recipe (what `generate --recipe piece.mid` reads) makes the same notes too.
    recipe = Recipe.from_json(original.recipe.for_variation(1).to_json())
    remade = follow_chords(
        bundled.default_model(),
        parse_chords(recipe.chords),
        recipe.chord_strength,
        primer_notes(recipe),
        recipe.sampling,
    )[recipe.variation]
    assert remade["pitch"].tolist() == original.pieces[1]["pitch"].tolist()


def test_an_unknown_chord_is_named_under_the_box_and_on_generate():
    at = open_page("generate", small_dataset(2))
    at.text_input(key="keep_generate_chords").set_value("C Hm7").run()
    assert any("unknown chord 'Hm7'" in e.value for e in at.error)
    click(at, "Generate")
    assert any(e.value.startswith("Cannot generate") and "'Hm7'" in e.value for e in at.error)
    assert "generated" not in at.session_state


def test_a_seconds_model_shows_the_chord_box_disabled_with_the_reason():
    keras_model, cfg = random_model("tutorial", seed=2)
    data = model_bytes(keras_model, cfg)
    entry = ModelEntry(TRAINED_MODEL_LABEL, "job1", read_model_file(data), data, model_id("trained", data))
    at = open_page("generate", small_dataset(2), **{TRAINED_MODEL: entry, "keep_generate_model": TRAINED_MODEL_LABEL})
    box = next(t for t in at.text_input if t.label == "Follow chords (optional)")
    assert box.disabled
    assert any("counts time in seconds" in c.value for c in at.caption)
    assert_no_exception(at)


def test_the_chord_strength_starts_at_the_default_and_a_key_that_drops_a_root_is_warned_under_the_box():
    from musicrnn.guide import DEFAULT_CHORD_STRENGTH

    at = open_page("generate", small_dataset(2))
    at.text_input(key="keep_generate_chords").set_value("C G Am F").run()
    assert at.slider(key="keep_generate_chord_strength").value == DEFAULT_CHORD_STRENGTH
    assert not at.warning
    at.selectbox(key="keep_generate_tonic").set_value("G").run()
    assert [w.value for w in at.warning] == [
        "G major has no F: the F chord will sound without its root F. Choose another key, or “any key”."
    ]
    at.number_input(key="keep_generate_notes").set_value(40).run()
    result = click(at, "Generate").session_state["generated"]  # the piece is still written, in the key
    assert result.recipe.chord_strength == DEFAULT_CHORD_STRENGTH and result.settings.key == "G:major"
    assert all(5 not in set(notes["pitch"] % 12) for notes in result.pieces)
