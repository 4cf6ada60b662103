"""Explore: one file of the dataset as a piano roll, a note table, histograms and sound."""

import math

import streamlit as st

from musicrnn.plots.notes import note_histograms, piano_roll
from musicrnn.summaries import named_notes
from ui import nav, state
from ui.boot import through_app
from ui.score import piece_views
from ui.widgets import play

through_app()  # see ui/boot.py: deep links on a fresh server

st.title("Explore")
st.caption(
    "Look at and listen to one file of your dataset: each note is a pitch, a step (time since the previous note starts) and a duration."
)

files = state.dataset().ok_files
if not files:
    st.warning("Your dataset has no usable files yet.")
    nav.link("dataset", "Choose or upload music on the Dataset page")
    st.stop()

names = [item.name for item in files]
file_key = state.keep("explore_file", names[0])
if st.session_state[file_key] not in names:  # the dataset changed since this file was picked
    st.session_state[file_key] = names[0]
chosen = state.dataset().file(st.selectbox("File", names, key=file_key))
notes = chosen.notes

longest = max(1, math.ceil(chosen.seconds))
seconds_key = state.keep("explore_seconds", 20)
st.session_state[seconds_key] = min(st.session_state[seconds_key], longest)
seconds = st.slider("Seconds to play from the start", 1, max(2, longest), key=seconds_key)
play(state.render_audio(notes, max_seconds=float(seconds)))

piece_views(
    piano_roll(notes, title=f"{chosen.name} · {len(notes)} notes · {chosen.seconds:.0f} s"),
    notes,
    f"explore-{names.index(chosen.name)}",
    download=True,
)
st.plotly_chart(note_histograms(notes), key="explore_histograms")
st.subheader("Notes")
st.dataframe(named_notes(notes), key="explore_notes", hide_index=True, width="stretch", height=300)
