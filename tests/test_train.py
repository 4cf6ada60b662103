"""Training: it learns, reports progress, stops cleanly from another thread, is reproducible, and saves."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from helpers_models import keras_outputs, random_extras, random_inputs, synthetic_corpus
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
    cfg = preset("tiny", epochs=500, window_stride=1, val_fraction=0.25, patience=0)
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
    assert np.isfinite(keras_outputs(result.model, pitch, numeric, *random_extras(cfg, batch=1))["pitch"]).all()


def test_saved_result_holds_model_history_and_split(trained, tmp_path):
    result, _ = trained
    path = result.save(tmp_path / "trained.keras")
    sidecar = json.loads((tmp_path / "trained.json").read_text())
    assert sidecar["history"] == result.history
    assert sidecar["val_files"] == result.val_files and sidecar["train_files"] == result.train_files
    # The settings as given, how long a piece runs at least (end_after) and from when it heads for its cadence
    # (close_after): the 8 files' 240 notes less their 32-note opening.
    assert sidecar["config"] == CFG.replace(end_after=208, close_after=208).to_dict()
    assert sidecar["final"] == result.history[result.best_epoch - 1]  # the kept epoch's losses
    assert sidecar["best_epoch"] == result.best_epoch
    numpy_model = read_model_file(path)
    assert numpy_model.info["val_files"] == result.val_files
    assert numpy_model.cfg == CFG.replace(end_after=208, close_after=208)
    pitch, numeric = random_inputs(CFG, batch=2)
    key, given = random_extras(CFG, batch=2)
    expected = keras_outputs(load_keras_model(path), pitch, numeric, key, given)["pitch"]
    np.testing.assert_allclose(numpy_model.forward(pitch, numeric, key, given)["pitch"], expected, atol=1e-5)


class _Weights:
    """Just enough of a Keras model for KeepBest: weights to remember and a stop flag."""

    def __init__(self):
        self.weights, self.stop_training = [np.zeros(2)], False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = weights


def test_keep_best_stops_after_patience_and_restores_the_best_epochs_weights():
    from musicrnn.train import KeepBest

    saved = []
    keep = KeepBest(patience=2, on_best=lambda model, epoch: saved.append(epoch))
    model = _Weights()
    keep.set_model(model)
    for epoch, val_loss in enumerate([3.0, 2.0, 2.5, 2.6]):
        model.weights = [np.full(2, float(epoch))]
        keep.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
        assert model.stop_training == (epoch == 3)  # two epochs without improving on 2.0
    keep.on_train_end()
    assert keep.best_epoch == 2 and keep.early_stopped and saved == [1, 2]
    np.testing.assert_array_equal(model.weights[0], np.full(2, 1.0))  # epoch 2's weights (index 1)


def test_keep_best_with_patience_zero_never_stops_early():
    from musicrnn.train import KeepBest

    keep = KeepBest(patience=0)
    model = _Weights()
    keep.set_model(model)
    for epoch, val_loss in enumerate([1.0, 2.0, 3.0, 4.0, 5.0]):
        keep.on_epoch_end(epoch, {"val_loss": val_loss})
    assert not model.stop_training and keep.best_epoch == 1


def test_keep_best_counts_a_fine_tuning_start_as_a_candidate():
    from musicrnn.train import KeepBest

    keep = KeepBest(patience=0, start_loss=1.5)
    model = _Weights()
    model.weights = [np.full(2, 7.0)]  # the start
    keep.set_model(model)
    keep.on_train_begin()
    for epoch, val_loss in enumerate([1.8, 1.6, 1.7]):  # every epoch worse than the start
        model.weights = [np.full(2, float(epoch))]
        keep.on_epoch_end(epoch, {"val_loss": val_loss})
    keep.on_train_end()
    assert keep.best_epoch == 0
    np.testing.assert_array_equal(model.weights[0], np.full(2, 7.0))  # the start's weights are the model
    better = KeepBest(patience=0, start_loss=1.5)
    better.set_model(_Weights())
    better.on_train_begin()
    better.on_epoch_end(0, {"val_loss": 1.4})
    assert better.best_epoch == 1  # an epoch that beats the start is kept as before


def test_fine_tuning_that_only_makes_the_start_worse_keeps_the_start(corpus, trained, tmp_path):
    """A learning rate far too high ruins every epoch of fine-tuning: the result is the start, and says so."""
    from musicrnn.finetune import init_model

    path = trained[0].save(tmp_path / "start.keras")
    cfg = CFG.replace(epochs=2, learning_rate=5.0, patience=0)
    model = init_model(path, cfg)
    before = [w.copy() for w in model.get_weights()]
    result = train(corpus, cfg, model=model)
    assert result.kept_start and result.best_epoch == 0
    assert all(row["val_loss"] > result.start_loss for row in result.history)
    for kept, original in zip(result.model.get_weights(), before):
        np.testing.assert_array_equal(kept, original)
    facts = result.facts()
    assert facts["kept_start"] and facts["final"] == {"epoch": 0, "val_loss": result.start_loss}


def test_the_trained_model_is_its_best_epoch(corpus):
    """A learning rate far too high makes later epochs worse; the result keeps the best one and says which."""
    cfg = preset("tiny", epochs=6, window_stride=1, val_fraction=0.25, seed=5, learning_rate=0.2, patience=2)
    result = train(corpus, cfg)
    losses = [row["val_loss"] for row in result.history]
    assert result.best_epoch == 1 + int(np.argmin(losses))
    assert result.final["val_loss"] == min(losses)
    # The model holds the best epoch's weights: scoring it again on the held-out files gives that epoch's loss.
    from musicrnn.dataset import make_tf_dataset

    held_out = corpus.subset([corpus.names.index(name) for name in result.val_files])
    data, _ = make_tf_dataset(held_out, cfg, shuffle=False)
    again = result.model.evaluate(data, verbose=0, return_dict=True)
    assert again["loss"] == pytest.approx(result.final["val_loss"], rel=1e-3)


def test_time_limit_stops_training_within_it(corpus):
    cfg = preset("tiny", epochs=500, window_stride=1, val_fraction=0.25, patience=0, time_limit_minutes=0.05)
    result = train(corpus, cfg)
    assert result.timed_out and not result.stopped
    assert len(result.history) < 500
    assert result.seconds < 3 + 30  # 3 s of training, plus start-up and the last validation on a busy machine


def test_a_model_that_learns_endings_ends_no_sooner_than_its_own_files_not_its_starts(corpus, trained, tmp_path):
    """end_after and close_after come from the files a run learns from (their shortest and their median, less the
    opening), so a model fine-tuned on short hymns from the chorale model does not keep the chorales' length; a
    model that learns no endings has none."""
    from musicrnn.finetune import init_model
    from musicrnn.generate import MIN_NOTES_BEFORE_END

    start = trained[0].save(tmp_path / "start.keras")
    short = synthetic_corpus(files=6, notes=80)
    cfg = CFG.replace(epochs=1, end_after=trained[0].cfg.end_after, close_after=trained[0].cfg.close_after)
    tuned = train(short, cfg, model=init_model(start, cfg))
    assert trained[0].cfg.end_after == 208 and tuned.cfg.end_after == 80 - 32
    assert trained[0].cfg.close_after == 208 and tuned.cfg.close_after == 80 - 32
    tiny_files = synthetic_corpus(files=6, notes=40)
    assert train(tiny_files, cfg).cfg.end_after == MIN_NOTES_BEFORE_END  # never sooner than the generator's floor
    assert train(short, CFG.replace(epochs=1, end_class=False)).cfg.end_after == 0
    assert train(short, CFG.replace(epochs=1, end_class=False)).cfg.close_after == 0
