"""Steer: harmonise a melody, follow a chord progression, rewrite one passage (beats models)."""

import streamlit as st

from musicrnn.audio import gm_instruments
from musicrnn.generate import MAX_VARIATIONS, Sampling
from musicrnn.guide import CHORD_STRENGTH_HELP, CHORDS_HELP, DEFAULT_CHORD_STRENGTH, MAX_CANDIDATES, NEEDS_BEATS
from ui import state, steer
from ui.boot import through_app
from ui.generation import LENGTH_HELP
from ui.widgets import choose_model, models_or_stop

through_app()

st.title("Steer the music")
st.caption("Give the model a melody to harmonise, chords to follow, or a passage to write again.")
models = models_or_stop("No model is available: train one on the Train page or upload a .keras file on Generate.")
steer.apply_link(models)  # a shared harmonisation's or rewrite's link sets the widgets below and makes its pieces
entry = choose_model(models, "steer_model")
if not entry.model.cfg.beats:
    st.error(f"“{entry.label}” cannot be steered: {NEEDS_BEATS}.")
    st.stop()
instruments = list(gm_instruments())
seed = st.sidebar.number_input("Seed", 0, 2**31 - 1, key=state.keep("steer_seed", 0))
temperature = st.sidebar.slider("Temperature", 0.0, 2.0, step=0.05, key=state.keep("steer_temperature", 1.0))
harmonise_tab, chords_tab, rewrite_tab = st.tabs(["Harmonise a melody", "Follow chords", "Rewrite a passage"])

with harmonise_tab:
    source = st.radio("Melody from", steer.melody_sources(), key="steer_melody_source", horizontal=True)
    melody_input = steer.melody_input(source)
    left, right = st.columns(2)
    variations = left.slider("Harmonisations", 1, MAX_VARIATIONS, key=state.keep("steer_variations", 2))
    melody_instrument = right.selectbox(
        "Melody instrument", instruments, key=state.keep("steer_melody_instrument", "Flute")
    )
    harmony_instrument = right.selectbox(
        "Harmony instrument", instruments, key=state.keep("steer_harmony_instrument", "Acoustic Grand Piano")
    )
    chromatic = left.checkbox(
        "Chromatic colour",
        key=state.keep("steer_chromatic", False),
        help="Off: keep the harmony in the melody's key. On: let it borrow notes from outside the key "
        "(a secondary dominant's sharp, say).",
    )
    if st.button("Harmonise", type="primary", icon=":material/piano:"):
        settings = Sampling(
            seed=int(seed), temperature=float(temperature), variations=int(variations), chromatic=bool(chromatic)
        )
        steer.run_harmony(
            entry, melody_input, settings, instruments.index(melody_instrument), instruments.index(harmony_instrument)
        )
    steer.show_harmonies()

with chords_tab:
    chords_text = st.text_input("Chords", key=state.keep("steer_chords", "C G Am F"), help=CHORDS_HELP)
    st.caption(CHORDS_HELP)
    strength = st.slider(
        "Strength",
        0.0,
        1.0,
        step=0.05,
        key=state.keep("steer_strength", DEFAULT_CHORD_STRENGTH),
        help=CHORD_STRENGTH_HELP,
    )
    st.caption(
        "1 = only chord tones" if strength >= 1 else f"suggest: chord tones {steer.boost(strength):.0f}x likelier"
    )
    chord_key = steer.choose_chord_key(chords_text, float(strength))  # warns of chords the key leaves notes out of
    n_notes = st.number_input(
        "At most (notes)", 10, 1000, step=10, key=state.keep("steer_notes", 120), help=LENGTH_HELP
    )
    if st.button("Generate with these chords", type="primary", icon=":material/queue_music:"):
        steer.run_chords(
            entry,
            chords_text,
            float(strength),
            Sampling(n_notes=int(n_notes), seed=int(seed), temperature=float(temperature), key=chord_key),
        )
    steer.show_chords()

with rewrite_tab:
    piece = steer.rewrite_source()
    span = steer.choose_span(piece) if piece is not None else None
    if piece is not None and span is not None:
        steer.show_piece_now(piece, span)
        candidates = st.slider("Candidates", 1, MAX_CANDIDATES, 4, key="steer_candidates")
        left, right = st.columns(2)
        if left.button("Rewrite", type="primary", icon=":material/edit:"):
            steer.run_rewrite(
                entry, piece, span, int(candidates), Sampling(seed=int(seed), temperature=float(temperature))
            )
        if right.button("Undo", icon=":material/undo:", disabled=not steer.can_undo()):
            steer.undo()
            st.rerun()
        steer.show_rewrite()
