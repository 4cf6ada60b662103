"""The Train page's pieces: the settings form's knobs and the live panel of a training job."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from musicrnn.config import PRESETS, Config
from musicrnn.jobs import TrainingJob
from musicrnn.plots.metrics import PERPLEXITY_EXPLANATION, evaluation_table
from musicrnn.plots.training import training_loss_chart
from musicrnn.theory import HEADS
from musicrnn.training_facts import best_row, stop_reason
from musicrnn.verdict import COUNTING_EXPLAINED, surprise, verdict

from . import nav, state
from .errors import VISITOR_ERRORS
from .state import ModelEntry
from .widgets import format_seconds, model_download, number_box, training_progress

# Config field -> (label, help). Ranges live at the widgets; defaults come from the chosen preset.
TRAINING_KNOBS = {
    "epochs": (
        "Passes through the music (at most)",
        "Epochs: each pass trains on every training file once. Training may stop earlier, see the next setting.",
    ),
    "patience": (
        "Stop after passes without improving",
        "Training stops when the held-out files have not been guessed better (the validation loss) for this "
        "many passes in a row (0 = never). Either way the model kept is its best pass, not the last one.",
    ),
    "time_limit_minutes": (
        "Train for at most (minutes)",
        "Stop after this many minutes (0 = no limit); the best epoch within them is kept.",
    ),
    "batch_size": ("Batch size", "Training windows per update step."),
    "seed": ("Seed", "Same seed, same data and settings: same model."),
}
ARCHITECTURE_KNOBS = {
    "learning_rate": ("Learning rate", "Step size of the optimiser (Adam). Too high is unstable, too low is slow."),
    "seq_length": ("Sequence length", "How many previous notes the network sees to predict the next one."),
    "units": ("LSTM units", "Size of each LSTM layer's memory. Bigger learns more but trains slower."),
    "layers": ("LSTM layers", "Stacked LSTM layers. 1 or 2 is plenty for small datasets."),
    "dropout": ("Dropout", "Randomly silences units while training to reduce memorising (0 = off)."),
    "pitch_loss_weight": ("Pitch loss weight", "How much getting the pitch right counts in the total loss."),
    "step_loss_weight": ("Step loss weight", "How much the timing between notes counts."),
    "duration_loss_weight": ("Duration loss weight", "How much note lengths count."),
}
KNOBS = {**TRAINING_KNOBS, **ARCHITECTURE_KNOBS}
NEW, BUNDLED, MINE, UPLOAD = "A new network", "A bundled model", "One of my models", "An uploaded .keras file"
START_FROM = (BUNDLED, NEW, MINE, UPLOAD)
FITS = "train_bundled_fits"  # the dataset key and its ranking of the bundled models (finetune.best_start)


@dataclass
class Start:
    """What a run starts from: a new network (init None) or a model's file and settings."""

    label: str
    init: bytes | None = None
    cfg: Config | None = None
    problem: str | None = None  # why it cannot start (shown; the Start button is disabled)


def start_key(source: str) -> str:
    """The 'Start from' choice, kept for each kind of data: with uploads the first choice is fine-tuning the
    bundled model that knows them best; with the bundled chorales (which the default model learnt), a new network."""
    return state.keep(f"train_start_from_{source}", BUNDLED if source == "uploaded" else NEW)


def choose_start(dataset: state.Dataset) -> Start:
    """The 'Start from' choice: fine-tuning takes the starting model's network, a lower learning rate and the
    visitor's default time limit (finetune.visitor_config)."""
    choice = st.radio(
        "Start from",
        START_FROM,
        key=start_key(dataset.source),
        horizontal=True,
        help="Fine-tuning a model that already knows music usually beats a new network on a few files.",
    )
    if choice == NEW:
        return Start(NEW)
    if choice == BUNDLED:
        return _bundled_start(dataset)
    if choice == MINE:
        runs = {entry.name: entry for entry in state.runs()}
        if not runs:
            st.info("You have not trained a model yet: its runs appear here once they finish.")
            return Start(MINE, problem="no model of yours yet")
        name = st.selectbox("Which of my models", list(runs)[::-1], key="train_start_run")
        return _fine_tune(f"“{name}”", runs[name].file, dataset)
    upload = st.file_uploader("The .keras model to fine-tune", type=["keras"], key="train_init_upload")
    if upload is None:
        return Start(UPLOAD, problem="no file yet")
    return _fine_tune(upload.name, upload.getvalue(), dataset)


def _bundled_start(dataset: state.Dataset) -> Start:
    """Which bundled model to fine-tune: the one that knows the visitor's music best comes first, with why."""
    from musicrnn.styles import registry

    present = {m.name: m for m in registry().present()}
    if not present:
        return Start(BUNDLED, problem="no bundled model in this copy")
    fits = bundled_fits(dataset) if len(dataset.ok_files) >= 2 else []
    order = [fit.name for fit in fits] + [name for name in present if name not in {fit.name for fit in fits}]
    key = f"train_bundled_{state.dataset_key(dataset)}"  # a new collection gets its own best fit
    name = st.selectbox(
        "Bundled model",
        order,
        key=state.keep(key, order[0]),
        format_func=lambda n: present[n].title + (" (knows your music best)" if fits and n == fits[0].name else ""),
        help="Its network and what it knows are the start; your music then refines it.",
    )
    if fits:
        from musicrnn.finetune import fit_figures, fit_words

        st.caption(fit_words(fits), help=f"Details: {fit_figures(fits)}.")  # words first, the figures on hover
    model = present[name]
    return _fine_tune(f"the {model.title} model", model.file.read_bytes(), dataset)


def bundled_fits(dataset: state.Dataset):
    """The bundled models ranked by how well they know the dataset's training files, once per dataset (numpy)."""
    from musicrnn.finetune import best_start

    key, corpus = state.dataset_corpus(dataset)
    cached = st.session_state.get(FITS)
    if cached is None or cached[0] != key:
        with st.spinner("Finding the bundled model that knows your music best…"):
            cached = (key, best_start(corpus))
        st.session_state[FITS] = cached
    return cached[1]


def _fine_tune(label: str, data: bytes, dataset: state.Dataset) -> Start:
    from musicrnn.finetune import visitor_config

    try:
        _, corpus = state.dataset_corpus(dataset)
        return Start(label, data, visitor_config(data, corpus if len(corpus) else None, name=label))
    except VISITOR_ERRORS as exc:
        st.error(f"This model cannot be fine-tuned: {exc}")
        return Start(label, problem=str(exc))


def show_held_out(corpus, cfg: Config) -> None:
    """Name the files the run will hold out to score its model, and say when the score can only be rough."""
    from musicrnn.finetune import held_out_names

    names = held_out_names(corpus, cfg.val_fraction, cfg.seed)
    if not names:
        return
    held = corpus.split_by_name(names)[1]
    share = held.note_count / max(1, corpus.note_count)
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    st.caption(f"Held out to score the model (never trained on): {shown} — {share:.0%} of the notes.")
    if len(corpus) < 3:
        st.caption(
            f":material/info: With only {len(corpus)} usable files the held-out score is rough: one file decides it. "
            "Add a few more files for a firmer score."
        )


def knob_key(name: str, tuned: bool = False) -> str:
    """A setting's kept value: one set for new networks, one for fine-tuning (whose defaults differ)."""
    return f"{state.KEEP_PREFIX}train_{'tune_' if tuned else ''}{name}"


def apply_preset() -> None:
    """Copy the chosen preset's values into the knobs (a widget callback)."""
    cfg = PRESETS[st.session_state[knob_key("preset")]]
    for name in KNOBS:
        state.set_kept(knob_key(name), getattr(cfg, name))


def knob(name: str, column, start: Config | None = None) -> str | None:
    """One number field for a Config field, typed like the preset's (or the starting model's) value; returns
    the problem with what is typed in it, in words (None when it can be used: see widgets.number_box)."""
    label, help_text = KNOBS[name]
    source = start if start is not None else PRESETS[st.session_state.get(knob_key("preset"), "tiny")]
    default = getattr(source, name)
    key = state.keep(knob_key(name, start is not None), default)
    if isinstance(default, float):
        low, high, step = {
            "dropout": (0.0, 0.9, 0.05),
            "learning_rate": (0.0, 10.0, 0.0005),
            "time_limit_minutes": (0.0, 120.0, 0.5),
        }.get(name, (0.0, 10.0, 0.1))
        number_format = "%.4f" if name == "learning_rate" else "%.2f"
        return number_box(column, label, low, high, key, step=step, help=help_text, format=number_format)[1]
    limits = {
        "seq_length": (2, 256),
        "units": (4, 512),
        "layers": (1, 4),
        "batch_size": (1, 1024),
        "epochs": (1, 200),
        "seed": (0, 2**31 - 1),
        "patience": (0, 50),
    }
    return number_box(column, label, *limits[name], key, step=1, help=help_text)[1]


def knob_values(names=KNOBS, tuned: bool = False) -> dict:
    return {name: st.session_state[knob_key(name, tuned)] for name in names}


def show_job(job: TrainingJob) -> None:
    """Live progress while the job runs (redrawn every second without rerunning the page), summary after."""
    was_running = job.running

    @st.fragment(run_every=1.0 if was_running else None)
    def panel() -> None:
        snapshot = job.snapshot()
        if was_running and not job.running:
            st.rerun()  # redraw the whole page once: summary, buttons, and the model on other pages
        if job.running:
            if snapshot["stopping"]:
                st.status("Stopping… the best model so far is kept.", state="running")
            elif snapshot["latest"]:
                done, caption = training_progress(snapshot)
                st.progress(done, text=caption)
            else:  # the training process loads TensorFlow, then the data, then compiles
                st.status("Starting the training process (loading TensorFlow, a few seconds)…", state="running")
            st.button(
                "Stop training",
                on_click=job.stop,
                icon=":material/stop:",
                disabled=snapshot["stopping"],
                help="Stops now and keeps the best model so far.",
            )
        if snapshot["epochs"] or snapshot["batches"]:
            st.plotly_chart(
                training_loss_chart(snapshot["epochs"], snapshot["batches"], best_epoch=snapshot["best_epoch"]),
                key="train_loss_chart",
            )

    panel()
    if not was_running:
        show_result(job)


def passes(count: int) -> str:
    """'1 pass', '12 passes': epochs in a musician's words."""
    return f"{count} pass" if count == 1 else f"{count} passes"


def job_entry(job: TrainingJob) -> ModelEntry | None:
    return next((entry for entry in state.runs() if entry.facts.get("job") == job.id), None)


KEPT_START = (
    "No pass through your music did better on your held-out files than the model you started from, so that model is kept as it "
    "was: training more would only have made it worse for music like yours."
)


def show_result(job: TrainingJob) -> None:
    snapshot = job.snapshot()
    took = format_seconds(snapshot["elapsed"])
    ran = len(snapshot["epochs"])
    if job.status == "failed":
        st.error(f"Training failed: {job.error}")
    elif job.status == "stopped":
        st.warning(
            f"Stopped after {passes(ran)} through your music ({took}). "
            + (
                f"The best of them, pass {job.best_epoch}, is kept."
                if job.best_epoch
                else KEPT_START
                if job.result_info.get("kept_start")
                else "No pass finished, so no model was kept."
            )
        )
    else:
        info = job.result_info
        why = stop_reason(bool(info.get("early_stopped")), bool(info.get("timed_out")), job.cfg.patience)
        kept = (
            KEPT_START
            if info.get("kept_start")
            else f"The model kept is the one after pass {job.best_epoch}: it guessed the notes of your held-out "
            "files best."
        )
        st.success(f"Done in {took}: {passes(ran)} through your music ({why}). {kept}")
    entry = job_entry(job)
    if entry is None:
        return
    show_verdict(entry)
    if snapshot["epochs"]:
        best = best_row(snapshot["epochs"], job.best_epoch)
        with st.expander("Details: losses of the kept epoch (training and validation)"):
            st.dataframe(loss_table(best), key="train_summary")
            st.caption(
                "Validation loss is measured while training, on windows of the held-out files, each head weighted as in "
                "training. The score above reads each held-out file whole, so every note has all earlier notes "
                "as context; that is why the pitch figures differ a little. Both are cross-entropy in nats: lower is better."
            )
        show_evaluation(entry)
    left, right = st.columns(2)
    if left.button("Use this model on the Generate page", type="primary", icon=":material/music_note:"):
        state.set_kept(state.GENERATE_CHOICE, entry.label)
        nav.switch_to("generate")
    model_download(entry, "train_download", where=right)


def show_verdict(entry: ModelEntry) -> None:
    """One held-out figure in words, with warnings (no better than guessing, worse than an earlier run)."""
    facts = entry.facts
    if facts.get("score") is None or facts.get("bigram") is None:
        return
    earlier = [run for run in state.runs() if run is not entry and run.facts.get("score") is not None]
    best_earlier = min(earlier, key=lambda run: run.facts["score"]) if earlier else None
    said = verdict(
        facts["score"],
        facts["bigram"],
        (best_earlier.name, best_earlier.facts["score"]) if best_earlier else None,
        facts.get("before"),
    )
    (st.success if said.level == "success" else st.warning)(f"**{entry.name}** — {said.text}")
    for line in said.warnings:
        st.caption(line)
    st.caption(f"Guessed on {held_out_files(facts)} it never trained on. {COUNTING_EXPLAINED}")
    with st.expander("Details: the figures behind these words"):
        st.caption(said.details)


def held_out_files(facts: dict) -> str:
    """'the 2 held-out files (a.mid, b.mid)' for a run's listing."""
    names = facts.get("val_files") or []
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"the {len(names)} held-out file{'s' if len(names) != 1 else ''} ({listed})" if names else "held-out files"


def show_evaluation(entry: ModelEntry) -> None:
    table = evaluation(entry)
    if table is None:
        return
    with st.expander(f"Details: the {len(entry.facts['val_files'])} held-out file(s) against simple counting"):
        st.dataframe(
            table.style.format({"cross-entropy (nats)": "{:.3f}", "perplexity": "{:.1f}", "top-1": "{:.0%}"}),
            key="train_evaluation",
        )
        st.caption(
            PERPLEXITY_EXPLANATION + " Unigram guesses by how common each pitch is, bigram from the previous pitch "
            "(both fitted on the training files); a model that beats the bigram has learned more than note-to-note habits."
        )


def evaluation(entry: ModelEntry) -> pd.DataFrame | None:
    """The model's pitch scores on its run's held-out files next to uniform, unigram and bigram guessing
    fitted on its training files (scored once, when the run was kept: ui.state._run_facts; None when it
    could not be scored)."""
    scores = entry.facts.get("evaluation")
    return evaluation_table(*scores) if scores else None


def loss_table(final: dict) -> pd.DataFrame:
    """The kept epoch's loss per head, training next to validation."""
    rows = ["total", *HEADS]
    keys = ["loss", *(f"{head}_loss" for head in HEADS)]
    return pd.DataFrame(
        {"training": [final.get(k) for k in keys], "validation": [final.get(f"val_{k}") for k in keys]}, index=rows
    )


def runs_table(runs: list[ModelEntry]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": run.name,
                "preset": run.facts.get("preset"),
                "started from": run.facts.get("start") or "a new network",
                "data": run.facts.get("data"),
                "passes": f"kept the start; {run.facts.get('epochs_run')} tried"
                if run.facts.get("kept_start")
                else f"kept {run.facts.get('best_epoch')} of {run.facts.get('epochs_run')}",
                "next note, against simple counting": _against_counting(run.facts),
                "when": run.facts.get("when"),
            }
            for run in reversed(runs)
        ]
    )


def _against_counting(facts: dict) -> str:
    """A run's held-out guessing in words for the list of runs ('13 % less surprised'; '–' if not scored)."""
    if facts.get("score") is None or facts.get("bigram") is None:
        return "–"
    return surprise(facts["score"], facts["bigram"])


def show_runs() -> None:
    """Every model this visitor trained: listed, renamed, downloaded, forgotten."""
    runs = state.runs()
    if not runs:
        return
    st.subheader("Your models")
    st.dataframe(runs_table(runs), hide_index=True, key="train_runs")
    st.caption(
        "Each is usable on the Generate and How it works pages. Each run guessed the notes of its own held-out "
        "files: runs on different music cannot be compared this way. "
        f"Up to {state.MAX_RUNS} are kept."
    )
    with st.expander("Details: each run's score"):
        st.dataframe(
            pd.DataFrame(
                {
                    "name": [run.name for run in reversed(runs)],
                    "held-out pitch cross-entropy (nats)": [run.facts.get("score") for run in reversed(runs)],
                    "simple counting (bigram)": [run.facts.get("bigram") for run in reversed(runs)],
                }
            ).style.format(precision=2, na_rep="–"),
            hide_index=True,
            key="train_runs_scores",
        )
        st.caption("Lower is better.")
    names = [run.name for run in reversed(runs)]
    chosen = st.selectbox("Manage", names, key="train_manage_run")
    entry = next(run for run in runs if run.name == chosen)
    left, middle, right = st.columns([3, 1, 1])
    key = f"train_rename_{entry.facts['job']}"
    left.text_input("Name", value=entry.name, key=key, on_change=_rename, args=(entry, key))
    if st.session_state.get(RENAME_PROBLEM):
        left.error(st.session_state.pop(RENAME_PROBLEM))
    model_download(entry, "train_run_download", "Download", where=middle)
    if right.button("Forget", icon=":material/delete:", key="train_run_forget"):
        state.forget_run(entry)
        st.rerun()


RENAME_PROBLEM = "train_rename_problem"


def _rename(entry: ModelEntry, key: str) -> None:
    """Widget callback: the selector follows the new name (allowed here, before the widgets are drawn)."""
    problem = state.rename_run(entry, st.session_state[key])
    if problem:
        st.session_state[RENAME_PROBLEM] = problem
        st.session_state[key] = entry.name
    else:
        st.session_state["train_manage_run"] = entry.name


def warn_oldest_goes() -> None:
    """At the limit of kept runs, say which one the next run replaces and offer it for download first."""
    runs = state.runs()
    if len(runs) < state.MAX_RUNS:
        return
    oldest = runs[0]
    left, right = st.columns([3, 1])
    left.warning(
        f"You have {len(runs)} models, the most kept: the next run forgets the oldest, “{oldest.name}”. Download it first to keep it."
    )
    right.download_button(
        "Download the oldest",
        oldest.file,
        file_name=oldest.file_name,
        mime="application/zip",
        on_click="ignore",
        key="train_oldest_download",
    )
