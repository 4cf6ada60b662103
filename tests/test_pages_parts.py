"""The Generate page with a parts model: an instrument per part, a roll coloured by part, every part heard."""
from __future__ import annotations

import io
from pathlib import Path

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from helpers_models import random_model
from musicrnn import bundled
from musicrnn.midi import load_paths
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
    parts = {str(PART_NAMES.index(v)): {"notes": 100, "low": low + 2, "high": high - 2, "min": low, "max": high, "program": 0}
             for v, (low, high) in RANGES.items()}
    return model_bytes(model, cfg, {"corpus": {"parts": parts, "bpm": 96.0}})


def generate_page(model_file: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:2]))
    at.run()
    at.switch_page("pages/generate.py").run()
    at.file_uploader(key="generate_model_upload").set_value(("voices.keras", model_file, "application/octet-stream")).run()
    at.radio(key="keep_generate_model").set_value(next(o for o in at.radio(key="keep_generate_model").options
                                                       if "Uploaded" in o)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_parts_model_offers_a_lineup_and_an_instrument_per_part_and_writes_those_tracks(parts_model_file):
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
    midi = pretty_midi.PrettyMIDI(io.BytesIO(_download(at)))
    programs = {inst.name: inst.program for inst in midi.instruments}
    assert programs.get("Bass voice", 43) == 43 and programs.get("Soprano", 40) == 40
    assert set(programs) == {PART_NAMES[p] for p in notes["part"].unique()}
    # Each part in its range, and each is a coloured, clickable legend entry of the roll.
    for part, group in notes.groupby("part"):
        low, high = RANGES[PART_NAMES[part]]
        assert group["pitch"].between(low, high).all()
    assert len(at.get("audio")) == 1


def _download(at: AppTest) -> bytes:
    """The generated piece's MIDI, as the page wrote it (the same call the download button was given)."""
    from musicrnn.recipe import piece_midi

    result = at.session_state["generated"]
    return piece_midi(result.pieces[0], result.recipe.for_variation(0), result.programs)


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
