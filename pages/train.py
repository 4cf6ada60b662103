"""Train: settings, a background training job with live losses, and the resulting model."""
import streamlit as st

from musicrnn.config import PRESETS, preset
from musicrnn.jobs import ServerBusy, start_training
from ui import state
from ui.boot import through_app
from ui.training import KNOBS, apply_preset, knob, knob_key, knob_values, show_job
from ui.widgets import model_uploader

through_app()  # see ui/boot.py: deep links on a fresh server

st.title("Train")
dataset = state.dataset()
st.caption(
    f"Training data: {len(dataset.ok_files)} usable files ({'the bundled chorales' if dataset.source == 'bundled' else 'your uploads'}). "
    "Training runs in the background: you can switch pages and come back."
)
st.page_link("pages/dataset.py", label="Change the training data", icon=":material/folder_open:")

job = state.job()
busy = job is not None and job.running

st.selectbox(
    "Preset", list(PRESETS), key=state.keep(knob_key("preset"), "tiny"), on_change=apply_preset,
    help="tiny: trains in a minute · tutorial: the TensorFlow tutorial's network · chorale: the default model's recipe (slow).",
)
with st.form("train_form"):
    columns = st.columns(4)
    for index, name in enumerate(KNOBS):
        knob(name, columns[index % 4])
    start = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:", disabled=busy)

if start:
    try:
        cfg = preset(st.session_state[knob_key("preset")], **knob_values())
        if len(dataset.ok_files) < 2:
            raise ValueError("training needs at least two usable files (one is held out to validate)")
        state.set_job(start_training(dataset.corpus(), cfg))
        st.rerun()  # redraw with the Start button disabled: one job per visitor
    except ServerBusy as exc:
        st.warning(str(exc))
    except ValueError as exc:
        st.error(f"Cannot start training: {exc}")

if job is not None:
    st.subheader("Progress")
    show_job(job)

with st.expander("Use a model you trained before"):
    model_uploader("train_model_upload")
    if state.uploaded_model() is not None:
        st.page_link("pages/generate.py", label="Generate with it", icon=":material/music_note:")
