"""How it works: the pipeline on one file of the visitor's dataset, with the chosen model, step by step."""

import math

import streamlit as st

from musicrnn import explain
from musicrnn.generate import Sampling
from musicrnn.plots.explain import cross_entropy_chart, distribution_chart, guessing_chart, window_roll
from musicrnn.plots.metrics import PERPLEXITY_EXPLANATION, evaluation_table
from musicrnn.plots.notes import piano_roll
from musicrnn.summaries import named_notes
from musicrnn.theory import note_name
from musicrnn.verdict import GUESSERS, compare, surprise, unsure_among
from ui import state
from ui.boot import through_app
from ui.widgets import choose_model, models_or_stop

through_app()  # see ui/boot.py: deep links on a fresh server

COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


@st.cache_data(show_spinner="Scoring the model on this file…", max_entries=16)
def loss_numbers(model_id: str, dataset_key: str, name: str, _model, _notes, _corpus) -> explain.LossNumbers:
    return explain.loss_numbers(_model, name, _notes, _corpus)


st.title("How it works")
st.caption("What the network reads, what it predicts and how its music gets chosen — on your data, with a real model.")

models = models_or_stop(
    "No model is available: train one on the Train page or upload a .keras file on the Generate page."
)
entry = choose_model(models, "explain_model")
model, L = entry.model, entry.model.cfg.seq_length

files = [item for item in state.dataset().ok_files if explain.window_count(item.notes, L) > 0]
if not files:
    st.warning(f"No file of your dataset has more than {L} notes, the window this model reads.")
    st.stop()
short = [item.name for item in state.dataset().ok_files if item not in files]
if short:
    listed = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
    st.caption(
        f":material/info: {len(short)} file(s) have no more than {L} notes, the window this model reads, "
        f"and are left out here: {listed}."
    )
names = [item.name for item in files]
file_key = state.keep("explain_file", names[0])
if st.session_state[file_key] not in names:
    st.session_state[file_key] = names[0]
chosen = state.dataset().file(st.selectbox("File of your dataset", names, key=file_key))
notes = chosen.notes.reset_index(drop=True)

st.header("1. Music as notes")
if model.cfg.beats:
    st.markdown(
        "A MIDI file becomes a list of notes, each three numbers: **pitch** (MIDI number, 60 = middle C), "
        "**step** (beats since the previous note started; 0 = same chord) and **duration** (beats). Beats are "
        "quarter notes, read through the file's tempo, so the same music at any tempo gives the same numbers."
    )
    note_columns = ["note", "pitch", "step_beats", "duration_beats"]
else:
    st.markdown(
        "A MIDI file becomes a list of notes, each three numbers: **pitch** (MIDI number, 60 = middle C), "
        "**step** (seconds since the previous note started; 0 = same chord) and **duration** (seconds)."
    )
    note_columns = ["note", "pitch", "step", "duration"]
left, right = st.columns([2, 3])
left.dataframe(named_notes(notes)[note_columns], key="explain_notes", height=360)
right.plotly_chart(piano_roll(notes, title=f"{chosen.name} · {len(notes)} notes"), key="explain_file_roll")

st.header("2. One training window")
count = explain.window_count(notes, L)
start_key = state.keep("explain_start", min(10, count - 1))
st.session_state[start_key] = min(st.session_state[start_key], count - 1)
start = st.slider("Window starts at note", 0, max(1, count - 1), key=start_key, disabled=count == 1)
window = explain.training_window(notes, start, model.cfg)
st.markdown(
    f"The network reads **L = {L} notes** in a row and learns to predict the **next one**. "
    f"Training cuts every file into such windows: this file gives {count:,} of them."
)
st.plotly_chart(window_roll(notes, start, L), key="explain_window_roll")
with st.expander("The window as numbers (what goes into the network)"):
    st.dataframe(explain.window_table(window, model.cfg), key="explain_window_table")

st.header("3. The network")
heads = explain.head_order(model)
st.markdown(
    "Each note's pitch and numbers pass through LSTM layers, which keep a memory of the notes before; "
    f"{COUNT_WORDS.get(len(heads), len(heads))} heads then predict the next note's "
    f"{', '.join(heads[:-1])} and {heads[-1]}. Every parameter is a number learned in training."
)
st.graphviz_chart(explain.model_dot(model))
with st.expander("Layers and parameter counts"):
    st.dataframe(explain.layers_table(model), key="explain_layers", hide_index=True)

st.header("4. What it predicts for this window")
prediction = explain.predict(model, window)
columns = st.columns(4)
favourite = explain.top_notes(prediction.probs, 1).iloc[0]
columns[0].metric(
    "True next note",
    note_name(prediction.true_pitch),
    f"rank {prediction.true_rank} · {prediction.true_probability:.0%}",
    delta_color="off",
)
columns[1].metric("Network's favourite", favourite["note"], f"{favourite['probability']:.0%}", delta_color="off")
unit = prediction.unit
columns[2].metric(
    "Step (predicted / true)",
    f"{prediction.step:.2f} {unit}",
    f"true {prediction.true_step:.2f} {unit}",
    delta_color="off",
)
columns[3].metric(
    "Duration (predicted / true)",
    f"{prediction.duration:.2f} {unit}",
    f"true {prediction.true_duration:.2f} {unit}",
    delta_color="off",
)
st.markdown(
    "Generation does not always take the favourite: it **draws** the next pitch from a distribution you can reshape. "
    "Move the sliders and watch the coloured bars."
)
left, middle, right = st.columns(3)
temperature = left.slider(
    "Temperature",
    0.0,
    2.0,
    step=0.05,
    key=state.keep("explain_temperature", 1.0),
    help="Below 1 the likely pitches get likelier still (safer music), above 1 the chances even out (more "
    "adventurous); 0 = always the favourite.",
)
top_k = middle.slider(
    "Top-k (0 = off)", 0, 20, key=state.keep("explain_top_k", 0), help="Keep only the k likeliest pitches."
)
top_p = right.slider(
    "Top-p",
    0.05,
    1.0,
    step=0.05,
    key=state.keep("explain_top_p", 1.0),
    help="Keep the likeliest pitches that together reach this probability (1 = off).",
)
sampled = explain.reshaped(prediction, Sampling(temperature=temperature, top_k=top_k, top_p=top_p))
st.plotly_chart(distribution_chart(prediction.probs, sampled, prediction.true_pitch), key="explain_distribution")
st.caption(
    f"The sampler can pick {explain.candidates(sampled)} of 128 pitches; the true note now has "
    f"{sampled[prediction.true_pitch]:.1%} chance (the network alone: {prediction.true_probability:.1%})."
)

st.header("5. How well it guesses")
corpus_key, corpus = state.dataset_corpus()
numbers = loss_numbers(entry.id, corpus_key, chosen.name, model, notes, corpus)
table = evaluation_table(numbers.model, numbers.baselines, numbers.baselines_top1)
surprises = table["cross-entropy (nats)"]
counting = surprises[["unigram", "bigram"]].idxmin()  # the better of the two ways of counting, here
standing = compare(surprises["model"], surprises[counting])
st.markdown(
    "For every note the network gives each pitch a chance; when the true note comes, the less chance it had, "
    f"the more the network is surprised. Over the {numbers.model['notes']} notes of this file it guesses the next "
    + {"better": "note better than", "same": "note about as well as", "worse": "note worse than"}[standing]
    + f" {GUESSERS[counting]}: **{surprise(surprises['model'], surprises[counting])}**. "
    f"It is {unsure_among(surprises['model'])}; {GUESSERS[counting]}, among "
    f"{math.exp(surprises[counting]):.0f}; a blind guess, among all 128."
)
st.plotly_chart(guessing_chart(table, GUESSERS), key="explain_loss_chart")
st.caption(f"Both ways of counting learnt from the other {numbers.reference_files} files of your dataset.")
if standing == "worse":
    if entry.label == state.DEFAULT_MODEL_LABEL:
        runs = state.runs()
        other = (
            f" Choose your model **{runs[-1].label}** above to compare."
            if runs
            else " Train one on your own files on the Train page."
        )
        st.info(
            f"Here the network guesses worse than {GUESSERS[counting]}. The default model learnt Bach chorales, "
            f"so music unlike them surprises it; a model trained on music like this file does better.{other}"
        )
    else:
        st.info(
            f"Here the network guesses worse than {GUESSERS[counting]}: it learnt different music, or not "
            "for long enough. A model trained longer on music like this file does better."
        )
if numbers.seen_in_training:
    st.info("This model trained on this file, so it may guess better here than on music it has never heard.")
with st.expander("Details: the figures (cross-entropy in nats, perplexity, top-1)"):
    st.markdown(
        f"For each note the loss is **−ln P(true note)** in nats: 0 if the network was sure and right, "
        f"{surprises['uniform']:.2f} (= ln 128) for a blind guess. For this window's target it is "
        f"**{prediction.loss:.2f}**; averaged over the {numbers.model['notes']} notes of this file:"
    )
    st.plotly_chart(cross_entropy_chart(table), key="explain_loss_nats")
    st.caption(
        PERPLEXITY_EXPLANATION
        + " The bigram guesses from the previous pitch only, the unigram from how common each pitch is; "
        "top-1 is how often the likeliest pitch is the true one."
    )
    st.dataframe(
        table.style.format({"cross-entropy (nats)": "{:.3f}", "perplexity": "{:.1f}", "top-1": "{:.0%}"}),
        key="explain_loss_table",
    )
