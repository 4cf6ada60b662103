"""Part writing under a melody, as a teacher of four-part harmony marks it.

At each melody onset the lower voices are written bass first, then tenor, then alto. Each pitch is kept, where
the model's own choices allow, to
- a chord: with the melody note and the voices already written, a triad or seventh chord of the key;
- a complete chord: the last voice written fills the chord in rather than doubling a note of it;
- room above: the tenor leaves the alto a chord note between itself and the melody;
- no parallel fifths or octaves with any voice (the melody included) that moves at the same onset.
Between melody onsets a lower voice's passing note moves by a step or to another note of the chord, never
repeats its note. After the piece is written each harmony note is held until its voice's next note or the next
melody onset, so no voice falls silent under a held melody note.

Measured on 20 typed folk and hymn tunes x 2 seeds with the default model (figures per harmonisation, then
Bach's chorales): sonorities that are no triad or seventh chord 51 % -> 16 % of onsets (16-18 %); parallel
fifths and octaves between any two voices 3.6 -> 0.2 per 100 moves (0.1-0.24), between the outer voices
1.05 -> 0.05; melody notes struck by a semitone 2.5 % -> 0 %; melody time with fewer than three voices under
it 27 % -> 0 % (8 %); last chord on the tonic 85 % -> 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from .theory import PITCH_CLASSES, TERTIAN_CHORDS, key_name, key_pitch_classes

_PITCH = np.arange(PITCH_CLASSES)
PERFECT = (0, 7)  # unison/octave and fifth, as pitch classes of an interval
STEP = 2  # semitones: a passing note moves at most a whole tone, unless it moves to a chord note


def key_chords(key: int | None) -> np.ndarray:
    """(chords, 12) the pitch classes of every triad and seventh chord (augmented triads aside) whose notes all
    lie in `key` (theory.key_index; in minor with the raised sixth and seventh). None: every such chord."""
    allowed = key_pitch_classes(key_name(key)) if key is not None else set(range(12))
    shapes = [shape for quality, shapes in TERTIAN_CHORDS.items() if quality != "augmented triad" for shape in shapes]
    chords = {frozenset((root + step) % 12 for step in shape) for shape in shapes for root in range(12)}
    rows = [[pc in chord for pc in range(12)] for chord in sorted(chords, key=sorted) if chord <= allowed]
    return np.array(rows, bool).reshape(-1, 12)


def key_chords_with_applied_dominants(key: int) -> np.ndarray:
    """key_chords(key) plus the applied (secondary) dominants Bach colours a key with: the major triad and the
    dominant seventh a fifth above each note of the scale (V of ii, V of V, ...)."""
    scale = sorted(key_pitch_classes(key_name(key)))
    rows = [key_chords(key)]
    for degree in scale:
        root = (degree + 7) % 12
        for shape in ((0, 4, 7), (0, 4, 7, 10), (0, 4, 10)):
            row = np.zeros(12, bool)
            row[[(root + step) % 12 for step in shape]] = True
            rows.append(row[None, :])
    return np.unique(np.concatenate(rows), axis=0)


ALL_CLASSES = (1 << 12) - 1  # every pitch class, as a 12-bit set
_CLASS_BIT = 1 << (_PITCH % 12)  # each pitch's class as a bit of a 12-bit set


def class_bits(classes: np.ndarray) -> np.ndarray:
    """(..., 12) pitch-class sets as 12-bit integers (...,): one vectorised test for many streams or chords."""
    return (np.asarray(classes).astype(np.int64) << np.arange(12)).sum(axis=-1)


def chord_pitches(chords: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """(128,) the pitches whose class belongs to a chord of `chords` that holds every class in `sounding` (12,)
    (all pitches when no chord does)."""
    return chord_pitches_of_sets(class_bits(chords), class_bits(sounding)[None])[0]


def chord_pitches_of_sets(chord_bits: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """(B, 128) chord_pitches for many streams at once: `chord_bits` (chords,) and `sounding` (B,) as 12-bit
    sets (class_bits)."""
    holding = (chord_bits[None, :] & sounding[:, None]) == sounding[:, None]  # (B, chords)
    union = np.bitwise_or.reduce(np.where(holding, chord_bits[None, :], 0), axis=1)
    union = np.where(holding.any(axis=1), union, ALL_CLASSES)
    return (union[:, None] & _CLASS_BIT[None, :]) != 0


def completing_pitches(chords: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """(128,) the pitches that, added to the classes in `sounding` (12,), spell one of `chords` exactly."""
    with_each = sounding[None, :] | np.eye(12, dtype=bool)  # (12 candidates, 12 classes)
    fits = (with_each[:, None, :] == chords[None, :, :]).all(axis=2).any(axis=1)
    return fits[_PITCH % 12]


def leaving_room(chords: np.ndarray, candidates: np.ndarray, sounding: np.ndarray, melody_pitch: int) -> np.ndarray:
    """(128,) the candidate pitches for the tenor that leave, between themselves and the melody, a pitch that
    would complete one of `chords` (so the alto need not leave the chord or double)."""
    out = np.zeros_like(candidates)
    for pitch in np.flatnonzero(candidates):
        with_it = sounding.copy()
        with_it[pitch % 12] = True
        above = np.arange(pitch + 1, melody_pitch)
        out[pitch] = bool(len(above)) and bool(completing_pitches(chords, with_it)[above].any())
    return out


def parallel_pitches(before: int, others: Iterable[tuple[int, int]]) -> np.ndarray:
    """(128,) the pitches a voice that sounded `before` cannot move to: each makes the same perfect interval
    (fifth, octave, unison) with one of `others` (its (before, now) pitches) as before, both voices moving the
    same way."""
    banned = np.zeros(PITCH_CLASSES, bool)
    if before < 0:
        return banned
    for other_before, other_now in others:
        if other_before < 0 or other_now < 0 or abs(other_before - before) % 12 not in PERFECT:
            continue
        same = np.abs(other_now - _PITCH) % 12 == abs(other_before - before) % 12
        same_way = np.sign(_PITCH - before) * np.sign(other_now - other_before) > 0
        banned |= same & same_way
    return banned


def passing_pitches(before: int, chord: np.ndarray) -> np.ndarray:
    """(128,) where a voice that sounded `before` may pass to: a step away, or another note of the chord
    (classes `chord` (12,)); never the note it holds."""
    if before < 0:
        return np.ones(PITCH_CLASSES, bool)
    near = np.abs(_PITCH - before) <= STEP
    return (near | chord[_PITCH % 12]) & (_PITCH != before)


def first_possible(choices: Iterator[np.ndarray], fallback: np.ndarray) -> np.ndarray:
    """The first of `choices` (masks, best first) that leaves some pitch; `fallback` when none does."""
    for choice in choices:
        if choice.any():
            return choice
    return fallback


def hold_voices(piece: pd.DataFrame, melody: np.ndarray) -> pd.DataFrame:
    """A harmonised piece (beats, a `part` column; `melody`: which rows are the melody's) with each harmony
    note held until the next note of its part or the next melody onset, whichever comes first (so it meets no
    melody note it was not written against), never past the melody's end; a note that overlaps its part's next
    note is cut there (a voice sings one note at a time)."""
    piece = piece.copy()
    beat = piece["beat"].to_numpy(float)
    end = beat + piece["duration_beats"].to_numpy(float)
    part = piece["part"].to_numpy(np.int64)
    onsets, melody_end = np.unique(beat[melody]), float(end[melody].max())
    for voice in np.unique(part[~melody]):
        rows = np.flatnonzero((part == voice) & ~melody)
        rows = rows[np.argsort(beat[rows], kind="stable")]
        nexts = np.append(beat[rows[1:]], melody_end)
        for row, next_start in zip(rows, nexts):
            later = onsets[onsets > beat[row] + 1e-9]
            until = min(next_start, later[0] if len(later) else melody_end, melody_end)
            if until > end[row] + 1e-9:
                end[row] = until
            elif next_start < end[row] - 1e-9:
                end[row] = max(next_start, beat[row] + 1e-9)
    piece["duration_beats"] = end - beat
    seconds_per_beat = 60.0 / piece["bpm"].to_numpy(float)
    piece["duration"] = piece["duration_beats"] * seconds_per_beat
    piece["end"] = piece["start"] + piece["duration"]
    return piece
