"""How notes become network inputs and targets.

Training (dataset.py) and generation (generate.py) both call these functions, so whatever scaling or
encoding the inputs get is applied identically at both times (the copied tutorial fed generated pitches
back unscaled while it trained on scaled ones).

Two time units (Config.time_unit): "seconds" (the tutorial: step and duration in seconds, regressed) and
"beats" (quarter notes on a 1/12-beat grid; the heads predict a class per grid value, see `rhythm_class`).
A beats model also sees where each note falls in its beat and in its bar. A model that learns endings
(Config.end_class) sees how far into its piece each note is; a key-aware one (Config.key_input) each note's
degree in the piece's key (and the key itself as an input of its own, `key_input`). A parts model
(Config.parts) also sees each note's part (musicrnn.parts) as one-hot columns after all the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config
from .parts import PART_CLASSES, PIANO_PART
from .theory import BAR_BEATS, BEAT_GRID, DEFAULT_BPM, find_key, key_index

# What a voice_memory model's later heads read for a part that has not sung yet: one class past the pitches.
VOICE_NONE = 128
VOICE_CLASSES = VOICE_NONE + 1

CHORD_GAP = 0.01  # notes starting within 10 ms (or, in beats, on the same grid point) sound as one chord
SECONDS_PER_DEFAULT_BEAT = 60.0 / DEFAULT_BPM  # note tables that carry no beats (built by hand) are read at 120 bpm

# Column layout of the numeric input. Plain inputs: step and duration. Rich features: the five columns below,
# and four more for beats models. Generation reads the chord counter back from CHORD_SIZE (see chord_count).
PLAIN_COLUMNS = 2
LOG_STEP, LOG_DURATION, SAME_CHORD, INTERVAL, CHORD_SIZE = range(5)
BEAT_SIN, BEAT_COS, BAR_SIN, BAR_COS = range(5, 9)
RICH_COLUMNS, RICH_BEATS_COLUMNS = CHORD_SIZE + 1, BAR_COS + 1
CHORD_SIZE_SCALE = 4.0
MAX_CHORD_COUNT = 7
MAX_INTERVAL_OCTAVES = 3.0  # the interval column is in octaves, clipped to ± this
# After the columns above: the place in the piece (end_class models), log(1 + bars from the start) / 3, so a
# chorale's 10-20 bars read 0.8-1.0; then the note's degree in the key, one-hot (key_input models).
POSITION_SCALE = 3.0
DEGREES = 12
_ZERO32 = np.float32(0.0)  # the lower clipping bound (see clip_times), made once


@dataclass
class Timing:
    """One note sequence's times in the unit a model reads (seconds or beats), and, in beats, each onset's
    place in its bar: `bar_beat` beats into a bar of `bar_beats` beats."""

    step: np.ndarray
    duration: np.ndarray
    beat: np.ndarray  # onset from the file's start
    bar_beat: np.ndarray
    bar_beats: np.ndarray

    @classmethod
    def in_seconds(cls, step: np.ndarray, duration: np.ndarray) -> Timing:
        """A seconds model's times: it reads no onsets or bars (zeros, bars of 4)."""
        zeros = np.zeros(len(step))
        return cls(step, duration, zeros, zeros, zeros + BAR_BEATS)

    @classmethod
    def in_bars_of_four(cls, step: np.ndarray, duration: np.ndarray, beat: np.ndarray) -> Timing:
        """Beats of notes that carry no metre of their own: bars of 4 beats from the first note."""
        return cls(step, duration, beat, np.mod(beat, BAR_BEATS), np.full(len(step), BAR_BEATS))


def feature_count(cfg: Config) -> int:
    """Width of the numeric input: step and duration, plus the rich features when enabled, the place in the
    piece and the degree in the key when the model reads them, plus the parts."""
    return base_feature_count(cfg) + extra_feature_count(cfg) + (PART_CLASSES if cfg.parts else 0)


def extra_feature_count(cfg: Config) -> int:
    """Columns after the base ones and before the parts: place in the piece, degree in the key."""
    return (1 if cfg.end_class else 0) + (DEGREES if cfg.key_input else 0)


def file_key(pitch: np.ndarray, duration: np.ndarray | None = None) -> int:
    """The key index (theory.key_index) of a whole file or passage, its notes weighted by their lengths."""
    return key_index(find_key(pitch, duration))


def _write_extras(
    out: np.ndarray,
    pitch: np.ndarray,
    beat: np.ndarray | None,
    key: np.ndarray | int | None,
    part: np.ndarray | None,
    cfg: Config,
) -> None:
    """Write, after the base features of rich `out` (zeros there), the place in the piece and the degree in the
    key (models that read them) and the parts' one-hot columns (parts models). In place: generation encodes a
    note per step, and one array instead of three per note saved ~5 us."""
    column = base_feature_count(cfg)
    rows = np.arange(len(out))
    if cfg.end_class:
        assert beat is not None, "an end_class model reads each note's onset"
        out[:, column] = _position(beat)
        column += 1
    if cfg.key_input:
        tonic = 0 if key is None else key % 12  # one key (generation: an int) or one per note
        degree = (np.asarray(pitch, np.int64) - tonic) % DEGREES
        out[rows, column + degree] = 1.0
        column += DEGREES
    if cfg.parts:
        _write_parts(out, part, column)


def _position(beat: np.ndarray) -> np.ndarray:
    """The place-in-the-piece column of notes at onsets `beat` (see POSITION_SCALE)."""
    return np.log1p(np.maximum(np.asarray(beat, np.float64), 0.0) / 4.0) / POSITION_SCALE


def base_feature_count(cfg: Config) -> int:
    """Width of the numeric input before the part columns."""
    if not cfg.rich_features:
        return PLAIN_COLUMNS
    return RICH_BEATS_COLUMNS if cfg.beats else RICH_COLUMNS


def parts_of(notes: pd.DataFrame) -> np.ndarray:
    """A table's part ids; a table without parts (built by hand, or from an older model) is all piano."""
    return notes["part"].to_numpy(np.int64) if "part" in notes else np.full(len(notes), PIANO_PART, np.int64)


def _write_parts(out: np.ndarray, part: np.ndarray | None, column: int) -> None:
    """Write the parts' one-hot columns of `out` (zeros there) from `column` on (parts models; no part: piano)."""
    out[np.arange(len(out)), column + (PIANO_PART if part is None else np.asarray(part, np.int64))] = 1.0


def clip_times(values: np.ndarray, cfg: Config) -> np.ndarray:
    """Times clipped to [0, max_time] seconds, or to [0, max_beats] beats in beats mode."""
    # minimum/maximum rather than np.clip: the same numbers, ~5x less overhead per call, and generation
    # calls this several times per note.
    top = np.float32(cfg.max_beats if cfg.beats else cfg.max_time)
    return np.minimum(np.maximum(np.asarray(values, dtype=np.float32), np.float32(0.0)), top)


def interval_feature(pitch: np.ndarray, prev_pitch: np.ndarray) -> np.ndarray:
    """The INTERVAL column: semitones from the previous note, in octaves, clipped to ±MAX_INTERVAL_OCTAVES."""
    octaves = (np.asarray(pitch) - np.asarray(prev_pitch)) / 12.0
    # minimum/maximum rather than np.clip: the same numbers, less overhead per note (see clip_times).
    return np.minimum(np.maximum(octaves, -MAX_INTERVAL_OCTAVES), MAX_INTERVAL_OCTAVES)


def chord_size_feature(chord_size: np.ndarray) -> np.ndarray:
    """The CHORD_SIZE column: the chord counter, capped at MAX_CHORD_COUNT and scaled (read back by chord_count)."""
    return np.minimum(chord_size, MAX_CHORD_COUNT) / CHORD_SIZE_SCALE


def chord_gap(cfg: Config) -> float:
    """Steps below this join the previous note's chord: CHORD_GAP seconds, or half a grid step in beats."""
    return 0.5 / cfg.beat_grid if cfg.beats else CHORD_GAP


def rhythm_class(beats: np.ndarray, cfg: Config) -> np.ndarray:
    """Beats to the step/duration class: the nearest 1/grid beat, the last class for max_beats or more."""
    classes = np.rint(np.asarray(beats, np.float64) * cfg.beat_grid)
    return np.minimum(np.maximum(classes, 0), cfg.rhythm_classes - 1).astype(np.int32)


def class_beats(classes: np.ndarray, cfg: Config) -> np.ndarray:
    """A step/duration class back to beats (the last class, "longer", plays as max_beats)."""
    return np.divide(classes, cfg.beat_grid, dtype=np.float64)  # one call: the same numbers as float64 / grid


def onsets_from_steps(step: np.ndarray) -> np.ndarray:
    """Each note's onset counted from the first note's, from the steps between them."""
    return np.cumsum(step) - (step[0] if len(step) else 0.0)


def chord_order_permutation(onset: np.ndarray, pitch: np.ndarray, order: str) -> np.ndarray | None:
    """The order that puts the notes starting together (on one onset, in beats) "down" from the top; None for
    "up" (as loaded: from the bass) or where nothing would move."""
    if order == "up" or not len(pitch):
        return None
    onset = np.round(np.asarray(onset, np.float64) * BEAT_GRID)  # one onset on the grid, whatever float rounding
    permutation = np.lexsort((-np.asarray(pitch, np.int64), onset))
    return None if (permutation == np.arange(len(permutation))).all() else permutation


def steps_between(onsets: np.ndarray) -> np.ndarray:
    """Each note's step from the one before (the first's 0): what reordering a chord's notes changes."""
    onsets = np.asarray(onsets, np.float64)
    return np.maximum(np.diff(onsets, prepend=onsets[:1]), 0.0) if len(onsets) else onsets


def in_chord_order(notes: pd.DataFrame, order: str) -> pd.DataFrame:
    """The note table as a model of Config.chord_order `order` reads it: each chord's notes from the bass ("up",
    the table as loaded) or from the top ("down"), the steps between notes counted again."""
    beat = beat_timing(notes).beat
    permutation = chord_order_permutation(beat, notes["pitch"].to_numpy(), order)
    if permutation is None:
        return notes
    start = notes["start"].to_numpy(np.float64) if "start" in notes else onsets_from_steps(notes["step"].to_numpy())
    ordered = notes.iloc[permutation].reset_index(drop=True)
    if "step" in ordered:
        ordered["step"] = steps_between(start[permutation]).astype(notes["step"].dtype)
    if "step_beats" in ordered:
        ordered["step_beats"] = steps_between(beat[permutation]).astype(notes["step_beats"].dtype)
    ordered.attrs.update(notes.attrs)
    return ordered


def timing_of(notes: pd.DataFrame, cfg: Config) -> Timing:
    """A note table's times in the model's unit. Tables without beat columns are read at 120 bpm in 4/4."""
    if not cfg.beats:
        return Timing.in_seconds(notes["step"].to_numpy(np.float64), notes["duration"].to_numpy(np.float64))
    return beat_timing(notes)


def beat_timing(notes: pd.DataFrame) -> Timing:
    """A note table's times in beats, whatever unit a model reads (see timing_of)."""
    if "step_beats" in notes:
        step = notes["step_beats"].to_numpy(np.float64)
        duration = notes["duration_beats"].to_numpy(np.float64)
    else:
        step = notes["step"].to_numpy(np.float64) / SECONDS_PER_DEFAULT_BEAT
        duration = notes["duration"].to_numpy(np.float64) / SECONDS_PER_DEFAULT_BEAT
    beat = notes["beat"].to_numpy(np.float64) if "beat" in notes else onsets_from_steps(step)
    if "bar_beat" in notes:
        return Timing(
            step, duration, beat, notes["bar_beat"].to_numpy(np.float64), notes["bar_beats"].to_numpy(np.float64)
        )
    return Timing.in_bars_of_four(step, duration, beat)


def _phases(beat: np.ndarray, bar_beat: np.ndarray, bar_beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angles (radians) of each onset within its beat and within its bar."""
    return 2 * np.pi * np.mod(beat, 1.0), 2 * np.pi * np.asarray(bar_beat) / np.maximum(bar_beats, 1e-9)


def encode_step(
    pitch: np.ndarray,
    step: np.ndarray,
    duration: np.ndarray,
    prev_pitch: np.ndarray,
    chord_size: np.ndarray,
    cfg: Config,
    beat: np.ndarray | None = None,
    bar_beat: np.ndarray | None = None,
    bar_beats: np.ndarray | None = None,
    part: np.ndarray | None = None,
    key: np.ndarray | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric features of one note per stream (arrays of shape (B,)), and the updated chord counter.

    `prev_pitch` is the previous note's pitch (equal to `pitch` for a first note); `chord_size` counts the
    notes of the current chord before this one. Beats models also need the onset's `beat`, `bar_beat` and
    `bar_beats` (see Timing); parts models the note's `part`; key-aware models the piece's `key` index.
    """
    encoder = StepEncoder(cfg)
    return encoder(pitch, step, duration, prev_pitch, chord_size, beat, bar_beat, bar_beats, part, key)


class StepEncoder:
    """encode_step for one model, with what its settings fix (the columns, the clipping bound, the chord gap)
    worked out once: generation encodes one note per stream at every step (the default "chorale" network, one
    stream: ~24 us per note with them worked out each time, ~20 us without)."""

    def __init__(self, cfg: Config):
        self.rich, self.beats = cfg.rich_features, cfg.beats
        self.width = feature_count(cfg)
        self.top = np.float32(cfg.max_beats if cfg.beats else cfg.max_time)  # see clip_times
        self.gap = chord_gap(cfg)
        # The columns after the base ones (see _write_extras); None: the model does not read that input.
        column = base_feature_count(cfg)
        self.position_column = column if cfg.end_class else None
        column += 1 if cfg.end_class else 0
        self.degree_column = column if cfg.key_input else None
        column += DEGREES if cfg.key_input else 0
        self.part_column = column if cfg.parts else None
        self._rows = np.arange(0)  # the rows of the last batch (its one-hot columns are written by row)

    def __call__(
        self,
        pitch: np.ndarray,
        step: np.ndarray,
        duration: np.ndarray,
        prev_pitch: np.ndarray,
        chord_size: np.ndarray,
        beat: np.ndarray | None = None,
        bar_beat: np.ndarray | None = None,
        bar_beats: np.ndarray | None = None,
        part: np.ndarray | None = None,
        key: np.ndarray | int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """See encode_step."""
        step, duration = self._clip(step), self._clip(duration)
        numeric = np.zeros((len(step), self.width), np.float32)
        if len(self._rows) != len(numeric):
            self._rows = np.arange(len(numeric))
        if self.rich:
            chord_size = self._write_rich(numeric, pitch, step, duration, prev_pitch, chord_size)
            if self.beats:
                assert beat is not None and bar_beat is not None and bar_beats is not None, "needs the metre"
                self._write_metre(numeric, beat, bar_beat, bar_beats)
            if self.position_column is not None:
                assert beat is not None, "an end_class model reads each note's onset"
                numeric[:, self.position_column] = _position(beat)
            if self.degree_column is not None:
                tonic = 0 if key is None else key % 12  # one key (generation: an int) or one per note
                numeric[self._rows, self.degree_column + (np.asarray(pitch, np.int64) - tonic) % DEGREES] = 1.0
        else:  # the tutorial's inputs: step and duration (seconds, or beats)
            numeric[:, 0], numeric[:, 1] = step, duration
        if self.part_column is not None:  # no part: piano
            numeric[self._rows, self.part_column + (PIANO_PART if part is None else np.asarray(part, np.int64))] = 1.0
        return numeric, chord_size

    def _clip(self, values: np.ndarray) -> np.ndarray:
        """clip_times with the bound worked out (float32 from the first comparison on: the same numbers)."""
        return np.minimum(np.maximum(values, _ZERO32, dtype=np.float32), self.top)

    def _write_rich(
        self,
        numeric: np.ndarray,
        pitch: np.ndarray,
        step: np.ndarray,
        duration: np.ndarray,
        prev_pitch: np.ndarray,
        chord_size: np.ndarray,
    ) -> np.ndarray:
        """Write the five rich columns of clipped `step` and `duration`; the updated chord counter."""
        same_chord = step < self.gap
        chord_size = (chord_size + 1) * same_chord  # counts on within a chord, 0 at a new onset
        # Written column by column into one array (fewer numpy calls than np.stack: this runs once per note).
        numeric[:, LOG_STEP] = np.log1p(step)
        numeric[:, LOG_DURATION] = np.log1p(duration)
        numeric[:, SAME_CHORD] = same_chord
        numeric[:, INTERVAL] = interval_feature(pitch, prev_pitch)
        numeric[:, CHORD_SIZE] = chord_size_feature(chord_size)
        return chord_size

    @staticmethod
    def _write_metre(numeric: np.ndarray, beat: np.ndarray, bar_beat: np.ndarray, bar_beats: np.ndarray) -> None:
        """Write the beats columns: the onset's place in its beat and in its bar, as angles' sines and cosines."""
        in_beat, in_bar = _phases(beat, bar_beat, bar_beats)
        numeric[:, BEAT_SIN], numeric[:, BEAT_COS] = np.sin(in_beat), np.cos(in_beat)
        numeric[:, BAR_SIN], numeric[:, BAR_COS] = np.sin(in_bar), np.cos(in_bar)


def chord_count(numeric_row: np.ndarray, cfg: Config) -> int:
    """The chord counter encode_step held after the note whose features are `numeric_row` (the inverse of
    chord_size_feature: counts above MAX_CHORD_COUNT read back as MAX_CHORD_COUNT)."""
    return int(round(float(numeric_row[CHORD_SIZE]) * CHORD_SIZE_SCALE)) if cfg.rich_features else 0


def encode_timed(
    pitch: np.ndarray,
    timing: Timing,
    cfg: Config,
    part: np.ndarray | None = None,
    key: int | np.ndarray | None = None,
) -> np.ndarray:
    """Numeric features for a whole note sequence, shape (n, feature_count); equals encode_step note by note.
    `key`: the piece's key index (one for all notes, or one per note), for key-aware models."""
    pitch = np.asarray(pitch, dtype=np.int64)
    step = clip_times(timing.step, cfg)
    duration = clip_times(timing.duration, cfg)
    if not cfg.rich_features:
        numeric = np.zeros((len(pitch), feature_count(cfg)), np.float32)
        numeric[:, 0], numeric[:, 1] = step, duration  # PLAIN_COLUMNS
        if cfg.parts:
            _write_parts(numeric, part, base_feature_count(cfg))
        return numeric
    same_chord = step < chord_gap(cfg)
    index = np.arange(len(pitch))
    # Length of the run of same-chord notes ending at each note (what encode_step's counter holds).
    last_break = np.maximum.accumulate(np.where(same_chord, -1, index)) if len(pitch) else index
    chord_size = np.where(same_chord, index - last_break, 0)
    prev_pitch = np.concatenate([pitch[:1], pitch[:-1]])
    # In column order: LOG_STEP, LOG_DURATION, SAME_CHORD, INTERVAL, CHORD_SIZE (then the beats columns).
    columns = [
        np.log1p(step),
        np.log1p(duration),
        same_chord.astype(np.float32),
        interval_feature(pitch, prev_pitch),
        chord_size_feature(chord_size),
    ]
    if cfg.beats:
        in_beat, in_bar = _phases(timing.beat, timing.bar_beat, timing.bar_beats)
        columns += [np.sin(in_beat), np.cos(in_beat), np.sin(in_bar), np.cos(in_bar)]
    keys = None if key is None else np.broadcast_to(np.asarray(key, np.int64), pitch.shape)
    numeric = np.zeros((len(pitch), feature_count(cfg)), np.float32)
    numeric[:, : len(columns)] = np.stack(columns, axis=-1)
    _write_extras(numeric, pitch, timing.beat, keys, part, cfg)
    return numeric


def encode_sequence(
    pitch: np.ndarray,
    step: np.ndarray,
    duration: np.ndarray,
    cfg: Config,
    part: np.ndarray | None = None,
    key: int | None = None,
) -> np.ndarray:
    """encode_timed for bare step/duration arrays in the model's unit (onsets counted from the first note,
    bars of 4 beats)."""
    step = np.asarray(step, np.float64)
    timing = Timing.in_bars_of_four(step, np.asarray(duration, np.float64), onsets_from_steps(step))
    return encode_timed(pitch, timing, cfg, part, key)


def encode_notes(notes: pd.DataFrame, cfg: Config, key: int | None = None) -> np.ndarray:
    """Numeric features of a note table, in the model's unit (`key`: see table_key)."""
    return encode_timed(notes["pitch"].to_numpy(np.int64), timing_of(notes, cfg), cfg, parts_of(notes), key)


def table_key(notes: pd.DataFrame) -> int:
    """A note table's key index: its stated key (`notes.attrs["key"]`, e.g. "G:major") or the one found in it."""
    stated = notes.attrs.get("key") if hasattr(notes, "attrs") else None
    if isinstance(stated, str):
        try:
            return key_index(stated)
        except ValueError:
            pass
    return file_key(notes["pitch"].to_numpy(np.int64), beat_timing(notes).duration if len(notes) else None)


def note_classes(pitch: np.ndarray, timing: Timing, part: np.ndarray | None, cfg: Config) -> dict[str, np.ndarray]:
    """Each note's fields as the classes a beats model's heads predict: step and duration on the beat grid,
    pitch, and part (all pianos without parts); for a voice_memory model also what its later heads read, the
    pitch the note's part sang last (voice_before)."""
    parts = np.full(len(pitch), PIANO_PART, np.int64) if part is None else np.asarray(part, np.int64)
    classes = {
        "step": rhythm_class(timing.step, cfg).astype(np.int64),
        "duration": rhythm_class(timing.duration, cfg).astype(np.int64),
        "pitch": np.asarray(pitch, np.int64),
        "part": parts,
    }
    if cfg.voice_memory:
        classes["voice"] = voice_before(classes["pitch"], parts)
    return classes


def voice_before(pitch: np.ndarray, part: np.ndarray) -> np.ndarray:
    """(n,) for each note, the pitch its part sang last before it (VOICE_NONE for the part's first note)."""
    before = np.full(len(pitch), VOICE_NONE, np.int64)
    last: dict[int, int] = {}
    for index, (note, voice) in enumerate(zip(pitch.tolist(), part.tolist())):
        before[index] = last.get(voice, VOICE_NONE)
        last[voice] = note
    return before


def next_note_targets(classes: dict[str, np.ndarray], cfg: Config) -> dict[str, np.ndarray]:
    """What each position of a piece is trained to predict: the next note's classes, and after the last note
    the end of the piece (end_class models: the step class END, the other fields -1, not scored) or nothing
    (-1 everywhere). Same length as the piece."""
    targets = {}
    for name, values in classes.items():
        last = cfg.end_step if (name == "step" and cfg.end_class) else -1
        targets[name] = np.append(values[1:], last).astype(np.int64) if len(values) else values
    return targets
