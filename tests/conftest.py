"""Shared test helpers: synthetic MIDI files built with pretty_midi and small synthetic corpora.

Everything is generated in memory from fixed seeds, so no test depends on files outside the repository.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pretty_midi
import pytest

from musicrnn.dataset import Corpus
from musicrnn.runtime import set_up_process

set_up_process()  # as every entry point does: one BLAS thread (generation speed, as in the app)

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]

# Markers (registered in pyproject.toml) by what a test needs, so `make test-fast` can leave the heavy ones out.
# tf: the module imports TensorFlow/Keras when collected, or builds or trains a model in every test.
TF_MODULES = {
    "test_bench",
    "test_cli",
    "test_concurrency",
    "test_distributed",
    "test_finetune",
    "test_generate",
    "test_guide",
    "test_infer",
    "test_jobs",
    "test_model",
    "test_pages",
    "test_pages_parts",
    "test_pages_styles",
    "test_quality",
    "test_train",
}
# ... and single tests of otherwise TensorFlow-free modules (they import it inside).
TF_TESTS = {
    "test_tf_dataset_batches_have_the_right_shapes_and_equal_window_batch",
    "test_tf_dataset_shuffle_keeps_the_same_windows",
    "test_a_file_at_60_96_120_or_180_bpm_gives_identical_windows_and_scores",
    "test_transposition_leaves_drum_notes_on_their_keys",
    "test_transposition_moves_the_voices_last_pitch_with_the_music_but_not_none",
    "test_a_seconds_models_piece_says_it_has_no_score_and_why",
}
# slow: each test starts processes (CLI, benchmarks, workers) or runs pages through AppTest (seconds a test).
SLOW_MODULES = {
    "test_bench",
    "test_bundled",
    "test_cli",
    "test_concurrency",
    "test_distributed",
    "test_jobs",
    "test_quality",
    "test_pages",
    "test_pages_explain",
    "test_pages_newuser",
    "test_pages_parts",
    "test_pages_score",
    "test_pages_steer",
    "test_pages_teacher",
    "test_pages_styles",
}


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    """With -m "not tf", TF_MODULES are not even imported: collecting them would load TensorFlow (~4 s, 600 MB)."""
    if "not tf" in (config.getoption("markexpr") or "") and collection_path.stem in TF_MODULES:
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        if item.path.parent.name == "browser":
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if module in TF_MODULES or getattr(item, "originalname", item.name) in TF_TESTS:
            item.add_marker(pytest.mark.tf)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Keep the tf marker honest: a test without it must not be the one that imports TensorFlow."""
    before = "tensorflow" in sys.modules
    result = yield
    if not before and "tensorflow" in sys.modules and item.get_closest_marker("tf") is None:
        pytest.fail(f"{item.nodeid} imports TensorFlow: mark it tf (TF_MODULES or TF_TESTS in tests/conftest.py)")
    return result


@pytest.fixture(autouse=True, scope="session")
def _note_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory):
    """The CLI's per-file note cache (musicrnn.ingest) goes to a temporary folder, never ~/.cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MUSICRNN_CACHE", str(tmp_path_factory.mktemp("note-cache")))
    yield
    patch.undo()


@pytest.fixture
def download_bytes(monkeypatch: pytest.MonkeyPatch):
    """A reader of what an AppTest page's download button offers: `download_bytes(at, label)` -> the bytes of
    the first button with that label, from the file store of the last run. (AppTest gives each run a mock
    runtime with an in-memory file store and drops it afterwards; this keeps the stores.)"""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores: list[MemoryMediaFileStorage] = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Kept)

    def read(at, label: str) -> bytes:
        button = next(b for b in at.download_button if b.label == label)
        return stores[-1].get_file(button.proto.url.rsplit("/", 1)[-1]).content

    return read


def make_midi(
    tracks: Sequence[tuple[int, Sequence[int]]] = ((0, C_MAJOR),),
    note_seconds: float = 0.5,
    chord: bool = False,
    drums: Sequence[int] = (),
    velocity: int = 100,
) -> bytes:
    """MIDI bytes with one instrument per (program, pitches) track, plus an optional drum track.

    Notes of a track follow one another every `note_seconds`; with `chord=True` all tracks' i-th notes start
    together (so ties by start time are sorted by pitch).
    """
    pm = pretty_midi.PrettyMIDI()
    for index, (program, pitches) in enumerate(tracks):
        instrument = pretty_midi.Instrument(program=program)
        offset = 0.0 if chord else index * 0.125  # distinct starts unless chords are wanted
        for i, pitch in enumerate(pitches):
            start = offset + i * note_seconds
            instrument.notes.append(pretty_midi.Note(velocity, int(pitch), start, start + note_seconds * 0.9))
        pm.instruments.append(instrument)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for i, key in enumerate(drums):
            kit.notes.append(pretty_midi.Note(velocity, int(key), i * note_seconds, i * note_seconds + 0.1))
        pm.instruments.append(kit)
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def make_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip archive in memory; member names are written verbatim (even hostile ones)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def notes_table(
    pitch: Sequence[int], step: Sequence[float] | None = None, duration: Sequence[float] | None = None
) -> pd.DataFrame:
    """A note table with the columns the core uses (start/end derived from step/duration)."""
    pitch = np.asarray(pitch, dtype=np.int64)
    step = np.full(len(pitch), 0.25) if step is None else np.asarray(step, dtype=np.float64)
    duration = np.full(len(pitch), 0.5) if duration is None else np.asarray(duration, dtype=np.float64)
    start = np.cumsum(step) - step[0] if len(step) else step
    return pd.DataFrame(
        {"pitch": pitch, "start": start, "end": start + duration, "step": step, "duration": duration, "velocity": 90}
    )


def random_notes(rng: np.random.Generator, n: int, low: int = 40, high: int = 90) -> pd.DataFrame:
    """A random melody with chords (zero steps) and occasional long gaps, like real music."""
    pitch = rng.integers(low, high, n)
    step = rng.choice([0.0, 0.0, 0.125, 0.25, 0.5, 1.0, 6.0], n)
    duration = rng.choice([0.1, 0.25, 0.5, 1.0, 5.0], n)
    return notes_table(pitch, step, duration)


# Helpers are handed out as fixtures (not imported from conftest) so a second conftest.py in a
# sub-folder such as tests/browser/ cannot shadow them.
@pytest.fixture
def midi_factory():
    return make_midi


@pytest.fixture
def zip_factory():
    return make_zip


@pytest.fixture
def notes_factory():
    return notes_table


@pytest.fixture
def random_notes_factory():
    return random_notes


@pytest.fixture
def small_corpus() -> Corpus:
    """Six random files of 40-80 notes (fixed seed)."""
    rng = np.random.default_rng(0)
    return Corpus.from_tables([(f"song{i}.mid", random_notes(rng, int(rng.integers(40, 80)))) for i in range(6)])
