"""Issue 24's visible settings on Generate and Home (AppTest): the voice-leading switch and its effect on the
Sampling that reaches generate (carried by links), length as a cap, and how each piece ended, under its player."""

from __future__ import annotations

import pandas as pd

from helpers_models import random_model
from musicrnn.infer import read_model_file
from musicrnn.model import model_bytes
from musicrnn.recipe import model_id
from test_pages import assert_no_exception, click, needs_default_model, open_page, small_dataset
from test_pages_explain import open_link
from ui.generation import TONIC_ENDING, VOICE_LEADING
from ui.state import TRAINED_MODEL, TRAINED_MODEL_LABEL, ModelEntry

pytestmark = needs_default_model


def generate(at, voice_leading: bool | None = None, notes: int = 40):
    at.number_input(key="keep_generate_notes").set_value(notes)
    at.slider(key="keep_generate_variations").set_value(2)
    if voice_leading is not None:
        at.checkbox(key="keep_generate_voice_leading").set_value(voice_leading)
    at.run()
    return click(at, "Generate")


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_voice_leading_is_on_by_default_and_unticking_it_reaches_generate_and_the_link():
    on = generate(open_page("generate", small_dataset(2)))
    box = on.checkbox(key="keep_generate_voice_leading")
    assert box.label == VOICE_LEADING and box.value and not box.disabled
    assert "parallel fifths" in box.help and "cross" in box.help
    assert on.session_state["generated"].settings.voice_leading

    off = generate(open_page("generate", small_dataset(2)), voice_leading=False)
    result = off.session_state["generated"]
    assert not result.settings.voice_leading and not result.recipe.sampling.voice_leading
    # The rule changes what the default model (a four-voice model) writes.
    assert any(
        a["pitch"].tolist() != b["pitch"].tolist() for a, b in zip(on.session_state["generated"].pieces, result.pieces)
    )
    assert any("**voice leading**: off" in m.value for m in off.markdown)  # in the recipe shown

    click(off, "Put the link in the address bar")
    params = dict(off.query_params)
    assert params["voice_leading"] == "False"
    again = open_link(params)
    assert again.checkbox(key="keep_generate_voice_leading").value is False
    for a, b in zip(result.pieces, again.session_state["generated"].pieces):
        pd.testing.assert_frame_equal(a, b)


def generate_page_with_own_model(**overrides):
    """Generate, with a random-weight `tiny` model (the preset with `overrides`) as the visitor's trained one."""
    keras_model, cfg = random_model("tiny", seed=2, **overrides)
    data = model_bytes(keras_model, cfg)
    entry = ModelEntry(TRAINED_MODEL_LABEL, "job1", read_model_file(data), data, model_id("trained", data))
    return open_page("generate", small_dataset(2), **{TRAINED_MODEL: entry, "keep_generate_model": TRAINED_MODEL_LABEL})


def test_a_model_without_parts_shows_voice_leading_disabled_with_the_reason():
    at = generate_page_with_own_model(parts=False)
    assert at.checkbox(key="keep_generate_voice_leading").disabled
    assert any("Voice leading needs a model that writes separate parts" in c for c in captions(at))
    assert_no_exception(at)


def test_the_tonic_ending_is_on_by_default_and_reaches_generate_and_the_recipe():
    on = generate(open_page("generate", small_dataset(2)))
    box = on.checkbox(key="keep_generate_tonic_ending")
    assert box.label == TONIC_ENDING and box.value and not box.disabled and "home chord" in box.help
    assert on.session_state["generated"].settings.tonic_ending
    on.checkbox(key="keep_generate_tonic_ending").set_value(False).run()
    off = click(on, "Generate")
    assert not off.session_state["generated"].settings.tonic_ending
    assert any("**ending**: wherever the model ends it" in m.value for m in off.markdown)


def test_a_model_without_endings_shows_the_tonic_ending_disabled_with_the_reason():
    at = generate_page_with_own_model(end_class=False)
    assert at.checkbox(key="keep_generate_tonic_ending").disabled
    assert any("has not learned where pieces end" in c for c in captions(at))
    assert_no_exception(at)


def test_length_reads_as_a_cap_and_each_piece_says_how_it_ended():
    at = generate(open_page("generate", small_dataset(2)), notes=30)
    length = at.number_input(key="keep_generate_notes")
    assert length.label == "Notes (at most)" and "ends the piece itself" in length.help
    # Each piece says under its player whether it ran to the cap or the model ended it.
    pieces = at.session_state["generated"].pieces
    for notes in pieces:
        said = "Ended by the model" if notes.attrs.get("ended") else "Stopped at 30 notes, the most allowed."
        assert any(c.startswith(said) for c in captions(at)), captions(at)
    assert any("at most 30 notes" in c for c in captions(at))


def test_home_plays_a_whole_piece_up_to_its_cap_and_says_how_it_ended():
    at = click(open_page("home"), "Play a new piece")
    notes = at.session_state["home_piece"][0]
    assert len(notes) <= 400
    said = "Ended by the model" if notes.attrs.get("ended") else "Stopped at 400 notes, the most allowed."
    assert any(c.startswith(said) for c in captions(at))
