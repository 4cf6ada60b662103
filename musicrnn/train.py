"""Training: seeded split, tf.data windows, Keras fit with progress callbacks and a clean stop."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from .config import Config
from .dataset import Corpus, make_tf_dataset, split_files
from .model import build_model, compile_model, save_model

ProgressFn = Callable[[dict], None]
HEADS = ("pitch", "step", "duration")


@dataclass
class TrainResult:
    model: keras.Model
    cfg: Config
    history: list[dict] = field(default_factory=list)  # one dict of losses per finished epoch
    train_files: list[str] = field(default_factory=list)
    val_files: list[str] = field(default_factory=list)
    corpus: dict = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}

    def save(self, path: str | Path) -> Path:
        extra = {
            "corpus": self.corpus,
            "train_files": self.train_files,
            "val_files": self.val_files,
            "history": self.history,
            "final": self.final,
            "stopped": self.stopped,
            "seconds": self.seconds,
        }
        return save_model(self.model, self.cfg, path, extra)


class _Reporter(keras.callbacks.Callback):
    """Forwards losses to a plain function and stops between batches when asked."""

    def __init__(self, on_progress: ProgressFn | None, stop: threading.Event | None, every: int, batches: int, epochs: int):
        super().__init__()
        self.on_progress, self.stop, self.every = on_progress, stop, every
        self.batches, self.epochs = batches, epochs
        self.history: list[dict] = []
        self.epoch = 0
        self.started = time.monotonic()

    def _emit(self, event: dict) -> None:
        if self.on_progress:
            self.on_progress({**event, "elapsed": time.monotonic() - self.started, "epochs": self.epochs, "batches": self.batches})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stop is not None and self.stop.is_set():
            self.model.stop_training = True
        if (batch + 1) % self.every == 0:
            self._emit({"kind": "batch", "epoch": self.epoch, "batch": batch + 1, **_floats(logs)})

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **_floats(logs)}
        self.history.append(row)
        self._emit({"kind": "epoch", **row})


def _floats(logs: dict | None) -> dict:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def train(
    corpus: Corpus,
    cfg: Config,
    on_progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    report_every: int = 10,
    model: keras.Model | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainResult:
    """Train a model on `corpus` (seeded file split, validation each epoch). Returns even when stopped."""
    cfg.validate()
    keras.utils.set_random_seed(cfg.seed)
    started = time.monotonic()
    train_idx, val_idx = split_files(corpus, cfg.val_fraction, cfg.seed)
    train_set, val_set = corpus.subset(train_idx), corpus.subset(val_idx)
    train_data, train_windows = make_tf_dataset(train_set, cfg, shuffle=True, seed=cfg.seed)
    try:
        val_data, _ = make_tf_dataset(val_set, cfg, shuffle=False)
    except ValueError:
        val_data = None  # validation files too short for one window: train without validation
    batches = int(np.ceil(train_windows / cfg.batch_size))
    model = model or compile_model(build_model(cfg), cfg)
    reporter = _Reporter(on_progress, stop, max(1, report_every), batches, cfg.epochs)
    model.fit(
        train_data, validation_data=val_data, epochs=cfg.epochs, verbose=0, shuffle=False,  # tf.data shuffles
        callbacks=[reporter, *(callbacks or [])],
    )
    return TrainResult(
        model=model,
        cfg=cfg,
        history=reporter.history,
        train_files=train_set.names,
        val_files=val_set.names,
        corpus={**corpus.summary(), "train_files": len(train_set), "val_files": len(val_set)},
        stopped=bool(stop is not None and stop.is_set()),
        seconds=time.monotonic() - started,
    )
