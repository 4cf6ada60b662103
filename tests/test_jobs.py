"""Background training jobs: progress while running, a model file at the end, stop, the server limit, failures."""
from __future__ import annotations

import threading

import pytest

from helpers_models import synthetic_corpus, walk_notes
from musicrnn.config import preset
from musicrnn import jobs
from musicrnn.dataset import Corpus
from musicrnn.infer import read_model_file
from musicrnn.jobs import ServerBusy, running_job_count, set_job_limit, start_training

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
    assert model.info["history"] == [{k: v for k, v in e.items() if k in model.info["history"][0]} for e in snap["epochs"]]
    assert job.result_info["val_files"] == model.info["val_files"]
    assert released(job)


def test_snapshot_gains_epochs_while_running_and_stop_ends_it_as_stopped(corpus):
    job = start_training(corpus, preset("tiny", epochs=400))
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
    first = start_training(corpus, preset("tiny", epochs=400))
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
