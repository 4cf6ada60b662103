"""The Train page's pieces: the settings form's knobs and the live panel of a training job."""
from __future__ import annotations

import sys

import pandas as pd
import streamlit as st

from musicrnn.config import PRESETS
from musicrnn.jobs import TrainingJob
from musicrnn.metric_plots import PERPLEXITY_EXPLANATION, evaluation_table
from musicrnn.metrics import baseline_cross_entropy, baseline_top1, model_scores
from musicrnn.plots import HEADS, loss_chart

from . import state
from .widgets import format_seconds, training_progress

# Config field -> (label, help). Ranges live at the widgets; defaults come from the chosen preset.
KNOBS = {
    "seq_length": ("Sequence length", "How many previous notes the network sees to predict the next one."),
    "units": ("LSTM units", "Size of each LSTM layer's memory. Bigger learns more but trains slower."),
    "layers": ("LSTM layers", "Stacked LSTM layers. 1 or 2 is plenty for small datasets."),
    "dropout": ("Dropout", "Randomly silences units while training to reduce memorising (0 = off)."),
    "learning_rate": ("Learning rate", "Step size of the optimiser (Adam). Too high is unstable, too low is slow."),
    "batch_size": ("Batch size", "Training windows per update step."),
    "epochs": ("Epochs", "Passes over the training data."),
    "pitch_loss_weight": ("Pitch loss weight", "How much getting the pitch right counts in the total loss."),
    "step_loss_weight": ("Step loss weight", "How much the timing between notes counts."),
    "duration_loss_weight": ("Duration loss weight", "How much note lengths count."),
    "seed": ("Seed", "Same seed, same data and settings: same model."),
}


def knob_key(name: str) -> str:
    return f"{state.KEEP_PREFIX}train_{name}"


def apply_preset() -> None:
    """Copy the chosen preset's values into the knobs (a widget callback)."""
    cfg = PRESETS[st.session_state[knob_key("preset")]]
    for name in KNOBS:
        st.session_state[knob_key(name)] = getattr(cfg, name)


def knob(name: str, column) -> None:
    """One number input for a Config field, typed like the preset's value."""
    label, help_text = KNOBS[name]
    default = getattr(PRESETS[st.session_state[knob_key("preset")]], name)
    key = state.keep(knob_key(name), default)
    if isinstance(default, float):
        low, high, step = (0.0, 0.9, 0.05) if name == "dropout" else (0.0, 10.0, 0.0005 if name == "learning_rate" else 0.1)
        column.number_input(label, low, high, step=step, key=key, help=help_text, format="%.4f" if name == "learning_rate" else "%.2f")
    else:
        limits = {"seq_length": (2, 256), "units": (4, 512), "layers": (1, 4), "batch_size": (1, 1024), "epochs": (1, 200), "seed": (0, 2**31 - 1)}
        column.number_input(label, *limits[name], step=1, key=key, help=help_text)


def knob_values() -> dict:
    return {name: st.session_state[knob_key(name)] for name in KNOBS}


def show_job(job: TrainingJob) -> None:
    """Live progress while the job runs (redrawn every second without rerunning the page), summary after."""
    was_running = job.running

    @st.fragment(run_every=1.0 if was_running else None)
    def panel() -> None:
        snapshot = job.snapshot()
        if was_running and not job.running:
            st.rerun()  # redraw the whole page once: summary, buttons, and the model on other pages
        if job.running:
            if snapshot["latest"]:
                done, caption = training_progress(snapshot)
                st.progress(done, text=caption)
            else:  # TensorFlow is imported by the first job only; then come data and compilation
                waiting = "Training the first batches…" if "tensorflow" in sys.modules else "Loading TensorFlow…"
                st.status(waiting, state="running")
            st.button("Stop training", on_click=job.stop, icon=":material/stop:", help="Stops after the current batch and keeps the model so far.")
        if snapshot["epochs"] or snapshot["batches"]:
            st.plotly_chart(loss_chart(snapshot["epochs"], snapshot["batches"]), key="train_loss_chart")

    panel()
    if not was_running:
        show_result(job)


def show_result(job: TrainingJob) -> None:
    snapshot = job.snapshot()
    took = format_seconds(snapshot["elapsed"])
    if job.status == "failed":
        st.error(f"Training failed: {job.error}")
        return
    if job.status == "stopped":
        st.warning(f"Stopped after {len(snapshot['epochs'])} finished epoch(s) ({took}). The model so far is kept.")
    else:
        st.success(f"Finished {len(snapshot['epochs'])} epoch(s) in {took}.")
    if snapshot["epochs"]:
        st.dataframe(loss_table(snapshot["epochs"][-1]), key="train_summary")
        show_evaluation(job)
    left, right = st.columns(2)
    if left.button("Use this model on the Generate page", type="primary", icon=":material/music_note:", disabled=state.trained_model() is None):
        state.set_kept("generate_model", state.TRAINED_MODEL_LABEL)
        st.switch_page("pages/generate.py")
    if job.model_file:
        right.download_button(
            "Download the model (.keras)", job.model_file, file_name=f"musicrnn-{job.cfg.preset}-{job.id}.keras",
            mime="application/zip", on_click="ignore", icon=":material/download:", key="train_download",
        )


EVALUATION = "train_evaluation"


def evaluation(job: TrainingJob) -> pd.DataFrame | None:
    """The trained model's pitch cross-entropy on the job's validation files next to uniform, unigram and
    bigram guessing fitted on its training files (computed once per job; None when it cannot be scored)."""
    stored = st.session_state.get(EVALUATION)
    if stored is not None and stored[0] == job.id:
        return stored[1]
    entry = state.trained_model()
    held_out = set(job.result_info.get("val_files") or (entry.model.info.get("val_files", []) if entry else []))
    table = None
    if entry is not None and entry.name == job.id and held_out:
        names = job.corpus.names
        validation = job.corpus.subset([i for i, name in enumerate(names) if name in held_out])
        training = job.corpus.subset([i for i, name in enumerate(names) if name not in held_out])
        try:
            with st.spinner("Scoring the model on the held-out files…"):
                table = evaluation_table(model_scores(entry.model, validation, training),
                                         baseline_cross_entropy(training, validation), baseline_top1(training, validation))
        except ValueError:  # e.g. held-out files with fewer than two notes
            table = None
    st.session_state[EVALUATION] = (job.id, table)
    return table


def show_evaluation(job: TrainingJob) -> None:
    table = evaluation(job)
    if table is None:
        return
    held_out = len(job.result_info.get("val_files") or [])
    st.markdown(f"**Did it learn?** Predicting the next pitch of the {held_out} held-out file(s), against simple guessing:")
    st.dataframe(table.style.format({"cross-entropy (nats)": "{:.3f}", "perplexity": "{:.1f}", "top-1": "{:.0%}"}),
                 key="train_evaluation")
    st.caption(PERPLEXITY_EXPLANATION + " Unigram guesses by how common each pitch is, bigram from the previous pitch "
               "(both fitted on the training files); a model that beats the bigram has learned more than note-to-note habits.")


def loss_table(final: dict) -> pd.DataFrame:
    """Last epoch's loss per head, training next to validation (validation is what tells how well it learned)."""
    rows = ["total", *HEADS]
    keys = ["loss", *(f"{head}_loss" for head in HEADS)]
    return pd.DataFrame(
        {"training": [final.get(k) for k in keys], "validation": [final.get(f"val_{k}") for k in keys]}, index=rows
    )
