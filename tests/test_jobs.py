"""Background training jobs: progress while running, a model file at the end, stop, the server limit, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers_models import synthetic_corpus, walk_notes
from musicrnn import jobs
from musicrnn.config import preset
from musicrnn.dataset import Corpus
from musicrnn.infer import read_model_file
from musicrnn.jobs import ServerBusy, running_job_count, set_job_limit, start_training

ROOT = Path(__file__).resolve().parents[1]
WAIT = 300  # seconds; generous, only so a broken job cannot hang the suite


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus(files=6, notes=160)


@pytest.fixture
def job_limit():
    """Restore the server-wide limit whatever a test sets it to."""
    before = jobs._registry.limit
    yield set_job_limit
    set_job_limit(before)


def released(job) -> bool:
    """The job no longer holds a slot of the server-wide limit (other tests' jobs may still run)."""
    return job.id not in jobs._registry.running


def wait_for(job, condition) -> dict:
    """Poll a job's snapshot until `condition(snapshot)` holds or the job ends."""
    done = threading.Event()
    while True:
        snap = job.snapshot()
        if condition(snap) or snap["status"] not in ("queued", "running"):
            return snap
        done.wait(0.05)


def test_job_trains_in_the_background_and_yields_a_loadable_model(corpus):
    cfg = preset("tiny", epochs=2)
    job = start_training(corpus, cfg)
    assert job.running
    assert job.wait(WAIT)
    snap = job.snapshot()
    assert snap["status"] == "finished", snap["error"]
    assert [e["epoch"] for e in snap["epochs"]] == [1, 2]
    assert snap["total_epochs"] == 2
    assert "val_pitch_loss" in snap["latest"]
    model = read_model_file(job.model_file, name="job.keras")
    assert model.cfg.preset == "tiny"
    assert model.info["history"] == [
        {k: v for k, v in e.items() if k in model.info["history"][0]} for e in snap["epochs"]
    ]
    assert model.info["best_epoch"] == job.best_epoch == job.result_info["best_epoch"] >= 1
    assert job.result_info["val_files"] == model.info["val_files"]
    assert released(job)


def test_snapshot_gains_epochs_while_running_and_stop_ends_it_as_stopped(corpus):
    job = start_training(corpus, preset("tiny", epochs=400, patience=0))
    try:
        first = wait_for(job, lambda s: len(s["epochs"]) >= 1)
        later = wait_for(job, lambda s: len(s["epochs"]) >= len(first["epochs"]) + 1)
        assert first["status"] == later["status"] == "running"
        assert len(later["epochs"]) > len(first["epochs"])
        assert later["elapsed"] >= first["elapsed"]
    finally:
        job.stop()
        assert job.wait(WAIT)
    snap = job.snapshot()
    assert snap["status"] == "stopped", snap["error"]
    assert len(later["epochs"]) <= len(snap["epochs"]) < 400
    assert read_model_file(job.model_file).info["stopped"] is True  # the model so far is kept
    assert released(job)


def test_server_limit_refuses_another_job_with_a_friendly_message(corpus, job_limit):
    limit = running_job_count() + 1  # 1 unless another test's job is still running
    job_limit(limit)
    first = start_training(corpus, preset("tiny", epochs=400, patience=0))
    try:
        with pytest.raises(ServerBusy, match=f"limit is {limit}.*try again"):
            start_training(corpus, preset("tiny", epochs=1))
    finally:
        first.stop()
        first.wait(WAIT)
    assert first.status == "stopped"
    assert released(first)
    run_a_failing_job()  # the slot is free again: a (quickly failing) job is accepted


def test_a_failing_job_ends_failed_with_a_readable_error():
    run_a_failing_job()


def run_a_failing_job() -> None:
    short = Corpus.from_tables([(f"short{i}.mid", walk_notes(i, 10)) for i in range(3)])
    job = start_training(short, preset("tiny"))  # 10 notes per file, windows need 17
    assert job.wait(WAIT)
    snap = job.snapshot()
    assert snap["status"] == "failed"
    assert "no file has more than 16 notes" in snap["error"]
    assert job.model_file is None
    assert released(job)


def test_invalid_config_is_refused_before_starting(corpus):
    before = running_job_count()
    with pytest.raises(ValueError, match="learning_rate"):
        start_training(corpus, preset("tiny").replace(learning_rate=0))
    assert running_job_count() == before


def test_the_server_process_never_imports_tensorflow(corpus):
    """Training happens in a child process; this (server) process stays free of TensorFlow."""
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from musicrnn.runtime import set_up_process\n"
        "set_up_process()  # as every entry point does: with CI=true fluidsynth's import would print\n"
        "from helpers_models import synthetic_corpus\n"
        "from musicrnn.config import preset\n"
        "from musicrnn.jobs import start_training\n"
        "job = start_training(synthetic_corpus(files=4, notes=120), preset('tiny', epochs=1))\n"
        "assert job.wait(300) and job.status == 'finished', job.error\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]


def test_training_runs_in_a_child_process_at_lower_priority(corpus):
    job = start_training(corpus, preset("tiny", epochs=400, patience=0))
    try:
        wait_for(job, lambda s: len(s["epochs"]) >= 1)
        assert job.pid is not None and job.pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, job.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 10
    finally:
        job.stop()
        job.wait(WAIT)
    assert not _alive(job.pid)


def test_stop_ends_the_process_within_a_second_and_keeps_the_best_epoch(corpus):
    job = start_training(corpus, preset("tiny", epochs=400, patience=0))
    try:
        wait_for(job, lambda s: s["best_epoch"] >= 2)
    finally:
        asked = time.monotonic()
        job.stop()
        assert job.wait(WAIT)
    took = time.monotonic() - asked
    assert took < 1.0 + 1.0, took  # one second of grace, plus margin for a busy machine
    assert not _alive(job.pid)
    assert job.status == "stopped"
    model = read_model_file(job.model_file)
    assert model.info["best_epoch"] >= 2 and model.info["stopped"] is True
    assert job.best_epoch >= model.info["best_epoch"]


def test_a_killed_training_process_is_a_message_not_a_crash(corpus):
    """Out of memory, the kernel kills the child: the job fails with words a visitor understands."""
    job = start_training(corpus, preset("tiny", epochs=400, patience=0))
    wait_for(job, lambda s: s["best_epoch"] >= 1)
    os.kill(job.pid, signal.SIGKILL)
    assert job.wait(WAIT)
    assert job.status == "failed"
    assert "ran out of memory" in job.error
    assert released(job)
    # The best epoch's file is kept, with what a finished run's settings say: no piece ends sooner than the
    # files' 160 notes less their opening.
    assert job.model_file is not None and read_model_file(job.model_file).cfg.end_after == 160 - 32


def test_a_job_whose_visitor_left_is_stopped(corpus, monkeypatch):
    monkeypatch.setattr(jobs, "ORPHAN_GRACE_S", 0.5)
    job = start_training(corpus, preset("tiny", epochs=400, patience=0), owner_alive=lambda: False)
    assert job.wait(WAIT)
    assert job.status == "stopped"
    assert not _alive(job.pid)


def test_fine_tuning_the_default_model_trains_from_its_weights(corpus):
    from musicrnn.bundled import DEFAULT_MODEL
    from musicrnn.finetune import fine_tune_config

    start = read_model_file(DEFAULT_MODEL)
    cfg = fine_tune_config("default", epochs=1)
    assert cfg.units == start.cfg.units and cfg.learning_rate < start.cfg.learning_rate
    job = start_training(corpus, cfg, init=DEFAULT_MODEL.read_bytes(), init_name="the default model")
    assert job.wait(WAIT)
    assert job.status == "finished", job.error
    tuned = read_model_file(job.model_file)
    assert tuned.parameter_count() == start.parameter_count()


def test_a_fine_tuning_job_that_only_makes_the_start_worse_gives_back_the_start(corpus):
    import numpy as np

    from helpers_models import random_extras, random_inputs
    from musicrnn.bundled import DEFAULT_MODEL
    from musicrnn.finetune import fine_tune_config

    start = read_model_file(DEFAULT_MODEL)
    cfg = fine_tune_config("default", epochs=1, learning_rate=5.0)  # ruins every epoch
    job = start_training(corpus, cfg, init=DEFAULT_MODEL.read_bytes(), init_name="the default model")
    assert job.wait(WAIT)
    assert job.status == "finished", job.error
    assert job.result_info["kept_start"] and job.best_epoch == 0
    kept = read_model_file(job.model_file)
    pitch, numeric = random_inputs(start.cfg, batch=2)
    key, given = random_extras(start.cfg, batch=2)
    np.testing.assert_allclose(
        kept.forward(pitch, numeric, key, given)["pitch"], start.forward(pitch, numeric, key, given)["pitch"], atol=1e-6
    )


def test_fine_tuning_an_incompatible_model_fails_with_the_reason(corpus):
    from musicrnn.bundled import DEFAULT_MODEL

    cfg = preset("tiny", epochs=1)  # the tiny shape, but the default model's weights
    job = start_training(corpus, cfg, init=DEFAULT_MODEL.read_bytes(), init_name="the default model")
    assert job.wait(WAIT)
    assert job.status == "failed"
    assert "cannot fine-tune the default model" in job.error and "same shape" in job.error


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is no longer running
        return stat.read().split()[2] != "Z"
