"""Melodies and chords as a visitor gives them: typed as text (`E4/1 D4/1 C4/2`, `C G Am F`), or a melody taken
from a file's top voice. Lengths are in beats, on the beat grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config
from .errors import SettingsError
from .features import timing_of
from .theory import BEAT_GRID, CHORD_QUALITIES, note_name, parse_pitch, root_class, time_signature

MAX_MELODY_NOTES = 300  # x 6 notes each (3 below, 2 passing) stays within generate's MAX_NOTES
MAX_NOTE_BEATS = 16.0  # the longest rhythm class of a beats model
_BEATS_CFG = Config(time_unit="beats")

MELODY_HELP = (
    "Notes as NAME+OCTAVE/BEATS, separated by spaces: `E4/1 D4/1 C4/2` is E, D (a beat each), then C "
    "for two beats. Sharps `F#4`, flats `Bb3`, rests `R/1`; beats may be fractions of a beat like 0.5 "
    "or 1.5 (quarter note = 1 beat). Bars are of 4 beats unless a time signature comes first (`3/4`), and a "
    "tune that starts before its first full bar starts with the rest that fills that bar: `3/4 R/2 D4/1 G4/2` "
    "is a one-beat pickup in 3/4."
)
CHORDS_HELP = (
    "Chord names separated by spaces, one per bar (`C G Am F`) or with beats (`C:2 G:2`). Major `C`, minor "
    "`Am`, 7th `G7`, `Cmaj7`, `Dm7`, diminished `Bdim`, `Bm7b5`, augmented `Caug`, `Dsus4`. The first chord "
    "starts at the bar line at or before the first new note (a piece that starts in the middle of a bar gives "
    "the first chord the rest of that bar), and the progression repeats to the end of the piece."
)


def _beats(text: str, token: str) -> float:
    try:
        beats = float(text)
    except ValueError:
        raise SettingsError(f"{token!r}: the length after the name must be a number of beats, like 1 or 0.5") from None
    if not 0 < beats <= MAX_NOTE_BEATS:
        raise SettingsError(f"{token!r}: a length must be more than 0 and at most {MAX_NOTE_BEATS:g} beats")
    on_grid = round(beats * BEAT_GRID) / BEAT_GRID
    if abs(on_grid - beats) > 1e-6:
        raise SettingsError(f"{token!r}: lengths must be whole 1/{BEAT_GRID} beats (sixteenths and triplets fit)")
    return on_grid


@dataclass
class Melody:
    """A melody on the beat grid: pitches, onsets (beats from its first note) and lengths, in bars of `metre`
    (numerator, denominator: (3, 4) is 3/4) with its first note `start` beats after a bar line (a pickup)."""

    pitch: np.ndarray
    onset: np.ndarray
    duration: np.ndarray
    metre: tuple[int, int] = (4, 4)
    start: float = 0.0

    def __len__(self) -> int:
        return len(self.pitch)

    @property
    def bar_beats(self) -> float:
        """Beats (quarter notes) in a bar: 3 in 3/4, 3 in 6/8."""
        return metre_beats(self.metre)

    def end(self) -> float:
        return float(self.onset[-1] + self.duration[-1]) if len(self) else 0.0


def metre_beats(metre: tuple[int, int]) -> float:
    """Quarter-note beats in a bar of this time signature: (3, 4) -> 3, (6, 8) -> 3, (2, 2) -> 4."""
    return metre[0] * 4.0 / metre[1]


def parse_metre(token: str) -> tuple[int, int]:
    """'3/4' -> (3, 4); SettingsError when it is no time signature a bar can have."""
    top, _, bottom = token.partition("/")
    try:
        metre = int(top), int(bottom)
    except ValueError:
        raise SettingsError(f"{token!r} is no time signature: write it like 3/4 or 6/8") from None
    if metre[1] not in (2, 4, 8, 16) or not 1 <= metre[0] <= 16:
        raise SettingsError(f"{token!r} is no time signature: the lower number is 2, 4, 8 or 16, the upper 1-16")
    return metre


def parse_melody(text: str) -> Melody:
    """'E4/1 D4/1 R/1 C4/2' -> a Melody. A time signature may come first ('3/4 …'; else 4/4), and rests before
    the first note put it that far into its bar (a pickup: '3/4 R/2 D4/1 G4/2'). Raises SettingsError naming
    the token that is wrong."""
    tokens = text.replace(",", " ").split()
    metre = (4, 4)
    if tokens and tokens[0][:1].isdigit():
        metre, tokens = parse_metre(tokens[0]), tokens[1:]
    pitches, onsets, lengths, position = [], [], [], 0.0
    for token in tokens:
        name, slash, length = token.partition("/")
        if not slash:
            raise SettingsError(f"{token!r} has no length: write NAME/BEATS, like C4/1")
        beats = _beats(length, token)
        if name.upper() != "R":
            try:
                pitches.append(parse_pitch(name))
            except ValueError as exc:
                raise SettingsError(f"{token!r}: {exc}") from None
            onsets.append(position)
            lengths.append(beats)
        position += beats
    if not pitches:
        raise SettingsError("the melody has no notes: write notes like `E4/1 D4/1 C4/2`")
    if len(pitches) > MAX_MELODY_NOTES:
        raise SettingsError(f"the melody has {len(pitches)} notes; at most {MAX_MELODY_NOTES} are harmonised")
    onset = np.array(onsets)
    start = float(onset[0]) % metre_beats(metre)
    return Melody(np.array(pitches, np.int64), onset - onset[0], np.array(lengths), metre, start)


def melody_text(melody: Melody) -> str:
    """A Melody as the text parse_melody reads (its time signature first unless 4/4, a pickup as a rest)."""
    tokens = [] if tuple(melody.metre) == (4, 4) else [f"{melody.metre[0]}/{melody.metre[1]}"]
    if melody.start > 1e-9:
        tokens.append(f"R/{melody.start:g}")
    position = 0.0
    for pitch, onset, length in zip(melody.pitch, melody.onset, melody.duration):
        if onset > position + 1e-9:
            tokens.append(f"R/{onset - position:g}")
        tokens.append(f"{note_name(int(pitch))}/{min(length, MAX_NOTE_BEATS):g}")
        position = max(position, onset + length)
    return " ".join(tokens)


def metre_words(melody: Melody) -> str:
    """The melody's bars in words: "In 3/4, from beat 3 of the bar (a pickup)." or "In 4/4, from the bar line."."""
    signature = f"{melody.metre[0]}/{melody.metre[1]}"
    if melody.start < 1e-9:
        return f"In {signature}, from the bar line."
    where = f"beat {melody.start + 1:g}" if float(melody.start).is_integer() else f"{melody.start:g} beats into the bar"
    return f"In {signature}, from {where} (a pickup)."


def top_voice(notes: pd.DataFrame) -> Melody:
    """The highest note at each onset of a note table (a soprano line), held until the next onset at most. An
    onset where only lower voices move, under a higher note still sounding, is no melody note: the melody holds
    (a chorale's tenor moving under the soprano's half note is not the tune)."""
    timing = timing_of(notes, _BEATS_CFG)
    onset = np.round(timing.beat * BEAT_GRID) / BEAT_GRID
    table = pd.DataFrame({"pitch": notes["pitch"].to_numpy(np.int64), "onset": onset, "length": timing.duration})
    top = table.sort_values(["onset", "pitch"]).groupby("onset", sort=True).tail(1)
    top = top[~_under_a_held_note(top, table)]
    if top.empty:
        raise SettingsError("the file has no notes to take a melody from")
    starts = top["onset"].to_numpy()
    next_start = np.append(starts[1:], np.inf)
    length = np.minimum(np.minimum(top["length"].to_numpy(), next_start - starts), MAX_NOTE_BEATS)
    length = np.maximum(np.round(length * BEAT_GRID) / BEAT_GRID, 1.0 / BEAT_GRID)
    keep = slice(0, MAX_MELODY_NOTES)
    first = int(np.argmin(onset))  # the bars the file's first note falls in (its metre and where in its bar)
    bar_beats, start = float(timing.bar_beats[first]), float(timing.bar_beat[first])
    return Melody(
        top["pitch"].to_numpy(np.int64)[keep],
        (starts - starts[0])[keep],
        length[keep],
        time_signature(bar_beats),
        round(start * BEAT_GRID) / BEAT_GRID % bar_beats,
    )


def _under_a_held_note(top: pd.DataFrame, table: pd.DataFrame) -> np.ndarray:
    """Whether each onset's highest new note lies under a note that started earlier and still sounds."""
    start, pitch = table["onset"].to_numpy(), table["pitch"].to_numpy()
    end = start + table["length"].to_numpy()
    near = 0.5 / BEAT_GRID
    return np.array(
        [
            bool(((start < at - near) & (end > at + near) & (pitch > highest)).any())
            for at, highest in zip(top["onset"].to_numpy(), top["pitch"].to_numpy())
        ],
        dtype=bool,
    )


@dataclass
class Chord:
    name: str
    pitch_classes: frozenset[int]
    beats: float | None  # None = one bar


def parse_chord(token: str) -> Chord:
    """'Am' -> A minor, 'G7:2' -> G dominant 7th for 2 beats. Raises SettingsError naming the token."""
    name, colon, length = token.partition(":")
    head = chord_root(name)
    root = root_class(head) if head else None
    quality = name[len(head) :]
    if root is None or quality not in CHORD_QUALITIES:
        raise SettingsError(
            f"unknown chord {token!r}: use a root A-G (with # or b) and one of major (C), minor (Cm), "
            f"7th (C7, Cmaj7, Cm7), diminished (Cdim, Cdim7, Cm7b5), augmented (Caug), sus (Csus4)"
        )
    beats = _beats(length, token) if colon else None
    return Chord(name, frozenset((root + step) % 12 for step in CHORD_QUALITIES[quality]), beats)


def parse_chords(text: str) -> list[Chord]:
    """'C G Am F' or 'C:2 G:2' -> chords. Raises SettingsError naming the first unknown token."""
    chords = [parse_chord(token) for token in text.replace(",", " ").replace("|", " ").split()]
    if not chords:
        raise SettingsError("no chords given: write chord names like `C G Am F`")
    return chords


def chord_root(name: str) -> str:
    """'F#m7' -> 'F#', 'Bb' -> 'Bb', 'C' -> 'C'."""
    return name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]
