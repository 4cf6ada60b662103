"""Sheet music: a piece's note table as a score (music21), as MusicXML, and engraved as SVG (Verovio).

A beats piece already holds what a score needs: onsets and lengths on a 1/12-beat grid, bars (`bar_beat`,
`bar_beats`), a tempo, parts and a key (`notes.attrs["key"]`, else found from the notes). What is left is
notation, decided here on an integer grid of ticks (BEAT_GRID a beat) before music21 sees a note:
- which notes share a staff and a voice (the four chorale voices on two staves or four; a part that plays
  overlapping notes gets a second voice, so every note keeps its own length);
- how a length is written: split at bar lines and, by the usual engraving rules, where it would hide a beat
  or the middle of a 4/4 bar, so it reads as dotted notes and ties; a beat whose notes fall on thirds of it is
  written as a triplet;
- how a pitch is spelt in the key (musicrnn.theory.spell: B flat in F major, A sharp in B major).
music21 builds the score and writes MusicXML; Verovio engraves that MusicXML with its own music font, which
it embeds in the SVG, so nothing is fetched. Both are imported only when a score is made (about 1 s and
70 MB the first time), so pages that never show one never pay for them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .harmony import voiced
from .midi import main_bpm, signature_of
from .parts import DRUMS_PART, PART_NAMES, VOICES, part_name
from .theory import BAR_BEATS, BEAT_GRID, find_key, spell, written_key

if TYPE_CHECKING:
    from music21.stream import Score

TICKS = BEAT_GRID  # ticks a beat: every onset and length of a beats piece is a whole number of them
NEEDS_BEATS = (
    "this model counts time in seconds, not beats: its notes lie on no beat grid and in no bars, so they "
    "cannot be written as a score. Pick a beats model (the presets 'chorale' and 'tiny' are)"
)
STAVES = ("two", "four")  # the four chorale voices: closed score (SA and TB) or open score (one each)
PRIMER, REWRITTEN = "primer", "rewritten"  # the words above a marked passage (a span may be named otherwise)
PRIMER_COLOUR, SPAN_COLOUR = "#8a8a8a", "#c2410c"  # the piano roll's grey primer; an orange span
BARS_PER_PAGE = 24  # a page of the on-screen score; a chorale (12-20 bars) fits on one
MAX_NOTES_PER_PAGE = 600  # and so does its engraving time: fewer bars a page where the music is dense

# Lengths (in ticks) written as one note: sixteenth, eighth, dotted eighth, quarter, dotted quarter, half,
# dotted half, whole, dotted whole. Within a beat of triplets: triplet eighth and quarter; finer still,
# triplet sixteenths and thirty-seconds.
PLAIN = frozenset({3, 6, 9, 12, 18, 24, 36, 48, 72})
TUPLET_UNIT = {"plain": 3, "triplet": 4, "sextuplet": 2, "fine": 1}
TUPLET_LENGTHS = {"triplet": frozenset({4, 8}), "sextuplet": frozenset({2, 4, 8}), "fine": frozenset({1, 2, 4, 8})}


class ScoreError(ValueError):
    """A piece that cannot be written as a score, with the reason."""


# ---- what the score is made of, in ticks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    start: int  # ticks from the score's first bar line
    length: int
    signature: tuple[int, int]
    pickup: int = 0  # ticks of the bar before its first note (an anacrusis: written as a short first bar)

    @property
    def beat(self) -> int:
        """Ticks a beat: a quarter, a dotted quarter in 6/8, 9/8, 12/8, an eighth in 5/8 or 7/8."""
        numerator, denominator = self.signature
        if denominator == 8:
            return 18 if numerator % 3 == 0 and numerator > 3 else 6
        return TICKS


@dataclass(frozen=True)
class Event:
    """A note, a chord (notes of one voice that start and end together) or, with no pitches, a rest."""

    start: int
    end: int
    pitches: tuple[int, ...] = ()
    mark: str = ""  # PRIMER, a span's label (REWRITTEN) or ""


@dataclass(frozen=True)
class Written:
    """One written note, chord or rest within a bar: a single note value, tied to the next when `tie` says."""

    start: int  # ticks from the bar line
    length: int
    pitches: tuple[int, ...]
    tie: str | None = None  # music21's tie types: "start", "continue", "stop"
    mark: str = ""
    full_bar: bool = False  # a whole bar's rest


@dataclass
class Staff:
    name: str
    abbreviation: str
    clef: str  # "treble", "treble8vb" (a tenor's) or "bass"
    voices: list[list[Event]]  # each in time order, none overlapping
    stems: list[str | None]  # per voice: "up", "down" or None (the engraver decides)
    quiet: list[bool]  # per voice: True for a part's extra voice, left out of bars where it plays nothing
    brace: int | None = None  # staves of one instrument (a piano's two) share a number


@dataclass
class ScorePlan:
    """Everything the score shows, decided; music21 only writes it down."""

    key: str  # "G:major"
    bpm: float
    bars: list[Bar]
    staves: list[Staff]
    chords: list[tuple[int, str]] = field(default_factory=list)  # (tick, chord name)
    labels: list[tuple[int, str]] = field(default_factory=list)  # (tick, words above the top staff)
    remarks: list[str] = field(default_factory=list)  # what the score leaves out or writes otherwise, in words


# ---- from a note table ------------------------------------------------------------------------------------------


def score_problem(notes: pd.DataFrame) -> str | None:
    """Why a note table cannot be written as a score (None: it can)."""
    if notes is None or not len(notes):
        return "the piece has no notes"
    if "beat" not in notes or "duration_beats" not in notes:
        return "its notes have no beats, so they cannot be written as a score"
    for column in ("beat", "duration_beats"):
        ticks = notes[column].to_numpy(np.float64) * TICKS
        if not np.allclose(ticks, np.round(ticks), atol=1e-3):
            return NEEDS_BEATS
    return None


def with_primer(notes: pd.DataFrame, primer: pd.DataFrame | None) -> pd.DataFrame:
    """The piece with the notes it continues before it, marked PRIMER (a generated piece's beats count from
    its first note, which follows the primer's last onset by the first note's step)."""
    table = notes.assign(mark="") if "mark" not in notes else notes
    if primer is None or not len(primer) or "beat" not in primer or score_problem(primer) is not None:
        return table
    step = float(notes["step_beats"].iloc[0]) if "step_beats" in notes and len(notes) else 0.0
    shift = -float(primer["beat"].max()) - step
    columns = [c for c in ("pitch", "beat", "duration_beats", "bar_beat", "bar_beats", "part") if c in primer]
    before = primer[columns].assign(beat=primer["beat"] + shift, mark=PRIMER)
    if "part" in table and "part" not in before:
        before["part"] = table["part"].iloc[0]
    return pd.concat([before, table], ignore_index=True)


def plan_score(
    notes: pd.DataFrame,
    staves: str = "two",
    chords: Sequence[tuple[float, float, str]] | None = None,
    span: tuple[float, float] | None = None,
    span_label: str = REWRITTEN,
) -> ScorePlan:
    """Decide the score of a note table (beats; `mark` column from with_primer). `staves`: the chorale
    voices on "two" staves (closed score) or "four"; `chords`: (start, end, name) in beats, named above the
    top staff; `span`: (start, end) beats of a passage whose notes are marked in colour under `span_label`.
    ScoreError if the table cannot be a score."""
    problem = score_problem(notes)
    if problem:
        raise ScoreError(problem)
    if staves not in STAVES:
        raise ScoreError(f"unknown staves {staves!r}: use one of {', '.join(STAVES)}")
    beat = notes["beat"].to_numpy(np.float64)
    length = np.maximum(np.round(notes["duration_beats"].to_numpy(np.float64) * TICKS), 1).astype(np.int64)
    bar_beat = notes["bar_beat"].to_numpy(np.float64) if "bar_beat" in notes else np.mod(beat - beat.min(), BAR_BEATS)
    bar_beats = notes["bar_beats"].to_numpy(np.float64) if "bar_beats" in notes else np.full(len(notes), BAR_BEATS)
    first = int(np.argmin(beat))
    origin = beat[first] - bar_beat[first]  # the bar line at or before the first note
    start = np.round((beat - origin) * TICKS).astype(np.int64)
    marks = notes["mark"].to_numpy(object) if "mark" in notes else np.full(len(notes), "", object)
    if span is not None:
        inside = (beat >= span[0] - 1e-9) & (beat < span[1] - 1e-9)
        marks = np.where(inside, span_label, marks)
    bar_starts = np.round((beat - bar_beat - origin) * TICKS).astype(np.int64)
    bars = bar_grid(
        bar_starts, np.round(bar_beats * TICKS).astype(np.int64), int(start.min()), int((start + length).max())
    )
    bars = _named_signatures(bars, notes.attrs.get("time_signature"))
    pitch = notes["pitch"].to_numpy(np.int64)
    key = piece_key(notes)
    staff_list, remarks = plan_staves(notes, pitch, start, start + length, marks, staves)
    tick = lambda beats: int(round((beats - origin) * TICKS))
    first_tick, last_tick = int(start.min()), int((start + length).max())
    # a chord that began at the bar line before a pickup is named at the first note
    chord_marks = [(max(tick(s), first_tick), name) for s, e, name in chords or () if tick(e) > first_tick]
    chord_marks = _unique_ticks([(t, name) for t, name in chord_marks if t < last_tick], last=True)
    return ScorePlan(
        key=key,
        bpm=main_bpm(notes),
        bars=bars,
        staves=staff_list,
        chords=chord_marks,
        labels=_labels(start, marks),
        remarks=remarks,
    )


def piece_key(notes: pd.DataFrame) -> str:
    """The key a piece is written in: the one it carries (attrs "key"), else the one its notes suggest."""
    carried = notes.attrs.get("key")
    if carried:
        try:
            written_key(str(carried))
            return str(carried)
        except ValueError:
            pass  # a key this module cannot write: found from the notes instead
    pitched = notes[notes["part"] != DRUMS_PART] if "part" in notes else notes
    return find_key(pitched["pitch"].to_numpy(np.int64), pitched["duration_beats"].to_numpy(np.float64))


def bar_grid(bar_starts: np.ndarray, bar_lengths: np.ndarray, first_note: int, end: int) -> list[Bar]:
    """The bars from the first note's bar line (tick 0) to the last note's end: each note names the bar it is
    in (its start and length); bars no note names continue the last length. The first bar is a pickup when
    the first note comes after its bar line."""
    known: dict[int, int] = {}
    for bar_start, bar_length in zip(bar_starts.tolist(), bar_lengths.tolist()):
        if bar_start >= 0:
            known.setdefault(int(bar_start), max(1, int(bar_length)))
    starts = sorted(known)
    position, length, bars = 0, known.get(0, known[starts[0]] if starts else 4 * TICKS), []
    while position < end:
        length = known.get(position, length)
        later = bisect.bisect_right(starts, position)
        if later < len(starts) and starts[later] < position + length:
            # a bar cut short where the notes say the next begins (a metre that changed mid-bar)
            this = starts[later] - position
        else:
            this = length
        bars.append(Bar(position, this, _signature(this)))
        position += this
    if bars:
        pickup = max(0, min(first_note - bars[0].start, bars[0].length - 1))
        bars[0] = Bar(bars[0].start, bars[0].length, bars[0].signature, pickup)
    return bars


def _signature(length: int) -> tuple[int, int]:
    """The time signature of a bar of `length` ticks: whole beats over 4, else eighths over 8."""
    return signature_of(pd.DataFrame({"bar_beats": [length / TICKS]}))


def _named_signatures(bars: list[Bar], named: str | None) -> list[Bar]:
    """Bars whose length a file's own signature ("6/8") fits are written with it, not as 3/4."""
    if not named or "/" not in str(named):
        return bars
    try:
        numerator, denominator = (int(x) for x in str(named).split("/"))
    except ValueError:
        return bars
    length = numerator * 4 * TICKS // denominator if denominator else 0
    return [Bar(b.start, b.length, (numerator, denominator), b.pickup) if b.length == length else b for b in bars]


def _labels(start: np.ndarray, marks: np.ndarray) -> list[tuple[int, str]]:
    """Words where each marked passage begins, and "new" where the notes after a primer begin."""
    labels, previous = [], ""
    for index in np.argsort(start, kind="stable"):
        mark = str(marks[index])
        if mark != previous:
            if mark or previous == PRIMER:
                labels.append((int(start[index]), mark or "new"))
            previous = mark
    return _unique_ticks(labels)


def _unique_ticks(labels: list[tuple[int, str]], last: bool = False) -> list[tuple[int, str]]:
    """One label per tick, the first given there (or the `last`)."""
    seen: dict[int, str] = {}
    for tick, text in labels:
        if last:
            seen[tick] = text
        else:
            seen.setdefault(tick, text)
    return sorted(seen.items())


# ---- staves and voices ------------------------------------------------------------------------------------------

SOPRANO, ALTO, TENOR, BASS = (PART_NAMES.index(voice) for voice in VOICES)
VOICE_SHORT = {SOPRANO: ("Soprano", "S."), ALTO: ("Alto", "A."), TENOR: ("Tenor", "T."), BASS: ("Bass", "B.")}
MELODY, HARMONY = -1, -2  # a harmonisation without voice parts: the melody and the notes under it
GRAND_STAFF_LOW, GRAND_STAFF_HIGH = 53, 67  # a part reaching below F3 and above G4 gets a treble and a bass staff
TREBLE_FROM = 58  # a staff whose middle pitch is at least B flat 3 reads best in the treble clef


def plan_staves(
    notes: pd.DataFrame,
    pitch: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    marks: np.ndarray,
    staves: str,
) -> tuple[list[Staff], list[str]]:
    """The staves, top to bottom: the four voices (closed or open score), then each other part by register
    (high first); drums are left out (a drum key is a sound, not a pitch). What the score leaves out or
    writes otherwise is said in `remarks`."""
    part = _staff_parts(notes)
    rows = {int(p): np.flatnonzero(part == p) for p in np.unique(part)}
    remarks = []
    if DRUMS_PART in rows:
        remarks.append(f"the drums are not written ({len(rows.pop(DRUMS_PART))} notes: drum sounds, not pitches)")
    voices = [v for v in (SOPRANO, ALTO, TENOR, BASS) if v in rows]
    closed = staves == "two" and len(voices) > 1
    if closed:  # two voices share a staff: each must be one line, so a note held into the next is cut there
        end, held = end.copy(), 0
        for v in voices:
            cut = legato_ends(start[rows[v]], end[rows[v]])
            held += int((cut < end[rows[v]]).sum())
            end[rows[v]] = cut
        if held:
            remarks.append(
                f"{held} note{'s' if held > 1 else ''} held past the next note of {'their' if held > 1 else 'its'} "
                "voice written up to it (four staves, the MIDI and the MusicXML keep every length)"
            )
    lines = {p: voice_lines(pitch[r], start[r], end[r], marks[r]) for p, r in rows.items()}
    result: list[Staff] = []
    if closed:
        for pair, clef in (((SOPRANO, ALTO), "treble"), ((TENOR, BASS), "bass")):
            present = [v for v in pair if v in rows]
            if present:
                short = " ".join(VOICE_SHORT[v][1] for v in present)  # "S. A.": a full name would not fit
                result.append(_shared_staff(short, short, clef, [lines[v] for v in present]))
    else:
        for v in voices:
            clef = {SOPRANO: "treble", ALTO: "treble", TENOR: "treble8vb", BASS: "bass"}[v]
            result.append(_shared_staff(*VOICE_SHORT[v], clef, [lines[v]]))
    others = sorted((p for p in rows if p not in voices), key=lambda p: -float(np.median(pitch[rows[p]])))
    for brace, p in enumerate(others):
        result.extend(_instrument_staves(p, pitch[rows[p]], start[rows[p]], end[rows[p]], marks[rows[p]], brace))
    return result, remarks


def legato_ends(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """One voice's note ends, each cut at the next later onset of the voice where it is still sounding (as a
    singer would: one note at a time). Notes that start together keep their own lengths."""
    onsets = np.unique(start)
    following = np.searchsorted(onsets, start, side="right")
    next_onset = np.where(
        following < len(onsets), onsets[np.minimum(following, len(onsets) - 1)], np.iinfo(np.int64).max
    )
    return np.minimum(end, next_onset)


def voice_parts(notes: pd.DataFrame) -> list[int]:
    """The chorale voices (part ids) a piece's score has staves for: two or more may share staves."""
    if not len(notes):
        return []
    present = set(np.unique(_staff_parts(notes)).tolist())
    return [voice for voice in (SOPRANO, ALTO, TENOR, BASS) if voice in present]


def _staff_parts(notes: pd.DataFrame) -> np.ndarray:
    """Each note's part; a harmonisation without voice parts splits into its melody and its harmony."""
    if "melody" in notes:
        if not voiced(notes):  # a two-track harmonisation (a model without voice parts)
            return np.where(notes["melody"].fillna(False).to_numpy(bool), MELODY, HARMONY)
    if "part" in notes:
        return notes["part"].to_numpy(np.int64)
    return np.zeros(len(notes), np.int64) + PART_NAMES.index("Piano")


def _shared_staff(name: str, short: str, clef: str, parts: list[list[list[Event]]]) -> Staff:
    """A staff for one or two voice parts: with two, the upper's stems up and the lower's down."""
    voices, stems, quiet = [], [], []
    for index, lines in enumerate(parts):
        for number, line in enumerate(lines):
            voices.append(line)
            stems.append(("up" if index == 0 else "down") if len(parts) > 1 else None)
            quiet.append(number > 0)
    if len(parts) == 1 and len(voices) > 1:
        stems = ["up" if i == 0 else "down" for i in range(len(voices))]
    return Staff(name, short, clef, voices, stems, quiet)


def _part_label(part: int) -> tuple[str, str]:
    if part == MELODY:
        return "Melody", "Mel."
    if part == HARMONY:
        return "Harmony", "Harm."
    name = part_name(part)
    return name, name[:3] + "."


def _instrument_staves(
    part: int, pitch: np.ndarray, start: np.ndarray, end: np.ndarray, marks: np.ndarray, brace: int
) -> list[Staff]:
    """One staff (clef by register), or a treble and a bass staff for a part that spans both (a piano's)."""
    name, short = _part_label(part)
    if pitch.min() < GRAND_STAFF_LOW and pitch.max() > GRAND_STAFF_HIGH:
        upper = pitch >= 60
        staves = []
        for chosen, clef in ((upper, "treble"), (~upper, "bass")):
            lines = voice_lines(pitch[chosen], start[chosen], end[chosen], marks[chosen])
            staves.append(_shared_staff(name, short, clef, [lines]))
            staves[-1].brace = brace
        return staves
    clef = "treble" if float(np.median(pitch)) >= TREBLE_FROM else "bass"
    return [_shared_staff(name, short, clef, [voice_lines(pitch, start, end, marks)])]


def voice_lines(pitch: np.ndarray, start: np.ndarray, end: np.ndarray, marks: np.ndarray) -> list[list[Event]]:
    """A part's notes as voices that never overlap: notes that start and end together form a chord; a note
    that starts while another still sounds goes to the first voice free then (a second voice, not a shortened
    note, so every note keeps its length)."""
    if not len(pitch):
        return [[]]
    chords: dict[tuple[int, int], list[int]] = {}
    for index in np.lexsort((-pitch, end, start)):
        chords.setdefault((int(start[index]), int(end[index])), []).append(int(index))
    ordered = sorted(chords.items(), key=lambda item: (item[0][0], -max(int(pitch[i]) for i in item[1])))
    lines: list[list[Event]] = []
    for (s, e), members in ordered:
        event = Event(s, e, tuple(sorted(int(pitch[i]) for i in members)), str(marks[members[0]]))
        for line in lines:
            if line[-1].end <= s:
                line.append(event)
                break
        else:
            lines.append([event])
    return lines


# ---- rhythm: one bar of one voice as note values a musician reads ------------------------------------------------


def level(position: int, bar: Bar) -> int:
    """How strong a place in a bar is: 0 the bar line, 1 the middle of a bar of 4 (or 6, 8...) beats, 2 a beat,
    3 half a beat (or a third of a quarter), 4 a sixteenth, 5 finer."""
    beat = bar.beat
    if position % bar.length == 0:
        return 0
    beats = bar.length // beat if bar.length % beat == 0 else 0
    if beats >= 4 and beats % 2 == 0 and position == bar.length // 2:
        return 1
    if position % beat == 0:
        return 2
    within = position % beat
    if within % 6 == 0 or (beat == TICKS and within % 4 == 0):  # an eighth, or a third of a quarter
        return 3
    if within % 3 == 0 or within % 2 == 0:
        return 4
    return 5


def beat_kinds(events: Sequence[Event], bar: Bar) -> list[str]:
    """How each beat of a bar is divided by this voice's notes and rests: "plain" (eighths and sixteenths),
    "triplet" (thirds), "sextuplet" (sixths) or "fine" (twelfths)."""
    beat = bar.beat
    count = -(-bar.length // beat)
    inside: list[set[int]] = [set() for _ in range(count)]
    for event in events:
        for position in (event.start, event.end):
            if 0 < position < bar.length and position % beat:
                inside[position // beat].add(position % beat)
    kinds = []
    for offsets in inside:
        for kind in ("plain", "triplet", "sextuplet", "fine"):
            if all(offset % TUPLET_UNIT[kind] == 0 for offset in offsets):
                kinds.append(kind)
                break
    return kinds


def write_bar(events: Sequence[Event], bar: Bar, tie_in: bool = False, tie_out: bool = False) -> list[Written]:
    """One voice's notes in one bar (bar-relative ticks; `tie_in`/`tie_out`: its first note continues one
    from the bar before, its last goes on into the next) as written notes and rests, filling the bar."""
    filled = _with_rests(events, bar)
    kinds = beat_kinds(filled, bar)
    if len(filled) == 1 and not filled[0].pitches and bar.pickup == 0:
        return [Written(0, bar.length, (), full_bar=True)]
    written: list[Written] = []
    for index, event in enumerate(filled):
        pieces = split_length(event.start, event.end, bar, kinds)
        before = tie_in and index == 0 and bool(event.pitches)
        after = tie_out and index == len(filled) - 1 and bool(event.pitches)
        for number, (s, e) in enumerate(pieces):
            tied_before = before or number > 0
            tied_after = after or number < len(pieces) - 1
            tie = None
            if event.pitches and (tied_before or tied_after):
                tie = "continue" if tied_before and tied_after else "stop" if tied_before else "start"
            written.append(Written(s, e - s, event.pitches, tie, event.mark))
    return written


def _with_rests(events: Sequence[Event], bar: Bar) -> list[Event]:
    """The voice's events with rests in every gap, from the pickup (or bar line) to the end of the bar."""
    filled, position = [], bar.pickup
    for event in events:
        if event.start > position:
            filled.append(Event(position, event.start))
        filled.append(event)
        position = event.end
    if position < bar.length:
        filled.append(Event(position, bar.length))
    return filled


def split_length(start: int, end: int, bar: Bar, kinds: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) ticks of a bar as spans each written as one note value, split where the engraving rules
    say: a note that starts off the beat is tied over the next beat; one that starts on a beat may run over
    later beats but not over a stronger place (the middle of a 4/4 bar), and never into or out of a beat of
    triplets."""
    if _one_value(start, end, bar, kinds):
        return [(start, end)]
    split = _split_point(start, end, bar, kinds)
    return split_length(start, split, bar, kinds) + split_length(split, end, bar, kinds)


def _one_value(start: int, end: int, bar: Bar, kinds: Sequence[str]) -> bool:
    length, beat = end - start, bar.beat
    first, last = start // beat, (end - 1) // beat
    if first == last:  # within one beat
        kind = kinds[first]
        if length == beat or kind == "plain":
            return length in PLAIN
        return length in TUPLET_LENGTHS[kind] and start % TUPLET_UNIT[kind] == 0
    if length not in PLAIN or start % beat:
        return False
    start_level = level(start, bar)
    for boundary in range((first + 1) * beat, end, beat):
        if kinds[boundary // beat - 1] != "plain" or kinds[min(boundary // beat, len(kinds) - 1)] != "plain":
            return False
        if level(boundary, bar) < start_level:
            return False
    return True


def _split_point(start: int, end: int, bar: Bar, kinds: Sequence[str]) -> int:
    """Where to cut a span that is not one note value: off the beat, at the next beat; on a beat, at the
    strongest place inside (the latest of equals, so the first value is the longest); within a beat, at its
    strongest place on the beat's grid."""
    beat = bar.beat
    next_beat = (start // beat + 1) * beat
    if start % beat and next_beat < end:
        return next_beat
    if (end - 1) // beat == start // beat:  # within one beat: its own grid
        unit = TUPLET_UNIT[kinds[start // beat]]
        inside = [p for p in range(start + 1, end) if (p % beat) % unit == 0] or list(range(start + 1, end))
        return min(inside, key=lambda p: (level(p, bar), p))
    candidates = list(range(next_beat if start % beat else start + beat, end, beat))
    return min(candidates, key=lambda p: (level(p, bar), -p))


def bar_contents(line: Sequence[Event], bars: Sequence[Bar]) -> list[list[Written]]:
    """One voice across all bars: its events cut at the bar lines, each bar written (write_bar)."""
    ends = [event.end for event in line]
    result = []
    for bar in bars:
        first = bisect.bisect_right(ends, bar.start)
        inside, tie_in, tie_out = [], False, False
        for event in line[first:]:
            if event.start >= bar.start + bar.length:
                break
            s, e = max(event.start, bar.start), min(event.end, bar.start + bar.length)
            tie_in = tie_in or event.start < bar.start
            tie_out = event.end > bar.start + bar.length
            inside.append(Event(s - bar.start, e - bar.start, event.pitches, event.mark))
        result.append(write_bar(inside, bar, tie_in, tie_out))
    return result


# ---- music21 -----------------------------------------------------------------------------------------------------


def build_score(plan: ScorePlan, bars: slice | None = None, title: str = "") -> Score:
    """The planned score (or some of its bars: a page) as a music21 Score, its notation complete: measures,
    voices, ties, beams, tuplet brackets, accidentals in the key."""
    from music21 import layout, metadata, stream

    chosen = list(range(len(plan.bars))[bars if bars is not None else slice(None)])
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title, composer="musicrnn")
    braces: dict[int, list[Any]] = {}
    for index, staff in enumerate(plan.staves):
        part = _part(plan, staff, chosen, top=index == 0)
        score.insert(0, part)
        if staff.brace is not None:
            braces.setdefault(staff.brace, []).append(part)
    for members in braces.values():
        if len(members) > 1:
            score.insert(0, layout.StaffGroup(members, name=members[0].partName, symbol="brace", barTogether=True))
    return score


_CLEFS = {"treble": "TrebleClef", "treble8vb": "Treble8vbClef", "bass": "BassClef"}


def _part(plan: ScorePlan, staff: Staff, chosen: list[int], top: bool):
    """One staff's bars `chosen` as a music21 Part (a PartStaff for one of a piano's two staves)."""
    from music21 import clef, instrument, key, meter, stream, tempo
    from music21.stream import makeNotation

    part = stream.PartStaff() if staff.brace is not None else stream.Part()
    part.partName, part.partAbbreviation = staff.name, staff.abbreviation
    player = instrument.Instrument()
    player.partName, player.partAbbreviation = staff.name, staff.abbreviation
    part.insert(0, player)
    tonic, mode = written_key(plan.key)
    bars = [plan.bars[i] for i in chosen]
    voices = [bar_contents(line, bars) for line in staff.voices]
    signature, offset = None, Fraction(0)
    for number, (bar_index, bar) in enumerate(zip(chosen, bars)):
        measure = stream.Measure(number=bar_index + (0 if plan.bars[0].pickup else 1))
        if number == 0:
            measure.insert(0, getattr(clef, _CLEFS[staff.clef])())
            measure.insert(0, key.Key(tonic.replace("b", "-"), mode))
            if top and bar_index == 0:
                measure.insert(0, tempo.MetronomeMark(number=round(plan.bpm, 1), referent=1.0))
        if bar.signature != signature:
            measure.insert(0, meter.TimeSignature(f"{bar.signature[0]}/{bar.signature[1]}"))
            signature = bar.signature
        if bar.pickup:
            measure.paddingLeft = Fraction(bar.pickup, TICKS)
            # MusicXML's implicit="yes": a pickup bar, which notation programs neither number nor count
            measure.showNumber = stream.enums.ShowNumber.NEVER
        lines = [voice[number] for voice in voices]
        playing = [i for i, line in enumerate(lines) if not staff.quiet[i] or any(w.pitches for w in line)]
        if len(playing) == 1:
            _fill(measure, lines[playing[0]], plan, staff.stems[playing[0]], bar.pickup)
        else:
            for voice_number, i in enumerate(playing, start=1):
                voice = stream.Voice(id=str(voice_number))
                _fill(voice, lines[i], plan, staff.stems[i], bar.pickup, hide_rests=staff.quiet[i])
                measure.insert(0, voice)
        if top:
            _annotate(measure, plan, bar)
        measure.offset = offset
        part.append(measure)
        offset += Fraction(bar.length - bar.pickup, TICKS)
    makeNotation.makeBeams(part, inPlace=True, setStemDirections=False)
    makeNotation.makeAccidentalsInMeasureStream(part)
    for measure in part.getElementsByClass(stream.Measure):
        for voice in [measure, *measure.voices]:
            makeNotation.makeTupletBrackets(voice, inPlace=True)
    return part


def _fill(
    container, written: list[Written], plan: ScorePlan, stem: str | None, pickup: int, hide_rests: bool = False
) -> None:
    """Written notes and rests into a measure or voice. An extra voice's rests are not printed: it holds a
    note that overlaps the next of its part, and its rests would only crowd the staff."""
    from music21 import chord, note, pitch, tie

    for item in written:
        length = Fraction(item.length, TICKS)
        element: Any
        if not item.pitches:
            element = note.Rest(quarterLength=length)
            if item.full_bar:
                element.fullMeasure = True
            element.style.hideObjectOnPrint = hide_rests
        else:
            pitches = [pitch.Pitch(_m21_name(p, plan.key)) for p in item.pitches]
            element = note.Note(pitches[0], quarterLength=length) if len(pitches) == 1 else chord.Chord(pitches)
            element.quarterLength = length
            if item.tie:
                element.tie = tie.Tie(item.tie)
            if stem:
                element.stemDirection = stem
            if item.mark:
                element.style.color = PRIMER_COLOUR if item.mark == PRIMER else SPAN_COLOUR
        container.insert(Fraction(item.start - pickup, TICKS), element)


def _m21_name(midi_pitch: int, key: str) -> str:
    letter, alter, octave = spell(midi_pitch, key)
    return f"{letter}{'#' * alter if alter > 0 else '-' * -alter}{octave}"


def _annotate(measure, plan: ScorePlan, bar: Bar) -> None:
    """Chord names and the marked passages' labels of a bar, above the top staff."""
    from music21 import expressions, harmony

    end = bar.start + bar.length
    for tick, name in plan.chords:
        if bar.start + bar.pickup <= tick < end:
            try:
                symbol: Any = harmony.ChordSymbol(name.replace("b", "-", 1) if name[1:2] == "b" else name)
            except Exception:  # music21 cannot read every chord name: it is still shown, as words
                symbol = expressions.TextExpression(name)
            measure.insert(Fraction(tick - bar.start - bar.pickup, TICKS), symbol)
    for tick, text in plan.labels:
        if bar.start + bar.pickup <= tick < end:
            words: Any = expressions.TextExpression(text)
            words.style.fontStyle = "italic"
            words.placement = "above"
            measure.insert(Fraction(tick - bar.start - bar.pickup, TICKS), words)


# ---- MusicXML and engraving -------------------------------------------------------------------------------------


def musicxml(plan: ScorePlan, bars: slice | None = None, title: str = "") -> bytes:
    """The score (or some of its bars) as MusicXML bytes."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    exporter = GeneralObjectExporter(build_score(plan, bars, title))
    exporter.makeNotation = False  # build_score made it; music21's own pass would re-split the rhythms
    return exporter.parse()


def piece_musicxml(
    notes: pd.DataFrame, chords: Sequence[tuple[float, float, str]] | None = None, title: str = ""
) -> bytes:
    """A piece as a MusicXML file: the notes of its MIDI file, one part per part (the voices on four staves),
    with its chord names; nothing marked in colour."""
    return musicxml(plan_score(notes, "four", chords), title=title)


def pages(plan: ScorePlan) -> list[slice]:
    """The bars of each page of the on-screen score: at most BARS_PER_PAGE bars and about MAX_NOTES_PER_PAGE
    written notes, so a long piece engraves one page at a time."""
    counts = np.zeros(len(plan.bars), np.int64)
    starts = [bar.start for bar in plan.bars]
    for staff in plan.staves:
        for line in staff.voices:
            for event in line:
                counts[max(0, bisect.bisect_right(starts, event.start) - 1)] += len(event.pitches)
    result, first, notes = [], 0, 0
    for index, count in enumerate(counts.tolist()):
        if index > first and (index - first >= BARS_PER_PAGE or notes + count > MAX_NOTES_PER_PAGE):
            result.append(slice(first, index))
            first, notes = index, 0
        notes += count
    result.append(slice(first, len(plan.bars)))
    return result


_ENGRAVER_LOCK = threading.Lock()  # one Verovio toolkit, used by one thread at a time
_engraver: Any = None


def engrave(xml: bytes, width: int = 1800, zoom: int = 40) -> str:
    """MusicXML engraved as one SVG (systems broken to fit `width` tenths of a millimetre at 100 %; the page
    as tall as the music). The SVG carries its own glyphs, so it draws anywhere without fonts or network."""
    global _engraver
    import verovio

    with _ENGRAVER_LOCK:
        if _engraver is None:
            verovio.enableLog(verovio.LOG_OFF)
            _engraver = verovio.toolkit()
        _engraver.setOptions(
            {
                "pageWidth": width,
                "pageHeight": 60000,
                "adjustPageHeight": True,
                "breaks": "auto",
                "scale": zoom,
                "header": "none",
                "footer": "none",
                "pageMarginTop": 40,
                "pageMarginBottom": 40,
                "pageMarginLeft": 40,
                "pageMarginRight": 40,
                "svgViewBox": True,
            }
        )
        if not _engraver.loadData(xml.decode("utf-8")):
            raise ScoreError("the engraver could not read the score")
        return _engraver.renderToSVG(1)


def staff_count(svg: str) -> int:
    """How many staves an engraved score has: Verovio draws each bar as a group of class "measure" holding
    one group of class "staff" per staff."""
    import re

    measures = re.split(r'<g id="[^"]*" class="measure"', svg)
    return len(re.findall(r'<g id="[^"]*" class="staff"', measures[1])) if len(measures) > 1 else 0
