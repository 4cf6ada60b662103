"""From note tables to training windows: per-file arrays, a leak-free file split, and a tf.data pipeline.

A window starting at note i feeds notes i … i+L-1 (exactly L notes) and is trained to predict, at every
position t, the next note t+1; its last target is note i+L. Windows never cross a file boundary, and
they are cut by index from per-file arrays, so memory grows with the number of notes, not notes × L.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .config import Config
from .features import clip_times, encode_sequence


@dataclass
class Corpus:
    """Per-file note arrays: pitch (int, 0-127), step and duration (seconds)."""

    names: list[str] = field(default_factory=list)
    pitch: list[np.ndarray] = field(default_factory=list)
    step: list[np.ndarray] = field(default_factory=list)
    duration: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def from_tables(cls, tables: Sequence[tuple[str, pd.DataFrame]]) -> "Corpus":
        corpus = cls()
        for name, notes in tables:
            corpus.add(name, notes)
        return corpus

    def add(self, name: str, notes: pd.DataFrame) -> None:
        self.names.append(name)
        self.pitch.append(notes["pitch"].to_numpy(np.int64))
        self.step.append(notes["step"].to_numpy(np.float32))
        self.duration.append(notes["duration"].to_numpy(np.float32))

    def subset(self, indices: Sequence[int]) -> "Corpus":
        return Corpus(
            [self.names[i] for i in indices],
            [self.pitch[i] for i in indices],
            [self.step[i] for i in indices],
            [self.duration[i] for i in indices],
        )

    def __len__(self) -> int:
        return len(self.names)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(p) for p in self.pitch], dtype=np.int64)

    @property
    def note_count(self) -> int:
        return int(self.lengths.sum())

    def summary(self) -> dict:
        all_pitch = np.concatenate(self.pitch) if self.pitch else np.zeros(0, np.int64)
        return {
            "files": len(self),
            "notes": self.note_count,
            "pitch_min": int(all_pitch.min()) if len(all_pitch) else None,
            "pitch_max": int(all_pitch.max()) if len(all_pitch) else None,
        }


def window_starts(lengths: Sequence[int], seq_length: int, stride: int = 1) -> np.ndarray:
    """(file, start) pairs of every window whose L inputs and final target lie inside one file."""
    pairs = [
        np.stack([np.full(len(starts), f), starts], axis=1)
        for f, n in enumerate(lengths)
        if len(starts := np.arange(0, int(n) - seq_length, stride)) > 0
    ]
    return np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), np.int64)


def tutorial_windows(
    pitch: np.ndarray, step: np.ndarray, duration: np.ndarray, seq_length: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The tutorial's windows of one file, done right: inputs (N, L, 3) raw (pitch, step, duration) and
    targets of the note right after each window, pitch as an integer class 0-127."""
    notes = np.stack([pitch, step, duration], axis=1).astype(np.float32)
    count = len(notes) - seq_length
    if count <= 0:
        return np.zeros((0, seq_length, 3), np.float32), {k: np.zeros(0) for k in ("pitch", "step", "duration")}
    index = np.arange(count)[:, None] + np.arange(seq_length)[None, :]
    targets = notes[seq_length:]
    return notes[index], {
        "pitch": targets[:, 0].astype(np.int64),
        "step": targets[:, 1],
        "duration": targets[:, 2],
    }


def interval_ngrams(pitch: np.ndarray, n: int = 8) -> set[int]:
    """Hashes of every n-note run of pitch intervals (transposition-invariant fingerprints)."""
    intervals = np.diff(pitch)
    if len(intervals) < n:
        return set()
    windows = np.lib.stride_tricks.sliding_window_view(intervals, n)
    return {hash(w.tobytes()) for w in windows}


def duplicate_groups(corpus: Corpus, overlap: float = 0.3) -> np.ndarray:
    """A group id per file; files sharing ≥ `overlap` of their 8-note interval patterns share a group.

    Chorales reuse melodies note for note, so a plain file split would leak them into validation.
    """
    parent = list(range(len(corpus)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    grams = [interval_ngrams(p) for p in corpus.pitch]
    owners: dict[int, list[int]] = {}
    for i, gs in enumerate(grams):
        for g in gs:
            owners.setdefault(g, []).append(i)
    for i, gs in enumerate(grams):
        shared: dict[int, int] = {}
        for g in gs:
            for j in owners[g]:
                if j > i:
                    shared[j] = shared.get(j, 0) + 1
        for j, count in shared.items():
            if count >= overlap * max(1, min(len(gs), len(grams[j]))):
                parent[find(j)] = find(i)
    return np.array([find(i) for i in range(len(corpus))])


def split_files(corpus: Corpus, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded file-level split into (train, validation) indices; near-duplicates stay on one side."""
    if len(corpus) < 2:
        raise ValueError("need at least two files to hold some out for validation")
    groups = duplicate_groups(corpus)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(unique)
    target = max(1, round(val_fraction * len(corpus)))
    val_groups: set[int] = set()
    count = 0
    for g in unique[::-1]:
        if count >= target:
            break
        size = int((groups == g).sum())
        if count + size <= max(target, 1) * 1.5 or not val_groups:
            val_groups.add(int(g))
            count += size
    val = [i for i in range(len(corpus)) if groups[i] in val_groups]
    train = [i for i in range(len(corpus)) if groups[i] not in val_groups]
    if not train:  # one big group: fall back to a plain split so training can still run
        train, val = val[1:], val[:1]
    return train, val


@dataclass
class FlatArrays:
    """All files of a corpus side by side, with window starts as offsets into the flat arrays."""

    pitch: np.ndarray
    numeric: np.ndarray
    step_target: np.ndarray
    duration_target: np.ndarray
    starts: np.ndarray


def flatten(corpus: Corpus, cfg: Config) -> FlatArrays:
    offsets = np.concatenate([[0], np.cumsum(corpus.lengths)])[:-1]
    pairs = window_starts(corpus.lengths, cfg.seq_length, cfg.window_stride)
    return FlatArrays(
        pitch=np.concatenate(corpus.pitch).astype(np.int32) if len(corpus) else np.zeros(0, np.int32),
        numeric=np.concatenate([encode_sequence(p, s, d, cfg) for p, s, d in zip(corpus.pitch, corpus.step, corpus.duration)])
        if len(corpus)
        else np.zeros((0, 1), np.float32),
        step_target=clip_times(np.concatenate(corpus.step), cfg) if len(corpus) else np.zeros(0, np.float32),
        duration_target=clip_times(np.concatenate(corpus.duration), cfg) if len(corpus) else np.zeros(0, np.float32),
        starts=offsets[pairs[:, 0]] + pairs[:, 1] if len(pairs) else np.zeros(0, np.int64),
    )


def window_batch(flat: FlatArrays, starts: np.ndarray, seq_length: int) -> tuple[dict, dict]:
    """Inputs and next-note targets for the windows starting at `starts` (numpy; used by tests and eval)."""
    index = starts[:, None] + np.arange(seq_length)[None, :]
    inputs = {"pitch_input": flat.pitch[index], "features": flat.numeric[index]}
    targets = {
        "pitch": flat.pitch[index + 1],
        "step": flat.step_target[index + 1][..., None],
        "duration": flat.duration_target[index + 1][..., None],
    }
    return inputs, targets


def make_tf_dataset(corpus: Corpus, cfg: Config, shuffle: bool, seed: int | None = None):
    """A shuffled, batched, prefetched tf.data pipeline cutting windows by index (TensorFlow needed)."""
    import tensorflow as tf

    flat = flatten(corpus, cfg)
    if len(flat.starts) == 0:
        raise ValueError(f"no file has more than {cfg.seq_length} notes; use shorter sequences or longer files")
    constants = {
        "pitch": tf.constant(flat.pitch),
        "numeric": tf.constant(flat.numeric),
        "step": tf.constant(flat.step_target),
        "duration": tf.constant(flat.duration_target),
    }
    offsets = tf.range(cfg.seq_length, dtype=tf.int64)

    augment = shuffle and cfg.transpose > 0
    seed_value = 0 if seed is None else int(seed)

    def cut(batch_index: tf.Tensor, start_batch: tf.Tensor):
        index = start_batch[:, None] + offsets[None, :]
        target = index + 1
        pitch_in, pitch_out = tf.gather(constants["pitch"], index), tf.gather(constants["pitch"], target)
        if augment:
            # Random transposition per window (same shift for inputs and targets): music keeps its
            # meaning in another key, and the model can no longer memorise absolute pitches.
            shift = tf.random.stateless_uniform(
                [tf.shape(start_batch)[0], 1], seed=tf.stack([tf.constant(seed_value, tf.int64), batch_index]),
                minval=-cfg.transpose, maxval=cfg.transpose + 1, dtype=tf.int32,
            )
            pitch_in = tf.clip_by_value(pitch_in + shift, 0, 127)
            pitch_out = tf.clip_by_value(pitch_out + shift, 0, 127)
        inputs = {"pitch_input": pitch_in, "features": tf.gather(constants["numeric"], index)}
        targets = {
            "pitch": pitch_out,
            "step": tf.gather(constants["step"], target)[..., None],
            "duration": tf.gather(constants["duration"], target)[..., None],
        }
        return inputs, targets

    starts = tf.constant(flat.starts)
    if shuffle:
        # Permute all starts as one tensor, in a new order each epoch, rather than through a tf.data shuffle
        # buffer: the buffer holds one Tensor per window (~200 bytes each, measured by bench/ingest.py);
        # the vector holds 8 bytes per window.
        epoch_seed = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        order = epoch_seed.map(lambda r: tf.random.experimental.stateless_shuffle(starts, tf.stack([r, r // 2])))
        data = order.flat_map(lambda s: tf.data.Dataset.from_tensor_slices(s).batch(cfg.batch_size))
        data = data.apply(tf.data.experimental.assert_cardinality(-(-len(flat.starts) // cfg.batch_size)))
    else:
        data = tf.data.Dataset.from_tensor_slices(starts).batch(cfg.batch_size)
    data = data.enumerate().map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE), len(flat.starts)
