"""Many users at once (issue 7): threads generating with the core API while a model trains in the
background. Everyone finishes, every result equals its single-threaded twin, and the server's job limit
holds and is released on stop.

One tiny model is trained once per module (preset "tiny", 1 epoch) and used as raw `.keras` bytes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import hostile as h
from helpers_models import synthetic_corpus, walk_notes
from musicrnn.config import preset
from musicrnn.generate import Sampling, generate
from musicrnn.infer import read_model_file
from musicrnn.jobs import MAX_RUNNING_JOBS, ServerBusy, running_job_count, set_job_limit, start_training
from musicrnn.midi_load import load_uploads

pytestmark = pytest.mark.timeout(600)

USERS = 6
SETTINGS = [
    Sampling(
        n_notes=80,
        seed=seed,
        variations=1 + seed % 3,
        temperature=0.7 + 0.1 * seed,
        top_k=seed * 4,
        key="C:major" if seed % 2 else None,
    )
    for seed in range(USERS)
]


@pytest.fixture(scope="module")
def model_file() -> bytes:
    """A .keras file trained for one epoch by a background job (the path the app takes)."""
    set_job_limit(MAX_RUNNING_JOBS)
    job = start_training(synthetic_corpus(files=6, notes=120), preset("tiny", epochs=1))
    assert job.wait(timeout=400), "the fixture's training job did not finish"
    assert job.status == "finished", job.error
    return job.model_file


@pytest.fixture
def one_job_per_server():
    set_job_limit(1)
    yield
    set_job_limit(MAX_RUNNING_JOBS)


def primer(user: int) -> pd.DataFrame:
    return walk_notes(100 + user, 12)[["pitch", "step", "duration"]]


def generate_for(user: int, model) -> list[pd.DataFrame]:
    return generate(model, primer(user), SETTINGS[user])


def test_parallel_users_generate_correctly_while_one_trains_and_stop_frees_the_slot(model_file, one_job_per_server):
    shared = read_model_file(model_file, name="tiny.keras")
    expected = {user: generate_for(user, shared) for user in range(USERS)}  # one thread, one at a time

    job = start_training(synthetic_corpus(files=6, notes=120), preset("tiny", epochs=50, seed=7))
    try:
        with pytest.raises(ServerBusy, match="try again"):
            start_training(synthetic_corpus(files=3, notes=80), preset("tiny", epochs=1))

        start = threading.Barrier(USERS + 1)

        def user_session(user: int):
            # Half the users share one model object, half read their own from the file (as separate uploads).
            model = shared if user % 2 else read_model_file(model_file, name=f"user{user}.keras")
            start.wait()
            uploads = load_uploads([(f"u{user}.mid", h.scale(8 + user)), ("bad.mid", h.truncated())])
            pieces = [generate_for(user, model) for _ in range(2)]
            return uploads, pieces

        with ThreadPoolExecutor(USERS + 1) as pool:
            futures = [pool.submit(user_session, user) for user in range(USERS)]
            start.wait()
            results = [future.result(timeout=300) for future in futures]

        assert job.running, "the training job should still be running (50 epochs) while users generate"
    finally:
        job.stop()
        assert job.wait(timeout=120), "a stopped job must end within one batch"

    for user, (uploads, pieces) in enumerate(results):
        good, bad = uploads
        assert good.name == f"u{user}.mid" and len(good.notes) == 8 + user
        assert bad.error.startswith("the MIDI file is truncated")
        for piece in pieces:  # both runs, in parallel with everyone else, equal the lone run
            assert len(piece) == len(expected[user]) == SETTINGS[user].variations
            for got, want in zip(piece, expected[user]):
                pd.testing.assert_frame_equal(got, want)
    # Different users asked for different things and got different music (no one got another's result).
    firsts = [results[user][1][0][0]["pitch"].tolist() for user in range(USERS)]
    assert len({tuple(p) for p in firsts}) == USERS

    assert job.status == "stopped"
    assert job.model_file, "the model so far is kept when a job is stopped"
    assert read_model_file(job.model_file).cfg.seed == 7

    # Stopping released the slot (checked here rather than in a second test: each job costs a TF compile).
    assert running_job_count() == 0
    quick = start_training(synthetic_corpus(files=1, notes=20), preset("tiny", epochs=1))  # accepted, not busy
    assert quick.wait(timeout=60)
    assert quick.status == "failed" and "two files" in quick.error  # fails fast, and frees the slot too
    assert running_job_count() == 0
