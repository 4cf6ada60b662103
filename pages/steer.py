"""Steer: harmonise a melody, follow a chord progression, rewrite one passage (beats models)."""

import streamlit as st

from musicrnn.errors import SettingsError
from musicrnn.generate import Sampling
from musicrnn.guide import NEEDS_BEATS
from musicrnn.notation import parse_chords
from musicrnn.parts import gm_instruments, instrument_program
from musicrnn.settings import STEER, harmony_key_of
from ui import state, steer
from ui.boot import through_app
from ui.widgets import choose_model, models_or_stop, problems_at, setting_box, setting_choice, setting_slider

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
seed, seed_problem = setting_box(st.sidebar, STEER["seed"])
temperature = setting_slider(st.sidebar, STEER["temperature"])
harmonise_tab, chords_tab, rewrite_tab = st.tabs(steer.TABS, default=st.session_state.get(steer.FIRST_TAB))


def sampling(**more) -> Sampling | None:
    """The sidebar's seed and temperature (and `more`), or None while the seed cannot be used."""
    return None if seed_problem else Sampling(seed=int(seed), temperature=float(temperature), **more)


with harmonise_tab:
    source = st.radio("Melody from", steer.melody_sources(), key="steer_melody_source", horizontal=True)
    try:
        melody, melody_problem = steer.melody_input(source), None  # None: no file uploaded yet
    except SettingsError as exc:
        melody, melody_problem = None, str(exc)
    left, right = st.columns(2)
    variations = setting_slider(left, STEER["variations"])
    melody_instrument = setting_choice(right, STEER["melody_program"], instruments)
    harmony_instrument = setting_choice(right, STEER["program"], instruments)
    chromatic_setting = STEER["chromatic"]
    chromatic = left.checkbox(
        chromatic_setting.label,
        key=state.keep(chromatic_setting.key, chromatic_setting.default),
        help=chromatic_setting.help,
    )
    key_choice = setting_choice(left, STEER["key"])
    settings = sampling(variations=int(variations), chromatic=bool(chromatic), key=harmony_key_of(key_choice))
    button, message = st.columns([1, 4], vertical_alignment="center")
    wrong = problems_at(message, [seed_problem, melody_problem])
    if melody is None and melody_problem is None:
        message.caption("Upload a one-track MIDI file above first.")
    ready = melody is not None and settings is not None
    now = steer.harmony_inputs(entry, melody, settings, melody_instrument, harmony_instrument) if ready else None
    if button.button("Harmonise", type="primary", icon=":material/piano:", disabled=wrong or not ready):
        problem = steer.run_harmony(
            entry, melody, settings, instrument_program(melody_instrument), instrument_program(harmony_instrument), now
        )
        if problem:
            message.error(problem)
    steer.show_harmonies(now)

with chords_tab:
    chords_setting = STEER["chords"]
    chords_text = st.text_input(
        chords_setting.label, key=state.keep(chords_setting.key, chords_setting.default), help=chords_setting.help
    )
    st.caption(chords_setting.help)
    strength = setting_slider(st, STEER["chord_strength"])
    st.caption(
        "1 = only chord tones" if strength >= 1 else f"suggest: chord tones {steer.boost(strength):.0f}x likelier"
    )
    chord_key = steer.choose_chord_key(chords_text, float(strength))  # warns of chords the key leaves notes out of
    n_notes, notes_problem = setting_box(st, STEER["n_notes"])
    try:
        parse_chords(chords_text)
        chords_problem = None
    except SettingsError as exc:
        chords_problem = f"Chords: {exc}"
    button, message = st.columns([1, 4], vertical_alignment="center")
    wrong = problems_at(message, [seed_problem, notes_problem, chords_problem])
    settings = None if wrong else sampling(n_notes=int(n_notes), key=chord_key)
    now = steer.chord_inputs(entry, chords_text, float(strength), settings) if settings is not None else None
    if button.button("Generate with these chords", type="primary", icon=":material/queue_music:", disabled=wrong):
        problem = steer.run_chords(entry, chords_text, float(strength), settings, now)
        if problem:
            message.error(problem)
    steer.show_chords(now)

with rewrite_tab:
    piece = steer.rewrite_source()
    span = steer.choose_span(piece) if piece is not None else None
    if piece is not None and span is not None:
        steer.show_piece_now(piece, span)
        wanted = STEER["candidates"]  # not kept across pages: a plain key, its default given here
        candidates = st.slider(wanted.label, wanted.low, wanted.high, wanted.default, key=wanted.key)
        settings = sampling()
        now = steer.rewrite_inputs(entry, span, int(candidates), settings) if settings is not None else None
        left, right, message = st.columns([1, 1, 4], vertical_alignment="center")
        wrong = problems_at(message, [seed_problem])
        if left.button("Rewrite", type="primary", icon=":material/edit:", disabled=wrong):
            problem = steer.run_rewrite(entry, piece, span, int(candidates), settings, now)
            if problem:
                message.error(problem)
        if right.button("Undo", icon=":material/undo:", disabled=not steer.can_undo()):
            steer.undo()
            st.rerun()
        steer.show_rewrite(now)
