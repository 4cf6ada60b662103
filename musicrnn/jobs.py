"""Background training jobs, each in its own process (musicrnn.train_worker).

The server never imports TensorFlow: a child process trains and streams JSON progress lines back, read on
a thread here, so page switches and widget reruns never interrupt it, a crash or out-of-memory in training
ends only that child, and its memory goes back to the system when it ends. The UI keeps a TrainingJob per
visitor and polls `snapshot()`. A plain subprocess, not multiprocessing: under `streamlit run` the
`__main__` module is the app's script, which multiprocessing's spawn would run again in the child.
"""

from __future__ import annotations

import json
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from .config import Config
from .dataset import Corpus
from .train_worker import BEST, REQUEST  # the job folder's files, named once for both processes
from .training_facts import BatchEvent, EpochEvent, best_row, epoch_row

MAX_RUNNING_JOBS = 2  # per server process: training is CPU-heavy and Cloud machines are small
STOP_GRACE_S = 1.0  # Stop with a best epoch saved: the child gets this long to finish cleanly, then is killed
STOP_WAIT_S = 60.0  # Stop before any epoch finished: the child saves what it has; killed after this at most
ORPHAN_GRACE_S = 120.0  # a job whose visitor has been gone this long (tab closed) is stopped
ROOT = Path(__file__).resolve().parents[1]


JobStatus = Literal["queued", "running", "finished", "stopped", "failed"]
RESULT_FACTS = ("final", "val_files", "seconds", "early_stopped", "timed_out", "best_epoch")  # kept from the done event


class ServerBusy(RuntimeError):
    """Too many training jobs are running on this server."""


class JobSnapshot(TypedDict):
    """A consistent copy of a job's progress (TrainingJob.snapshot), what the Train page draws."""

    id: str
    status: JobStatus
    epochs: list[EpochEvent]
    batches: list[BatchEvent]
    latest: BatchEvent | EpochEvent | dict  # {} before the first report
    error: str | None
    elapsed: float  # seconds since the job started (until it ended)
    total_epochs: int
    time_limit_s: float  # 0 = no limit
    best_epoch: int
    stopping: bool  # Stop was pressed and the job has not ended yet


@dataclass
class TrainingJob:
    corpus: Corpus
    cfg: Config
    init: bytes | None = None  # the .keras file to fine-tune (None: a new network)
    init_name: str | None = None
    owner_alive: Callable[[], bool] | None = None  # False once the visitor's tab is gone
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: JobStatus = "queued"  # queued → running → finished | stopped | failed
    epochs: list[EpochEvent] = field(default_factory=list)
    batches: list[BatchEvent] = field(default_factory=list)
    latest: BatchEvent | EpochEvent | dict = field(default_factory=dict)
    error: str | None = None
    model_file: bytes | None = None  # the trained .keras file (its best epoch)
    result_info: dict = field(default_factory=dict)  # RESULT_FACTS of training_facts.record, once known
    best_epoch: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    stop_requested: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _folder: Path | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """End training: at once when an epoch's model is saved (it is kept), else after the current batch."""
        with self._lock:
            if self.stop_requested or not self.running:
                return
            self.stop_requested = True
            has_best = self.best_epoch > 0
        self._send("stop")  # before the child has started it is told as soon as it is (see _launch)
        threading.Thread(
            target=self._kill_after, args=(STOP_GRACE_S if has_best else STOP_WAIT_S,), daemon=True
        ).start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def snapshot(self) -> JobSnapshot:
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
                "time_limit_s": 60 * self.cfg.time_limit_minutes,
                "best_epoch": self.best_epoch,
                "stopping": self.stop_requested and self.running,
            }

    # ---- the child process ---------------------------------------------------------------------------------

    def _launch(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix=f"musicrnn-job-{self.id}-"))
        request = {"cfg": self.cfg.to_dict(), "corpus": self.corpus, "init": self.init, "init_name": self.init_name}
        (self._folder / REQUEST).write_bytes(pickle.dumps(request))
        log = open(self._folder / "worker.log", "wb")  # noqa: SIM115 - the child writes to it until it ends
        self._process = subprocess.Popen(
            [sys.executable, "-m", "musicrnn.train_worker", str(self._folder)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )
        log.close()
        if self.stop_requested:  # Stop was pressed while the request was being written
            self._send("stop")

    def _send(self, line: str) -> None:
        process = self._process
        if process is None or process.stdin is None:
            return  # not started yet (_launch sends a pending stop itself)
        try:
            process.stdin.write(line + "\n")
            process.stdin.flush()
        except (OSError, ValueError):
            pass  # the child already ended

    def _kill_after(self, seconds: float) -> None:
        process = self._process
        if process is None:
            return
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()  # the best epoch so far is on disk (best.keras): nothing is lost

    def _run(self) -> None:
        done: dict | None = None
        failure: str | None = None
        try:
            self._launch()
            process = self._process
            assert process is not None and process.stdout is not None  # _launch started it, stdout a pipe
            with self._lock:
                self.status = "running"
            for line in process.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # not ours
                if event.get("kind") == "done":
                    done = event
                elif event.get("kind") == "error":
                    failure = event["message"]
                else:
                    self._on_event(event)
            code = process.wait()
            if done is None and failure is None and not self.stop_requested:
                failure = _exit_reason(code)
            self._finish(done, failure)
        except Exception as exc:  # noqa: BLE001 - the job must report, never die silently
            self._finish(None, f"{type(exc).__name__}: {exc}")
        finally:
            if self._process is not None and self._process.stdin:
                try:
                    self._process.stdin.close()
                except OSError:
                    pass
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
            self.finished_at = time.monotonic()
            _registry.release(self)

    def _on_event(self, event: Any) -> None:  # a progress event or {"kind": "best"}, read from JSON
        with self._lock:
            if event["kind"] == "best":
                self.best_epoch = event["epoch"]
            elif event["kind"] == "split":
                self.result_info["val_files"] = event["val_files"]
            elif event["kind"] in ("epoch", "batch"):
                self.latest = event
                (self.epochs if event["kind"] == "epoch" else self.batches).append(event)

    def _finish(self, done: dict | None, failure: str | None) -> None:
        folder = self._folder
        path = folder / done["model"] if done is not None and folder else (folder / BEST if folder else None)
        model_file = path.read_bytes() if path is not None and path.exists() else None
        with self._lock:
            self.model_file = model_file
            if done is not None:
                self.best_epoch = done["best_epoch"]
                self.result_info = {k: done[k] for k in RESULT_FACTS} | {"kept_start": done.get("kept_start", False)}
                self.status = "stopped" if done["stopped"] or self.stop_requested else "finished"
            elif failure is not None:
                self.error = failure + (" The best epoch so far is kept." if model_file else "")
                self.status = "failed"
            else:  # stopped and ended before it could report: the saved best epoch is the model
                final = best_row([epoch_row(event) for event in self.epochs], self.best_epoch)
                self.result_info = {**self.result_info, "best_epoch": self.best_epoch, "final": final}
                self.status = "stopped"


def _exit_reason(code: int) -> str:
    if code in (-signal.SIGKILL, 137):
        return (
            "The training process was killed, most often because the server ran out of memory: try fewer files, "
            "a smaller preset or a smaller batch size."
        )
    return f"The training process ended unexpectedly (exit code {code})."


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


def start_training(
    corpus: Corpus,
    cfg: Config,
    init: bytes | None = None,
    init_name: str | None = None,
    owner_alive: Callable[[], bool] | None = None,
) -> TrainingJob:
    """Start a training job in its own process (fine-tuning `init`, a .keras file, when given), or raise
    ServerBusy. `owner_alive` tells whether the visitor is still there; a job left alone is stopped."""
    cfg.validate()
    job = TrainingJob(corpus=corpus, cfg=cfg, init=init, init_name=init_name, owner_alive=owner_alive)
    _registry.claim(job)
    job.started_at = time.monotonic()
    job._thread = threading.Thread(target=job._run, name=f"musicrnn-train-{job.id}", daemon=True)
    job._thread.start()
    if owner_alive is not None:
        threading.Thread(target=_watch_owner, args=(job,), name=f"musicrnn-owner-{job.id}", daemon=True).start()
    return job


def _watch_owner(job: TrainingJob, every: float = 5.0) -> None:
    """Stop a job whose visitor has been gone for ORPHAN_GRACE_S (a reload or short network drop is not gone)."""
    gone_since = None
    while job.running:
        alive = _safe(job.owner_alive)
        gone_since = None if alive else (gone_since or time.monotonic())
        if gone_since is not None and time.monotonic() - gone_since >= ORPHAN_GRACE_S:
            job.stop()
            return
        time.sleep(every)


def _safe(check: Callable[[], bool] | None) -> bool:
    if check is None:  # nothing to ask: the visitor counts as there
        return True
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - if we cannot tell, assume the visitor is there
        return True
