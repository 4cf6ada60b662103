"""Steering the sampler: harmonise a melody, follow a chord progression, rewrite one passage.

Each feature is a small per-step constraint (a `Guide`, see musicrnn.generate.Guide) that masks, biases or
forces the rhythm classes and pitches of the one sampling loop; no second sampler. They need a beats model:
its rhythm is drawn as classes on the beat grid, so "land exactly on the next melody onset" or "stay inside
beats 8-12" is a mask over classes. A seconds model regresses its times and cannot be held to an onset.

Positions are in beats. A melody or chord timeline counts from the first generated note (or its bar);
a rewrite span counts from the piece's first note (its `beat` column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config
from .features import timing_of
from .generate import MAX_NOTES, MAX_VARIATIONS, NO_PITCH, Guide, Sampling, generate, validate
from .midi import PIECE_COLUMNS
from .parts import PART_CLASSES, PART_NAMES, trained_parts
from .theory import (
    BAR_BEATS,
    BEAT_GRID,
    CHORD_QUALITIES,
    DEFAULT_BPM,
    KEY_COUNT,
    LETTER_CLASS,
    LETTERS,
    PITCH_CLASSES,
    key_index,
    key_name,
    key_pitch_classes,
    key_scores,
    note_name,
    parse_pitch,
    root_class,
    tonic_triad,
)

NEEDS_BEATS = (
    "this model counts time in seconds, so it cannot be held to a melody's onsets, a chord's bars or a "
    "span: train (or pick) a beats model — the presets 'chorale' and 'tiny' are beats models"
)
MAX_MELODY_NOTES = 300  # x 6 notes each (3 below, 2 passing) stays within generate's MAX_NOTES
MAX_NOTE_BEATS = 16.0  # the longest rhythm class of a beats model
MAX_CANDIDATES = MAX_VARIATIONS
SUFFIX_NOTES = 32  # a rewrite is scored on how likely the model finds this many notes that follow it
_PITCH = np.arange(PITCH_CLASSES)
SOPRANO = PART_NAMES.index("Soprano")
LOWER_VOICES = tuple(
    PART_NAMES.index(v) for v in ("Bass voice", "Tenor", "Alto")
)  # the notes under a melody note, in order


# --- Text: melodies and chords ------------------------------------------------------------------------------

MELODY_HELP = (
    "Notes as NAME+OCTAVE/BEATS, separated by spaces: `E4/1 D4/1 C4/2` is E, D (a beat each), then C "
    "for two beats. Sharps `F#4`, flats `Bb3`, rests `R/1`; beats may be fractions of a beat like 0.5 "
    "or 1.5 (quarter note = 1 beat)."
)
CHORDS_HELP = (
    "Chord names separated by spaces, one per bar (`C G Am F`) or with beats (`C:2 G:2`). Major `C`, minor "
    "`Am`, 7th `G7`, `Cmaj7`, `Dm7`, diminished `Bdim`, `Bm7b5`, augmented `Caug`, `Dsus4`. The first chord "
    "starts at the bar line at or before the first new note (a piece that starts in the middle of a bar gives "
    "the first chord the rest of that bar), and the progression repeats to the end of the piece."
)
# What the CLI, the Generate page and the Steer page start from: most notes on chord tones (88 % with the default
# model, every piece at least 81 %: bench/guide.py), with room for passing notes between them, as real music has.
DEFAULT_CHORD_STRENGTH = 0.75
CHORD_STRENGTH_HELP = (
    "How strictly each bar keeps to its chord. Low: a suggestion (chord tones made likelier). "
    f"{DEFAULT_CHORD_STRENGTH:g} (the default): most notes on chord tones, a few passing notes between them. "
    "1: only chord tones — a note held into a bar whose chord does not have it stops at that bar line."
)


def _beats(text: str, token: str) -> float:
    try:
        beats = float(text)
    except ValueError:
        raise ValueError(f"{token!r}: the length after the name must be a number of beats, like 1 or 0.5") from None
    if not 0 < beats <= MAX_NOTE_BEATS:
        raise ValueError(f"{token!r}: a length must be more than 0 and at most {MAX_NOTE_BEATS:g} beats")
    on_grid = round(beats * BEAT_GRID) / BEAT_GRID
    if abs(on_grid - beats) > 1e-6:
        raise ValueError(f"{token!r}: lengths must be whole 1/{BEAT_GRID} beats (sixteenths and triplets fit)")
    return on_grid


@dataclass
class Melody:
    """A melody on the beat grid: pitches, onsets (beats from its first note) and lengths."""

    pitch: np.ndarray
    onset: np.ndarray
    duration: np.ndarray

    def __len__(self) -> int:
        return len(self.pitch)

    def end(self) -> float:
        return float(self.onset[-1] + self.duration[-1]) if len(self) else 0.0


def parse_melody(text: str) -> Melody:
    """'E4/1 D4/1 R/1 C4/2' -> a Melody. Raises ValueError naming the token that is wrong."""
    pitches, onsets, lengths, position = [], [], [], 0.0
    for token in text.replace(",", " ").split():
        name, slash, length = token.partition("/")
        if not slash:
            raise ValueError(f"{token!r} has no length: write NAME/BEATS, like C4/1")
        beats = _beats(length, token)
        if name.upper() != "R":
            try:
                pitches.append(parse_pitch(name))
            except ValueError as exc:
                raise ValueError(f"{token!r}: {exc}") from None
            onsets.append(position)
            lengths.append(beats)
        position += beats
    if not pitches:
        raise ValueError("the melody has no notes: write notes like `E4/1 D4/1 C4/2`")
    if len(pitches) > MAX_MELODY_NOTES:
        raise ValueError(f"the melody has {len(pitches)} notes; at most {MAX_MELODY_NOTES} are harmonised")
    onset = np.array(onsets)
    return Melody(np.array(pitches, np.int64), onset - onset[0], np.array(lengths))


def melody_text(melody: Melody) -> str:
    """A Melody as the text parse_melody reads."""
    tokens, position = [], 0.0
    for pitch, onset, length in zip(melody.pitch, melody.onset, melody.duration):
        if onset > position + 1e-9:
            tokens.append(f"R/{onset - position:g}")
        tokens.append(f"{note_name(int(pitch))}/{min(length, MAX_NOTE_BEATS):g}")
        position = max(position, onset + length)
    return " ".join(tokens)


def top_voice(notes: pd.DataFrame) -> Melody:
    """The highest note at each onset of a note table (a soprano line), held until the next onset at most."""
    timing = timing_of(notes, _BEATS_CFG)
    onset = np.round(timing.beat * BEAT_GRID) / BEAT_GRID
    table = pd.DataFrame({"pitch": notes["pitch"].to_numpy(np.int64), "onset": onset, "length": timing.duration})
    top = table.sort_values(["onset", "pitch"]).groupby("onset", sort=True).tail(1)
    if top.empty:
        raise ValueError("the file has no notes to take a melody from")
    starts = top["onset"].to_numpy()
    next_start = np.append(starts[1:], np.inf)
    length = np.minimum(np.minimum(top["length"].to_numpy(), next_start - starts), MAX_NOTE_BEATS)
    length = np.maximum(np.round(length * BEAT_GRID) / BEAT_GRID, 1.0 / BEAT_GRID)
    keep = slice(0, MAX_MELODY_NOTES)
    return Melody(top["pitch"].to_numpy(np.int64)[keep], (starts - starts[0])[keep], length[keep])


@dataclass
class Chord:
    name: str
    pitch_classes: frozenset[int]
    beats: float | None  # None = one bar


def parse_chord(token: str) -> Chord:
    """'Am' -> A minor, 'G7:2' -> G dominant 7th for 2 beats. Raises ValueError naming the token."""
    name, colon, length = token.partition(":")
    head = _chord_root(name)
    root = root_class(head) if head else None
    quality = name[len(head) :]
    if root is None or quality not in CHORD_QUALITIES:
        raise ValueError(
            f"unknown chord {token!r}: use a root A-G (with # or b) and one of major (C), minor (Cm), "
            f"7th (C7, Cmaj7, Cm7), diminished (Cdim, Cdim7, Cm7b5), augmented (Caug), sus (Csus4)"
        )
    beats = _beats(length, token) if colon else None
    return Chord(name, frozenset((root + step) % 12 for step in CHORD_QUALITIES[quality]), beats)


def parse_chords(text: str) -> list[Chord]:
    """'C G Am F' or 'C:2 G:2' -> chords. Raises ValueError naming the first unknown token."""
    chords = [parse_chord(token) for token in text.replace(",", " ").replace("|", " ").split()]
    if not chords:
        raise ValueError("no chords given: write chord names like `C G Am F`")
    return chords


# --- Constraints ---------------------------------------------------------------------------------------------


def _only(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Logits with every class outside `allowed` ruled out."""
    return np.where(allowed, logits, NO_PITCH)


class _Base:
    """A guide that constrains nothing; subclasses override what they steer. One that finishes a piece itself
    (a melody, a span) sets `may_end` False: the model may not end the piece before it."""

    may_end = True

    def start(self, cfg: Config, batch: int, onset: np.ndarray, bar_beat: np.ndarray, bar_beats: np.ndarray) -> None:
        if not cfg.beats:
            raise ValueError(NEEDS_BEATS)
        self.cfg, self.batch, self.count = cfg, batch, 0
        self.lengths = np.full(batch, MAX_NOTES, np.int64)  # > any n_notes until a stream finishes

    def rhythm(self, onset, step_logits):
        return step_logits

    def part(self, onset, logits, known):
        return logits, known

    def pitch(self, onset, logits, allowed, part=None):
        return logits, allowed

    def took(self, onset, pitch, duration):
        self.count += 1
        return duration

    def _grid(self, beats: np.ndarray | float) -> np.ndarray:
        """Beats to whole grid steps (exact integers, so onsets compare without float noise)."""
        return np.rint(np.asarray(beats, np.float64) * self.cfg.beat_grid).astype(np.int64)


class MelodyGuide(_Base):
    """Harmonise a melody: at each melody onset the model writes notes below it, then the melody note as the
    top of the chord; between onsets it may add passing notes below the sounding melody note.

    With a parts model that knows the four voices, the melody is the Soprano and the notes below it, in order,
    Bass voice, Tenor and Alto (the part head chooses between Alto and placing the melody once enough notes
    are below); passing notes take a lower voice. The model is then fed the parts it wrote.

    The first generated note lands `lead` beats after the primer's last onset, on the first melody onset.

    Given the melody's `key` (theory.key_index), it ends on a cadence: the chord under the last melody note is
    the tonic triad over the tonic in the bass (when the melody ends on a note of that triad), the one before
    it stands on the dominant in the bass (when the melody's note there belongs to the dominant triad), and the
    notes under the last melody note last as long as it does."""

    may_end = False

    def __init__(
        self,
        melody: Melody,
        lead: float,
        min_below: int = 2,
        max_below: int = 3,
        max_passing: int = 2,
        usual: dict[int, tuple[int, int]] | None = None,
        key: int | None = None,
        scale: np.ndarray | None = None,
    ):
        self.melody, self.lead = melody, lead
        self.min_below, self.max_below, self.max_passing = min_below, max_below, max_passing
        self.usual = usual or {}  # part -> the pitches (low, high) it mostly played in the training data
        self.cadence = _cadence(melody, key) if key is not None else None
        # The pitches a lower voice may take even out of its range (a diatonic melody's key; else all).
        self.scale = np.ones(PITCH_CLASSES, bool) if scale is None else scale

    def notes_needed(self) -> int:
        return len(self.melody) * (self.max_below + 1 + self.max_passing)

    def start(self, cfg, batch, onset, bar_beat, bar_beats):
        super().start(cfg, batch, onset, bar_beat, bar_beats)
        origin = self._grid(onset + self.lead)
        self.targets = origin[:, None] + self._grid(self.melody.onset)[None, :]  # (B, M) grid steps
        self.finish = origin + self._grid(self.melody.end())  # where the melody's last note ends
        self.index = np.zeros(batch, np.int64)  # the melody note each stream places next
        self.below = np.zeros(batch, np.int64)  # notes written under it so far
        self.passing = np.zeros(batch, np.int64)  # passing onsets since the last melody note
        self.is_melody = np.zeros((batch, self.notes_needed()), bool)
        self.voiced = False  # set by part(): the parts drawn are the four voices
        self.floor = np.full(batch, -1, np.int64)  # the last note written under the melody at this onset
        # The outer voices at the last melody onset (bass: the first note written under it), and the bass at
        # this one so far: -1 = none yet.
        self.last_bass = np.full(batch, -1, np.int64)
        self.last_top = np.full(batch, -1, np.int64)
        self.bass = np.full(batch, -1, np.int64)

    def _target(self) -> np.ndarray:
        return self.targets[np.arange(self.batch), np.minimum(self.index, len(self.melody) - 1)]

    def _no_parallels(self, below: np.ndarray, melody_pitch: np.ndarray) -> np.ndarray:
        """The bass pitches under `melody_pitch` that make no parallel fifth or octave with the last melody
        onset's outer voices (both moving the same way into the same perfect interval): the commonest slip of
        the model's harmonies (0.84 fifths per 100 onsets where Bach has 0.03). Unchanged where that leaves none."""
        before = (self.last_top - self.last_bass) % 12
        perfect = (self.last_bass >= 0) & ((before == 0) | (before == 7))
        same_interval = (melody_pitch[:, None] - _PITCH[None, :]) % 12 == before[:, None]
        same_way = (
            np.sign(_PITCH[None, :] - self.last_bass[:, None]) * np.sign(melody_pitch - self.last_top)[:, None] > 0
        )
        clean = below & ~(perfect[:, None] & same_interval & same_way)
        return np.where(np.any(clean, axis=1)[:, None], clean, below)

    def rhythm(self, onset, step_logits):
        gap = self._target() - self._grid(onset)  # grid steps to the next melody onset (0: we are on it)
        classes = np.arange(step_logits.shape[1])[None, :]
        last = self.cfg.rhythm_classes - 1  # the longest step ("longer"; an end_class model's END is after it)
        land = classes == np.minimum(gap, last)[:, None]
        # Passing notes: strictly between the melody onsets, a few per gap, never before the first melody note.
        free = (classes >= 1) & (classes <= np.minimum(gap, last)[:, None])
        may_pass = ((self.passing < self.max_passing) & (self.index > 0) & (gap > 0))[:, None]
        allowed = np.where(may_pass, free, land)
        allowed[self.index >= len(self.melody)] = True
        return _only(step_logits, allowed)

    def part(self, onset, logits, known):
        """Voices for a model whose corpus had the Soprano and a lower voice; any other draws its parts freely."""
        if known is None or np.ndim(known) != 1 or not known[SOPRANO]:
            return logits, known
        lower = [p for p in LOWER_VOICES if known[p]]
        if not lower:
            return logits, known
        voice = np.zeros((self.batch, PART_CLASSES), bool)
        next_below = np.array(lower)[np.minimum(self.below, len(lower) - 1)]  # Bass voice, then Tenor, then Alto
        may_place = self.below >= self.min_below
        must_place = (self.below >= self.max_below) | (may_place & self._final_chord_full())
        rows = np.arange(self.batch)
        voice[rows[~must_place], next_below[~must_place]] = True
        voice[may_place, SOPRANO] = True
        passing = np.zeros(PART_CLASSES, bool)
        passing[lower] = True
        on_target = self._grid(onset) == self._target()
        voice = np.where(on_target[:, None], voice, passing[None, :])
        voice[self.index >= len(self.melody)] = known  # the melody is done: the remaining notes are dropped
        self.voiced = True
        return logits, voice

    def pitch(self, onset, logits, allowed, part=None):
        rows = np.arange(self.batch)
        on_target = self._grid(onset) == self._target()
        melody_pitch = self.melody.pitch[np.minimum(self.index, len(self.melody) - 1)]
        below = allowed & (_PITCH[None, :] < melody_pitch[:, None])
        forced = np.zeros_like(allowed)
        forced[rows, melody_pitch] = True  # the melody note itself, whatever the key/range masks say
        room = below.any(axis=1)
        if part is not None and self.voiced:
            # The part drawn decides: the Soprano places the melody note, a lower voice writes under it (out
            # of its range rather than on or above the melody when its range has no room there).
            under = (_PITCH[None, :] < melody_pitch[:, None]) & self.scale[None, :]
            below = np.where(room[:, None], below, under)
            # Bass, tenor, alto are written in that order: each above the last, so the voices do not cross.
            uncrossed = below & (_PITCH[None, :] > self.floor[:, None])
            below = np.where(np.any(uncrossed, axis=1)[:, None], uncrossed, below)
            first_below = on_target & (self.below == 0) & (part != SOPRANO)
            # The cadence first: a voice's usual range must not take away the last tonic tone left to it.
            below = self._cadence_rule(below, on_target, first_below)
            # The pitch head does not know the part just drawn, and a voice's full range is wide (the corpus'
            # bass reaches E4): prefer the pitches the voice mostly sang, so the bass does not open at the top.
            low, high = np.array([self.usual.get(int(p), (0, PITCH_CLASSES - 1)) for p in part]).T
            usual = below & (_PITCH[None, :] >= low[:, None]) & (_PITCH[None, :] <= high[:, None])
            below = np.where(usual.any(axis=1)[:, None], usual, below)
            below = np.where(first_below[:, None], self._no_parallels(below, melody_pitch), below)
            below = _no_clash(below, melody_pitch)
            chord = np.where((part == SOPRANO)[:, None] | ~np.any(below, axis=1)[:, None], forced, below)
        else:
            below = _no_clash(self._cadence_rule(below, on_target, on_target & (self.below == 0)), melody_pitch)
            chord = np.where(
                ((self.below >= self.max_below) | ~room)[:, None],
                forced,
                np.where((self.below < self.min_below)[:, None], below, below | forced),
            )
        # Passing notes stay under the melody note that is still sounding.
        sounding_top = self.melody.pitch[np.maximum(self.index - 1, 0)]
        passing = allowed & (_PITCH[None, :] < sounding_top[:, None])
        passing[~passing.any(axis=1)] = allowed[~passing.any(axis=1)]
        passing = _no_clash(passing, sounding_top)
        new_allowed = np.where(on_target[:, None], chord, passing)
        new_allowed[self.index >= len(self.melody)] = allowed[self.index >= len(self.melody)]
        return logits, new_allowed

    def _until_a_clash(self, onset: np.ndarray, pitch: np.ndarray, duration: np.ndarray) -> np.ndarray:
        """(B,) a harmony note's length, cut where a later melody note starts that it would strike a semitone or
        major seventh below (a held note the melody moves against, the clash _no_clash keeps out of new notes)."""
        start = self._grid(onset)
        stop = start + np.rint(np.asarray(duration) * self.cfg.beat_grid).astype(np.int64)
        later = (self.targets > start[:, None]) & (self.targets < stop[:, None])  # (B, M) melody onsets inside
        clash = np.isin((self.melody.pitch[None, :] - pitch[:, None]) % 12, CLASHES) & (
            self.melody.pitch[None, :] > pitch[:, None]
        )
        cut_at = np.where(later & clash, self.targets, np.iinfo(np.int64).max).min(axis=1)
        return np.where(cut_at < stop, (cut_at - start) / self.cfg.beat_grid, duration)

    def _final_chord_full(self) -> np.ndarray:
        """(B,) under the last melody note of a cadence, whether no note of the tonic triad is left between the
        voice written last and the melody: the melody is placed rather than a voice out of the chord."""
        if self.cadence is None or self.cadence[0] is None:
            return np.zeros(self.batch, bool)
        melody_pitch = self.melody.pitch[np.minimum(self.index, len(self.melody) - 1)]
        room = (
            np.isin(_PITCH % 12, self.cadence[0])[None, :]
            & (_PITCH[None, :] > self.floor[:, None])
            & (_PITCH[None, :] < melody_pitch[:, None])
        )
        return (self.index == len(self.melody) - 1) & ~room.any(axis=1)

    def _cadence_rule(self, below: np.ndarray, on_target: np.ndarray, bass: np.ndarray) -> np.ndarray:
        """`below` narrowed to the cadence's chord under the last melody note and its bass under the one before
        (where the melody allows it and some pitch remains)."""
        if self.cadence is None:
            return below
        last = len(self.melody) - 1
        final_tones, final_bass, penult_bass = self.cadence
        pitch_class = _PITCH[None, :] % 12
        rules = []
        if final_tones is not None:
            rules.append((on_target & (self.index == last), np.isin(pitch_class, final_tones)))
            rules.append((on_target & bass & (self.index == last), pitch_class == final_bass))
        if penult_bass is not None:
            rules.append((on_target & bass & (self.index == last - 1), pitch_class == penult_bass))
        for where, tones in rules:
            narrowed = below & tones
            keep = where & np.any(narrowed, axis=1)
            below = np.where(keep[:, None], narrowed, below)
        return below

    def took(self, onset, pitch, duration):
        rows = np.arange(self.batch)
        active = self.index < len(self.melody)
        on_target = (self._grid(onset) == self._target()) & active
        placed = on_target & (pitch == self.melody.pitch[np.minimum(self.index, len(self.melody) - 1)])
        duration = np.where(placed, self.melody.duration[np.minimum(self.index, len(self.melody) - 1)], duration)
        # No note outlasts the melody, and the last chord is held with its last note: the harmony lasts to the end.
        left = (self.finish - self._grid(onset)) / self.cfg.beat_grid
        under_last = on_target & ~placed & (self.index == len(self.melody) - 1)
        duration = np.where(under_last, left, np.minimum(duration, np.maximum(left, 1.0 / self.cfg.beat_grid)))
        duration = np.where(placed, duration, self._until_a_clash(onset, pitch, duration))
        if self.count < self.is_melody.shape[1]:
            self.is_melody[rows, self.count] = placed
        self.below = np.where(placed, 0, self.below + on_target)
        self.floor = np.where(placed, -1, np.where(on_target, pitch, self.floor))
        self.bass = np.where(on_target & ~placed & (self.bass < 0), pitch, self.bass)  # the first note under it
        self.last_bass = np.where(placed, self.bass, self.last_bass)
        self.last_top = np.where(placed, pitch, self.last_top)
        self.bass = np.where(placed, -1, self.bass)
        self.passing = np.where(placed, 0, self.passing + (active & ~on_target))
        self.index = self.index + placed
        self.count += 1
        self.lengths = np.where(placed & (self.index == len(self.melody)), self.count, self.lengths)
        return duration


class ChordGuide(_Base):
    """Follow a chord progression: each note's pitch is steered to the tones of the chord at its onset, from a
    logit boost (strength near 0: a suggestion) to a mask (strength 1: only chord tones).

    The progression starts at the bar line at or before the first generated note (no pick-up: a piece that
    starts in the middle of a bar gives the first chord the rest of that bar) and repeats. At strength 1 no
    note sounds outside its chord: a note held into a chord that does not have it stops at that chord's start;
    where the key, ranges and voices leave no chord tone, the chord's tones in the piece's `key` are taken, and
    only where the key has none of them, any (chord_key_warnings says which notes a key drops)."""

    MAX_BOOST = 5.0  # nats added to chord tones at strength just under 1 (e^5 ≈ 150x more likely)

    def __init__(self, chords: list[Chord], strength: float = DEFAULT_CHORD_STRENGTH, key: str | None = None):
        if not 0 <= strength <= 1:
            raise ValueError("chord strength must be between 0 (off) and 1 (only chord tones)")
        self.chords, self.strength = chords, strength
        # The piece's key: where the voices and ranges leave no chord tone, the chord tones in the key come first.
        self.in_key = np.isin(_PITCH % 12, sorted(key_pitch_classes(key))) if key else np.ones(PITCH_CLASSES, bool)

    def start(self, cfg, batch, onset, bar_beat, bar_beats):
        super().start(cfg, batch, onset, bar_beat, bar_beats)
        self.bar = self._grid(bar_beats)
        self.last_bar_line = self._grid(onset - bar_beat)
        self.origin = None

    def timeline(self, bar_beats: float) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (beats from the progression's start) of each chord of one pass through it."""
        lengths = np.array([c.beats if c.beats is not None else bar_beats for c in self.chords], np.float64)
        ends = np.cumsum(lengths)
        return ends - lengths, ends

    def _chord_at(self, position: int, bar: int) -> tuple[int, int]:
        """The chord sounding `position` grid steps into the progression (bars of `bar` grid steps), and the
        grid step where it ends."""
        ends = self._grid(self.timeline(bar / self.cfg.beat_grid)[1])
        loop = int(ends[-1])
        index = min(int(np.searchsorted(ends, position % loop, side="right")), len(self.chords) - 1)
        return index, position - position % loop + int(ends[index])

    def tones_at(self, position: np.ndarray, bar_beats: np.ndarray) -> np.ndarray:
        """(B, 128) mask of the chord tones sounding `position` grid steps into the progression."""
        tones = np.zeros((len(position), PITCH_CLASSES), bool)
        for row, (where, bar) in enumerate(zip(position, bar_beats)):
            chord = self.chords[self._chord_at(int(where), int(bar))[0]]
            tones[row] = np.isin(_PITCH % 12, sorted(chord.pitch_classes))
        return tones

    def pitch(self, onset, logits, allowed, part=None):
        at = self._grid(onset)
        if self.origin is None:  # the bar line at or before the first generated note
            self.origin = self.last_bar_line + (at - self.last_bar_line) // self.bar * self.bar
        tones = self.tones_at(at - self.origin, self.bar)
        if self.strength >= 1:
            only = allowed & tones
            for fallback in (tones & self.in_key[None, :], tones):  # nothing allowed is a chord tone: chord tones win
                empty = ~only.any(axis=1)
                only[empty] = fallback[empty]
            return logits, only
        return logits + self.strength * self.MAX_BOOST * tones, allowed

    def took(self, onset, pitch, duration):
        """Only chord tones (strength 1): a note stops where a chord that does not have it begins."""
        self.count += 1
        if self.strength < 1 or self.origin is None:
            return duration
        start, end = self._grid(onset) - self.origin, self._grid(onset + duration) - self.origin
        held = np.array(
            [self._held_until(int(s), int(e), int(p) % 12, int(b)) for s, e, p, b in zip(start, end, pitch, self.bar)]
        )
        return np.where(held < end, (held - start) / self.cfg.beat_grid, duration)

    def _held_until(self, start: int, end: int, pitch_class: int, bar: int) -> int:
        """Where (grid steps into the progression) a note of `pitch_class` from `start` to `end` must stop: the
        start of the first chord after its onset that lacks it, else `end`."""
        position = self._chord_at(start, bar)[1]
        while position < end:
            index, chord_end = self._chord_at(position, bar)
            if pitch_class not in self.chords[index].pitch_classes:
                return position
            position = chord_end
        return end


class RewriteGuide(_Base):
    """Resample the span [start, end) beats of a piece: the first new note lands at or after `start`; a stream
    is finished when its next onset would reach `end` (that note is dropped)."""

    may_end = False

    def __init__(self, start: float, end: float):
        self.span = (start, end)

    def start(self, cfg, batch, onset, bar_beat, bar_beats):
        super().start(cfg, batch, onset, bar_beat, bar_beats)
        self.begin, self.end = self._grid(self.span[0]), self._grid(self.span[1])

    def rhythm(self, onset, step_logits):
        if self.count == 0:
            classes = np.arange(step_logits.shape[1])[None, :]
            gap = np.minimum(self.begin - self._grid(onset), self.cfg.rhythm_classes - 1)
            step_logits = _only(step_logits, (classes >= gap[:, None]) & (classes < self.cfg.rhythm_classes))
        return step_logits

    def took(self, onset, pitch, duration):
        reached = (self._grid(onset) >= self.end) & (self.lengths > self.count)
        self.lengths = np.where(reached, self.count, self.lengths)
        self.count += 1
        return duration


_BEATS_CFG = Config(time_unit="beats")


# --- The three features --------------------------------------------------------------------------------------


CLASHES = (1, 11)  # semitones (mod 12) below a melody note that grate: a minor second/ninth, a major seventh


def _no_clash(candidates: np.ndarray, melody_pitch: np.ndarray) -> np.ndarray:
    """(B, 128) `candidates` less the pitches a semitone, major seventh or minor ninth below the melody note
    sounding in each stream (Bach's chorales strike a melody note so about 3 times in 100; the model's harmonies
    did 18 times in 100), unless that leaves a stream none."""
    clash = np.isin((melody_pitch[:, None] - _PITCH[None, :]) % 12, CLASHES)
    kept = candidates & ~clash
    return np.where(np.any(kept, axis=1)[:, None], kept, candidates)


TONIC_ENDING_BONUS = 0.3  # how much a melody's last note counts for its tonic (see melody_key)


def melody_key(melody: Melody) -> str:
    """The key of a melody ("C:major"): Krumhansl-Schmuckler over its notes weighted by length, with its last
    note taken as the likeliest tonic, since tunes end on their tonic far more often than anywhere else (without
    it, "Mary Had a Little Lamb" and "Jingle Bells" read as E minor; with it, 20 of 20 typed tunes are right)."""
    scores = key_scores(melody.pitch, melody.duration)
    tonic = np.arange(KEY_COUNT) % 12
    return key_name(int(np.argmax(scores + TONIC_ENDING_BONUS * (tonic == int(melody.pitch[-1]) % 12))))


def is_diatonic(melody: Melody, key: str) -> bool:
    """Whether every melody note belongs to the key (minor: with its raised sixth and seventh)."""
    return set(int(p) % 12 for p in melody.pitch) <= key_pitch_classes(key)


def _cadence(melody: Melody, key: int) -> tuple[list[int] | None, int, int | None]:
    """The cadence a harmonisation in `key` ends on: the final chord's pitch classes (None when the melody's
    last note is not in the tonic triad), its bass (the tonic), and the bass under the melody's last note
    but one (the dominant, when that note belongs to the dominant triad; else None)."""
    tonic = key % 12
    triad = tonic_triad(key)
    dominant = [(tonic + 7) % 12, (tonic + 11) % 12, (tonic + 2) % 12]  # minor too: the raised leading note
    final = triad if int(melody.pitch[-1]) % 12 in triad else None
    penult = dominant[0] if len(melody) > 1 and int(melody.pitch[-2]) % 12 in dominant else None
    return final, tonic, penult


def harmony_key(melody: Melody, settings: Sampling | None = None) -> tuple[str, bool]:
    """The key a melody is harmonised in ("C:major") and whether it was read from the melody (else the major or
    minor key set in `settings`)."""
    key = settings.key if settings is not None and settings.key else None
    if key and key.split(":")[-1].strip().lower() in ("major", "minor"):
        return key, False
    return melody_key(melody), True


def harmony_key_words(melody: Melody, settings: Sampling | None = None) -> str:
    """The key of a harmonisation in words: "Harmonised in C major (read from the melody); the harmony keeps
    to its notes", or that chromatic colour or a melody outside the key lets it leave them."""
    key, read = harmony_key(melody, settings)
    words = f"Harmonised in {key.replace(':', ' ')}" + (" (read from the melody)" if read else "")
    if settings is not None and settings.key:
        return words + "."  # a key that is set keeps every note to its own scale
    if settings is not None and settings.chromatic:
        return words + "; chromatic colour: the harmony may use notes outside the key."
    if not is_diatonic(melody, key):
        return words + "; the melody has notes outside the key, so the harmony may too."
    return words + "; the harmony keeps to its notes."


def harmony_primer(melody: Melody, bar_beats: float = BAR_BEATS, key: str | None = None) -> pd.DataFrame:
    """A one-beat tonic chord of the melody's key (its own key when none is given), under the melody's first
    note, on the beat before the melody's first bar, so the model starts in the key and where the melody does.
    Its `attrs["key"]` names the key."""
    key = key or melody_key(melody)
    index = key_index(key)
    tonic, third = index % 12, (index % 12 + (3 if index >= 12 else 4)) % 12
    top = int(melody.pitch[0])

    def below(pitch_class: int, under: int) -> int:
        """The highest pitch of this class below `under`."""
        return under - 1 - (under - 1 - pitch_class) % 12

    bass = below(tonic, top - 12)
    upper = below((tonic + 7) % 12, top)
    middle = below(third, upper)
    pitches = sorted(p for p in {bass, middle, upper} if 0 <= p < PITCH_CLASSES)
    n = len(pitches)
    primer = pd.DataFrame(
        {
            "pitch": pitches,
            "step": [0.0] * n,
            "duration": [0.5] * n,
            "beat": [0.0] * n,
            "step_beats": [0.0] * n,
            "duration_beats": [1.0] * n,
            "bar_beat": [bar_beats - 1.0] * n,
            "bar_beats": [bar_beats] * n,
        }
    )
    primer.attrs["key"] = key
    return primer


def harmonize(
    model,
    melody: Melody,
    settings: Sampling | None = None,
    primer: pd.DataFrame | None = None,
    bar_beats: float = BAR_BEATS,
) -> list[pd.DataFrame]:
    """Lower voices for `melody`, once per variation: note tables whose `melody` column marks the kept notes.

    The harmony is written in the melody's key (settings.key, else melody_key); a diatonic melody's harmony
    stays in that key (minor: with its raised sixth and seventh) unless settings.chromatic lets it colour the
    key, and it ends on a cadence (see MelodyGuide)."""
    settings = settings or Sampling()
    if not model.cfg.beats:
        raise ValueError(NEEDS_BEATS)
    key, _ = harmony_key(melody, settings)
    scale = None
    if not settings.key and not settings.chromatic and is_diatonic(melody, key):
        settings = Sampling(**{**settings.to_dict(), "key": key})
        scale = np.isin(_PITCH % 12, sorted(key_pitch_classes(key)))
    primer = harmony_primer(melody, bar_beats, key) if primer is None else primer
    timing = timing_of(primer, model.cfg)
    last = timing.beat == timing.beat[-1]
    lead = float(np.max(timing.duration[last]))  # the melody starts when the primer's last chord ends
    parts = trained_parts(model)
    usual = {int(k): (int(f["low"]), int(f["high"])) for k, f in parts.items()}
    guide = MelodyGuide(melody, lead, usual=usual, key=key_index(key), scale=scale)
    settings = Sampling(**{**settings.to_dict(), "n_notes": min(guide.notes_needed(), MAX_NOTES)})
    pieces = generate(model, primer, settings, guide=guide)
    for v, piece in enumerate(pieces):
        piece["melody"] = guide.is_melody[v, : len(piece)]
    return pieces


def follow_chords(
    model,
    chords: list[Chord],
    strength: float = DEFAULT_CHORD_STRENGTH,
    primer: pd.DataFrame | None = None,
    settings: Sampling | None = None,
) -> list[pd.DataFrame]:
    """generate() with each note steered to the chord of its bar (see ChordGuide)."""
    key = settings.key if settings is not None else None
    return generate(model, primer, settings, guide=ChordGuide(chords, strength, key))


def _chord_timeline(notes: pd.DataFrame, chords: list[Chord]) -> list[tuple[float, float, Chord]]:
    """(start, end, chord) in the piece's beats, from the bar line at or before its first note (its metre: the
    first note's bar) to the end of its last note: where ChordGuide placed each chord."""
    if not len(notes):
        return []
    bar = float(notes["bar_beats"].iloc[0]) if "bar_beats" in notes else BAR_BEATS
    origin = -float(notes["bar_beat"].iloc[0]) if "bar_beat" in notes else 0.0
    end = float((notes["beat"] + notes["duration_beats"]).max()) if "beat" in notes else 0.0
    lengths = [c.beats if c.beats is not None else bar for c in chords]
    spans, position = [], origin
    while position < end:
        for chord, length in zip(chords, lengths):
            if position >= end:
                break
            spans.append((position, position + length, chord))
            position += length
    return spans


def chord_spans(notes: pd.DataFrame, chords: list[Chord]) -> list[tuple[float, float, str]]:
    """(start, end, name) in the piece's beats of every chord ChordGuide steered it with (for drawing)."""
    return [(start, end, chord.name) for start, end, chord in _chord_timeline(notes, chords)]


def on_chord_tones(notes: pd.DataFrame, chords: list[Chord]) -> np.ndarray:
    """(notes,) whether each note is a tone of every chord it sounds under: the chord at its onset, and each
    chord it is held into."""
    spans = _chord_timeline(notes, chords)
    starts = np.array([start for start, _, _ in spans])
    ends = np.array([end for _, end, _ in spans])
    tones = np.array([[p in chord.pitch_classes for p in range(12)] for _, _, chord in spans]).reshape(-1, 12)
    onset = notes["beat"].to_numpy(np.float64)
    until = onset + notes["duration_beats"].to_numpy(np.float64)
    # (notes, spans) the chords each note sounds under; 1e-6 absorbs the float drift of beats summed over a long piece
    under = (starts[None, :] < until[:, None] - 1e-6) & (ends[None, :] > onset[:, None] + 1e-6)
    fits = tones[:, notes["pitch"].to_numpy(np.int64) % 12].T  # (notes, spans): the pitch is a tone of the chord
    return np.all(fits | ~under, axis=1)


def chord_tone_share(notes: pd.DataFrame, chords: list[Chord]) -> float:
    """The share of a chord piece's notes that are tones of every chord they sound under (1.0 for no notes)."""
    on = on_chord_tones(notes, chords)
    return float(on.mean()) if len(on) else 1.0


_TONE_ROLES = {0: "root", 2: "ninth", 3: "third", 4: "third", 5: "fourth", 6: "fifth", 7: "fifth", 8: "fifth"}
_TONE_ROLES |= {9: "sixth", 10: "seventh", 11: "seventh"}


def _tone_role(name: str, interval: int) -> str:
    """What a chord tone is to its chord: 'root', 'third', ... (a diminished seventh's 9 semitones: its seventh)."""
    quality = name[len(_chord_root(name)) :]
    if interval == 9 and quality in ("dim7", "°7"):
        return "seventh"
    if interval == 2 and quality == "sus2":
        return "second"
    return _TONE_ROLES.get(interval, "note")


_LETTER_STEPS = (0, 1, 1, 2, 2, 3, 4, 4, 4, 5, 6, 6)  # letters above the root that write each interval: G# in E


def _chord_tone_name(root: str, interval: int, quality: str = "") -> str:
    """A chord tone's name, spelt from the chord's root: the third of Eb is G, the fifth of B is F#, the
    seventh of Bdim7 is Ab."""
    steps = 6 if interval == 9 and quality in ("dim7", "°7") else _LETTER_STEPS[interval % 12]
    letter = LETTERS[(LETTERS.index(root[0].upper()) + steps) % 7]
    pitch_class = (root_class(root) or 0) + interval
    alter = (pitch_class - LETTER_CLASS[letter] + 6) % 12 - 6
    return letter + ("#" * alter if alter > 0 else "b" * -alter)


def chord_key_warnings(chords: list[Chord], key: str | None, strength: float = DEFAULT_CHORD_STRENGTH) -> list[str]:
    """One sentence for each chord (once each) that has notes outside the key the piece keeps to, saying which
    notes its bars lose. Empty without a key, or when the key has every chord's notes."""
    if not key:
        return []
    in_key = key_pitch_classes(key)
    key_words = key.replace(":", " ")
    messages, seen = [], set()
    for chord in chords:
        if chord.name in seen:
            continue
        seen.add(chord.name)
        root = _chord_root(chord.name)
        root_pc = root_class(root) or 0
        intervals = sorted({(p - root_pc) % 12 for p in chord.pitch_classes})
        missing = [i for i in intervals if (root_pc + i) % 12 not in in_key]
        if not missing:
            continue
        names = [_chord_tone_name(root, i, chord.name[len(root) :]) for i in missing]
        if len(missing) == len(intervals):
            messages.append(
                f"{key_words} has none of the notes of {chord.name} ({', '.join(names)}): "
                + (
                    "they are played anyway, outside the key (only chord tones)."
                    if strength >= 1
                    else f"{chord.name} cannot be heard at all. Choose another key, or “any key”."
                )
            )
            continue
        roles = [f"{_tone_role(chord.name, i)} {n}" for i, n in zip(missing, names)]
        messages.append(
            f"{key_words} has no {' or '.join(names)}: the {chord.name} chord will sound without its "
            f"{' and '.join(roles)}. Choose another key, or “any key”."
        )
    return messages


def _chord_root(name: str) -> str:
    """'F#m7' -> 'F#', 'Bb' -> 'Bb', 'C' -> 'C'."""
    return name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]


def harmony_midi(notes: pd.DataFrame, melody_program: int, harmony_program: int):
    """A harmonisation as MIDI: the melody with one instrument, the lower voices with another. A four-voice
    harmonisation (a parts model's) has a track per voice: the melody as Soprano, then Alto, Tenor, Bass voice;
    any other has two tracks, melody and harmony."""
    from .midi import notes_to_midi

    if voiced(notes):
        programs = {int(part): harmony_program for part in notes["part"].unique()}
        programs[SOPRANO] = melody_program
        return notes_to_midi(notes.drop(columns="melody"), programs=programs)
    notes = notes.drop(columns="part", errors="ignore")  # two tracks, melody and harmony, not one per part
    pm = notes_to_midi(notes[~notes["melody"]], program=harmony_program, instrument_name="harmony")
    pm.instruments += notes_to_midi(
        notes[notes["melody"]], program=melody_program, instrument_name="melody"
    ).instruments
    return pm


def voiced(notes: pd.DataFrame) -> bool:
    """Whether a harmonisation's melody is its Soprano and every other note a lower voice."""
    if "part" not in notes or not len(notes):
        return False
    melody = notes["melody"].to_numpy(bool)
    part = notes["part"].to_numpy(np.int64)
    return bool((part[melody] == SOPRANO).all() and np.isin(part[~melody], LOWER_VOICES).all())


@dataclass
class Candidate:
    """One rewrite of a span: the whole piece with it, and how likely the model finds what follows it."""

    notes: pd.DataFrame
    score: float  # mean log-probability (nats) per following note: pitch + step + duration
    new_notes: int


SPAN_UNITS = ("beats", "bars", "seconds")


def piece_metre(piece: pd.DataFrame) -> dict[str, float]:
    """The metre and tempo a span is read with: the first note's bar length, beat in its bar and tempo."""
    first = piece.iloc[0] if len(piece) else {}
    return {
        "bar_beats": float(first.get("bar_beats", BAR_BEATS)),
        "pickup": float(first.get("bar_beat", 0.0)),
        "bpm": float(first.get("bpm", DEFAULT_BPM)),
    }


def _unit_scale(unit: str, bar_beats: float, pickup: float, bpm: float) -> tuple[float, float]:
    """Beats per unit, and where the unit's 0 lies in beats before the first note."""
    if unit not in SPAN_UNITS:
        raise ValueError(f"unknown span unit {unit!r}: use one of {', '.join(SPAN_UNITS)}")
    if unit == "bars":
        return bar_beats, pickup  # bar 0 starts at the bar line at or before the first note
    return (bpm / 60.0, 0.0) if unit == "seconds" else (1.0, 0.0)


def span_to_beats(
    span: tuple[float, float],
    unit: str,
    bar_beats: float = BAR_BEATS,
    pickup: float = 0.0,
    bpm: float = DEFAULT_BPM,
) -> tuple[float, float]:
    """A span in beats, bars or seconds (positions from the first note; bars from the bar line it falls in)
    as beats from the first note, on the beat grid: what `rewrite` takes. One metre and tempo: the piece's first."""
    per, zero = _unit_scale(unit, bar_beats, pickup, bpm)
    start, end = (round((value * per - zero) * BEAT_GRID) / BEAT_GRID for value in span)
    return max(start, 0.0), max(end, 0.0)


def beats_to_unit(
    beats: float, unit: str, bar_beats: float = BAR_BEATS, pickup: float = 0.0, bpm: float = DEFAULT_BPM
) -> float:
    """The inverse of span_to_beats for one position (no grid rounding)."""
    per, zero = _unit_scale(unit, bar_beats, pickup, bpm)
    return (beats + zero) / per


def split_at(notes: pd.DataFrame, start: float, end: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A piece's notes before, inside and after the span [start, end) beats."""
    beat = notes["beat"].to_numpy(np.float64)
    return (notes[beat < start - 1e-9], notes[(beat >= start - 1e-9) & (beat < end - 1e-9)], notes[beat >= end - 1e-9])


def span_excerpt(notes: pd.DataFrame, start: float, end: float, context: float) -> pd.DataFrame:
    """The notes starting in the span [start, end) beats and `context` beats either side of it, to hear a
    rewrite on its own: beats kept as in the piece, seconds moved so the excerpt starts at 0 s."""
    beat = notes["beat"].to_numpy(np.float64)
    chosen = notes[(beat >= start - context - 1e-9) & (beat < end + context - 1e-9)]
    if chosen.empty:
        return chosen.copy()
    offset = float(chosen["start"].min())
    return chosen.assign(start=chosen["start"] - offset, end=chosen["end"] - offset).reset_index(drop=True)


def _joined(before: pd.DataFrame, middle: pd.DataFrame, after: pd.DataFrame, bpm: float) -> pd.DataFrame:
    """Three note tables (beats in the piece's own count) as one piece: steps and seconds recomputed."""
    columns = ["pitch", "velocity", "beat", "duration_beats", "bar_beat", "bar_beats"]
    with_parts = all("part" in part for part in (before, middle, after) if len(part))
    columns += ["part"] if with_parts else []  # a parts model's pieces keep which part plays each note
    piece = pd.concat([part[columns] for part in (before, middle, after)], ignore_index=True)
    piece = piece.sort_values(["beat", "pitch"], kind="stable").reset_index(drop=True)
    beat = piece["beat"].to_numpy(np.float64)
    piece["step_beats"] = np.diff(beat, prepend=beat[:1]) if len(beat) else beat
    seconds = 60.0 / bpm
    piece["start"], piece["step"], piece["duration"] = (
        beat * seconds,
        piece["step_beats"] * seconds,
        piece["duration_beats"] * seconds,
    )
    piece["end"] = piece["start"] + piece["duration"]
    piece["bpm"] = bpm
    return piece[PIECE_COLUMNS + (["part"] if with_parts else [])]


def rewrite(
    model, piece: pd.DataFrame, start: float, end: float, candidates: int = 4, settings: Sampling | None = None
) -> list[Candidate]:
    """K rewrites of the span [start, end) beats, sampled from what comes before it and ranked best first by how
    likely the model finds the notes after the span given each one. Outside the span the piece is unchanged."""
    settings = settings or Sampling()
    if not model.cfg.beats:
        raise ValueError(NEEDS_BEATS)
    if "beat" not in piece:
        piece = _with_beats(piece)
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise ValueError(f"candidates must be between 1 and {MAX_CANDIDATES}")
    if not 0 <= start < end:
        raise ValueError(f"the span {start:g}-{end:g} is empty: give START-END beats with START < END")
    before, _, after = split_at(piece, start, end)
    if before.empty:
        raise ValueError(
            f"the span starts at beat {start:g}, at or before the piece's first note: keep at least "
            f"one note before it (the model continues from what comes before)"
        )
    if float(start) > float(piece["beat"].max()) + 1e-9:
        raise ValueError(
            f"the span starts at beat {start:g}, after the piece's last note (beat {piece['beat'].max():g})"
        )
    bpm = float(piece["bpm"].iloc[0]) if "bpm" in piece else DEFAULT_BPM
    budget = int(
        min(MAX_NOTES, max(16, (end - start) * model.cfg.beat_grid))
    )  # no onset can repeat: at most one chord per grid step
    settings = Sampling(**{**settings.to_dict(), "n_notes": budget, "variations": candidates, "bpm": bpm})
    validate(settings)
    drafts = generate(model, before.reset_index(drop=True), settings, guide=RewriteGuide(start, end))
    first_onset = float(before["beat"].iloc[-1])
    pieces = []
    for draft in drafts:
        middle = draft.assign(beat=draft["beat"] + first_onset + (draft["step_beats"].iloc[0] if len(draft) else 0.0))
        middle["bar_beat"] = draft["bar_beat"]
        pieces.append((_joined(before, middle, after, bpm), len(middle)))
    scores = continuation_scores(model, [p for p, _ in pieces], end, SUFFIX_NOTES)
    ranked = sorted(range(len(pieces)), key=lambda i: -scores[i])
    return [Candidate(pieces[i][0], float(scores[i]), pieces[i][1]) for i in ranked]


def _with_beats(piece: pd.DataFrame) -> pd.DataFrame:
    timing = timing_of(piece, _BEATS_CFG)
    return piece.assign(
        beat=timing.beat,
        step_beats=timing.step,
        duration_beats=timing.duration,
        bar_beat=timing.bar_beat,
        bar_beats=timing.bar_beats,
    )


def continuation_scores(model, pieces: list[pd.DataFrame], end: float, count: int) -> np.ndarray:
    """For each piece, the mean log-probability the model gives (every field of a note, summed) to the
    first `count` notes at or after beat `end`. All pieces run as one batch, padded at the end (a stream's
    state never sees what comes after it)."""
    from .evaluation.scores import field_log_probs
    from .features import encode_notes, next_note_targets, note_classes, parts_of, table_key

    cfg = model.cfg
    keys = np.array([table_key(p) for p in pieces])
    encoded = [
        (p["pitch"].to_numpy(np.int64), encode_notes(p, cfg, k), timing_of(p, cfg)) for p, k in zip(pieces, keys)
    ]
    length = max(len(pitch) for pitch, _, _ in encoded)
    batch = len(pieces)
    pitch = np.zeros((batch, length), np.int64)
    numeric = np.zeros((batch, length, encoded[0][1].shape[1]), np.float32)
    targets = {field: np.full((batch, length), -1, np.int64) for field in model.fields}
    scored = np.zeros((batch, length), bool)  # position t predicts note t + 1
    for b, ((p, x, timing), piece) in enumerate(zip(encoded, pieces)):
        pitch[b, : len(p)], numeric[b, : len(p)] = p, x
        classes = next_note_targets(note_classes(p, timing, parts_of(piece), cfg), cfg)
        for field in targets:
            targets[field][b, : len(p)] = classes[field]
        after = np.flatnonzero(timing.beat >= end - 1e-9)[:count]
        scored[b, after[after > 0] - 1] = True
    logp = field_log_probs(model, pitch, numeric, keys if cfg.key_input else None, targets)
    totals = sum(np.where(scored, values, 0.0).sum(axis=1) for values in logp.values())
    counts = scored.sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)


__all__ = ["Guide", "MelodyGuide", "ChordGuide", "RewriteGuide", "harmonize", "follow_chords", "rewrite"]
