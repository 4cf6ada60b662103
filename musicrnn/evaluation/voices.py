"""Voices of a many-part piece, as a harmony teacher reads them: which note each voice sings at every onset.

A note table becomes a VoiceGrid: the piece's distinct onsets (in beats, on the 1/12-beat grid) and, for each
voice from the top down, the pitch it sounds at each onset (a held note still sounds) and whether it starts a
note there. Voices come from the parts where the parts are voices: the chorales' Soprano, Alto, Tenor and Bass
voice, or any other two or more parts that each sing one note at a time. Otherwise (one part, a piano part with
chords, or no parts at all) voices are read by register at each onset: the highest sounding notes from the top
down, and the lowest sounding note as the bass.

On the grid, voice-leading faults are counted between consecutive onsets (motion is what happens from one
onset to the next, whichever voice moved): parallel fifths and octaves, voice crossing, wide spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..features import beat_timing
from ..parts import DRUMS_PART, VOICES, part_name
from ..theory import BEAT_GRID

SILENT = -1  # the pitch of a voice that sounds nothing at an onset
EPSILON = 1e-6  # beats: onsets and ends sit on the 1/12-beat grid, so this only absorbs float rounding
PHRASE_BREAK = 1.0  # beats of silence in every voice that end a phrase: motion across it is not voice leading
MONOPHONIC = 0.9  # a part is a voice when it starts one note (not a chord) at this share of its onsets or more
FIFTH, OCTAVE = 7, 0  # perfect intervals, as semitones modulo the octave (an octave, a unison, a 15th: 0)


@dataclass
class VoiceGrid:
    """Voices at every onset: `pitch[i, v]` is what voice v (0 = top) sounds at onset i (SILENT if nothing),
    `starts[i, v]` whether it starts a note there. `sounding[i]` lists every pitch sounding at onset i (all
    notes, not only the voices'). `by_parts` says whether the voices are the piece's own parts."""

    onsets: np.ndarray  # (O,) beats
    pitch: np.ndarray  # (O, V) int
    starts: np.ndarray  # (O, V) bool
    names: tuple[str, ...]
    by_parts: bool
    sounding: list[np.ndarray]  # O arrays of pitches, ascending
    doubled: np.ndarray  # (O, V) bool: the voice starts more than one note at this onset (by parts only)
    linked: np.ndarray  # (O-1,) bool: the music runs on from each onset to the next (no phrase break)

    @property
    def voices(self) -> int:
        return self.pitch.shape[1]


def note_grid(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every note's onset and end in beats, on the 1/12-beat grid, and the piece's distinct onsets."""
    if "beat" in notes and "duration_beats" in notes:  # as generated pieces and loaded files have them
        beat, duration = notes["beat"].to_numpy(np.float64), notes["duration_beats"].to_numpy(np.float64)
    else:
        timing = beat_timing(notes)
        beat, duration = np.asarray(timing.beat, np.float64), np.asarray(timing.duration, np.float64)
    beat = np.round(beat * BEAT_GRID) / BEAT_GRID
    end = beat + np.maximum(duration, 1.0 / BEAT_GRID)
    return beat, end, np.unique(beat)


def sounding_matrix(beat: np.ndarray, end: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """(onsets, notes): whether each note sounds at each onset (it started at or before it, ends after it)."""
    return (beat[None, :] <= onsets[:, None] + EPSILON) & (end[None, :] > onsets[:, None] + EPSILON)


def voice_parts(notes: pd.DataFrame) -> list[int] | None:
    """The parts to read as voices, top voice first, or None where voices must be read by register: the
    chorale voices present (Soprano, Alto, Tenor, Bass voice, in that order) when two or more are; else every
    pitched part, highest median pitch first, when there are two or more and each sings one note at a time."""
    if "part" not in notes or not len(notes):
        return None
    part = notes["part"].to_numpy(np.int64)
    beat, _, _ = note_grid(notes)
    present = [p for p in np.unique(part) if p != DRUMS_PART]
    if len(present) < 2:
        return None
    for p in present:  # a part that often starts a chord (a piano's) is not one voice
        onsets, counts = np.unique(beat[part == p], return_counts=True)
        if (counts == 1).mean() < MONOPHONIC:
            return None
    voices = [p for p in present if part_name(p) in VOICES]
    if len(voices) >= 2:
        return sorted(voices, key=lambda p: VOICES.index(part_name(p)))
    pitch = notes["pitch"].to_numpy(np.int64)
    return sorted(present, key=lambda p: -float(np.median(pitch[part == p])))


def voice_grid(notes: pd.DataFrame, voices: int | None = None) -> VoiceGrid:
    """The piece's voices at every onset (see the module's docstring). `voices` fixes how many voices a piece
    read by register has; by default the commonest number of notes sounding at its onsets (at least 2; of two
    as common, the larger)."""
    pitch = notes["pitch"].to_numpy(np.int64)
    beat, end, onsets = note_grid(notes)
    sounds = sounding_matrix(beat, end, onsets)
    keep = notes["part"].to_numpy(np.int64) != DRUMS_PART if "part" in notes else np.ones(len(notes), bool)
    sounds &= keep[None, :]
    sounding = [np.sort(pitch[row]) for row in sounds]
    parts = voice_parts(notes)
    if parts is not None:
        grid = _grid_by_parts(notes, pitch, beat, onsets, sounds, parts, sounding)
    else:
        grid = _grid_by_register(pitch, beat, onsets, sounds, sounding, voices)
    grid.linked = _linked(beat[keep], end[keep], onsets)
    return grid


def _linked(beat: np.ndarray, end: np.ndarray, onsets: np.ndarray) -> np.ndarray:
    """(O-1,) whether less than PHRASE_BREAK beats of silence (in every voice) precede each next onset."""
    latest = np.full(len(onsets), -np.inf)
    np.maximum.at(latest, np.searchsorted(onsets, beat), end)  # the latest end of the notes starting at each onset
    return onsets[1:] - np.maximum.accumulate(latest)[:-1] < PHRASE_BREAK


def _grid_by_parts(notes, pitch, beat, onsets, sounds, parts, sounding) -> VoiceGrid:
    part = notes["part"].to_numpy(np.int64)
    grid = np.full((len(onsets), len(parts)), SILENT, np.int64)
    starts = np.zeros(grid.shape, bool)
    doubled = np.zeros(grid.shape, bool)
    for v, p in enumerate(parts):
        mine = sounds & (part == p)[None, :]
        # Where a voice sounds two notes at once, it sings the one it started last; of two started together,
        # the outer one (the highest, or the lowest in the bottom voice), as an ear follows the outline.
        outward = -pitch if v == len(parts) - 1 else pitch
        rank = np.where(mine, beat[None, :] * 1000.0 + outward[None, :] / 1000.0, -np.inf)
        chosen = rank.argmax(axis=1)
        any_note = mine.any(axis=1)
        grid[any_note, v] = pitch[chosen[any_note]]
        started = mine & (np.abs(beat[None, :] - onsets[:, None]) < EPSILON)
        starts[:, v] = started.any(axis=1)
        doubled[:, v] = started.sum(axis=1) > 1
    names = tuple(part_name(p) for p in parts)
    return VoiceGrid(onsets, grid, starts, names, True, sounding, doubled, np.ones(len(onsets) - 1, bool))


def _grid_by_register(pitch, beat, onsets, sounds, sounding, voices) -> VoiceGrid:
    counts = sounds.sum(axis=1)
    if voices is None:
        values, times = np.unique(counts[counts > 0], return_counts=True)
        commonest = values[times == times.max()].max() if len(values) else 2  # a tie: the larger count
        voices = max(2, int(commonest))
    grid = np.full((len(onsets), voices), SILENT, np.int64)
    starts = np.zeros(grid.shape, bool)
    for i, row in enumerate(sounds):
        index = np.flatnonzero(row)
        if not len(index):
            continue
        index = index[np.argsort(-pitch[index], kind="stable")]  # highest first
        # The lowest sounding note is the bass; the others fill the voices from the top down.
        chosen = [*index[: min(len(index) - 1, voices - 1)]]
        slots = list(range(len(chosen))) + [voices - 1]
        for slot, note in zip(slots, [*chosen, index[-1]]):
            grid[i, slot] = pitch[note]
            starts[i, slot] = abs(beat[note] - onsets[i]) < EPSILON
    names = tuple(f"voice {v + 1}" for v in range(voices))
    no_doubling = np.zeros(grid.shape, bool)
    return VoiceGrid(onsets, grid, starts, names, False, sounding, no_doubling, np.ones(len(onsets) - 1, bool))


# ---------------------------------------------------------------- motion between consecutive onsets


def parallel_perfect(
    upper: np.ndarray, lower: np.ndarray, linked: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(fifths, octaves): for each pair of consecutive onsets, whether two voices (pitches per onset, SILENT
    when not sounding) move from a perfect fifth to a perfect fifth, or from an octave (or unison, or
    compound) to an octave: both sound at both onsets (see both_sound), both move to another note, and in the
    same direction. A voice that holds or repeats its note makes oblique motion, contrary motion into the
    interval is not parallel, and two voices that both leap an octave keep their notes (no new harmony)."""
    upper, lower = np.asarray(upper, np.int64), np.asarray(lower, np.int64)
    same_way = np.sign(np.diff(upper)) * np.sign(np.diff(lower)) > 0
    interval = (upper - lower) % 12
    moving = both_sound(upper, lower, linked) & same_way & (np.diff(lower) % 12 != 0)
    return (
        moving & (interval[:-1] == FIFTH) & (interval[1:] == FIFTH),
        moving & (interval[:-1] == OCTAVE) & (interval[1:] == OCTAVE),
    )


def both_sound(upper: np.ndarray, lower: np.ndarray, linked: np.ndarray | None = None) -> np.ndarray:
    """For each pair of consecutive onsets, whether both voices sound at both (where motion can be judged),
    and where `linked` is given (VoiceGrid.linked), the music runs on between them (no phrase break)."""
    both = (np.asarray(upper) >= 0) & (np.asarray(lower) >= 0)
    judged = both[:-1] & both[1:]
    return judged if linked is None else judged & linked


def hidden_perfect(upper: np.ndarray, lower: np.ndarray, linked: np.ndarray | None = None) -> np.ndarray:
    """Hidden (direct) fifths and octaves: two voices move the same way into a fifth or octave they were not
    already in, the upper voice by leap (more than a whole tone), as the rule for the outer voices has it."""
    upper, lower = np.asarray(upper, np.int64), np.asarray(lower, np.int64)
    interval = (upper - lower) % 12
    same_way = np.sign(np.diff(upper)) * np.sign(np.diff(lower)) > 0
    into = np.isin(interval[1:], (FIFTH, OCTAVE)) & (interval[:-1] != interval[1:])
    return both_sound(upper, lower, linked) & same_way & into & (np.abs(np.diff(upper)) > 2)


def motion_kinds(upper: np.ndarray, lower: np.ndarray, linked: np.ndarray | None = None) -> dict[str, int]:
    """How two voices move between consecutive onsets where both sound and at least one moves: contrary,
    oblique (one holds), parallel (the same interval, modulo the octave, before and after), similar (the same
    direction into another interval)."""
    upper, lower = np.asarray(upper, np.int64), np.asarray(lower, np.int64)
    judged = both_sound(upper, lower, linked)
    up, down = np.sign(np.diff(upper)), np.sign(np.diff(lower))
    moved = judged & ((up != 0) | (down != 0))
    same_interval = (upper[:-1] - lower[:-1]) % 12 == (upper[1:] - lower[1:]) % 12
    return {
        "contrary": int((moved & (up * down < 0)).sum()),
        "oblique": int((moved & (up * down == 0)).sum()),
        "parallel": int((moved & (up * down > 0) & same_interval).sum()),
        "similar": int((moved & (up * down > 0) & ~same_interval).sum()),
    }


def crossings(grid: VoiceGrid) -> np.ndarray:
    """(O,) whether, at each onset, a voice sounds below the voice written under it (voice crossing).
    Voices read by register never cross, so this is only meaningful for voices read from parts."""
    upper, lower = grid.pitch[:, :-1], grid.pitch[:, 1:]
    return np.asarray(((upper >= 0) & (lower >= 0) & (upper < lower)).any(axis=1))


def wide_spacing(grid: VoiceGrid) -> np.ndarray:
    """(O,) whether, at each onset, two neighbouring upper voices (every pair but the lowest two: soprano-alto
    and alto-tenor in four parts) sound more than an octave apart; the bass may lie further below."""
    upper, lower = grid.pitch[:, :-2], grid.pitch[:, 1:-1]
    return np.asarray(((upper >= 0) & (lower >= 0) & (upper - lower > 12)).any(axis=1))
