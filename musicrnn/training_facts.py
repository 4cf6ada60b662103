"""What a training run reports while it runs and records when it ends, typed and built in one place.

Training (musicrnn.train), the training process (musicrnn.train_worker), background jobs (musicrnn.jobs), the
CLI and the Train page all read these records; none of this imports TensorFlow, so the server and the
generation path can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NotRequired, TypedDict

# Loss rows are dicts of floats keyed by Keras' log names: "loss", "<head>_loss" for each head, and the same
# with "val_" in front. The heads differ between models (parts models add one), so the TypedDicts below name
# only the keys every row has; the per-head losses are further keys of the same dict.


class EpochRow(TypedDict, total=False):
    """One finished epoch's losses (plus a "<head>_loss" and "val_<head>_loss" per head)."""

    epoch: int  # 1-based
    loss: float
    val_loss: float  # absent when no validation file was long enough for one window


class SplitEvent(TypedDict):
    """Sent once, before the first batch: which files train and which validate (a run killed later can
    still be scored), and the corpus summary the saved file records."""

    kind: Literal["split"]
    train_files: list[str]
    val_files: list[str]
    corpus: dict


class BatchEvent(TypedDict, total=False):
    """Every few batches: the running training losses (plus "<head>_loss" per head)."""

    kind: Literal["batch"]
    epoch: int  # 0-based: the epoch under way
    batch: int  # batches done in this epoch
    batches: int  # batches per epoch
    epochs: int  # epochs at most
    elapsed: float  # seconds since training started
    loss: float


class EpochEvent(EpochRow, total=False):
    """After each epoch: its EpochRow, with the same progress fields as BatchEvent."""

    kind: Literal["epoch"]
    batches: int
    epochs: int
    elapsed: float


ProgressEvent = SplitEvent | BatchEvent | EpochEvent
PROGRESS_ONLY = ("kind", "elapsed", "epochs", "batches")  # an EpochEvent's fields that are not its EpochRow's


class TrainingFacts(TypedDict):
    """What a saved model file records about the run that made it, besides the weights (built by `record`)."""

    corpus: dict  # Corpus.summary() and the split's sizes
    train_files: list[str]
    val_files: list[str]
    history: list[EpochRow]
    final: EpochRow  # the kept epoch's losses (see best_row)
    best_epoch: int  # 1-based; 0 = no epoch was best
    early_stopped: bool
    timed_out: bool
    stopped: bool
    seconds: float
    start_loss: NotRequired[float]  # fine-tuning: the start's validation loss, a candidate like every epoch
    kept_start: NotRequired[bool]  # fine-tuning: no epoch beat the start, so the model is the start


def epoch_row(event: EpochEvent) -> EpochRow:
    """An epoch's losses without the progress fields."""
    return {k: v for k, v in event.items() if k not in PROGRESS_ONLY}  # type: ignore[return-value]


def best_row(history: Sequence[EpochRow], best_epoch: int) -> EpochRow:
    """The losses of the model a run keeps: its best epoch's row. When no epoch was best (every loss was
    not finite) the model holds the last epoch's weights, so it is the last row; {} before any epoch."""
    none: EpochRow = {}
    return next((row for row in history if row["epoch"] == best_epoch), history[-1] if history else none)


def kept_start(start_loss: float | None, best_epoch: int) -> bool:
    """Whether a fine-tuning run gave back its start: it had one to beat and no epoch did."""
    return start_loss is not None and best_epoch == 0


def _start_row(start_loss: float | None) -> EpochRow:
    row: EpochRow = {"epoch": 0}
    if start_loss is not None:
        row["val_loss"] = start_loss
    return row


def record(
    history: Sequence[EpochRow],
    best_epoch: int,
    *,
    corpus: dict,
    train_files: Sequence[str],
    val_files: Sequence[str],
    stopped: bool,
    early_stopped: bool = False,
    timed_out: bool = False,
    seconds: float = 0.0,
    start_loss: float | None = None,
) -> TrainingFacts:
    """The training facts of a run: at its end, or (in the training process) of each best epoch as it is
    saved, so a run stopped or killed later still has a file that says what it is.

    `start_loss`: a fine-tuning run's validation loss before its first epoch. The start is a candidate like
    any epoch; when no epoch beat it (best_epoch 0) the model is the start, and the record says so."""
    history = list(history)
    start_kept = kept_start(start_loss, best_epoch)
    facts: TrainingFacts = {
        "corpus": dict(corpus),
        "train_files": list(train_files),
        "val_files": list(val_files),
        "history": history,
        "final": _start_row(start_loss) if start_kept else best_row(history, best_epoch),
        "best_epoch": best_epoch,
        "early_stopped": early_stopped,
        "timed_out": timed_out,
        "stopped": stopped,
        "seconds": seconds,
    }
    if start_loss is not None:
        facts["start_loss"] = start_loss
        facts["kept_start"] = start_kept
    return facts


def stop_reason(early_stopped: bool, timed_out: bool, patience: int) -> str:
    """Why a run that was not stopped by hand ended, in the words the CLI and the Train page both show."""
    if early_stopped:
        return f"stopped early: the held-out files were guessed no better for {patience} passes"
    return "stopped at the time limit" if timed_out else "every planned pass done"
