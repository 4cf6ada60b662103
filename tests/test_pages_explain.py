"""AppTest of the How-it-works page, and of Generate's shareable links (issue 11) and musical report (issue 8)."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from musicrnn import bundled
from musicrnn.recipe import default_model_id, model_id
from test_pages import (
    APP,
    TIMEOUT,
    assert_no_exception,
    click,
    download_labels,
    needs_default_model,
    open_page,
    small_dataset,
)
from ui.state import DATASET, TRAINED_MODEL, TRAINED_MODEL_LABEL, ModelEntry

pytestmark = needs_default_model

SECTIONS = [
    "1. Music as notes",
    "2. One training window",
    "3. The network",
    "4. What it predicts for this window",
    "5. How well it guesses",
]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table shown with this column (AppTest does not expose dataframe keys)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def distribution_bars(at: AppTest) -> list[float]:
    """The y values of the reshaped ("what sampling draws from") bars of the distribution chart."""
    chart = next(chart for chart in at.get("plotly_chart") if "what sampling draws from" in chart.proto.spec)
    traces = json.loads(chart.proto.spec)["data"]
    y = next(trace["y"] for trace in traces if trace["name"] == "what sampling draws from")
    if isinstance(y, dict):  # plotly sends numpy arrays as base64
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    return [float(value) for value in y]


def test_how_it_works_shows_every_section_with_the_default_model():
    at = open_page("how_it_works", small_dataset(3))
    assert [header.value for header in at.header] == SECTIONS
    assert at.radio(key="keep_explain_model").value == "Default model (Bach chorales)"
    assert len(at.get("plotly_chart")) == 5  # file roll, window roll, distribution, guessing bars, nats (Details)
    assert len(at.get("graphviz_chart")) == 1
    labels = [metric.label for metric in at.metric]
    assert labels == ["True next note", "Network's favourite", "Step (predicted / true)", "Duration (predicted / true)"]
    losses = table_with(at, "perplexity")
    assert list(losses.index) == ["model", "uniform", "unigram", "bigram"]
    assert not at.error


def test_moving_the_temperature_slider_redraws_the_distribution():
    at = open_page("how_it_works", small_dataset(3))
    before = distribution_bars(at)
    at.slider(key="keep_explain_temperature").set_value(0.3).run()
    assert_no_exception(at)
    sharper = distribution_bars(at)
    assert sharper != before
    assert max(sharper) > max(before)  # a lower temperature concentrates the probability
    at.slider(key="keep_explain_temperature").set_value(0.0).run()
    assert sorted(distribution_bars(at))[-2:] == [0, 1]  # temperature 0: always the favourite


def test_moving_the_window_changes_the_target():
    at = open_page("how_it_works", small_dataset(3))
    first = table_with(at, "role")
    at.slider(key="keep_explain_start").set_value(0).run()
    assert_no_exception(at)
    moved = table_with(at, "role")
    assert list(moved.index)[-1] == at.session_state["keep_explain_start"] + len(moved) - 1
    assert not first.equals(moved)


def generate_small(at: AppTest, seed: int = 9) -> AppTest:
    at.number_input(key="keep_generate_notes").set_value(30)
    at.slider(key="keep_generate_temperature").set_value(0.75)
    at.number_input(key="keep_generate_seed").set_value(seed).run()
    return click(at, "Generate")


def open_link(params: dict, dataset=None) -> AppTest:
    """A new visitor (fresh session) opening /generate?<params>."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[DATASET] = dataset or small_dataset(3)
    at.query_params.update(params)
    at.switch_page("pages/generate.py").run()
    assert_no_exception(at)
    return at


def test_generate_shows_metrics_overlays_and_novelty_for_each_variation():
    at = generate_small(open_page("generate", small_dataset(3)))
    assert "Musical metrics next to your dataset" in [expander.label for expander in at.expander]
    table = table_with(at, "corpus")
    assert list(table.columns) == ["metric", "variation 1", "variation 2", "variation 3", "corpus"]
    titles = " ".join(chart.proto.spec for chart in at.get("plotly_chart"))
    assert "Pitch classes: generated vs corpus" in titles
    assert "Note length: generated vs corpus" in titles
    assert "Novelty" in titles
    report = at.session_state["generated"].report
    assert len(report["copied"]) == 3


def test_a_link_reproduces_the_same_notes_in_a_new_session():
    at = generate_small(open_page("generate", small_dataset(3)))
    original = at.session_state["generated"]
    click(at, "Put the link in the address bar")
    params = dict(at.query_params)
    assert params["seed"] == "9" and params["temperature"] == "0.75"
    assert params["model"] == default_model_id()
    assert "/generate?v=1&model=default%3A" in at.code[0].value
    assert any("Anyone opening this link" in item.value for item in at.success)

    again = open_link(params)
    shown = again.session_state["generated"]
    assert len(shown.pieces) == len(original.pieces)
    for a, b in zip(original.pieces, shown.pieces):
        pd.testing.assert_frame_equal(a, b)
    assert [audio.wav for audio in shown.audios] == [audio.wav for audio in original.audios]  # the same sound
    assert again.slider(key="keep_generate_temperature").value == 0.75  # the widgets show the recipe
    assert again.number_input(key="keep_generate_seed").value == 9
    # Touching a widget afterwards does not make the linked piece again.
    again.number_input(key="keep_generate_notes").set_value(50).run()
    assert again.session_state["generated"] is shown


def test_a_broken_link_says_why():
    at = open_link({"v": "1", "model": default_model_id(), "temperature": "warm"})
    assert any("This link cannot be used" in item.value and "temperature" in item.value for item in at.error)
    assert "generated" not in at.session_state


def other_copy_of_the_default_model() -> bytes:
    """The default model in a differently written zip: the same network, another file (another hash)."""
    source = zipfile.ZipFile(io.BytesIO(bundled.DEFAULT_MODEL.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info))
        out.comment = b"trained in a session"
    return buffer.getvalue()


def test_a_session_models_link_asks_for_the_model_and_works_once_it_is_uploaded():
    data = other_copy_of_the_default_model()
    entry = ModelEntry(TRAINED_MODEL_LABEL, "job1", bundled.default_model(), data, model_id("trained", data))
    at = open_page("generate", small_dataset(3), **{TRAINED_MODEL: entry, "keep_generate_model": TRAINED_MODEL_LABEL})
    generate_small(at, seed=4)
    click(at, "Put the link in the address bar")
    assert any("needs the model file" in item.value for item in at.warning)
    assert "Download the model (.keras)" in download_labels(at)
    params = dict(at.query_params)
    assert params["model"].startswith("trained:")

    stranger = open_link(params)
    assert "generated" not in stranger.session_state
    assert any("Upload that .keras file" in item.value for item in stranger.warning)
    stranger.file_uploader(key="generate_model_upload").set_value(
        ("shared.keras", data, "application/octet-stream")
    ).run()
    assert_no_exception(stranger)
    for a, b in zip(at.session_state["generated"].pieces, stranger.session_state["generated"].pieces):
        pd.testing.assert_frame_equal(a, b)
    assert stranger.radio(key="keep_generate_model").value == "Uploaded model"
