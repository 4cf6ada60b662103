"""Generate: pick a model, a primer and sampling settings; play, view and download each variation."""

import streamlit as st

from musicrnn.generate import MAX_NOTES, MAX_VARIATIONS, Sampling
from musicrnn.parts import gm_instruments
from musicrnn.summaries import readable_note
from musicrnn.theory import NOTE_NAMES, SCALES
from ui import generation, state
from ui.boot import through_app
from ui.generation import ANY_KEY, LENGTH_HELP, NOTES_LABEL, RESULT
from ui.primer import choose_primer
from ui.widgets import choose_model, made_with_notice, model_uploader, models_or_stop, number_box, problems_at

through_app()  # see ui/boot.py: deep links on a fresh server

IDENTICAL_TOP_P = 0.1  # below this the likeliest pitch alone nearly always fills the nucleus

st.title("Generate")
with st.expander("Upload a .keras model"):
    model_uploader("generate_model_upload")
models = models_or_stop(
    "No model is available: the bundled model is missing. Train one on the Train page or upload a .keras file."
)
generation.apply_link(models)  # a shared link's recipe sets the widgets below and makes its piece
entry = choose_model(models, "generate_model")
st.caption(f"{entry.name} · {entry.model.parameter_count():,} parameters · preset {entry.model.cfg.preset}")

primer = choose_primer(entry.facts.get("bundled"), entry.label)  # the chosen model's own style first

left, middle, right = st.columns(3)
n_notes, notes_problem = number_box(
    left,
    NOTES_LABEL,
    1,
    MAX_NOTES,
    step=10,
    key=state.keep("generate_notes", 120),
    help=LENGTH_HELP,
)
temperature = left.slider(
    "Temperature",
    0.0,
    2.0,
    step=0.05,
    key=state.keep("generate_temperature", Sampling.temperature),
    help="Lower plays safe and repetitive, higher is more adventurous. 0 always picks the likeliest pitch.",
)
top_k, top_k_problem = number_box(
    left,
    "Top-k (0 = off)",
    0,
    128,
    key=state.keep("generate_top_k", 0),
    help="Choose only among the k likeliest pitches.",
)
top_p = middle.slider(
    "Top-p",
    0.05,
    1.0,
    step=0.05,
    key=state.keep("generate_top_p", 1.0),
    help="Sample only among the likeliest pitches that together have this probability (1 = off).",
)
tonic = middle.selectbox(
    "Key",
    [ANY_KEY, *NOTE_NAMES],
    key=state.keep("generate_tonic", ANY_KEY),
    help="Only pitches of this scale are played.",
)
scale = middle.selectbox("Scale", list(SCALES), key=state.keep("generate_scale", "major"), disabled=tonic == ANY_KEY)
low, high = middle.slider("Pitch range (MIDI numbers)", 0, 127, key=state.keep("generate_range", (36, 84)))
middle.caption(f"From {readable_note(low)} to {readable_note(high)}")
instrument_key = state.keep("generate_instrument", "Acoustic Grand Piano")
programs = generation.choose_part_programs(entry.model, right)  # parts models: one instrument per part
# One instrument for a model without parts; a parts model's instruments are chosen per part just above.
instrument = (
    right.selectbox("Instrument", list(gm_instruments()), key=instrument_key)
    if programs is None
    else st.session_state[instrument_key]
)
part_ranges, part_keys = generation.choose_part_steering(entry.model)  # parts models: a range and key per part
voice_leading = generation.choose_voice_leading(entry.model, right)  # parts models: no parallels, no crossing
tonic_ending = generation.choose_tonic_ending(entry.model, right)  # models that learned endings
seed, seed_problem = number_box(
    right,
    "Seed",
    0,
    2**31 - 1,
    key=state.keep("generate_seed", 0),
    help="The same seed and settings give the same music.",
)
variations = right.slider("Variations", 1, MAX_VARIATIONS, key=state.keep("generate_variations", 3))
# What the controls this model does not use stay at: Sampling's own defaults.
rhythm_temperature, bpm, chord_snap, step_grid = (
    Sampling.rhythm_temperature,
    Sampling.bpm,
    Sampling.chord_snap,
    Sampling.step_grid,
)
bpm_problem = None
if entry.model.cfg.beats:
    rhythm_temperature = left.slider(
        "Rhythm temperature",
        0.0,
        2.0,
        step=0.05,
        key=state.keep("generate_rhythm_temperature", Sampling.rhythm_temperature),
        help="How freely note lengths and gaps are chosen. 0 always picks the likeliest rhythm; every note stays on the beat grid.",
    )
    bpm, bpm_problem = number_box(
        right,
        "Tempo (BPM, 0 = the primer's)",
        0,
        300,
        step=4,
        key=state.keep("generate_bpm", 0),
        help="Beats per minute of the piece. The music is the same in beats; only its speed changes.",
    )
else:
    with st.expander("Timing (this model predicts seconds, not beats)"):
        chord_snap = st.slider(
            "Chord snap (seconds)",
            0.0,
            0.2,
            step=0.01,
            key=state.keep("generate_chord_snap", 0.06),
            help="Notes predicted to start less than this after the previous one sound together, as a chord.",
        )
        step_grid = st.select_slider(
            "Timing grid (seconds)",
            [0.0, 0.0625, 0.125, 0.25, 0.5],
            key=state.keep("generate_step_grid", 0.0),
            help="Round every start and length to this grid (0 = off). 0.125 s is a sixteenth note at 120 bpm.",
        )
        bpm, bpm_problem = number_box(
            st, "Tempo written in the file (BPM, 0 = the primer's)", 0, 300, step=4, key=state.keep("generate_bpm", 0)
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
wrong = problems_at(message, [notes_problem, top_k_problem, seed_problem, bpm_problem])
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
    except ValueError as exc:
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
