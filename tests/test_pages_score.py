"""The Score tab beside each piano roll (issue 27), run with AppTest: made only when opened, as many staves as
the visitor chooses, marked passages, a MusicXML download, and a seconds model's reason for having none."""

from __future__ import annotations

import base64

from streamlit.testing.v1 import AppTest

from musicrnn.score import staff_count
from test_pages import assert_no_exception, click, needs_default_model, open_page, small_dataset

pytestmark = needs_default_model


def open_score(at: AppTest, key: str) -> AppTest:
    """Switch the tabs `key` (a piece's piano roll and score) to the score, as clicking the tab does."""
    at.session_state[f"{key}_view"] = "Score"
    at.run()
    assert_no_exception(at)
    return at


def score_svgs(at: AppTest) -> list[str]:
    """The engraved scores on the page (SVG drawn as an image)."""
    prefix = "data:image/svg+xml;base64,"
    urls = [img.url for element in at.get("image") for img in element.proto.imgs]
    return [base64.b64decode(url[len(prefix) :]).decode() for url in urls if url.startswith(prefix)]


def staves_control(at: AppTest, key: str):
    return next(group for group in at.get("button_group") if group.proto.id.endswith(f"{key}_staves"))


def test_a_generated_piece_shows_its_score_only_when_the_tab_is_opened_on_the_staves_chosen():
    at = open_page("generate", small_dataset(2))
    at.number_input(key="keep_generate_notes").set_value(60)
    at.slider(key="keep_generate_variations").set_value(1)
    click(at, "Generate")
    assert [tab.label for tab in at.tabs][:2] == ["Piano roll", "Score"]
    assert not score_svgs(at)  # nothing engraved until the tab is opened
    assert "Download MusicXML" in [b.label for b in at.get("download_button")]
    key = "variation-1-seed-0"
    open_score(at, key)
    [svg] = score_svgs(at)
    assert staff_count(svg) == 2  # the chorale voices in closed score at first
    assert "primer" in svg and "new" in svg  # the notes the piece continues, marked
    at.session_state[f"{key}_staves"] = "four"
    at.run()
    assert staff_count(score_svgs(at)[0]) == 4


def test_home_shows_the_default_models_piece_as_a_score_too():
    at = open_page("home")
    click(at, "Play a new piece")
    open_score(at, "home")
    assert len(score_svgs(at)) == 1
    assert len(at.get("audio")) == 1  # the player stays under the tabs


def test_a_harmonisation_and_a_chord_piece_have_scores_and_musicxml_downloads():
    at = open_page("steer")
    next(t for t in at.text_area if t.label == "Melody").set_value("G4/1 A4/1 B4/1 G4/1 D5/2 B4/2").run()
    click(at, "Harmonise")
    open_score(at, "steer_h0")
    [svg] = score_svgs(at)
    assert staff_count(svg) == 2 and 'class="keySig"' in svg
    labels = [b.label for b in at.get("download_button") if (b.key or "").startswith("steer_h")]  # this tab's
    assert labels.count("Download MusicXML") == 2 and labels.count("Download MIDI") == 2
    click(at, "Generate with these chords")
    open_score(at, "steer_chords")
    assert any('class="harm"' in svg for svg in score_svgs(at))  # the chord names above the staff


def test_a_rewrite_candidates_score_marks_the_rewritten_span():
    at = open_page("steer")
    click(at, "Rewrite")
    at.session_state["steer_c1_score"] = True  # open the first candidate's score
    at.run()
    assert_no_exception(at)
    assert any("rewritten" in svg for svg in score_svgs(at))


def test_a_dataset_file_on_explore_has_a_score_and_a_musicxml_download():
    at = open_page("explore", small_dataset(2))
    open_score(at, "explore-0")
    assert staff_count(score_svgs(at)[0]) == 2
    assert "Download MusicXML" in [b.label for b in at.get("download_button")]


def test_a_seconds_models_piece_says_it_has_no_score_and_why():
    from helpers_models import random_model
    from musicrnn.infer import read_model_file
    from musicrnn.model import model_bytes
    from musicrnn.recipe import model_id
    from ui.state import TRAINED_MODEL, TRAINED_MODEL_LABEL, ModelEntry

    keras_model, cfg = random_model("tutorial", seed=2)
    data = model_bytes(keras_model, cfg)
    entry = ModelEntry(TRAINED_MODEL_LABEL, "job1", read_model_file(data), data, model_id("trained", data))
    at = open_page("generate", small_dataset(2), **{TRAINED_MODEL: entry, "keep_generate_model": TRAINED_MODEL_LABEL})
    at.number_input(key="keep_generate_notes").set_value(20)
    at.slider(key="keep_generate_variations").set_value(1)
    click(at, "Generate")
    button = next(b for b in at.get("download_button") if b.label == "Download MusicXML")
    assert button.proto.disabled and "counts time in seconds" in button.proto.help
    open_score(at, "variation-1-seed-0")
    assert not score_svgs(at)
    assert any("No score for this piece: this model counts time in seconds" in i.value for i in at.info)
