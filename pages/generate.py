"""Generate: pick a model, a primer and sampling settings; play, view and download each variation."""

import streamlit as st

from musicrnn.generate import Sampling
from musicrnn.parts import gm_instruments
from musicrnn.settings import ANY_KEY, GENERATE
from musicrnn.summaries import readable_note
from ui import generation, state
from ui.boot import through_app
from ui.errors import VISITOR_ERRORS
from ui.generation import RESULT
from ui.primer import choose_primer
from ui.widgets import (
    choose_model,
    made_with_notice,
    model_uploader,
    models_or_stop,
    number_box,
    problems_at,
    setting_box,
    setting_choice,
    setting_slider,
)

through_app()  # see ui/boot.py: deep links on a fresh server

IDENTICAL_TOP_P = 0.1  # below this the likeliest pitch alone nearly always fills the nucleus

st.title("Generate")
with st.expander("Upload a .keras model"):
    model_uploader("generate_model_upload")
models = models_or_stop(
    "No model is available: the bundled model is missing. Train one on the Train page or upload a .keras file."
)
generation.apply_link(models)  # a shared link's recipe sets the widgets below and makes its piece
entry = choose_model(models, state.GENERATE_CHOICE)
st.caption(f"{entry.name} · {entry.model.parameter_count():,} parameters · preset {entry.model.cfg.preset}")

# The chosen model's own style first; a visitor's run, their own files.
primer = choose_primer(entry.facts.get("bundled"), entry.label, own_music="job" in entry.facts)

left, middle, right = st.columns(3)
n_notes, notes_problem = setting_box(left, GENERATE["n_notes"])
temperature = setting_slider(left, GENERATE["temperature"])
top_k, top_k_problem = setting_box(left, GENERATE["top_k"])
top_p = setting_slider(middle, GENERATE["top_p"])
tonic = setting_choice(middle, GENERATE["tonic"])
scale = setting_choice(middle, GENERATE["scale"], disabled=tonic == ANY_KEY)
low, high = setting_slider(middle, GENERATE["pitch_range"])
middle.caption(f"From {readable_note(low)} to {readable_note(high)}")
instrument_key = state.keep(GENERATE["program"].key, GENERATE["program"].default)
programs = generation.choose_part_programs(entry.model, right)  # parts models: one instrument per part
# One instrument for a model without parts; a parts model's instruments are chosen per part just above.
instrument = (
    setting_choice(right, GENERATE["program"], gm_instruments())
    if programs is None
    else st.session_state[instrument_key]
)
part_ranges, part_keys = generation.choose_part_steering(entry.model)  # parts models: a range and key per part
voice_leading = generation.choose_voice_leading(entry.model, right)  # parts models: no parallels, no crossing
tonic_ending = generation.choose_tonic_ending(entry.model, right)  # models that learned endings
seed, seed_problem = setting_box(right, GENERATE["seed"])
variations = setting_slider(right, GENERATE["variations"])
# What the controls this model does not use stay at: Sampling's own defaults.
rhythm_temperature, bpm, chord_snap, step_grid = (
    Sampling.rhythm_temperature,
    Sampling.bpm,
    Sampling.chord_snap,
    Sampling.step_grid,
)
bpm_problem = None
if entry.model.cfg.beats:
    rhythm_temperature = setting_slider(left, GENERATE["rhythm_temperature"])
    bpm, bpm_problem = setting_box(right, GENERATE["bpm"])
else:
    with st.expander("Timing (this model predicts seconds, not beats)"):
        chord_snap = setting_slider(st, GENERATE["chord_snap"])
        grid = GENERATE["step_grid"]
        step_grid = st.select_slider(
            grid.label, list(grid.options), key=state.keep(grid.key, grid.default), help=grid.help
        )
        tempo = GENERATE["bpm"]
        bpm, bpm_problem = number_box(
            st,
            "Tempo written in the file (BPM, 0 = the primer's)",
            tempo.low,  # type: ignore[arg-type]
            tempo.high,  # type: ignore[arg-type]
            step=tempo.step or 1,
            key=state.keep(tempo.key, tempo.default),
        )

key = None if tonic == ANY_KEY else f"{tonic}:{scale}"
chords, chord_strength = generation.choose_chords(entry.model, key)  # beats models: each bar steered to its chord

if variations > 1 and (temperature == 0 or top_k == 1 or top_p <= IDENTICAL_TOP_P):
    why = "temperature 0" if temperature == 0 else "top-k 1" if top_k == 1 else f"top-p {top_p:g}"
    rhythm_differs = entry.model.cfg.beats and rhythm_temperature > 0
    right.caption(
        f":material/info: With {why} every variation takes the likeliest pitch each time, so "
        + ("they share their pitches and differ only in rhythm" if rhythm_differs else "they come out the same")
        + ": raise it for different variations."
    )

button, message = st.columns([1, 4], vertical_alignment="center")
wrong = problems_at(message, [primer.problem, notes_problem, top_k_problem, seed_problem, bpm_problem])
settings = (
    None
    if wrong
    else Sampling(
        n_notes=int(n_notes),
        temperature=float(temperature),
        top_k=int(top_k),
        top_p=float(top_p),
        key=key,
        pitch_low=int(low),
        pitch_high=int(high),
        seed=int(seed),
        variations=int(variations),
        chord_snap=float(chord_snap),
        step_grid=float(step_grid),
        rhythm_temperature=float(rhythm_temperature),
        bpm=float(bpm),
        part_pitch_ranges=part_ranges,
        part_keys=part_keys,
        voice_leading=voice_leading,
        tonic_ending=tonic_ending,
    )
)
program = gm_instruments()[instrument]
if button.button("Generate", type="primary", icon=":material/music_note:", disabled=wrong) and settings is not None:
    generation.forget_link()
    try:
        with st.spinner("Writing music…"):
            st.session_state[RESULT] = generation.run(
                entry, primer, settings, program, programs, chords, chord_strength
            )
    except VISITOR_ERRORS as exc:
        message.error(f"Cannot generate with these settings: {exc}")

# Results live in session state, so touching a widget or switching pages does not regenerate or lose them.
if RESULT in st.session_state:
    result = st.session_state[RESULT]
    now = (
        generation.made_with(entry, primer, settings, program, programs, chords, chord_strength)
        if settings is not None
        else None
    )
    made_with_notice(result.made_with, now, "The pieces below", "Generate")
    generation.show_results(result, models)
