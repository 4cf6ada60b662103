"""Training: seeded split, tf.data windows, Keras fit with progress callbacks and a clean stop."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from .config import Config
from .dataset import Corpus, make_tf_dataset, split_files
from .distributed import backup_callback, fit_with_strategy_run, needs_own_loop
from .model import build_model, compile_model, save_model
from .training_facts import (
    BatchEvent,
    EpochEvent,
    EpochRow,
    ProgressEvent,
    TrainingFacts,
    best_row,
    kept_start,
    record,
)

if TYPE_CHECKING:
    from .ingest import CachedFile

ProgressFn = Callable[[ProgressEvent], None]
# The best epoch is judged on the total validation loss: it weighs every head as training does, whatever the
# heads are (regression today, classes tomorrow), so nothing here depends on what they predict.
MONITOR = "val_loss"


@dataclass
class TrainResult:
    model: keras.Model
    cfg: Config
    history: list[EpochRow] = field(default_factory=list)  # one dict of losses per finished epoch
    train_files: list[str] = field(default_factory=list)
    val_files: list[str] = field(default_factory=list)
    corpus: dict = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0
    best_epoch: int = 0  # the epoch whose weights the model holds (1-based; 0 = none: see start_loss)
    start_loss: float | None = None  # fine-tuning: the start's validation loss (best_epoch 0: the start is kept)
    early_stopped: bool = False  # stopped because the validation loss no longer improved
    timed_out: bool = False  # stopped by cfg.time_limit_minutes

    @property
    def final(self) -> EpochRow:
        """The losses of the kept model (see training_facts.best_row)."""
        return best_row(self.history, self.best_epoch)

    @property
    def last(self) -> EpochRow:
        return self.history[-1] if self.history else {}

    def facts(self) -> TrainingFacts:
        """What the saved file records about this run besides the weights."""
        return record(
            self.history,
            self.best_epoch,
            corpus=self.corpus,
            train_files=self.train_files,
            val_files=self.val_files,
            stopped=self.stopped,
            early_stopped=self.early_stopped,
            timed_out=self.timed_out,
            seconds=self.seconds,
            start_loss=self.start_loss,
        )

    @property
    def kept_start(self) -> bool:
        """No epoch of this fine-tuning run beat the model it started from, so the model is that start."""
        return kept_start(self.start_loss, self.best_epoch)

    def save(self, path: str | Path) -> Path:
        return save_model(self.model, self.cfg, path, self.facts())


class _Reporter(keras.callbacks.Callback):
    """Forwards losses to a plain function and stops between batches when asked."""

    def __init__(
        self,
        on_progress: ProgressFn | None,
        stop: threading.Event | None,
        every: int,
        batches: int,
        epochs: int,
        deadline: float | None = None,
    ):
        super().__init__()
        self.on_progress, self.stop, self.every = on_progress, stop, every
        self.batches, self.epochs = batches, epochs
        self.deadline = deadline  # time.monotonic() after which training stops (the time limit)
        self.timed_out = False
        self.history: list[EpochRow] = []
        self.epoch = 0
        self.started = time.monotonic()

    def _emit(self, event: BatchEvent | EpochEvent) -> None:
        if self.on_progress:  # each event is a fresh dict: completed in place with the progress fields
            event["elapsed"] = time.monotonic() - self.started
            event["epochs"], event["batches"] = self.epochs, self.batches
            self.on_progress(event)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stop is not None and self.stop.is_set():
            self.model.stop_training = True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.model.stop_training = self.timed_out = True
        if (batch + 1) % self.every == 0:
            self._emit({"kind": "batch", "epoch": self.epoch, "batch": batch + 1, **_floats(logs)})

    def on_epoch_end(self, epoch, logs=None):
        row: EpochRow = {"epoch": epoch + 1, **_floats(logs)}
        self.history.append(row)
        self._emit({"kind": "epoch", **row})


class KeepBest(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest validation loss, stops when it has not improved for
    `patience` epochs (0 = never), and puts the best weights back when training ends, however it ends.
    `on_best(model, epoch)` runs after each new best (e.g. to save it, so a killed run keeps it)."""

    def __init__(
        self,
        patience: int = 0,
        on_best: Callable[[keras.Model, int], None] | None = None,
        monitor: str = MONITOR,
        start_loss: float | None = None,
    ):
        super().__init__()
        self.patience, self.on_best, self.monitor = patience, on_best, monitor
        # Fine-tuning: the start's own validation loss is the one to beat, so a run that only makes a good
        # start worse gives back the start (bench/finetune.py saw this on two of four collections).
        self.start_loss = start_loss if start_loss is not None and np.isfinite(start_loss) else None
        self.best = float("inf") if self.start_loss is None else self.start_loss
        self.best_epoch = 0
        self.best_weights: list | None = None
        self.since_best = 0
        self.early_stopped = False

    def on_train_begin(self, logs=None):
        if self.start_loss is not None:
            self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get("loss"))  # no validation files: the training loss
        if value is not None and np.isfinite(value) and value < self.best:
            self.best, self.best_epoch, self.since_best = float(value), epoch + 1, 0
            self.best_weights = self.model.get_weights()
            if self.on_best is not None:
                self.on_best(self.model, epoch + 1)
            return
        self.since_best += 1
        if self.patience and self.since_best >= self.patience:
            self.model.stop_training = self.early_stopped = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


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
    *,
    strategy=None,
    checkpoint_dir: str | Path | None = None,
    on_best: Callable[[keras.Model, int], None] | None = None,
) -> TrainResult:
    """Train a model on `corpus` (seeded file split, validation each epoch). Returns even when stopped.

    With a tf.distribute `strategy`, cfg.batch_size is per replica and the model is built in its scope;
    with `checkpoint_dir`, every epoch is backed up there and an interrupted run resumes from it.
    The returned model holds the weights of the epoch with the best validation loss (see KeepBest);
    `model` (e.g. from musicrnn.finetune) is trained further instead of a new one.
    """
    cfg.validate()
    keras.utils.set_random_seed(cfg.seed)
    started = time.monotonic()
    train_idx, val_idx = split_files(corpus, cfg.val_fraction, cfg.seed)
    train_set, val_set = corpus.subset(train_idx), corpus.subset(val_idx)
    cfg = with_piece_lengths(cfg, corpus.lengths)
    data_cfg = _global_batch(cfg, strategy)
    train_data, train_windows = make_tf_dataset(train_set, data_cfg, shuffle=True, seed=cfg.seed)
    try:
        val_data, _ = make_tf_dataset(val_set, data_cfg, shuffle=False)
    except ValueError:
        val_data = None  # validation files too short for one window: train without validation
    summary = {**corpus.summary(), "train_files": len(train_set), "val_files": len(val_set)}
    return _fit(
        FitPlan(
            cfg,
            data_cfg,
            train_data,
            val_data,
            train_windows,
            train_set.names,
            val_set.names,
            summary,
            started,
            on_progress,
            stop,
            report_every,
            model,
            callbacks,
            strategy,
            checkpoint_dir,
            on_best,
        )
    )


def train_streaming(
    files: Sequence[CachedFile],
    cfg: Config,
    on_progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    report_every: int = 10,
    callbacks: list[keras.callbacks.Callback] | None = None,
    *,
    strategy=None,
    checkpoint_dir: str | Path | None = None,
    buffer: int = 20_000,
) -> TrainResult:
    """Like `train`, but windows stream from the per-file cache entries (see `ingest.stream_dataset`):
    memory is a shuffle buffer, not the corpus. The split is by file, seeded, without duplicate grouping."""
    from .ingest import split_entries, stream_dataset, streamed_part_summary

    cfg.validate()
    keras.utils.set_random_seed(cfg.seed)
    started = time.monotonic()
    train_files, val_files = split_entries(files, cfg.val_fraction, cfg.seed)
    cfg = with_piece_lengths(cfg, [f.notes for f in files])
    data_cfg = _global_batch(cfg, strategy)
    train_data, train_windows = stream_dataset(train_files, data_cfg, shuffle=True, seed=cfg.seed, buffer=buffer)
    try:
        val_data, _ = stream_dataset(val_files, data_cfg, shuffle=False)
    except ValueError:
        val_data = None
    summary = {
        "files": len(files),
        "notes": sum(f.notes for f in files),
        "train_files": len(train_files),
        "val_files": len(val_files),
        "streamed": True,
        "parts": streamed_part_summary(files),
    }
    return _fit(
        FitPlan(
            cfg,
            data_cfg,
            train_data,
            val_data,
            train_windows,
            [f.name for f in train_files],
            [f.name for f in val_files],
            summary,
            started,
            on_progress,
            stop,
            report_every,
            callbacks=callbacks,
            strategy=strategy,
            checkpoint_dir=checkpoint_dir,
        )
    )


def with_piece_lengths(cfg: Config, lengths: Sequence[int] | np.ndarray) -> Config:
    """A model that learns endings ends no piece sooner than the pieces it learns from would
    (generate.shortest_continuation of their note counts), and heads for a cadence where they usually end
    (generate.typical_continuation): a visitor's hymns, a fine-tuned chorale model, each by its own files, not
    its start's."""
    if not cfg.end_class:
        return cfg
    from .generate import shortest_continuation, typical_continuation

    return cfg.replace(end_after=shortest_continuation(lengths), close_after=typical_continuation(lengths))


def _global_batch(cfg: Config, strategy) -> Config:
    """The config the input pipeline uses: one batch feeds every replica, cfg.batch_size each."""
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    return cfg.replace(batch_size=cfg.batch_size * replicas)


@dataclass
class FitPlan:
    """What `_fit` trains on and how: the split data `train` or `train_streaming` prepared, and the caller's options."""

    cfg: Config
    data_cfg: Config  # cfg with the global batch size (see _global_batch)
    train_data: Any  # a tf.data.Dataset of (inputs, targets) batches
    val_data: Any | None  # None: no validation file was long enough for one window
    train_windows: int
    train_names: list[str]
    val_names: list[str]
    summary: dict  # the corpus summary the saved file records
    started: float  # time.monotonic() when the call began (the time limit counts from here)
    on_progress: ProgressFn | None = None
    stop: threading.Event | None = None
    report_every: int = 10
    model: keras.Model | None = None  # trained further instead of a new one
    callbacks: list[keras.callbacks.Callback] | None = None
    strategy: Any = None  # a tf.distribute strategy, or None for one device
    checkpoint_dir: str | Path | None = None
    on_best: Callable[[keras.Model, int], None] | None = None


def _fit(plan: FitPlan) -> TrainResult:
    cfg, data_cfg, strategy, stop, summary = plan.cfg, plan.data_cfg, plan.strategy, plan.stop, plan.summary
    batches = int(np.ceil(plan.train_windows / data_cfg.batch_size))
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = plan.model or compile_model(build_model(cfg), cfg, batches)
    extra_callbacks = list(plan.callbacks or [])
    if plan.checkpoint_dir is not None:
        # Saves weights, optimizer state and the epoch after every epoch; a restarted run resumes from there
        # (and the backup is deleted once training finishes).
        extra_callbacks.append(backup_callback(plan.checkpoint_dir))
    if plan.on_progress is not None:  # which files validate: a run that is killed later can still be scored
        plan.on_progress(
            {
                "kind": "split",
                "train_files": list(plan.train_names),
                "val_files": list(plan.val_names),
                "corpus": dict(summary),
            }
        )
    deadline = plan.started + 60 * cfg.time_limit_minutes if cfg.time_limit_minutes else None
    reporter = _Reporter(plan.on_progress, stop, max(1, plan.report_every), batches, cfg.epochs, deadline)
    keep_best = KeepBest(cfg.patience, plan.on_best, start_loss=_start_loss(model, plan))
    # keep_best runs after the reporter, so an epoch's row reaches on_progress before the best one is saved.
    callbacks = [reporter, keep_best, *extra_callbacks]
    if needs_own_loop(strategy):
        fit_with_strategy_run(model, cfg, strategy, plan.train_data, plan.val_data, batches, callbacks)
    else:
        model.fit(
            plan.train_data,
            validation_data=plan.val_data,
            epochs=cfg.epochs,
            verbose=0,
            shuffle=False,  # tf.data shuffles
            callbacks=callbacks,
        )
    if strategy is not None:
        summary = {**summary, "replicas": strategy.num_replicas_in_sync, "global_batch_size": data_cfg.batch_size}
    return TrainResult(
        model=model,
        cfg=cfg,
        history=reporter.history,
        train_files=plan.train_names,
        val_files=plan.val_names,
        corpus=summary,
        stopped=bool(stop is not None and stop.is_set()),
        seconds=time.monotonic() - plan.started,
        best_epoch=keep_best.best_epoch,
        start_loss=keep_best.start_loss,
        early_stopped=keep_best.early_stopped,
        timed_out=reporter.timed_out,
    )


def _start_loss(model: keras.Model, plan: FitPlan) -> float | None:
    """A fine-tuning run's validation loss before it trains (None when training a new network, without
    validation files, or under a strategy whose loop is our own)."""
    if plan.model is None or plan.val_data is None or needs_own_loop(plan.strategy):
        return None
    scores = model.evaluate(plan.val_data, verbose=0, return_dict=True)
    return float(scores["loss"])
