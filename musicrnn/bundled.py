"""What ships with the package: the Bach chorale corpus and the default model."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .infer import NumpyModel, read_model_file
from .midi_load import LoadedFile, load_paths, midi_to_notes

ASSETS = Path(__file__).parent / "assets"
CHORALES = ASSETS / "chorales"
DEFAULT_MODEL = ASSETS / "default_model.keras"
DEFAULT_PRIMER = "bwv269.mid"
# The chorales' harmony figures (evaluation.musical.corpus_harmony_report), written by scripts/build_corpus.py:
# measuring them reads all 350 files, ~3.8 s, which the first harmonisation on the Steer page would wait for.
CHORALE_HARMONY = ASSETS / "chorale_harmony.json"
PRIMER_NOTES = 16  # how many opening notes of a file start a piece unless someone chooses otherwise


def chorale_files() -> list[Path]:
    return sorted(CHORALES.glob("*.mid"))


_background_read: Future | None = None
_background_lock = threading.Lock()
# The child lowers its own priority: a visitor's first click (generation, audio) must not wait for it.
_CHILD_SCRIPT = (
    "import os, pathlib, pickle, sys; hasattr(os, 'nice') and os.nice(10); "
    "from musicrnn.bundled import _read_chorales; "
    "pathlib.Path(sys.argv[1]).write_bytes(pickle.dumps(_read_chorales()))"
)


def _read_chorales() -> list[LoadedFile]:
    return load_paths(chorale_files())


def read_chorales_in_background() -> None:
    """Start reading the bundled chorales in a child process, once per process; load_chorales() then takes
    its result. Parsing 350 files costs ~5 s of pure Python: in a child it neither holds up this process
    (a web server) nor keeps the parser's memory afterwards."""
    global _background_read
    with _background_lock:
        if _background_read is not None:
            return
        _background_read = Future()
    threading.Thread(target=_read_in_child, args=(_background_read,), name="musicrnn-chorales", daemon=True).start()


def _read_in_child(result: Future) -> None:
    # A plain subprocess, not multiprocessing: under `streamlit run` the __main__ module is the app's script,
    # which multiprocessing's spawn would run again in the child.
    try:
        with tempfile.TemporaryDirectory(prefix="musicrnn-chorales-") as folder:
            out = Path(folder) / "chorales.pickle"
            subprocess.run(
                [sys.executable, "-c", _CHILD_SCRIPT, str(out)],
                cwd=Path(__file__).resolve().parents[1],
                check=True,
                capture_output=True,
                timeout=600,
            )
            result.set_result(pickle.loads(out.read_bytes()))  # our own child's output, not user data
    except Exception as exc:  # noqa: BLE001 - load_chorales() then reads the files itself
        result.set_exception(exc)


def load_chorales() -> list[LoadedFile]:
    """Every bundled chorale as a LoadedFile (all four voices merged)."""
    with _background_lock:
        started = _background_read
    if started is not None:
        try:
            return started.result()
        except Exception:  # noqa: BLE001 - the worker could not run (e.g. no processes allowed): read here
            pass
    return _read_chorales()


def measure_chorale_harmony() -> dict[str, float]:
    """The harmony figures of the bundled chorales, measured from the files (seconds)."""
    from .evaluation.musical import corpus_harmony_report

    return corpus_harmony_report([midi_to_notes(path) for path in chorale_files()])


def write_chorale_harmony(path: Path = CHORALE_HARMONY) -> dict[str, float]:
    """Measure the chorales' harmony figures and store them where chorale_harmony() reads them."""
    figures = measure_chorale_harmony()
    path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    return figures


@lru_cache(maxsize=1)
def chorale_harmony() -> dict[str, float]:
    """The bundled chorales' harmony figures: stored with the corpus (milliseconds), measured when missing."""
    try:
        return {name: float(value) for name, value in json.loads(CHORALE_HARMONY.read_text()).items()}
    except (OSError, ValueError, AttributeError):  # missing or unreadable: measure (the same figures, slower)
        return measure_chorale_harmony()


@lru_cache(maxsize=1)
def default_model() -> NumpyModel:
    """The bundled model, read once per process (numpy only, no TensorFlow)."""
    return read_model_file(DEFAULT_MODEL)


def read_bundled_model(path: Path) -> NumpyModel:
    """A bundled model's file, read once per process and version of the file (numpy only)."""
    path = Path(path).resolve()
    return _read_once(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _read_once(path: Path, stamp: int) -> NumpyModel:
    return read_model_file(path)


def bundled_model(name: str) -> NumpyModel:
    """A bundled model by name ('chorales', 'folk', …, or 'default'); styles.UnknownModel says why not."""
    from .styles import model_path

    return read_bundled_model(model_path(name))


def primer_from(notes: pd.DataFrame, count: int = PRIMER_NOTES) -> pd.DataFrame:
    """The first `count` notes of a piece, to start generation from."""
    return notes.head(count).reset_index(drop=True)


def style_opening(name: str, count: int = PRIMER_NOTES) -> pd.DataFrame:
    """The first `count` notes of a bundled model's own primer (a file of its style's sample); the default
    chorale when the model has no sample."""
    from .styles import registry

    path = registry().get(name).primer_path()
    return chorale_opening(count) if path is None else primer_from(midi_to_notes(path), count)


def chorale_opening(count: int = PRIMER_NOTES) -> pd.DataFrame:
    """The first `count` notes of the default bundled chorale (DEFAULT_PRIMER): the primer used when none is chosen."""
    path = CHORALES / DEFAULT_PRIMER
    if not path.exists():
        path = chorale_files()[0]
    return primer_from(midi_to_notes(path), count)
