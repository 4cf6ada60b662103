"""Home: what the app does, and one button that plays the default model's music straight away."""

import secrets

import streamlit as st

from ui import nav, state
from ui.boot import through_app

# The core and the plotting code are imported only once they are needed, so a first visitor sees this page
# before pandas and the core have loaded (app.py warms them up in the background meanwhile).

through_app()  # see ui/boot.py: deep links on a fresh server

PIECE = "home_piece"

st.title("musicrnn")
st.markdown(
    "musicrnn is a small recurrent neural network (an LSTM) that learns music one note at a time: "
    "each note's pitch, when it starts after the previous one, and how long it lasts. "
    "Train it on the bundled Bach chorales or on your own MIDI files, then let it write new pieces you can play and download."
)

if st.button("Generate with the default model", type="primary", icon=":material/play_arrow:"):
    from musicrnn.generate import Sampling, generate
    from musicrnn.infer import ModelFileError

    try:
        seed = secrets.randbelow(10_000)
        notes = generate(
            state.default_model(),
            state.cached_chorale_opening(),
            Sampling(n_notes=80, seed=seed, pitch_low=36, pitch_high=84),
        )[0]
        st.session_state[PIECE] = (notes, state.render_piece(notes), seed)
    except (ModelFileError, ValueError) as exc:
        st.error(f"The default model could not play: {exc}")

if PIECE in st.session_state:
    from ui.widgets import show_piece

    notes, audio, seed = st.session_state[PIECE]
    st.caption(f"{len(notes)} new notes after the opening of a Bach chorale · seed {seed}")
    show_piece(notes, audio, key="home", downloads=False, autoplay=True)

st.subheader("Go further")
for name, label in nav.GO_FURTHER.items():
    nav.link(name, label)
