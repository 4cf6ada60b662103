"""The Generate page with a parts model: an instrument per part, a roll coloured by part, every part heard."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from helpers_models import random_model
from musicrnn import bundled
from musicrnn.midi_load import load_paths
from musicrnn.model import model_bytes
from musicrnn.parts import PART_NAMES
from ui.state import DATASET, Dataset

APP = str(Path(__file__).resolve().parents[1] / "app.py")
VOICES = ("Soprano", "Alto", "Tenor", "Bass voice")
RANGES = {"Soprano": (60, 81), "Alto": (53, 74), "Tenor": (48, 69), "Bass voice": (36, 62)}


@pytest.fixture(scope="module")
def parts_model_file() -> bytes:
    """A random-weight four-voice parts model, with the corpus facts training records about its parts."""
    model, cfg = random_model("tiny", seed=8)
    parts = {
        str(PART_NAMES.index(v)): {
            "notes": 100,
            "low": low + 2,
            "high": high - 2,
            "min": low,
            "max": high,
            "program": 0,
        }
        for v, (low, high) in RANGES.items()
    }
    return model_bytes(model, cfg, {"corpus": {"parts": parts, "bpm": 96.0}})


def generate_page(model_file: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.run()
    at.switch_page("pages/generate.py").run()
    at.file_uploader(key="generate_model_upload").set_value(
        ("voices.keras", model_file, "application/octet-stream")
    ).run()
    at.radio(key="keep_generate_model").set_value(
        next(o for o in at.radio(key="keep_generate_model").options if "Uploaded" in o)
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_parts_model_offers_a_lineup_and_an_instrument_per_part_and_writes_those_tracks(
    parts_model_file, download_bytes
):
    at = generate_page(parts_model_file)
    assert at.selectbox(key="keep_generate_lineup").value == "string quartet"
    labels = {box.label for box in at.selectbox}
    assert set(VOICES) <= labels
    assert "Instrument" not in labels  # the single instrument box would do nothing for a parts model
    at.selectbox(key=f"keep_generate_part_program_{PART_NAMES.index('Bass voice')}").set_value("Contrabass")
    at.number_input(key="keep_generate_notes").set_value(60)
    at.slider(key="keep_generate_variations").set_value(1).run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["generated"]
    notes = result.pieces[0]
    assert "part" in notes and notes["part"].nunique() > 1
    # The MIDI offered for download: one track per part, the quartet's violins and the chosen contrabass.
    assert "Download MIDI" in [b.label for b in at.get("download_button")]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(download_bytes(at, "Download MIDI")))
    programs = {inst.name: inst.program for inst in midi.instruments}
    assert programs.get("Bass voice", 43) == 43 and programs.get("Soprano", 40) == 40
    assert set(programs) == {PART_NAMES[p] for p in notes["part"].unique()}
    # Each part in its range, and each is a coloured, clickable legend entry of the roll.
    for part, group in notes.groupby("part"):
        low, high = RANGES[PART_NAMES[part]]
        assert group["pitch"].between(low, high).all()
    assert len(at.get("audio")) == 1


def test_the_piano_roll_colours_each_part_with_a_legend_entry(parts_model_file):
    from musicrnn.plots.notes import piano_roll

    at = generate_page(parts_model_file)
    at.number_input(key="keep_generate_notes").set_value(60).run()
    next(b for b in at.button if b.label == "Generate").click().run()
    notes = at.session_state["generated"].pieces[0]
    figure = piano_roll(notes, primer=at.session_state["generated"].primer)
    legend = [trace.name for trace in figure.data if trace.showlegend]
    assert sorted(legend) == sorted(PART_NAMES[p] for p in notes["part"].unique())
    assert len({trace.marker.color for trace in figure.data if trace.showlegend}) == len(legend)
    assert figure.layout.showlegend


def test_the_bundled_model_without_parts_shows_no_part_choices():
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.run()
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    from musicrnn.infer import read_model_file

    if read_model_file(bundled.DEFAULT_MODEL).has_parts:
        assert at.selectbox(key="keep_generate_lineup").value == "string quartet"
        assert "Instrument" not in [box.label for box in at.selectbox]
    else:
        assert "keep_generate_lineup" not in [box.key for box in at.selectbox]
        assert "Instrument" in [box.label for box in at.selectbox]


def default_generate_page(params: dict | None = None) -> AppTest:
    """The Generate page with the bundled (four-voice) model, opened with a link's `params` if given."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.query_params.update(params or {})
    at.switch_page("pages/generate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_range_and_a_key_per_part_steer_the_piece_its_midi_and_its_link(download_bytes):
    from musicrnn.infer import read_model_file
    from ui.generation import corpus_range, part_range_key

    model = read_model_file(bundled.DEFAULT_MODEL)
    if not model.has_parts:
        pytest.skip("the bundled model has no parts")
    facts = model.info["corpus"]["parts"]
    soprano, bass = PART_NAMES.index("Soprano"), PART_NAMES.index("Bass voice")
    range_box = f"keep_{part_range_key(soprano, corpus_range(facts[str(soprano)]))}"
    at = default_generate_page()
    assert "Per part" in [expander.label for expander in at.expander]
    at.slider(key=range_box).set_value((72, 76))
    at.selectbox(key=f"keep_generate_part_key_{bass}").set_value("A minor pentatonic")
    at.number_input(key="keep_generate_notes").set_value(60)
    at.slider(key="keep_generate_variations").set_value(1).run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["generated"]
    assert result.settings.part_pitch_ranges == "Soprano=72-76"
    assert result.settings.part_keys == "Bass voice=A:minor pentatonic"
    tracks = {
        i.name: [n.pitch for n in i.notes]
        for i in pretty_midi.PrettyMIDI(io.BytesIO(download_bytes(at, "Download MIDI"))).instruments
    }
    assert tracks["Soprano"] and all(72 <= p <= 76 for p in tracks["Soprano"])
    assert tracks["Bass voice"] and {p % 12 for p in tracks["Bass voice"]} <= {9, 0, 2, 4, 7}
    assert "range per part" in " ".join(md.value for md in at.markdown)  # the recipe shows them

    again = default_generate_page(result.recipe.to_params())  # a new visitor opens the piece's link
    pd.testing.assert_frame_equal(again.session_state["generated"].pieces[0], result.pieces[0])
    assert again.slider(key=range_box).value == (72, 76)
    assert again.selectbox(key=f"keep_generate_part_key_{bass}").value == "A minor pentatonic"
