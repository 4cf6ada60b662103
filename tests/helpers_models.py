"""Shared helpers for the model-side tests: synthetic corpora, MIDI folders, random-weight models.

Plain functions (no fixtures) so each test file decides its own scope. TensorFlow is imported lazily,
only by the helpers that build Keras models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from musicrnn.config import preset
from musicrnn.dataset import Corpus
from musicrnn.features import feature_count
from musicrnn.midi import midi_bytes, notes_to_midi

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11]
# Overrides that build a model as they were before issue 24 (independent heads, no key, no end class).
OLDER = {"ordered": False, "key_input": False, "end_class": False}


def walk_notes(seed: int, count: int, step: float = 0.25) -> pd.DataFrame:
    """A random walk on the C major scale (mostly stepwise, mostly in one direction), steady rhythm.

    Strongly structured (the next pitch is a scale neighbour of the last) yet different in every file,
    so the corpus split's near-duplicate detection keeps the files apart.
    """
    rng = np.random.default_rng(seed)
    degree, direction, pitch = 7, 1, []
    for _ in range(count):
        pitch.append(48 + 12 * (degree // 7) + MAJOR_SCALE[degree % 7])
        if rng.random() < 0.3:
            direction = -direction
        degree += direction * (1 if rng.random() < 0.8 else 2)
        if not 3 <= degree <= 17:  # bounce off the ends of the range
            degree, direction = min(max(degree, 3), 17), -direction
    start = np.arange(count) * step
    return pd.DataFrame(
        {
            "pitch": np.array(pitch, dtype=np.int64),
            "start": start,
            "end": start + step * 0.8,
            "step": np.r_[0.0, np.full(count - 1, step)],
            "duration": np.full(count, step * 0.8),
            "velocity": np.full(count, 80, dtype=np.int64),
        }
    )


def synthetic_tables(files: int = 6, notes: int = 160) -> list[tuple[str, pd.DataFrame]]:
    """Structured pieces (scale walks), named like files."""
    return [(f"piece{i}.mid", walk_notes(i, notes)) for i in range(files)]


def synthetic_corpus(files: int = 6, notes: int = 160) -> Corpus:
    return Corpus.from_tables(synthetic_tables(files, notes))


def write_midi_folder(folder: Path, files: int = 6, notes: int = 160) -> Path:
    """Write the synthetic pieces as .mid files into `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in synthetic_tables(files, notes):
        (folder / name).write_bytes(midi_bytes(notes_to_midi(table)))
    return folder


def random_inputs(cfg, batch: int = 3, length: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random pitch (B, T) and feature (B, T, F) windows in the ranges the encoders produce."""
    rng = np.random.default_rng(seed)
    length = length or cfg.seq_length
    pitch = rng.integers(0, 128, size=(batch, length)).astype(np.int32)
    numeric = rng.uniform(-1.0, 1.5, size=(batch, length, feature_count(cfg))).astype(np.float32)
    return pitch, numeric


def randomize_weights(model, seed: int = 0, scale: float = 0.1):
    """Add noise to every weight (biases included, which Keras initialises to zero) of a Keras model."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0.0, scale, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def random_model(preset_name: str, seed: int = 0, **overrides):
    """A built (not trained) Keras model with random weights, and its Config."""
    from musicrnn.model import build_model

    cfg = preset(preset_name, **overrides)
    return randomize_weights(build_model(cfg), seed), cfg


def random_extras(cfg, batch: int = 3, length: int | None = None, seed: int = 0) -> tuple[np.ndarray | None, dict]:
    """A key per stream (key-aware models) and the next notes' earlier fields an ordered model's later heads
    read (field -> (B, T) classes), random in their ranges."""
    from musicrnn.features import VOICE_CLASSES
    from musicrnn.model import field_classes

    rng = np.random.default_rng(seed + 1000)
    length = length or cfg.seq_length
    key = rng.integers(0, 24, size=batch) if cfg.key_input else None
    classes = (field_classes(cfg) | {"voice": VOICE_CLASSES}) if cfg.beats else {}
    given = {f: rng.integers(0, classes[f], size=(batch, length)) for f in cfg.given_inputs}
    return key, given


def keras_outputs(model, pitch: np.ndarray, numeric: np.ndarray, key=None, given=None) -> dict[str, np.ndarray]:
    inputs = {"pitch_input": pitch, "features": numeric}
    if key is not None:
        inputs["key_input"] = np.repeat(np.asarray(key)[:, None], pitch.shape[1], axis=1).astype(np.int32)
    for field, values in (given or {}).items():
        inputs[f"next_{field}"] = np.asarray(values, np.int32)
    out = model(inputs, training=False)
    return {k: np.asarray(v) for k, v in out.items()}


def save_random_model(path: Path, preset_name: str = "tiny", seed: int = 0, **overrides) -> Path:
    """Write a random-weight musicrnn .keras file (with sidecar) and return its path."""
    from musicrnn.model import save_model

    model, cfg = random_model(preset_name, seed, **overrides)
    return save_model(model, cfg, path)
