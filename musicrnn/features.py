"""How notes become network inputs and targets.

Training (dataset.py) and generation (generate.py) both call these functions, so whatever scaling or
encoding the inputs get is applied identically at both times (the copied tutorial fed generated pitches
back unscaled while it trained on scaled ones).
"""
from __future__ import annotations

import numpy as np

from .config import Config

CHORD_GAP = 0.01  # notes starting within 10 ms of the previous one sound as one chord


def feature_count(cfg: Config) -> int:
    """Width of the numeric input: step and duration, plus the rich features when enabled."""
    return 5 if cfg.rich_features else 2


def clip_times(values: np.ndarray, cfg: Config) -> np.ndarray:
    """Times in seconds, clipped to [0, max_time] (targets stay in seconds, never rescaled)."""
    # minimum/maximum rather than np.clip: the same numbers, ~5x less overhead per call, and generation
    # calls this several times per note.
    return np.minimum(np.maximum(np.asarray(values, dtype=np.float32), np.float32(0.0)), np.float32(cfg.max_time))


def encode_step(
    pitch: np.ndarray,
    step: np.ndarray,
    duration: np.ndarray,
    prev_pitch: np.ndarray,
    chord_size: np.ndarray,
    cfg: Config,
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric features of one note per stream (arrays of shape (B,)), and the updated chord counter.

    `prev_pitch` is the previous note's pitch (equal to `pitch` for a first note); `chord_size` counts the
    notes of the current chord before this one.
    """
    step = clip_times(step, cfg)
    duration = clip_times(duration, cfg)
    if not cfg.rich_features:
        # The tutorial's inputs: step and duration in seconds.
        numeric = np.empty((len(step), 2), np.float32)
        numeric[:, 0], numeric[:, 1] = step, duration
        return numeric, chord_size
    same_chord = step < CHORD_GAP
    chord_size = np.where(same_chord, chord_size + 1, 0)
    # Written column by column into one array (fewer numpy calls than np.stack: this runs once per note).
    numeric = np.empty((len(step), 5), np.float32)
    numeric[:, 0] = np.log1p(step)
    numeric[:, 1] = np.log1p(duration)
    numeric[:, 2] = same_chord
    numeric[:, 3] = np.minimum(np.maximum((np.asarray(pitch) - np.asarray(prev_pitch)) / 12.0, -3.0), 3.0)
    numeric[:, 4] = np.minimum(chord_size, 7) / 4.0
    return numeric, chord_size


def encode_sequence(pitch: np.ndarray, step: np.ndarray, duration: np.ndarray, cfg: Config) -> np.ndarray:
    """Numeric features for a whole note sequence, shape (n, feature_count); equals encode_step note by note."""
    pitch = np.asarray(pitch, dtype=np.int64)
    step = clip_times(step, cfg)
    duration = clip_times(duration, cfg)
    if not cfg.rich_features:
        return np.stack([step, duration], axis=-1).astype(np.float32)
    same_chord = step < CHORD_GAP
    index = np.arange(len(pitch))
    # Length of the run of same-chord notes ending at each note (what encode_step's counter holds).
    last_break = np.maximum.accumulate(np.where(same_chord, -1, index)) if len(pitch) else index
    chord_size = np.where(same_chord, index - last_break, 0)
    prev_pitch = np.concatenate([pitch[:1], pitch[:-1]])
    interval = np.clip((pitch - prev_pitch) / 12.0, -3.0, 3.0)
    return np.stack(
        [np.log1p(step), np.log1p(duration), same_chord.astype(np.float32), interval, np.minimum(chord_size, 7) / 4.0],
        axis=-1,
    ).astype(np.float32)
