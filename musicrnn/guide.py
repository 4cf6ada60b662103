"""Guides: per-step constraints on the one sampling loop that harmonise a melody, follow a chord progression or
rewrite one passage.

Each guide (see musicrnn.generate.Guide) masks, biases or forces the rhythm classes and pitches of the one sampling
loop; no second sampler. They need a beats model: its rhythm is drawn as classes on the beat grid, so "land exactly
on the next melody onset" or "stay inside beats 8-12" is a mask over classes. A seconds model regresses its times and
cannot be held to an onset.

Positions are in beats. A melody or chord timeline counts from the first generated note (or its bar);
a rewrite span counts from the piece's first note (its `beat` column). The features built on them live in
musicrnn.harmony (harmonize, follow_chords) and musicrnn.rewrite (rewrite).
"""

from __future__ import annotations

import numpy as np

from .config import Config
from .errors import SettingsError
from .generate import MAX_NOTES, NO_PITCH
from .notation import Chord, Melody
from .part_writing import (
    chord_pitches,
    completing_pitches,
    first_possible,
    key_chords,
    leaving_room,
    parallel_pitches,
    passing_pitches,
)
from .parts import PART_CLASSES, PART_NAMES
from .theory import PITCH_CLASSES, key_pitch_classes, tonic_triad

NEEDS_BEATS = (
    "this model counts time in seconds, so it cannot be held to a melody's onsets, a chord's bars or a "
    "span: train (or pick) a beats model — the presets 'chorale' and 'tiny' are beats models"
)
_PITCH = np.arange(PITCH_CLASSES)
SOPRANO = PART_NAMES.index("Soprano")
LOWER_VOICES = tuple(
    PART_NAMES.index(v) for v in ("Bass voice", "Tenor", "Alto")
)  # the notes under a melody note, in order

# What the CLI, the Generate page and the Steer page start from: most notes on chord tones (88 % with the default
# model, every piece at least 81 %: bench/guide.py), with room for passing notes between them, as real music has.
DEFAULT_CHORD_STRENGTH = 0.75
CHORD_STRENGTH_HELP = (
    "How strictly each bar keeps to its chord. Low: a suggestion (chord tones made likelier). "
    f"{DEFAULT_CHORD_STRENGTH:g} (the default): most notes on chord tones, a few passing notes between them. "
    "1: only chord tones — a note held into a bar whose chord does not have it stops at that bar line."
)


def _only(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Logits with every class outside `allowed` ruled out."""
    return np.where(allowed, logits, NO_PITCH)


class _Base:
    """A guide that constrains nothing; subclasses override what they steer. One that finishes a piece itself
    (a melody, a span) sets `may_end` False: the model may not end the piece before it."""

    may_end = True

    def start(self, cfg: Config, batch: int, onset: np.ndarray, bar_beat: np.ndarray, bar_beats: np.ndarray) -> None:
        if not cfg.beats:
            raise SettingsError(NEEDS_BEATS)
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
    notes under the last melody note last as long as it does.

    With the four voices, every melody note gets all three below it, written as musicrnn.part_writing says
    (chords of the key, complete, no parallels, passing notes by step), each lasting at most until the next
    melody onset; a diatonic melody's chords are its key's (`scale` given), any other's any triad or seventh."""

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
        # The opening: the tonic triad over the tonic under the first melody note, where that note is in it (the
        # model alone opened "Twinkle, Twinkle" on A minor and D minor sevenths: nothing said the key).
        self.opening = _opening(melody, key) if key is not None else None
        # The pitches a lower voice may take even out of its range (a diatonic melody's key; else all).
        self.scale = np.ones(PITCH_CLASSES, bool) if scale is None else scale
        self.chords = key_chords(key if scale is not None else None)  # the chords the voices may sound

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
        # What each part sings at this melody onset so far, and the note it sang last before it (-1: none).
        self.sung_now = np.full((batch, PART_CLASSES), -1, np.int64)
        self.sung_before = np.full((batch, PART_CLASSES), -1, np.int64)
        self.drawn = np.full(batch, -1, np.int64)  # the part drawn for the note being written

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
        return _prefer(clean, below)

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
        # Every lower voice sings under each melody note, except where the final tonic chord has no room left.
        cadence_full = (self.below >= self.min_below) & self._final_chord_full()
        may_place = (self.below >= len(lower)) | cadence_full
        must_place = (self.below >= self.max_below) | cadence_full
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
        """On a melody onset, the chord under the melody note (and the note itself); between onsets, passing notes
        under the melody note still sounding; once the melody is done, whatever the loop allows (those notes are
        dropped)."""
        on_target = self._grid(onset) == self._target()
        melody_pitch = self.melody.pitch[np.minimum(self.index, len(self.melody) - 1)]
        if part is not None and self.voiced:
            self.drawn = np.asarray(part)
            chord, wide = self._voiced_chord(allowed, on_target, melody_pitch, part)
            chord = self._part_writing(chord, wide, on_target, part)
            passing = self._passing_by_step(self._passing(allowed), on_target, part)
        else:
            chord, passing = self._unvoiced_chord(allowed, on_target, melody_pitch), self._passing(allowed)
        new_allowed = np.where(on_target[:, None], chord, passing)
        done = self.index >= len(self.melody)
        new_allowed[done] = allowed[done]
        return logits, new_allowed

    def _melody_note(self, melody_pitch: np.ndarray, like: np.ndarray) -> np.ndarray:
        """(B, 128) only the melody note itself, whatever the key/range masks say."""
        note = np.zeros_like(like)
        note[np.arange(self.batch), melody_pitch] = True
        return note

    def _unvoiced_chord(self, allowed: np.ndarray, on_target: np.ndarray, melody_pitch: np.ndarray) -> np.ndarray:
        """Without voices: notes under the melody note until at least `min_below` are written, then either another
        or the melody note, which is placed once `max_below` are written or no allowed pitch is left under it."""
        below = allowed & _under(melody_pitch)
        no_room = ~below.any(axis=1)
        below = _no_clash(self._cadence_rule(below, on_target, on_target & (self.below == 0)), melody_pitch)
        melody_note = self._melody_note(melody_pitch, allowed)
        too_few = (self.below < self.min_below)[:, None]
        must_place = ((self.below >= self.max_below) | no_room)[:, None]
        chord = np.where(too_few, below, below | melody_note)
        return np.where(must_place, melody_note, chord)

    def _voiced_chord(
        self, allowed: np.ndarray, on_target: np.ndarray, melody_pitch: np.ndarray, part: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """With voices, the part drawn decides: the Soprano places the melody note, a lower voice writes under it
        (out of its range rather than on or above the melody when its range has no room there). Each rule below
        narrows the pitches only where it leaves some. Returned twice: with the voice's usual range, and without
        it (what _part_writing falls back on)."""
        below = _prefer(allowed & _under(melody_pitch), _under(melody_pitch) & self.scale[None, :])
        # Bass, tenor, alto are written in that order: each above the last, so the voices do not cross.
        below = _prefer(below & (_PITCH[None, :] > self.floor[:, None]), below)
        first_below = on_target & (self.below == 0) & (part != SOPRANO)
        # The bass leaves the tenor and alto room under the melody: a bass a third under "Mary Had a Little
        # Lamb"'s C4 left the alto only a B3 that struck it.
        roomy = below & (_PITCH[None, :] <= melody_pitch[:, None] - BASS_ROOM)
        below = np.where(first_below[:, None], _prefer(roomy, below), below)
        # The cadence first: a voice's usual range must not take away the last tonic tone left to it.
        below = self._cadence_rule(below, on_target, first_below)
        # No semitone against the melody note before the usual range: a voice leaves its range rather than strike
        # the melody so (a low melody note leaves the alto no other note in its range under it).
        below = _no_clash(below, melody_pitch)
        # The pitch head does not know the part just drawn, and a voice's full range is wide (the corpus'
        # bass reaches E4): prefer the pitches the voice mostly sang, so the bass does not open at the top.
        low, high = np.array([self.usual.get(int(p), (0, PITCH_CLASSES - 1)) for p in part]).T
        usual = _prefer(below & (_PITCH[None, :] >= low[:, None]) & (_PITCH[None, :] <= high[:, None]), below)

        def finished(below: np.ndarray) -> np.ndarray:
            below = np.where(first_below[:, None], self._no_parallels(below, melody_pitch), below)
            below = _no_clash(below, melody_pitch)
            soprano_or_no_room = (part == SOPRANO) | ~np.any(below, axis=1)
            return np.where(soprano_or_no_room[:, None], self._melody_note(melody_pitch, allowed), below)

        return finished(usual), finished(below)

    def _part_writing(self, chord: np.ndarray, wide: np.ndarray, on_target: np.ndarray, part: np.ndarray) -> np.ndarray:
        """`chord` (B, 128) narrowed, for each lower voice written on a melody onset, by part_writing's rules, in
        order of what is given up first when they cannot all hold: a complete chord, then no parallels, then the
        chord itself (the model's own choices stand where none holds). Where no pitch of `chord` keeps every
        rule, one of `wide` (the same without the voice's usual range) that does is taken: a voice leaves its
        usual range rather than the chord (a low melody's last chord still gets its third)."""
        active = on_target & (self.index < len(self.melody)) & (part != SOPRANO)
        for row in map(int, np.flatnonzero(active)):
            tiers = self._voice_tiers(row, int(part[row]), chord[row])
            best = first_possible(iter(tiers), chord[row])
            if not tiers[0].any() and (wide[row] != chord[row]).any():
                widened = self._voice_tiers(row, int(part[row]), wide[row])[0]
                best = widened if widened.any() else best
            chord[row] = best
        return chord

    def _voice_tiers(self, row: int, voice: int, keep: np.ndarray) -> list[np.ndarray]:
        """The pitches of `keep` (128,) for this stream's `voice` under its melody note, best first: in a chord,
        completing it (the tenor: leaving the alto room) and without parallels; then giving up one rule at a time."""
        melody_pitch, sung = int(self.melody.pitch[min(self.index[row], len(self.melody) - 1)]), self.sung_now[row]
        sounding = np.zeros(12, bool)
        sounding[[melody_pitch % 12, *(sung[sung >= 0] % 12)]] = True
        chords = self._chords_at(row)
        in_chord = keep & chord_pitches(chords, sounding)
        double = np.zeros_like(keep)  # the alto may double the tenor where no chord note is left above it
        if voice == LOWER_VOICES[-1] and self.floor[row] >= 0:
            double[self.floor[row]] = True
        if voice == LOWER_VOICES[-1]:
            complete = completing_pitches(chords, sounding)
        elif voice == LOWER_VOICES[1]:
            complete = leaving_room(chords, in_chord, sounding, melody_pitch)
        else:
            complete = np.ones_like(keep)
        moving = [(self.sung_before[row, u], sung[u]) for u in range(PART_CLASSES) if u != voice and sung[u] >= 0]
        moving.append((self.sung_before[row, SOPRANO], melody_pitch))
        clean = ~parallel_pitches(int(self.sung_before[row, voice]), moving)
        return [
            in_chord & complete & clean,
            in_chord & clean,
            double & clean,
            in_chord & complete,
            in_chord,
            double,
            keep & clean,
        ]

    def _chords_at(self, row: int) -> np.ndarray:
        """The chords the voices may sound under this stream's melody note: the key's, or under the last note of
        a cadence (and the first, where it opens on the tonic) only the tonic triad."""
        if self.opening is not None and self.index[row] == 0:
            return np.isin(np.arange(12), self.opening)[None, :]
        if self.cadence is None or self.cadence[0] is None or self.index[row] != len(self.melody) - 1:
            return self.chords
        return np.isin(np.arange(12), self.cadence[0])[None, :]

    def _passing_by_step(self, passing: np.ndarray, on_target: np.ndarray, part: np.ndarray) -> np.ndarray:
        """`passing` (B, 128) narrowed, for a lower voice's note between melody onsets, to a step from its last
        note or another note of the chord sounding (part_writing.passing_pitches), where some pitch remains."""
        between = ~on_target & (self.index < len(self.melody)) & (part != SOPRANO)
        for row in np.flatnonzero(between):
            sung = self.sung_before[row]
            chord = np.zeros(12, bool)
            chord[sung[sung >= 0] % 12] = True
            by_step = passing[row] & passing_pitches(int(sung[int(part[row])]), chord)
            passing[row] = first_possible(iter([by_step]), passing[row])
        return passing

    def _passing(self, allowed: np.ndarray) -> np.ndarray:
        """Passing notes stay under the melody note that is still sounding (any allowed pitch where none is), and
        do not clash with it."""
        sounding_top = self.melody.pitch[np.maximum(self.index - 1, 0)]
        return _no_clash(_prefer(allowed & _under(sounding_top), allowed), sounding_top)

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

    def _until_next_onset(self, onset: np.ndarray, duration: np.ndarray) -> np.ndarray:
        """(B,) a lower voice's note cut at the next melody onset, where every voice sings a new note."""
        start = self._grid(onset)
        later = np.where(self.targets > start[:, None], self.targets, np.iinfo(np.int64).max).min(axis=1)
        gap = (later - start) / self.cfg.beat_grid
        return np.where(later < np.iinfo(np.int64).max, np.minimum(duration, gap), duration)

    def _remember_voices(self, on_target: np.ndarray, placed: np.ndarray, pitch: np.ndarray) -> None:
        """Keep what each part sings: a note under the melody joins this onset's chord, a passing note becomes
        its part's last note, and the melody note closes the chord (which becomes what each part sang before)."""
        rows, part = np.arange(self.batch), self.drawn
        active = self.index < len(self.melody)
        under = on_target & ~placed & (part >= 0)
        self.sung_now[rows[under], part[under]] = pitch[under]
        passing = active & ~on_target & (part >= 0) & (part != SOPRANO)
        self.sung_before[rows[passing], part[passing]] = pitch[passing]
        self.sung_now[placed, SOPRANO] = pitch[placed]
        self.sung_before[placed] = np.where(self.sung_now[placed] >= 0, self.sung_now[placed], self.sung_before[placed])
        self.sung_now[placed] = -1

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
        if self.opening is not None:
            rules.append((on_target & (self.index == 0), np.isin(pitch_class, self.opening)))
            rules.append((on_target & bass & (self.index == 0), pitch_class == final_bass))
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
        if self.voiced:
            duration = np.where(placed, duration, self._until_next_onset(onset, duration))
            self._remember_voices(on_target, placed, pitch)
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
            raise SettingsError("chord strength must be between 0 (off) and 1 (only chord tones)")
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


CLASHES = (1, 11)  # semitones (mod 12) below a melody note that grate: a minor second/ninth, a major seventh
BASS_ROOM = 7  # semitones at least between a bass note and the melody note over it, where the bass can: a fifth


def _under(pitch: np.ndarray) -> np.ndarray:
    """(B, 128) the pitches below each stream's `pitch`."""
    return _PITCH[None, :] < pitch[:, None]


def _prefer(preferred: np.ndarray, otherwise: np.ndarray) -> np.ndarray:
    """(B, 128) `preferred` for each stream it leaves some pitch, else `otherwise`."""
    return np.where(np.any(preferred, axis=1)[:, None], preferred, otherwise)


def _no_clash(candidates: np.ndarray, melody_pitch: np.ndarray) -> np.ndarray:
    """(B, 128) `candidates` less the pitches a semitone, major seventh or minor ninth below the melody note
    sounding in each stream (Bach's chorales strike a melody note so about 3 times in 100; the model's harmonies
    did 18 times in 100), unless that leaves a stream none."""
    clash = np.isin((melody_pitch[:, None] - _PITCH[None, :]) % 12, CLASHES)
    kept = candidates & ~clash
    return _prefer(kept, candidates)


def _opening(melody: Melody, key: int) -> list[int] | None:
    """The tonic triad's pitch classes, where the melody's first note belongs to it (then the harmony opens on
    it, its tonic in the bass, as Bach's chorales open); else None."""
    triad = tonic_triad(key)
    return triad if len(melody) > 1 and int(melody.pitch[0]) % 12 in triad else None


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
