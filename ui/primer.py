"""Choosing the notes a generated piece starts from: a bundled chorale, a dataset file, an upload, or none."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from musicrnn import bundled
from musicrnn.midi import MidiError, midi_to_notes

from . import state

BUNDLED, DATASET, UPLOAD, NONE = "A bundled chorale", "A file from my dataset", "A MIDI file I upload", "None (a C major chord)"


@st.cache_data(show_spinner=False, max_entries=32)
def _bundled_notes(name: str) -> pd.DataFrame:
    return midi_to_notes(bundled.CHORALES / name)


def _pick(label: str, names: list[str], key: str) -> str:
    """A selectbox whose remembered choice falls back to the first name when it is no longer offered."""
    full = state.keep(key, names[0])
    if st.session_state[full] not in names:
        st.session_state[full] = names[0]
    return st.selectbox(label, names, key=full)


def choose_primer() -> pd.DataFrame | None:
    """Primer widgets; returns the primer's notes, or None for the built-in chord (or when unusable)."""
    source = st.radio("Start from", [BUNDLED, DATASET, UPLOAD, NONE], key=state.keep("generate_primer_source", BUNDLED), horizontal=True)
    if source == NONE:
        return None
    if source == BUNDLED:
        names = [path.name for path in bundled.chorale_files()]
        default = bundled.DEFAULT_PRIMER if bundled.DEFAULT_PRIMER in names else names[0]
        state.keep("generate_primer_bundled", default)
        notes = _bundled_notes(_pick("Chorale", names, "generate_primer_bundled"))
    elif source == DATASET:
        files = state.dataset().ok_files
        if not files:
            st.warning("Your dataset has no usable files; the built-in chord is used.")
            return None
        notes = state.dataset().file(_pick("File", [item.name for item in files], "generate_primer_file")).notes
    else:
        notes = _uploaded_primer()
        if notes is None:
            return None
    count = st.slider("Primer notes (the opening the model continues)", 1, 64, key=state.keep("generate_primer_notes", 16))
    return bundled.primer_from(notes, count)


def _uploaded_primer() -> pd.DataFrame | None:
    upload = st.file_uploader("Primer MIDI file", type=["mid", "midi"], key="generate_primer_upload")
    if upload is not None:
        st.session_state["primer_upload"] = (upload.name, upload.getvalue())
    if "primer_upload" not in st.session_state:
        st.info("Upload a MIDI file; until then the built-in chord is used.")
        return None
    name, data = st.session_state["primer_upload"]
    try:
        return midi_to_notes(data, name=name)
    except MidiError as exc:
        st.error(f"This file cannot be used as a primer: {exc}")
        return None
