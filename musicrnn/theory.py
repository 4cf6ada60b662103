"""Music theory in one place: note names, scales, chords, and the pitches and heads the network predicts.

Plain data and small pure functions, imported by the sampler, the guides, the plots and the metrics (so none
of them imports another just for a note name).
"""

from __future__ import annotations

import re

import numpy as np

from .errors import SettingsError

PITCH_CLASSES = 128  # the pitch head predicts one of all 128 MIDI pitches
HEADS = ("pitch", "step", "duration")  # the heads every model has (a parts model adds "part")
# Time: beats are snapped to 1/BEAT_GRID beat (sixteenths and triplets both fit); a model's own grid is its
# Config.beat_grid, which defaults to this. Where a file (or a table without beats) gives no tempo or metre,
# MIDI's own defaults stand: 120 bpm, bars of 4 beats.
BEAT_GRID = 12
DEFAULT_BPM = 120.0
BAR_BEATS = 4.0

NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
FLAT_NAMES = {"Db": 1, "Eb": 3, "Gb": 6, "Ab": 8, "Bb": 10}
SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "harmonic minor": [0, 2, 3, 5, 7, 8, 11],
    "dorian": [0, 2, 3, 5, 7, 9, 10],
    "major pentatonic": [0, 2, 4, 7, 9],
    "minor pentatonic": [0, 3, 5, 7, 10],
    "blues": [0, 3, 5, 6, 7, 10],
}

CHORD_QUALITIES = {  # chord symbol suffix -> semitones above the root
    "": (0, 4, 7),
    "maj": (0, 4, 7),
    "M": (0, 4, 7),
    "m": (0, 3, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "M7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6),
    "°": (0, 3, 6),
    "dim7": (0, 3, 6, 9),
    "°7": (0, 3, 6, 9),
    "m7b5": (0, 3, 6, 10),
    "ø": (0, 3, 6, 10),
    "aug": (0, 4, 8),
    "+": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 2),
}
_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")  # a note name: letter, accidental, octave


def time_signature(bar_beats: float) -> tuple[int, int]:
    """The time signature of bars this many beats (quarter notes) long: 4 -> 4/4, 3 -> 3/4, 1.5 -> 3/8."""
    if bar_beats > 0 and float(bar_beats).is_integer():
        return int(bar_beats), 4
    eighths = round(bar_beats * 2)
    return (eighths, 8) if eighths > 0 else (4, 4)


def note_name(pitch: int) -> str:
    """MIDI pitch to scientific name: 60 -> 'C4'."""
    return f"{NOTE_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"


def scale_pitch_classes(key: str) -> set[int]:
    """'D:minor' -> the pitch classes of D natural minor. Raises ValueError for unknown keys."""
    tonic, _, scale = key.partition(":")
    tonic = tonic.strip()
    tonic = tonic[:1].upper() + tonic[1:]
    root = NOTE_NAMES.index(tonic) if tonic in NOTE_NAMES else FLAT_NAMES.get(tonic)
    scale = (scale or "major").strip().lower()
    if root is None or scale not in SCALES:
        raise SettingsError(f"unknown key {key!r}: use a tonic like C, F#, Bb and one of {', '.join(SCALES)}")
    return {(root + step) % 12 for step in SCALES[scale]}


def root_class(name: str) -> int | None:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10; None for anything else."""
    name = name[:1].upper() + name[1:]
    return (
        NOTE_NAMES.index(name)
        if name in NOTE_NAMES
        else FLAT_NAMES.get(name, {"Cb": 11, "Fb": 4, "E#": 5, "B#": 0}.get(name))
    )


def parse_pitch(text: str) -> int:
    """'C4' -> 60, 'F#3' -> 54, 'Bb2' -> 46 (scientific pitch: C4 is middle C)."""
    match = _NOTE.match(text.strip())
    root = root_class(match.group(1) + match.group(2)) if match else None
    if match is None or root is None:
        raise SettingsError(
            f"{text!r} is not a note name: use a letter A-G, an optional # or b, and an octave, like C4 or F#3"
        )
    pitch = root + 12 * (int(match.group(3)) + 1)
    if match.group(1).upper() + match.group(2) == "B#":
        pitch += 12  # B#3 sounds as C4
    elif match.group(1).upper() + match.group(2) == "Cb":
        pitch -= 12  # Cb4 sounds as B3
    if not 0 <= pitch < PITCH_CLASSES:
        raise SettingsError(f"{text!r} is outside the MIDI range C-1 to G9")
    return pitch


# Krumhansl and Kessler's key profiles (1982): how well each pitch class fits a major or minor key on its tonic
# (index 0). The standard key-finding method (Krumhansl-Schmuckler) correlates a passage's duration-weighted
# pitch-class histogram with each of the 24 rotations.
KEY_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}
KEY_MODES = ("major", "minor")
KEY_COUNT = 24  # key index = tonic pitch class + 12 * mode (0 major, 1 minor)


def key_index(key: str) -> int:
    """'G:major' -> 7, 'A:minor' -> 21 (tonic + 12 * mode); ValueError for a key that is not major or minor."""
    tonic, _, mode = key.partition(":")
    root = root_class(tonic.strip())
    mode = (mode or "major").strip().lower()
    if root is None or mode not in KEY_MODES:
        raise SettingsError(f"unknown key {key!r}: use a tonic like C, F#, Bb and major or minor")
    return root + 12 * KEY_MODES.index(mode)


def key_name(index: int) -> str:
    """7 -> 'G:major', 21 -> 'A:minor' (the inverse of key_index)."""
    return f"{NOTE_NAMES[int(index) % 12]}:{KEY_MODES[int(index) // 12 % 2]}"


def key_scores(pitch: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """(24,) correlation of the notes' pitch-class histogram (weighted by `weight`, e.g. durations) with each
    key's profile, indexed by key_index. All zeros for no notes."""
    pitch = np.asarray(pitch, np.int64)
    weight = np.ones(len(pitch)) if weight is None else np.asarray(weight, np.float64)
    histogram = np.bincount(pitch % 12, weights=weight, minlength=12)[:12]
    if not histogram.any():
        return np.zeros(KEY_COUNT)
    centred = histogram - histogram.mean()
    scores = np.empty(KEY_COUNT)
    for mode, profile in enumerate(KEY_PROFILES.values()):
        for tonic in range(12):
            rotated = np.roll(profile, tonic) - profile.mean()
            denominator = np.sqrt((centred**2).sum() * (rotated**2).sum())
            scores[tonic + 12 * mode] = (centred * rotated).sum() / denominator if denominator else 0.0
    return scores


def find_key(pitch: np.ndarray, weight: np.ndarray | None = None) -> str:
    """The likeliest key of some notes ('G:major'), by Krumhansl-Schmuckler; C major for no notes."""
    return key_name(int(np.argmax(key_scores(pitch, weight))))


def key_pitch_classes(key: str) -> set[int]:
    """The pitch classes a key allows: its major scale, or in minor the natural minor scale plus the raised
    sixth and seventh degrees (melodic and harmonic minor), which four-part writing in minor uses all the time."""
    tonic, _, mode = key.partition(":")
    allowed = scale_pitch_classes(key)
    if (mode or "major").strip().lower() == "minor":
        root = root_class(tonic.strip())
        allowed |= {(root + 9) % 12, (root + 11) % 12} if root is not None else set()
    return allowed


# Tertian chords (triads and seventh chords), by the semitones of their notes above the root. A seventh chord
# without its fifth counts as that seventh chord (four-part writing often leaves the fifth out); chords are
# recognised from pitch classes alone, so an inversion is the same chord and enharmonic spellings coincide
# (a diminished seventh is read from its lowest-numbered root: C-Eb-Gb-A is C's).
TERTIAN_CHORDS: dict[str, tuple[tuple[int, ...], ...]] = {
    "major triad": ((0, 4, 7),),
    "minor triad": ((0, 3, 7),),
    "diminished triad": ((0, 3, 6),),
    "augmented triad": ((0, 4, 8),),
    "dominant seventh": ((0, 4, 7, 10), (0, 4, 10)),
    "major seventh": ((0, 4, 7, 11), (0, 4, 11)),
    "minor seventh": ((0, 3, 7, 10), (0, 3, 10)),
    "half-diminished seventh": ((0, 3, 6, 10),),
    "diminished seventh": ((0, 3, 6, 9),),
}
_TERTIAN_LOOKUP = {
    frozenset((root + step) % 12 for step in shape): (root, quality)
    for quality, shapes in reversed(TERTIAN_CHORDS.items())  # reversed: on a clash the first quality listed wins
    for shape in shapes
    for root in reversed(range(12))
}


def tonic_triad(key: int) -> list[int]:
    """The pitch classes of the tonic triad of a key (key_index): root, third, fifth."""
    tonic = key % 12
    return [tonic, (tonic + (3 if key >= 12 else 4)) % 12, (tonic + 7) % 12]


def tertian_chord(pitch_classes) -> tuple[int, str] | None:
    """(root pitch class, quality) of the triad or seventh chord that these pitch classes spell exactly (see
    TERTIAN_CHORDS); None for anything else: a dyad, a single note, or a sonority with a note outside the chord."""
    return _TERTIAN_LOOKUP.get(frozenset(int(p) % 12 for p in pitch_classes))


# ---- spelling: which letter a pitch is written with in a key (F major writes Bb, B major A#) -------------------

LETTERS = "CDEFGAB"
LETTER_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# The tonic as a key signature writes it, with the fewer accidentals (Bb major, not A# major; G# minor, not Ab).
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# For each semitone above the tonic, the scale degree (0-6) whose letter writes it. The notes outside the scale
# follow common practice: in major the raised 1st, 4th and 5th (secondary dominants' leading notes: C#, F#, G#
# in C) and the lowered 3rd and 7th (Eb, Bb); in minor the lowered 2nd (Neapolitan), the raised 3rd (the major
# tonic chord), 4th, 6th and 7th (melodic minor's and the dominant's leading notes: F#, G# in A minor).
DEGREE_OF_SEMITONE = {
    "major": (0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6),
    "minor": (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6),
}
# A scale's key signature: the major or minor key it is written in (D dorian in D minor's, say).
SCALE_MODES = {
    "major": "major",
    "major pentatonic": "major",
    "minor": "minor",
    "harmonic minor": "minor",
    "dorian": "minor",
    "minor pentatonic": "minor",
    "blues": "minor",
}


def written_key(key: str) -> tuple[str, str]:
    """'A#:major' -> ('Bb', 'major'), 'D:dorian' -> ('D', 'minor'): the tonic and mode a score's key signature
    shows. ValueError for an unknown key."""
    tonic, _, scale = key.partition(":")
    root = root_class(tonic.strip())
    mode = SCALE_MODES.get((scale or "major").strip().lower())
    if root is None or mode is None:
        raise SettingsError(f"unknown key {key!r}: use a tonic like C, F#, Bb and one of {', '.join(SCALES)}")
    return (MAJOR_TONICS if mode == "major" else MINOR_TONICS)[root], mode


def spell(pitch: int, key: str) -> tuple[str, int, int]:
    """How a MIDI pitch is written in a key: (letter, alteration in semitones, octave). 70 in F major is
    ('B', -1, 4), B flat; in B major ('A', 1, 4), A sharp."""
    tonic, mode = written_key(key)
    root = root_class(tonic)
    assert root is not None  # written_key returns a known tonic
    degree = DEGREE_OF_SEMITONE[mode][(int(pitch) - root) % 12]
    letter = LETTERS[(LETTERS.index(tonic[0]) + degree) % 7]
    alter = (int(pitch) - LETTER_CLASS[letter] + 6) % 12 - 6  # the nearest way to reach it from the letter
    if abs(alter) > 1:  # no double sharps or flats: F## in B major is written G, as most musicians would
        letter = LETTERS[(LETTERS.index(letter) + (1 if alter > 0 else -1)) % 7]
        alter = (int(pitch) - LETTER_CLASS[letter] + 6) % 12 - 6
    octave = (int(pitch) - alter - LETTER_CLASS[letter]) // 12 - 1  # B#3 sounds as C4, Cb4 as B3
    return letter, alter, octave


def spelled_name(pitch: int, key: str) -> str:
    """70 in F major -> 'Bb4'; in B major -> 'A#4'."""
    letter, alter, octave = spell(pitch, key)
    return f"{letter}{'#' * alter if alter > 0 else 'b' * -alter}{octave}"
