"""Background training jobs: training runs on its own thread, so page switches and widget reruns in the
app never interrupt it. The UI keeps a TrainingJob per user session and polls `snapshot()`.
"""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

from .config import Config
from .dataset import Corpus

MAX_RUNNING_JOBS = 2  # per server process: training is CPU-heavy and Cloud machines are small


class ServerBusy(RuntimeError):
    """Too many training jobs are running on this server."""


@dataclass
class TrainingJob:
    corpus: Corpus
    cfg: Config
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: str = "queued"  # queued → running → finished | stopped | failed
    epochs: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    latest: dict = field(default_factory=dict)
    error: str | None = None
    model_file: bytes | None = None  # the trained .keras file
    result_info: dict = field(default_factory=dict)
    started_at: float = 0.0
    finished_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    def stop(self) -> None:
        """Ask training to stop after the current batch; the model so far is kept."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def snapshot(self) -> dict:
        """A consistent copy of the progress for drawing (safe to call from any thread)."""
        with self._lock:
            return {
                "id": self.id,
                "status": self.status,
                "epochs": list(self.epochs),
                "batches": list(self.batches),
                "latest": dict(self.latest),
                "error": self.error,
                "elapsed": (self.finished_at or time.monotonic()) - self.started_at if self.started_at else 0.0,
                "total_epochs": self.cfg.epochs,
            }

    def _on_progress(self, event: dict) -> None:
        with self._lock:
            self.latest = event
            (self.epochs if event["kind"] == "epoch" else self.batches).append(event)

    def _run(self) -> None:
        self.status = "running"
        try:
            from .train import train  # TensorFlow loads here, on the job's thread

            result = train(self.corpus, self.cfg, on_progress=self._on_progress, stop=self._stop)
            from .model import model_bytes

            model_file = model_bytes(result.model, result.cfg, extra=_result_extra(result))
            with self._lock:
                self.model_file = model_file
                self.result_info = {"final": result.final, "val_files": result.val_files, "seconds": result.seconds}
                self.status = "stopped" if result.stopped else "finished"
        except Exception as exc:  # the job must report, never die silently
            with self._lock:
                self.error = f"{type(exc).__name__}: {exc}"
                self.status = "failed"
            traceback.print_exc()
        finally:
            self.finished_at = time.monotonic()
            _registry.release(self)


def _result_extra(result) -> dict:
    return {
        "corpus": result.corpus,
        "train_files": result.train_files,
        "val_files": result.val_files,
        "history": result.history,
        "final": result.final,
        "stopped": result.stopped,
    }


class _Registry:
    """Counts running jobs across all sessions of this server process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.limit = MAX_RUNNING_JOBS

    def claim(self, job: TrainingJob) -> None:
        with self.lock:
            if len(self.running) >= self.limit:
                raise ServerBusy(
                    f"{len(self.running)} models are training on this server right now (the limit is {self.limit}). "
                    "Please try again in a few minutes."
                )
            self.running.add(job.id)

    def release(self, job: TrainingJob) -> None:
        with self.lock:
            self.running.discard(job.id)


_registry = _Registry()


def set_job_limit(limit: int) -> None:
    _registry.limit = max(1, int(limit))


def running_job_count() -> int:
    with _registry.lock:
        return len(_registry.running)


def start_training(corpus: Corpus, cfg: Config) -> TrainingJob:
    """Start a training job on a background thread, or raise ServerBusy."""
    cfg.validate()
    job = TrainingJob(corpus=corpus, cfg=cfg)
    _registry.claim(job)
    job.started_at = time.monotonic()
    job._thread = threading.Thread(target=job._run, name=f"musicrnn-train-{job.id}", daemon=True)
    job._thread.start()
    return job
