"""Train: what to start from, a style or preset, a time limit and Start (the rest under Advanced), a training job
in its own process with live losses, and the runs kept."""

import streamlit as st

from musicrnn.config import PRESETS, preset
from musicrnn.jobs import ServerBusy, start_training
from ui import nav, state
from ui.boot import through_app
from ui.errors import VISITOR_ERRORS
from ui.training import (
    ARCHITECTURE_KNOBS,
    TRAINING_KNOBS,
    apply_preset,
    choose_start,
    knob,
    knob_key,
    knob_values,
    show_held_out,
    show_job,
    show_runs,
    warn_oldest_goes,
)
from ui.widgets import model_uploader, problems_at

through_app()  # see ui/boot.py: deep links on a fresh server

LIMIT = "time_limit_minutes"  # the one setting shown beside the start; the others wait under Advanced

st.title("Train")
dataset = state.dataset()
st.caption(
    f"Training data: {len(dataset.ok_files)} usable files ({dataset.title or {'bundled': 'the bundled chorales'}.get(dataset.source, 'your uploads')}). "
    "Training runs in the background: you can switch pages and come back."
)
nav.link("dataset", "Change the training data")

job = state.job()
busy = job is not None and job.running

start = choose_start(dataset)  # (label, .keras bytes or None, the starting model's settings or None)
tuned = start.init is not None
if start.label == "A new network":
    st.selectbox(
        "Preset",
        list(PRESETS),
        key=state.keep(knob_key("preset"), "tiny"),
        on_change=apply_preset,
        help="tiny: trains in a minute · tutorial: the TensorFlow tutorial's network · chorale: the default model's recipe (slow).",
    )
# Plain widgets, no form: Enter in a field only sets its value; only the Start button starts a run.
problems = [knob(LIMIT, st, start.cfg)]
advanced = [name for name in (TRAINING_KNOBS if tuned else {**TRAINING_KNOBS, **ARCHITECTURE_KNOBS}) if name != LIMIT]
with st.expander("Advanced"):
    columns = st.columns(4)
    problems += [knob(name, columns[index % 4], start.cfg) for index, name in enumerate(advanced)]
    if tuned and start.cfg is not None:
        st.caption(
            f"Fine-tuning keeps {start.label}'s network ({start.cfg.units} units × {start.cfg.layers} layers) and starts "
            f"at learning rate {start.cfg.learning_rate:g}, lower than for a new network, so it refines what it knows."
        )
if len(dataset.ok_files) >= 2 and start.problem is None and not any(problems):  # a typed seed may be unusable
    cfg_now = start.cfg if tuned else PRESETS[st.session_state[knob_key("preset")]]
    show_held_out(state.dataset_corpus(dataset)[1], cfg_now.replace(seed=st.session_state[knob_key("seed", tuned)]))
warn_oldest_goes()
wrong = problems_at(st, problems)  # a number typed out of range: said here, and nothing starts with another
clicked = st.button(
    "Start training", type="primary", icon=":material/play_arrow:", disabled=busy or start.problem is not None or wrong
)

if clicked:
    try:
        values = knob_values([LIMIT, *advanced], tuned)
        if tuned:
            cfg = start.cfg.replace(**values).validate()
        else:
            cfg = preset(st.session_state[knob_key("preset")], **values)
        if len(dataset.ok_files) < 2:
            raise ValueError("training needs at least two usable files (one is held out to validate)")
        state.set_job(
            start_training(
                dataset.corpus(),
                cfg,
                init=start.init,
                init_name=start.label if start.init else None,
                owner_alive=state.owner_alive(),
            )
        )
        st.rerun()  # redraw with the Start button disabled: one job per visitor
    except ServerBusy as exc:
        st.warning(str(exc))
    except VISITOR_ERRORS as exc:
        st.error(f"Cannot start training: {exc}")

if job is not None:
    st.subheader("Progress")
    show_job(job)

show_runs()

with st.expander("Use a model you trained before"):
    model_uploader("train_model_upload")
    if state.uploaded_model() is not None:
        nav.link("generate", "Generate with it")
