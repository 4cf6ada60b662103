"""From note tables to training windows: per-file arrays, a leak-free file split, and a tf.data pipeline.

A window starting at note i feeds notes i … i+L-1 (exactly L notes) and is trained to predict, at every
position t, the next note t+1; its last target is note i+L. Windows never cross a file boundary, and
they are cut by index from per-file arrays, so memory grows with the number of notes, not notes × L.
A model that learns endings (Config.end_class) is also trained to predict, after a file's last note, that
the piece ends there: its windows may end on the last note, and every file's end is in some window.
An ordered model (Config.ordered) is also fed the next note's earlier fields (teacher forcing): the inputs
`next_step`, `next_part`, ... hold the true values the heads after them are conditioned on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from .config import Config
from .features import (
    VOICE_NONE,
    Timing,
    beat_timing,
    chord_order_permutation,
    clip_times,
    encode_timed,
    file_key,
    next_note_targets,
    note_classes,
    onsets_from_steps,
    parts_of,
    steps_between,
)
from .midi import main_bpm
from .parts import PART_CLASSES
from .theory import DEFAULT_BPM

# One file's arrays in a Corpus (and in a cache entry, musicrnn.ingest), with their types.
FILE_ARRAYS = {
    "pitch": np.int64,
    "step": np.float32,
    "duration": np.float32,
    "step_beats": np.float32,
    "duration_beats": np.float32,
    "beat": np.float64,
    "bar_beat": np.float32,
    "bar_beats": np.float32,
    "part": np.int64,
    "program": np.int64,
}


def note_arrays(notes: pd.DataFrame) -> dict[str, np.ndarray]:
    """A note table as one Corpus file: FILE_ARRAYS, and "bpm", its main tempo (midi.main_bpm)."""
    beats = beat_timing(notes)
    columns = {
        "pitch": notes["pitch"],
        "step": notes["step"],
        "duration": notes["duration"],
        "step_beats": beats.step,
        "duration_beats": beats.duration,
        "beat": beats.beat,
        "bar_beat": beats.bar_beat,
        "bar_beats": beats.bar_beats,
        "part": parts_of(notes),
        "program": notes["program"] if "program" in notes else np.zeros(len(notes)),
    }
    arrays = {name: np.asarray(columns[name], kind) for name, kind in FILE_ARRAYS.items()}
    arrays["bpm"] = np.array(main_bpm(notes))
    return arrays


@dataclass
class Corpus:
    """Per-file note arrays: pitch (int, 0-127), step and duration in seconds, and the same notes in beats
    (step_beats, duration_beats, onset `beat`, its place `bar_beat` in a bar of `bar_beats`)."""

    names: list[str] = field(default_factory=list)
    pitch: list[np.ndarray] = field(default_factory=list)
    step: list[np.ndarray] = field(default_factory=list)
    duration: list[np.ndarray] = field(default_factory=list)
    step_beats: list[np.ndarray] = field(default_factory=list)
    duration_beats: list[np.ndarray] = field(default_factory=list)
    beat: list[np.ndarray] = field(default_factory=list)
    bar_beat: list[np.ndarray] = field(default_factory=list)
    bar_beats: list[np.ndarray] = field(default_factory=list)
    bpm: list[float] = field(default_factory=list)  # each file's main tempo (midi.main_bpm)
    part: list[np.ndarray] = field(default_factory=list)  # each note's part (musicrnn.parts)
    program: list[np.ndarray] = field(default_factory=list)  # each note's track's General MIDI program

    @classmethod
    def from_tables(cls, tables: Sequence[tuple[str, pd.DataFrame]]) -> Corpus:
        corpus = cls()
        for name, notes in tables:
            corpus.add(name, notes)
        return corpus

    def add(self, name: str, notes: pd.DataFrame) -> None:
        self.add_file(name, note_arrays(notes))

    def add_file(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Append one file's arrays (as note_arrays makes them, or read back from a cache entry)."""
        self.names.append(name)
        for array, kind in FILE_ARRAYS.items():
            getattr(self, array).append(np.asarray(arrays[array], kind))
        self.bpm.append(float(arrays["bpm"]))

    def timing(self, index: int, cfg: Config) -> Timing:
        """File `index`'s times in the unit `cfg`'s model reads."""
        if not cfg.beats:
            return Timing.in_seconds(self.step[index], self.duration[index])
        return Timing(
            self.step_beats[index],
            self.duration_beats[index],
            self.beat[index],
            self.bar_beat[index],
            self.bar_beats[index],
        )

    def in_chord_order(self, order: str) -> Corpus:
        """The same files as a model of Config.chord_order `order` reads them (features.in_chord_order): this
        corpus itself for "up", the order files are loaded in."""
        if order == "up":
            return self
        ordered = Corpus(**{f.name: list(getattr(self, f.name)) for f in fields(self)})
        for index in range(len(self)):
            permutation = chord_order_permutation(self.beat[index], self.pitch[index], order)
            if permutation is None:
                continue
            start = onsets_from_steps(self.step[index].astype(np.float64))
            for array in FILE_ARRAYS:
                getattr(ordered, array)[index] = getattr(self, array)[index][permutation]
            ordered.step[index] = steps_between(start[permutation]).astype(FILE_ARRAYS["step"])
            ordered.step_beats[index] = steps_between(self.beat[index][permutation]).astype(FILE_ARRAYS["step_beats"])
        return ordered

    def subset(self, indices: Sequence[int]) -> Corpus:
        return Corpus(**{f.name: [getattr(self, f.name)[i] for i in indices] for f in fields(self)})

    def split_by_name(self, names: Collection[str]) -> tuple[Corpus, Corpus]:
        """(the other files, the files named in `names`), e.g. a run's training and held-out files."""
        chosen = set(names)
        return (
            self.subset([i for i, name in enumerate(self.names) if name not in chosen]),
            self.subset([i for i, name in enumerate(self.names) if name in chosen]),
        )

    def split_held_out(self, facts: Mapping) -> tuple[Corpus, Corpus]:
        """(training files, held-out files) of a run, by the "val_files" its facts name (a saved model's info,
        or training_facts.record). A run that names none held nothing out: every file is a training file."""
        return self.split_by_name(facts.get("val_files") or [])

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
            # What generated pieces are written at when no primer gives a tempo.
            "bpm": float(np.median(self.bpm)) if self.bpm else DEFAULT_BPM,
            "parts": self.part_summary(),
        }

    def part_summary(self) -> dict[str, dict]:
        """Per part id (as a string, for JSON): its notes, its pitch range (5th-95th percentile and extremes)
        and the program its tracks play most, so generation can keep each part in its range and play it
        with the training data's own instrument."""
        if not self.part:
            return {}
        part, pitch, program = (np.concatenate(values) for values in (self.part, self.pitch, self.program))
        summary = {}
        for value in np.unique(part):
            chosen = part == value
            pitches, programs = pitch[chosen], program[chosen]
            summary[str(int(value))] = {
                "notes": int(chosen.sum()),
                "low": int(np.percentile(pitches, 5)),
                "high": int(np.percentile(pitches, 95)),
                "min": int(pitches.min()),
                "max": int(pitches.max()),
                "program": int(np.bincount(programs).argmax()),
            }
        return summary


def window_starts(
    lengths: Sequence[int] | np.ndarray, seq_length: int, stride: int = 1, to_the_end: bool = False
) -> np.ndarray:
    """(file, start) pairs of every window whose L inputs and final target lie inside one file. With
    `to_the_end` (models that learn endings) the final target may be the file's end, after its last note,
    and every file's last possible window is included whatever the stride, so every end is learned."""
    pairs = []
    for f, n in enumerate(lengths):
        count = int(n) - seq_length + (1 if to_the_end else 0)  # how many starts fit
        if count <= 0:
            continue
        starts = np.arange(0, count, stride)
        if to_the_end and starts[-1] != count - 1:
            starts = np.append(starts, count - 1)
        pairs.append(np.stack([np.full(len(starts), f), starts], axis=1))
    return np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), np.int64)


def config_window_starts(lengths: Sequence[int] | np.ndarray, cfg: Config) -> np.ndarray:
    """window_starts with a model's window length, stride and whether it learns endings."""
    return window_starts(lengths, cfg.seq_length, cfg.window_stride, cfg.end_class)


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


# A held-out score from one file of ten says more about that file than about the model: hold out at least two
# files, or at least this share of the notes (one long file of three can be enough), whatever val_fraction says.
MIN_HELD_OUT_FILES = 2
MIN_HELD_OUT_NOTES = 0.15


def split_files(corpus: Corpus, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded file-level split into (train, validation) indices; near-duplicates stay on one side.

    Validation gets `val_fraction` of the files, and at least MIN_HELD_OUT_FILES files or MIN_HELD_OUT_NOTES of
    the notes where the corpus allows (never more than half of its groups of near-duplicates)."""
    if len(corpus) < 2:
        raise ValueError("need at least two files to hold some out for validation")
    groups = duplicate_groups(corpus)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(unique)
    target = max(1, round(val_fraction * len(corpus)))
    lengths, total = corpus.lengths, max(1, corpus.note_count)
    val_groups: set[int] = set()
    count = notes = 0

    def enough() -> bool:
        return count >= target and (count >= MIN_HELD_OUT_FILES or notes >= MIN_HELD_OUT_NOTES * total)

    for g in unique[::-1]:
        if enough() or (val_groups and len(val_groups) >= len(unique) // 2):
            break
        members = groups == g
        size = int(members.sum())
        if count + size <= max(target, 1) * 1.5 or not val_groups or count >= target:
            val_groups.add(int(g))
            count += size
            notes += int(lengths[members].sum())
    val = [i for i in range(len(corpus)) if groups[i] in val_groups]
    train = [i for i in range(len(corpus)) if groups[i] not in val_groups]
    if not train:  # one big group: fall back to a plain split so training can still run
        train, val = val[1:], val[:1]
    return train, val


@dataclass
class FlatArrays:
    """All files of a corpus side by side, with window starts as offsets into the flat arrays. Targets are
    stored at the position that predicts them: row t holds the fields of note t+1 (or the end of its file)."""

    pitch: np.ndarray
    numeric: np.ndarray
    step_target: np.ndarray  # (n,) classes, or (n, 1) seconds: see time_targets
    duration_target: np.ndarray
    starts: np.ndarray
    part: np.ndarray | None = None  # parts models: the next note's part, the part head's target
    pitch_target: np.ndarray | None = None  # the next note's pitch (-1: none, after a file's last note)
    key: np.ndarray | None = None  # key-aware models: each note's key index (its file's key)
    conditioning: tuple[str, ...] = ()  # ordered models: the values fed back as `next_<name>` inputs
    voice: np.ndarray | None = None  # voice_memory models: the pitch the next note's part sang last


def time_targets(timing: Timing, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """What the step and duration heads learn for each note, shaped like their outputs: classes (n,) in beats
    mode, seconds (clipped) as (n, 1) for regression."""
    if cfg.beats:
        classes = note_classes(np.zeros(len(timing.step), np.int64), timing, None, cfg)
        return classes["step"].astype(np.int32), classes["duration"].astype(np.int32)
    return clip_times(timing.step, cfg)[:, None], clip_times(timing.duration, cfg)[:, None]


def _next(values: np.ndarray, last) -> np.ndarray:
    """Each position's next value; `last` after the final one."""
    if not len(values):
        return values
    return np.concatenate([values[1:], np.full((1, *values.shape[1:]), last, values.dtype)])


def _file_targets(pitch: np.ndarray, timing: Timing, part: np.ndarray, cfg: Config) -> dict[str, np.ndarray]:
    """One file's targets at the positions that predict them (see FlatArrays)."""
    if not cfg.beats:  # seconds models regress times: the next note's, 0 after the last (never a target)
        step, duration = time_targets(timing, cfg)
        return {"step": _next(step, 0.0), "duration": _next(duration, 0.0), "pitch": _next(pitch, -1)} | (
            {"part": _next(part, -1)} if cfg.parts else {}
        )
    return next_note_targets(note_classes(pitch, timing, part, cfg), cfg)


def flatten(corpus: Corpus, cfg: Config) -> FlatArrays:
    """Every file's inputs and targets side by side, and the start of every window (in flat positions)."""
    corpus = corpus.in_chord_order(cfg.chord_order)
    offsets = np.concatenate([[0], np.cumsum(corpus.lengths)])[:-1]
    pairs = config_window_starts(corpus.lengths, cfg)
    conditioning = cfg.given_inputs
    if not len(corpus):
        target = np.zeros(0, np.int32) if cfg.beats else np.zeros((0, 1), np.float32)
        return FlatArrays(
            np.zeros(0, np.int32),
            np.zeros((0, 1), np.float32),
            target,
            target,
            np.zeros(0, np.int64),
            np.zeros(0, np.int32) if cfg.parts else None,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32) if cfg.key_input else None,
            conditioning,
            np.zeros(0, np.int32) if cfg.voice_memory else None,
        )
    timings = [corpus.timing(i, cfg) for i in range(len(corpus))]
    keys = [file_key(p, corpus.duration_beats[i]) for i, p in enumerate(corpus.pitch)] if cfg.key_input else None
    targets = [_file_targets(p, t, part, cfg) for p, t, part in zip(corpus.pitch, timings, corpus.part)]

    def joined(name: str, kind) -> np.ndarray:
        return np.concatenate([t[name] for t in targets]).astype(kind)

    time_kind = np.int32 if cfg.beats else np.float32
    return FlatArrays(
        pitch=np.concatenate(corpus.pitch).astype(np.int32),
        numeric=np.concatenate(
            [
                encode_timed(p, t, cfg, part, None if keys is None else keys[i])
                for i, (p, t, part) in enumerate(zip(corpus.pitch, timings, corpus.part))
            ]
        ),
        step_target=joined("step", time_kind),
        duration_target=joined("duration", time_kind),
        starts=offsets[pairs[:, 0]] + pairs[:, 1] if len(pairs) else np.zeros(0, np.int64),
        part=joined("part", np.int32) if cfg.parts else None,
        pitch_target=joined("pitch", np.int32),
        key=None
        if keys is None
        else np.concatenate([np.full(len(p), k, np.int32) for p, k in zip(corpus.pitch, keys)]),
        conditioning=conditioning,
        voice=joined("voice", np.int32) if cfg.voice_memory else None,
    )


def window_batch(flat: FlatArrays, starts: np.ndarray, seq_length: int) -> tuple[dict, dict]:
    """Inputs and next-note targets for the windows starting at `starts`: the one place windows are cut,
    for the in-memory pipeline, the streamed one (musicrnn.ingest) and evaluation."""
    index = starts[:, None] + np.arange(seq_length, dtype=np.int64)[None, :]  # starts are int64 (see flatten)
    inputs = {"pitch_input": _gather(flat.pitch, index), "features": _gather(flat.numeric, index)}
    if flat.key is not None:
        inputs["key_input"] = _gather(flat.key, index)
    pitch_target = flat.pitch_target if flat.pitch_target is not None else _next(np.asarray(flat.pitch), -1)
    targets = {
        "pitch": _gather(pitch_target, index),
        "step": _gather(flat.step_target, index),
        "duration": _gather(flat.duration_target, index),
    }
    if flat.part is not None:
        targets["part"] = _gather(flat.part, index)
    given = targets if flat.voice is None else {**targets, "voice": _gather(flat.voice, index)}
    for name in flat.conditioning:  # the true earlier fields the later heads are conditioned on (0 for none)
        inputs[f"next_{name}"] = _maximum_zero(given[name])
    return inputs, targets


def _maximum_zero(values):
    """Values below 0 (no target) as 0, for numpy arrays or tensors."""
    if isinstance(values, np.ndarray):
        return np.maximum(values, 0)
    import tensorflow as tf

    return tf.maximum(values, 0)


def _gather(values, index):
    """values[index] for numpy arrays (evaluation, streaming), tf.gather for tensors inside tf.data."""
    if isinstance(values, np.ndarray):
        return values[index]
    import tensorflow as tf

    return tf.gather(values, index)


def transpose_windows(inputs: dict, targets: dict, batch_index, semitones: int, seed: int):
    """Random transposition (TensorFlow): every window of a batch shifted by its own interval in ±semitones,
    inputs and targets alike. Music keeps its meaning in another key, and the model can no longer memorise
    absolute pitches. The shifts are a function of (seed, batch number), so the in-memory and streamed
    pipelines augment the same way. Drum notes (parts models) keep their keys: a drum sound has no key."""
    import tensorflow as tf

    shift = tf.random.stateless_uniform(
        [tf.shape(inputs["pitch_input"])[0], 1],
        seed=tf.stack([tf.constant(seed, tf.int64), tf.cast(batch_index, tf.int64)]),
        minval=-semitones,
        maxval=semitones + 1,
        dtype=tf.int32,
    )
    input_shift, target_shift = shift, shift
    if "part" in targets:
        from .parts import DRUMS_PART

        input_shift = tf.where(inputs["features"][..., -PART_CLASSES + DRUMS_PART] > 0.5, 0, shift)
        target_shift = tf.where(targets["part"] == DRUMS_PART, 0, shift)
    moved = {"pitch_input": tf.clip_by_value(inputs["pitch_input"] + input_shift, 0, 127)}
    if "key_input" in inputs:  # the key moves with the music (its degrees, in the features, do not)
        key = inputs["key_input"]
        moved["key_input"] = (key % 12 + shift) % 12 + key // 12 * 12
    pitch = targets["pitch"]
    moved_pitch = tf.where(pitch >= 0, tf.clip_by_value(pitch + target_shift, 0, 127), pitch)  # -1: no note
    if "next_pitch" in inputs:
        moved["next_pitch"] = tf.maximum(moved_pitch, 0)
    if "next_voice" in inputs:  # the voice's last pitch moves with it ("none yet" stays none)
        voice = inputs["next_voice"]
        moved["next_voice"] = tf.where(voice < VOICE_NONE, tf.clip_by_value(voice + target_shift, 0, 127), voice)
    return {**inputs, **moved}, {**targets, "pitch": moved_pitch}


def make_tf_dataset(corpus: Corpus, cfg: Config, shuffle: bool, seed: int | None = None):
    """A shuffled, batched, prefetched tf.data pipeline cutting windows by index (TensorFlow needed)."""
    import tensorflow as tf

    flat = flatten(corpus, cfg)
    if len(flat.starts) == 0:
        raise ValueError(f"no file has more than {cfg.seq_length} notes; use shorter sequences or longer files")
    constants = FlatArrays(
        pitch=tf.constant(flat.pitch),
        numeric=tf.constant(flat.numeric),
        step_target=tf.constant(flat.step_target),
        duration_target=tf.constant(flat.duration_target),
        starts=flat.starts,
        part=None if flat.part is None else tf.constant(flat.part),
        pitch_target=tf.constant(flat.pitch_target),
        key=None if flat.key is None else tf.constant(flat.key),
        conditioning=flat.conditioning,
        voice=None if flat.voice is None else tf.constant(flat.voice),
    )

    def cut(start_batch: tf.Tensor):
        return window_batch(constants, start_batch, cfg.seq_length)

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
    data = data.map(cut, num_parallel_calls=tf.data.AUTOTUNE)
    if shuffle and cfg.transpose > 0:
        data = augment(data, cfg, seed)
    return data.prefetch(tf.data.AUTOTUNE), len(flat.starts)


def augment(data, cfg: Config, seed: int | None):
    """Batches of (inputs, targets) with transpose_windows applied, batch by batch (TensorFlow)."""
    import tensorflow as tf

    seed_value = 0 if seed is None else int(seed)

    def shift(i, batch):
        inputs, targets = batch
        return transpose_windows(inputs, targets, i, cfg.transpose, seed_value)

    return data.enumerate().map(shift, num_parallel_calls=tf.data.AUTOTUNE)
