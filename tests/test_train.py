"""Training: it learns, reports progress, stops cleanly from another thread, is reproducible, and saves."""
from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from helpers_models import random_inputs, synthetic_corpus
from musicrnn.config import preset
from musicrnn.infer import read_model_file
from musicrnn.model import load_keras_model
from musicrnn.train import train

CFG = preset("tiny", epochs=3, window_stride=1, val_fraction=0.25, seed=5)


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus(files=8, notes=240)


@pytest.fixture(scope="module")
def trained(corpus):
    events = []
    result = train(corpus, CFG, on_progress=events.append, report_every=5)
    return result, events


def test_validation_pitch_loss_falls_below_first_epoch_and_uniform(trained):
    result, _ = trained
    losses = [row["val_pitch_loss"] for row in result.history]
    assert len(losses) == CFG.epochs
    assert losses[-1] < losses[0] - 0.1
    assert losses[-1] < math.log(128) - 1.0


def test_split_is_by_file_and_recorded(trained, corpus):
    result, _ = trained
    assert result.val_files and result.train_files
    assert not set(result.val_files) & set(result.train_files)
    assert sorted(result.val_files + result.train_files) == sorted(corpus.names)
    assert result.corpus["files"] == len(corpus)
    assert result.stopped is False


def test_progress_reports_batches_and_epochs_with_every_head(trained):
    result, events = trained
    epochs = [e for e in events if e["kind"] == "epoch"]
    batches = [e for e in events if e["kind"] == "batch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert batches and all(e["batch"] % 5 == 0 for e in batches)
    for head in ("pitch", "step", "duration"):
        assert f"{head}_loss" in batches[0]
        assert f"val_{head}_loss" in epochs[-1]
    assert epochs[-1]["epochs"] == CFG.epochs and epochs[-1]["batches"] >= 1
    assert result.history[-1] == {k: v for k, v in epochs[-1].items() if k in result.history[-1]}


def test_same_seed_gives_the_same_losses(trained, corpus):
    first, _ = trained
    again = train(corpus, CFG)
    assert first.val_files == again.val_files
    for row_a, row_b in zip(first.history, again.history, strict=True):
        for key in row_a:
            assert row_b[key] == pytest.approx(row_a[key], abs=1e-4), key


def test_stop_from_another_thread_ends_training_early_with_a_model(corpus):
    cfg = preset("tiny", epochs=500, window_stride=1, val_fraction=0.25)
    running, stop = threading.Event(), threading.Event()

    def on_progress(event):
        if event["kind"] == "batch":
            running.set()

    def stopper():
        running.wait(timeout=300)
        stop.set()

    thread = threading.Thread(target=stopper)
    thread.start()
    result = train(corpus, cfg, on_progress=on_progress, stop=stop, report_every=1)
    thread.join()
    assert result.stopped is True
    assert len(result.history) < 5  # stops within the epoch it was asked in (out of 500)
    pitch, numeric = random_inputs(cfg, batch=1)
    assert np.isfinite(np.asarray(result.model([pitch, numeric])["pitch"])).all()


def test_saved_result_holds_model_history_and_split(trained, tmp_path):
    result, _ = trained
    path = result.save(tmp_path / "trained.keras")
    sidecar = json.loads((tmp_path / "trained.json").read_text())
    assert sidecar["history"] == result.history
    assert sidecar["val_files"] == result.val_files and sidecar["train_files"] == result.train_files
    assert sidecar["config"] == CFG.to_dict()
    assert sidecar["final"]["val_pitch_loss"] == pytest.approx(result.history[-1]["val_pitch_loss"])
    numpy_model = read_model_file(path)
    assert numpy_model.info["val_files"] == result.val_files
    assert numpy_model.cfg == CFG
    pitch, numeric = random_inputs(CFG, batch=2)
    expected = np.asarray(load_keras_model(path)([pitch, numeric])["pitch"])
    np.testing.assert_allclose(numpy_model.forward(pitch, numeric)["pitch"], expected, atol=1e-5)
