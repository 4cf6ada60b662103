"""Choosing the notes a generated piece starts from: a bundled chorale, a dataset file, an upload, or none."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from musicrnn import bundled
from musicrnn.midi import MidiError, midi_to_notes

from . import state

BUNDLED, DATASET, UPLOAD, NONE = (
    "A bundled chorale",
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


class Primer(NamedTuple):
    """The notes a piece starts from (None = the built-in chord) and what a recipe calls them."""

    notes: pd.DataFrame | None
    source: str  # "bundled:<file>", "dataset:<file>", "uploaded:<file>" or "none"
    count: int


@st.cache_data(show_spinner=False, max_entries=32)
def bundled_notes(name: str) -> pd.DataFrame:
    return midi_to_notes(bundled.CHORALES / name)


def _pick(label: str, names: list[str], key: str) -> str:
    """A selectbox whose remembered choice falls back to the first name when it is no longer offered."""
    full = state.keep(key, names[0])
    if st.session_state[full] not in names:
        st.session_state[full] = names[0]
    return st.selectbox(label, names, key=full)


def choose_primer() -> Primer:
    """Primer widgets; returns the primer's notes (None for the built-in chord, or when unusable)."""
    source = st.radio("Start from", list(SOURCES), key=state.keep("generate_primer_source", BUNDLED), horizontal=True)
    if source == NONE:
        return Primer(None, "none", 0)
    if source == BUNDLED:
        names = [path.name for path in bundled.chorale_files()]
        default = bundled.DEFAULT_PRIMER if bundled.DEFAULT_PRIMER in names else names[0]
        state.keep("generate_primer_bundled", default)
        name = _pick("Chorale", names, "generate_primer_bundled")
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
    count = st.slider(
        "Primer notes (the opening the model continues)",
        1,
        64,
        key=state.keep("generate_primer_notes", bundled.PRIMER_NOTES),
    )
    return Primer(bundled.primer_from(notes, count), f"{SOURCES[source]}:{name}", count)


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
