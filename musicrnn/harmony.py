"""Harmonising a melody and following a chord progression (with the guides of musicrnn.guide), and what is
measured and shown of the result: where each chord sounds, which notes fit it, which chord tones a key drops, the
harmonisation as MIDI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import SettingsError
from .features import timing_of
from .generate import MAX_NOTES, Sampling, generate
from .guide import DEFAULT_CHORD_STRENGTH, LOWER_VOICES, NEEDS_BEATS, SOPRANO, ChordGuide, MelodyGuide
from .midi import notes_to_midi
from .notation import Chord, Melody, chord_root
from .part_writing import hold_voices
from .parts import trained_parts
from .theory import (
    BAR_BEATS,
    KEY_COUNT,
    KEY_MODES,
    LETTER_CLASS,
    LETTERS,
    PITCH_CLASSES,
    key_index,
    key_name,
    key_pitch_classes,
    key_scores,
    root_class,
    tonic_triad,
)

_PITCH = np.arange(PITCH_CLASSES)

TONIC_ENDING_BONUS = 0.3  # how much a melody's last note counts for its tonic (see melody_key)
UPBEAT_TONIC_BONUS = 0.3  # and its first downbeat, reached from an upbeat a fourth below (see melody_key)
OUTLINED_TRIAD_BONUS = 0.3  # and a key whose whole tonic triad the melody sings (see melody_key)
ENDING_NEEDS_FULLEST_TRIAD = True  # the last note counts only for a key whose triad is sung as fully as any's


def melody_key(melody: Melody) -> str:
    """The key of a melody ("C:major"): Krumhansl-Schmuckler over its notes weighted by length, with its last
    note taken as the likeliest tonic, since tunes end on their tonic far more often than anywhere else (without
    it, "Mary Had a Little Lamb" and "Jingle Bells" read as E minor; with it, 20 of 20 typed tunes are right).
    A tune outlines its tonic chord, so only keys with at least two of their tonic triad's notes in the melody
    are read (where any key has): its first phrase alone, E D C D E E E, is then C major, not E minor (no G, no B).
    An upbeat that rises a fourth to the first downbeat (dominant to tonic, as in Amazing Grace's D-G) counts for
    that downbeat's note as well: a first phrase that ends on its dominant is otherwise read in the dominant's key
    (Amazing Grace's first half as D major). Every typed tune is read as before; of the 350 chorales' soprano lines,
    264 agree with the key of all four voices instead of 256. The last note counts only for a key whose triad the
    melody sings as fully as any key's: "Mary Had a Little Lamb"'s first phrase (E D C D E E E D D D E G G) read as
    G major and was harmonised with F sharps; now C major (the 20 tunes' fragments 37 -> 42 of 60 in their key;
    the chorale sopranos 264 -> 260)."""
    scores = key_scores(melody.pitch, melody.duration)
    tonic = np.arange(KEY_COUNT) % 12
    present = {int(p) % 12 for p in melody.pitch}
    outlined = np.array([len(present.intersection(tonic_triad(k))) for k in range(KEY_COUNT)])
    # The last note counts for its key only where that key's triad is sung as fully as any: a phrase ending on
    # its dominant (a half cadence) is not read in the dominant's key.
    ends_on = (tonic == int(melody.pitch[-1]) % 12) & ((outlined == outlined.max()) | (not ENDING_NEEDS_FULLEST_TRIAD))
    scores = scores + TONIC_ENDING_BONUS * ends_on
    upbeat_tonic = _tonic_after_upbeat(melody)
    if upbeat_tonic is not None:
        scores = scores + UPBEAT_TONIC_BONUS * (tonic == upbeat_tonic)
    scores = scores + OUTLINED_TRIAD_BONUS * (outlined == 3)
    return key_name(int(np.argmax(np.where(outlined >= min(2, outlined.max()), scores, -np.inf))))


def _tonic_after_upbeat(melody: Melody) -> int | None:
    """The pitch class of a pickup melody's first downbeat note where the note before it lies a fourth below (or a
    fifth above): the upbeat's dominant leading to the tonic. None without a pickup or without that step."""
    if melody.start <= 0:
        return None
    in_bar = np.mod(melody.onset + melody.start, melody.bar_beats)
    downbeats = np.flatnonzero(np.isclose(in_bar, 0.0) | np.isclose(in_bar, melody.bar_beats))
    if not len(downbeats) or downbeats[0] == 0:
        return None
    first, before = int(melody.pitch[downbeats[0]]), int(melody.pitch[downbeats[0] - 1])
    return first % 12 if (first - before) % 12 == 5 else None


def is_diatonic(melody: Melody, key: str) -> bool:
    """Whether every melody note belongs to the key (minor: with its raised sixth and seventh)."""
    return set(int(p) % 12 for p in melody.pitch) <= key_pitch_classes(key)


def harmony_key(melody: Melody, settings: Sampling | None = None) -> tuple[str, bool]:
    """The key a melody is harmonised in ("C:major") and whether it was read from the melody (else the major or
    minor key set in `settings`)."""
    key = settings.key if settings is not None and settings.key else None
    if key and key.split(":")[-1].strip().lower() in KEY_MODES:
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


def harmony_primer(melody: Melody, bar_beats: float | None = None, key: str | None = None) -> pd.DataFrame:
    """A one-beat tonic chord of the melody's key (its own key when none is given), under the melody's first
    note, on the beat before it (in bars of `bar_beats`, else the melody's own, the first note `melody.start`
    beats after a bar line), so the model starts in the key and where in the bar the melody does.
    Its `attrs["key"]` names the key."""
    bar_beats = bar_beats or melody.bar_beats
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
            "bar_beat": [(melody.start - 1.0) % bar_beats] * n,
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
    bar_beats: float | None = None,
) -> list[pd.DataFrame]:
    """Lower voices for `melody`, once per variation: note tables whose `melody` column marks the kept notes.
    Its bars are the melody's own (its time signature and pickup) unless `bar_beats` is given.

    The harmony is written in the melody's key (settings.key, else melody_key); a diatonic melody's harmony
    stays in that key (minor: with its raised sixth and seventh) unless settings.chromatic lets it colour the
    key, and it ends on a cadence (see MelodyGuide)."""
    settings = settings or Sampling()
    if not model.cfg.beats:
        raise SettingsError(NEEDS_BEATS)
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
        if guide.voiced:  # no voice falls silent under a held melody note
            pieces[v] = hold_voices(piece, piece["melody"].to_numpy(bool))
        pieces[v].attrs["key"] = key  # what its report judges the notes under the melody by (harmony_report)
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
    quality = name[len(chord_root(name)) :]
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
        root = chord_root(chord.name)
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


def harmony_midi(notes: pd.DataFrame, melody_program: int, harmony_program: int):
    """A harmonisation as MIDI: the melody with one instrument, the lower voices with another. A four-voice
    harmonisation (a parts model's) has a track per voice: the melody as Soprano, then Alto, Tenor, Bass voice;
    any other has two tracks, melody and harmony."""
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
