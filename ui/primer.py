"""Choosing the notes a generated piece starts from: a bundled piece (a chorale, or a piece of another style's
sample), a dataset file, an upload, or none."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from musicrnn import bundled
from musicrnn.midi_load import midi_to_notes
from musicrnn.midi_scan import MidiError
from musicrnn.settings import GENERATE
from musicrnn.styles import BundledModel, registry, sample_file, sample_name

from . import state
from .widgets import setting_box

BUNDLED, DATASET, UPLOAD, NONE = (
    "A bundled piece",
    "A file from my dataset",
    "A MIDI file I upload",
    "None (a C major chord)",
)
SOURCES = {
    BUNDLED: "bundled",
    DATASET: "dataset",
    UPLOAD: "uploaded",
    NONE: "none",
}  # widget choice -> recipe's primer kind
PRIMER_WIDGET = {kind: choice for choice, kind in SOURCES.items()}  # recipe's primer kind -> widget choice (links)
PRIMER_UPLOAD = "primer_upload"
PRIMER_STYLE = "generate_primer_style"  # the style whose bundled pieces are offered (kept across pages)
PRIMER_STYLE_MODEL = "generate_primer_style_model"  # the model that style was last set for
SOURCE_KEY = "generate_primer_source"  # the kept "Start from" choice
SOURCE_FOLLOWS_RUN = "generate_primer_source_follows_run"  # the dataset was chosen for a visitor's run, not by them


class Primer(NamedTuple):
    """The notes a piece starts from (None = the built-in chord) and what a recipe calls them."""

    notes: pd.DataFrame | None
    source: str  # "bundled:<file>", "dataset:<file>", "uploaded:<file>" or "none"
    count: int
    problem: str | None = None  # what is wrong with the typed primer length (nothing is generated then)


@st.cache_data(show_spinner=False, max_entries=32)
def bundled_notes(name: str) -> pd.DataFrame:
    """A bundled piece by its recipe name: "bwv269.mid" (a chorale) or "folk/tune.mid" (styles.sample_file)."""
    return midi_to_notes(sample_file(name))


def piece_key(style: BundledModel) -> str:
    """The kept choice of a style's bundled piece (the chorales keep the key links have always set)."""
    return "generate_primer_bundled" if style.name == registry().default else f"generate_primer_bundled_{style.name}"


def follow_model(style_name: str, model_label: str, own_music: bool = False) -> None:
    """Offer the chosen model's own style of bundled pieces whenever the model changes (a link sets both). A model
    the visitor trained on their dataset starts from one of their files (its music is theirs, not a chorale's);
    choosing another model then goes back to a bundled piece. A primer they chose themselves stays."""
    if st.session_state.get(PRIMER_STYLE_MODEL) == model_label:
        return
    st.session_state[PRIMER_STYLE_MODEL] = model_label
    styles = {m.name: title for title, m in state.sample_styles(with_default=True).items()}
    state.set_kept(PRIMER_STYLE, styles.get(style_name, styles.get(registry().default, "")))
    source = state.kept_value(SOURCE_KEY)
    if own_music and source in (None, BUNDLED) and state.dataset().ok_files:
        state.set_kept(SOURCE_KEY, DATASET)
        st.session_state[SOURCE_FOLLOWS_RUN] = True
    elif not own_music and st.session_state.pop(SOURCE_FOLLOWS_RUN, False) and source == DATASET:
        state.set_kept(SOURCE_KEY, BUNDLED)  # only where a run had chosen their files, not where they had


def _pick(label: str, names: list[str], key: str) -> str:
    """A selectbox whose remembered choice falls back to the first name when it is no longer offered."""
    full = state.keep(key, names[0])
    if st.session_state[full] not in names:
        st.session_state[full] = names[0]
    return st.selectbox(label, names, key=full)


def choose_primer(style_name: str | None = None, model_label: str = "", own_music: bool = False) -> Primer:
    """Primer widgets; returns the primer's notes (None for the built-in chord, or when unusable). `style_name`: the
    bundled model whose style's pieces are offered first (the chosen model's own); `own_music`: the model was
    trained on the visitor's dataset, whose files are then offered first (see follow_model)."""
    follow_model(style_name or registry().default, model_label, own_music)
    source = st.radio("Start from", list(SOURCES), key=state.keep(SOURCE_KEY, BUNDLED), horizontal=True)
    if source == NONE:
        return Primer(None, "none", 0)
    if source == BUNDLED:
        styles = state.sample_styles(with_default=True)
        style = styles[_pick("Style", list(styles), PRIMER_STYLE)]
        files = style.sample_files()
        names = [path.name for path in files]
        default = style.primer if style.primer in names else names[0]
        state.keep(piece_key(style), default)
        name = sample_name(style, style.sample / _pick("Piece", names, piece_key(style)))  # type: ignore[operator]
        notes = bundled_notes(name)
    elif source == DATASET:
        files = state.dataset().ok_files
        if not files:
            st.warning("Your dataset has no usable files; the built-in chord is used.")
            return Primer(None, "none", 0)
        name = _pick("File", [item.name for item in files], "generate_primer_file")
        notes = state.dataset().file(name).notes
    else:
        name, notes = _uploaded_primer()
        if notes is None:
            return Primer(None, "none", 0)
    # A box, not a slider: it takes any length a recipe may carry (a link shows the length that made its piece).
    count, problem = setting_box(st, GENERATE["primer_notes"])
    if problem is not None:
        return Primer(None, "none", 0, problem)
    return Primer(bundled.primer_from(notes, int(count)), f"{SOURCES[source]}:{name}", int(count))


def _uploaded_primer() -> tuple[str, pd.DataFrame | None]:
    upload = st.file_uploader("Primer MIDI file", type=["mid", "midi"], key="generate_primer_upload")
    if upload is not None:
        st.session_state[PRIMER_UPLOAD] = (upload.name, upload.getvalue())
    if PRIMER_UPLOAD not in st.session_state:
        st.info("Upload a MIDI file; until then the built-in chord is used.")
        return "", None
    name, data = st.session_state[PRIMER_UPLOAD]
    try:
        return name, uploaded_notes(name, data)
    except MidiError as exc:
        st.error(f"This file cannot be used as a primer: {exc}")
        return name, None


def uploaded_notes(name: str, data: bytes) -> pd.DataFrame:
    return midi_to_notes(data, name=name)


def uploaded_primer_file() -> tuple[str, bytes] | None:
    """The primer MIDI file this visitor uploaded, if any (name, bytes)."""
    return st.session_state.get(PRIMER_UPLOAD)
