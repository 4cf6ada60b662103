"""What ships with the package: the Bach chorale corpus and the default model."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .infer import NumpyModel, read_model_file
from .midi import LoadedFile, load_paths, midi_to_notes

ASSETS = Path(__file__).parent / "assets"
CHORALES = ASSETS / "chorales"
DEFAULT_MODEL = ASSETS / "default_model.keras"
DEFAULT_PRIMER = "bwv269.mid"


def chorale_files() -> list[Path]:
    return sorted(CHORALES.glob("*.mid"))


def load_chorales() -> list[LoadedFile]:
    """Every bundled chorale as a LoadedFile (all four voices merged)."""
    return load_paths(chorale_files())


@lru_cache(maxsize=1)
def default_model() -> NumpyModel:
    """The bundled model, read once per process (numpy only, no TensorFlow)."""
    return read_model_file(DEFAULT_MODEL)


def default_model_id() -> str:
    """A short content hash naming the bundled model in recipes."""
    return "default:" + hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()[:12]


def primer_from(notes: pd.DataFrame, count: int = 16) -> pd.DataFrame:
    """The first `count` notes of a piece, to start generation from."""
    return notes.head(count).reset_index(drop=True)


def default_primer(count: int = 16) -> pd.DataFrame:
    """The opening of a bundled chorale."""
    path = CHORALES / DEFAULT_PRIMER
    if not path.exists():
        path = chorale_files()[0]
    return primer_from(midi_to_notes(path), count)
