"""Voice leading as a sampling rule: what a student of four-part writing is taught to avoid.

While a parts model writes, each stream remembers what every part sounds. A chorale voice sings one note at
an onset (it is not drawn again until the next), and a pitch drawn for part P is kept from
- moving in parallel fifths or octaves (or unisons) with any other part that moves at the same onset;
- crossing a neighbouring chorale voice (Soprano above Alto above Tenor above Bass voice);
- standing more than an octave from a neighbouring upper voice (soprano-alto, alto-tenor);
- sounding, with voices struck at the same onset, something other than a chord of the key or one of its applied
  dominants (a voice moving alone, a passing note, is free). On the 35 held-out chorales' openings, continued
  twice each, this took sonorities that are no triad or seventh from 29 % to 18 % (Bach 16 %) and dominant
  sevenths from 4.4 % to 8.2 % (Bach 10 %);
- clashing (a semitone, major seventh or minor ninth) with another voice's note, unless it comes by step or
  repeats its note (a passing or neighbour note, a prepared suspension), or with a voice that leapt to its note
  here. 16 % of the chorale model's onsets were dissonant (Bach's 8 %), 4.5 % with a note leapt to (Bach's 1 %);
  with the rule 11 % and 0.1 %, and held-out continuations inside Bach's spread of dissonance 24 % -> 62 %.
Each rule only removes pitches, and never all of them: where it would leave a stream nothing, that stream
keeps the pitches it had (the model's own choice then stands).
"""

from __future__ import annotations

import numpy as np

from .part_writing import chord_pitches_of_sets, class_bits
from .parts import PART_CLASSES, PART_NAMES
from .theory import PITCH_CLASSES

_PITCH = np.arange(PITCH_CLASSES)
PERFECT = (0, 7)  # unison/octave and fifth, as pitch classes of the interval
# The chorale voices, lowest first: the only parts with an order a crossing or a gap can break.
VOICES = tuple(PART_NAMES.index(name) for name in ("Bass voice", "Tenor", "Alto", "Soprano"))
UPPER_GAP = 12  # semitones at most between soprano and alto, and between alto and tenor
_PERFECT_CLASS = np.isin(np.arange(12), PERFECT)  # interval class -> perfect (a lookup: np.isin costs ~20 us)
_OTHER_PARTS = ~np.eye(PART_CLASSES, dtype=bool)  # row p: every part but p
_ALL_PARTS = np.ones(PART_CLASSES, bool)
_TWELVE = 0xFFF  # a set of pitch classes as 12 bits
STEP = 2  # semitones: at most a whole tone is a step


class VoiceLeading:
    """Per stream and part: the pitch last started, when, until when, and what sounded at the onset before."""

    def __init__(self, batch: int, summary: dict | None = None, chords: np.ndarray | None = None):
        shape = (batch, PART_CLASSES)
        self.pitch = np.full(shape, -1, np.int64)
        self.start = np.full(shape, -np.inf)
        self.end = np.full(shape, -np.inf)
        self.before = np.full(shape, -1, np.int64)  # what each part sounded at the previous onset
        self.onset = np.full(batch, -np.inf)  # the onset `before` is the one before of
        rank = np.full(PART_CLASSES, -1)
        rank[list(VOICES)] = np.arange(len(VOICES))
        if summary:  # only the voices the model knows take part in the order rules
            known = np.isin(np.arange(PART_CLASSES), [int(k) for k in summary])
            rank = np.where(known, rank, -1)
        self.rank = rank
        self.is_voice = rank >= 0
        # (parts, parts): the ranked voices above / below each ranked part (what _no_crossing reads).
        both = self.is_voice[:, None] & self.is_voice[None, :]
        self.higher_voices = both & (rank[None, :] > rank[:, None])
        self.lower_voices = both & (rank[None, :] < rank[:, None])
        # Each part's neighbouring upper voices (soprano-alto, alto-tenor), -1 for none: what _no_wide_gaps reads.
        self.upper_neighbours = np.full((PART_CLASSES, 2), -1)
        for part in np.flatnonzero(rank >= 1):
            for column, neighbour in enumerate((rank[part] - 1, rank[part] + 1)):
                if 1 <= neighbour < len(VOICES):
                    self.upper_neighbours[part, column] = VOICES[neighbour]
        # (chords, 12) the chords a voice joining a chord attack keeps to (part_writing.key_chords); None: any.
        self.chords = chords
        self._chord_bits = None if chords is None else class_bits(chords)
        self.rows = np.arange(batch)
        # Whether any part may have started a note at its stream's onset: False from when every stream has moved
        # to a new onset until a note is written (most notes of a piece that is not all chords), when no rule
        # that reads the parts started here need look.
        self._any_started = False
        self._forget()

    def _forget(self) -> None:
        """Drop what was found at the current onset. The part and the pitch of a note both ask at the same onset
        (the same array: the sampling loop makes a new one when it moves), and nothing changes in between, so
        reaching it and finding the parts that started there are done once per note (~6 us less per note)."""
        self._reached: np.ndarray | None = None
        self._started_at: tuple[np.ndarray, np.ndarray] | None = None

    def take(self, rows: np.ndarray) -> None:
        """Keep the streams `rows` (decoding: a candidate carried on in its siblings' places)."""
        for name in ("pitch", "start", "end", "before", "onset"):
            setattr(self, name, getattr(self, name)[rows])
        self._forget()

    def _reach(self, onset: np.ndarray) -> None:
        """Move each stream to `onset`: what sounded at its last onset becomes `before`."""
        if onset is self._reached:
            return
        self._reached = onset
        moved = onset > self.onset + 1e-9
        if not moved.any():
            return
        sounding = np.where(self.end > self.onset[:, None] + 1e-9, self.pitch, -1)
        if moved.all():  # every stream moved (one stream always does)
            self.before, self.onset = sounding, onset
            self._any_started = False
        else:
            self.before = np.where(moved[:, None], sounding, self.before)
            self.onset = np.where(moved, onset, self.onset)

    def took(self, part: np.ndarray, pitch: np.ndarray, onset: np.ndarray, duration: np.ndarray) -> None:
        """A note was written: `part` (B,) starts `pitch` at `onset` for `duration` beats."""
        self._reach(onset)
        rows = self.rows
        self.pitch[rows, part], self.start[rows, part], self.end[rows, part] = pitch, onset, onset + duration
        self._started_at = None
        self._any_started = True

    def free_voices(self, onset: np.ndarray, may_play: np.ndarray | None) -> np.ndarray | None:
        """(B, parts) the parts that may play the next note: `may_play` (one row, one per stream, or None for
        all) less the chorale voices that already started a note at this onset (a voice sings one note at a
        time), unless that leaves a stream none. Where no voice has started one (a new onset), `may_play`."""
        self._reach(onset)
        if not self._any_started:
            return may_play
        started = self._started(onset) & self.is_voice
        if not started.any():
            return may_play
        if may_play is None:
            may_play = _ALL_PARTS
        return _unless_empty(may_play, may_play & ~started)  # (B, parts): the streams' own rows

    def allowed(self, part: np.ndarray, onset: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """(B, 128) `allowed` less the pitches part `part` (B,) cannot take here without breaking a rule."""
        self._reach(onset)
        if allowed.ndim == 1:  # one mask for every stream
            allowed = np.broadcast_to(allowed, (len(part), PITCH_CLASSES))
        # What sounds and what started at this onset, found once for all the rules; a rule that bans nothing
        # here returns None and costs no mask (most notes: no parallel to avoid, no voice above or below). With
        # the chord rule as bit sets this took the rules from 185 to ~45 us per note (one stream). The parallels
        # and the chord rule need a part that started a note at this onset, the order rules a chorale voice:
        # where neither holds (a new onset of a part that is no voice), nothing more is worked out.
        started = self._started(onset) if self._any_started else None
        joined = started if started is not None and started.any() else None  # the parts started here, if any
        ranked = bool(self.is_voice[part].any())
        if joined is None and not ranked:
            return allowed
        sounding = self._sounding(onset)
        heard = sounding >= 0
        others = heard & _OTHER_PARTS[part]  # (B, parts): the other parts sounding now
        others_classes = _class_set(others, sounding)  # their pitch classes, one 12-bit set per stream
        for keep in (
            None if joined is None else self._no_parallels(part, joined),
            self._no_crossing(part, sounding, heard) if ranked else None,
            self._no_wide_gaps(part, sounding) if ranked else None,
            None if joined is None else self._in_chord(others_classes, joined),
            self._clash_by_step(part, sounding, others, others_classes, joined) if ranked else None,
        ):
            if keep is not None:
                allowed = _unless_empty(allowed, allowed & keep)
        return allowed

    def _started(self, onset: np.ndarray) -> np.ndarray:
        """(B, parts) which parts last started a note at `onset` (see _forget)."""
        if self._started_at is None or self._started_at[0] is not onset:
            self._started_at = (onset, _at(self.start, onset))
        return self._started_at[1]

    def sounding_at(self, onset: np.ndarray) -> np.ndarray:
        """(B, parts) the pitch each part sounds at `onset`, struck there or held over it (-1: silent)."""
        return self._sounding(onset)

    def _sounding(self, onset: np.ndarray) -> np.ndarray:
        """(B, parts) the pitch each part sounds at `onset` (-1: silent)."""
        later = onset[:, None] + 1e-9
        return np.where((self.start <= later) & (self.end > later), self.pitch, -1)

    def _no_parallels(self, part: np.ndarray, started: np.ndarray) -> np.ndarray | None:
        """(B, 128) the pitches that do not move into the same perfect interval, on the same side, as the one
        this part made with another part that moves at this onset too (`started`: the parts that started here);
        None where that bans nothing."""
        rows = self.rows
        own_before = self.before[rows, part]  # (B,)
        other_now, other_before = self.pitch, self.before  # (B, parts)
        moving = started & (other_before >= 0) & (other_now != other_before) & (own_before >= 0)[:, None]
        moving[rows, part] = False
        if not moving.any():  # no other part moved here (a chord's first voice, a voice moving alone)
            return None
        interval = own_before[:, None] - other_before  # (B, parts): this part above the other, in semitones
        # The size decides (a fifth below is -7, whose class mod 12 is a fourth's): a voice written under one
        # already struck here (another order of drawing, crossing parts) is held to the rule too.
        perfect = _PERFECT_CLASS[np.abs(interval) % 12] & moving
        columns = np.flatnonzero(perfect.any(axis=0))  # only parts in a perfect interval matter (most steps: none)
        if not len(columns):
            return None
        other_now, interval, perfect = other_now[:, columns], interval[:, columns], perfect[:, columns]
        candidate = _PITCH[None, None, :] - other_now[:, :, None]  # (B, parts, 128)
        same = (candidate % 12 == (interval % 12)[:, :, None]) & (np.sign(candidate) == np.sign(interval)[:, :, None])
        still = _PITCH[None, :] == own_before[:, None]  # a part that holds its pitch does not move in parallel
        return ~(same & perfect[:, :, None]).any(axis=1) | still

    def _in_chord(self, others_classes: np.ndarray, started: np.ndarray) -> np.ndarray | None:
        """(B, 128) for a voice that joins other voices starting at this onset (a chord struck together): the
        pitches that make, with everything sounding, a chord of the key (part_writing.chord_pitches; all, where
        no chord holds what sounds). A voice that moves alone (a passing note while the others hold) is free;
        None where every stream is."""
        if self._chord_bits is None:
            return None
        joins = np.asarray(started.any(axis=1))
        if not joins.any():
            return None
        # Pitch-class sets as 12-bit numbers: one vectorised test for every stream instead of a loop over them.
        # A stream where no other voice started here (a voice moving alone) may take any pitch.
        return chord_pitches_of_sets(self._chord_bits, others_classes) | ~joins[:, None]

    def _clash_by_step(
        self,
        part: np.ndarray,
        sounding: np.ndarray,
        others: np.ndarray,
        others_classes: np.ndarray,
        started: np.ndarray | None,
    ) -> np.ndarray | None:
        """(B, 128) the pitches that clash (a semitone, major seventh or minor ninth) with no other voice sounding
        now, or come by step or repeat from this voice's last note (a passing or neighbour note, a prepared
        suspension); and none that clash with a voice that leapt to its note here (`others`: the other parts
        sounding, `others_classes` their pitch classes; `started`: the parts that started a note at this onset,
        None for none). None where the voice has no last note."""
        rows = self.rows
        last = self.pitch[rows, part]
        has_last = last >= 0
        if not has_last.any():
            return None
        near = _clash_classes(others_classes)
        by_step = (np.abs(_PITCH[None, :] - last[:, None]) <= STEP) | ~has_last[:, None]
        keep = ~_has_class(near, _PITCH) | by_step
        if started is None:
            return keep
        leapt = others & started & (self.before >= 0) & (np.abs(sounding - self.before) > STEP)
        if leapt.any():
            against = _clash_classes(_class_set(leapt, sounding))
            keep &= ~_has_class(against, _PITCH)
        return keep

    def _no_crossing(self, part: np.ndarray, sounding: np.ndarray, heard: np.ndarray) -> np.ndarray | None:
        """(B, 128) the pitches neither above a higher voice nor below a lower one that sounds now; None where
        no ranked voice sounds beside this one."""
        higher = self.higher_voices[part] & heard  # (B, parts)
        lower = self.lower_voices[part] & heard
        if not (higher.any() or lower.any()):
            return None
        ceiling = np.where(higher, sounding, PITCH_CLASSES).min(axis=1)
        floor = np.where(lower, sounding, -1).max(axis=1)
        return (_PITCH[None, :] <= ceiling[:, None]) & (_PITCH[None, :] >= floor[:, None])

    def _no_wide_gaps(self, part: np.ndarray, sounding: np.ndarray) -> np.ndarray | None:
        """(B, 128) the pitches within an octave of each neighbouring upper voice that sounds now (soprano-alto,
        alto-tenor; the bass may lie further below the tenor); None where no such neighbour sounds."""
        neighbours = self.upper_neighbours[part]  # (B, 2)
        pitch = sounding[self.rows[:, None], neighbours]
        near = (neighbours >= 0) & (pitch >= 0)
        if not near.any():
            return None
        # Within UPPER_GAP of every near neighbour: from the highest's pitch less it to the lowest's plus it.
        low = np.where(near, pitch - UPPER_GAP, -1).max(axis=1)
        high = np.where(near, pitch + UPPER_GAP, PITCH_CLASSES).min(axis=1)
        return (_PITCH[None, :] >= low[:, None]) & (_PITCH[None, :] <= high[:, None])


def _class_set(which: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """(B,) the pitch classes of the parts `which` (B, parts) sounds in `sounding`, as 12-bit sets."""
    return np.bitwise_or.reduce(np.where(which, 1 << (sounding % 12), 0), axis=1)


def _clash_classes(bits: np.ndarray) -> np.ndarray:
    """12-bit pitch-class sets -> the classes a semitone from any of them (a semitone, major seventh, minor ninth)."""
    left = ((bits << 1) | (bits >> 11)) & _TWELVE
    right = ((bits >> 1) | (bits << 11)) & _TWELVE
    return left | right


def _has_class(sets: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """(B, len(pitches)) whether each stream's 12-bit pitch-class set (B,) holds each pitch's class."""
    return ((sets[:, None] >> (pitches % 12)[None, :]) & 1).astype(bool)


def _at(times: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """(B, parts) which `times` are `onset` (B,), to within rounding (np.isclose costs 10x more per step)."""
    return np.abs(times - onset[:, None]) <= 1e-9


def _unless_empty(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """`after`, except for streams it leaves with no pitch, which keep `before`."""
    return np.where(after.any(axis=1, keepdims=True), after, before)  # the method: np.any costs ~1 us more
