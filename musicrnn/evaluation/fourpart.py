"""Per-piece statistics of four-part (or any many-part) music, counted as a teacher of harmony would.

`piece_statistics(notes)` gives about a hundred named figures of one piece, each described in words in
STATISTICS: voice leading (parallel fifths and octaves, crossings, spacing), the chords sounding at each onset
(triads, seventh chords, anything else) and how their roots move, the key (notes in it, scale degrees, the last
chord), each voice's range and motion, and the rhythm. HEADLINE names the dozen that issue 24 judges a model
by; the rest give a classifier (evaluation.twosample) something to find. `harmonisation_figures` measures a
melody's harmonisation (or a chorale's lower voices under its soprano) the same way for models and for Bach.

Voices come from evaluation.voices (the parts where they are voices, else by register). The key is the
table's own (`notes.attrs["key"]`, e.g. "G:major", set by a generator that knows it), else the likeliest key of
its notes, weighted by their durations (theory.find_key). A statistic that cannot be measured in a piece (the
chords of a piece with no three-note sonority) is NaN. Times are in beats (a beat is a quarter note).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..theory import find_key, key_pitch_classes, root_class, tertian_chord
from .musical import pitch_class_entropy, scale_consistency
from .voices import (
    EPSILON,
    SILENT,
    VoiceGrid,
    both_sound,
    crossings,
    hidden_perfect,
    motion_kinds,
    note_grid,
    parallel_perfect,
    sounding_matrix,
    voice_grid,
    wide_spacing,
)

ONE_BEAT = 1.0
LEAP = 4  # semitones: a leap "larger than a major third" is more than this
DEGREES = ("1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7")  # semitones above the tonic
INTERVAL_NAMES = (
    *("unison/octave", "minor 2nd", "major 2nd", "minor 3rd", "major 3rd", "perfect 4th", "tritone"),
    *("perfect 5th", "minor 6th", "major 6th", "minor 7th", "major 7th"),
)
VOICE_SLOTS = ("top", "second", "third", "bass")  # a piece's voices from the top; "bass" is always the lowest
DURATIONS = {  # name -> beats
    "sixteenth": 0.25,
    "eighth": 0.5,
    "dotted_eighth": 0.75,
    "dotted_quarter": 1.5,
    "half": 2.0,
    "dotted_half": 3.0,
}
GAPS = {"sixteenth": 0.25, "eighth": 0.5, "quarter": 1.0, "dotted_quarter": 1.5, "half": 2.0}
ROOT_MOTIONS = {  # name -> root intervals (semitones up, modulo the octave) between consecutive chords
    "same": (0,),
    "falling_fifth": (5,),  # down a fifth or up a fourth: V-I, ii-V
    "rising_fifth": (7,),  # I-V, IV-I
    "step_up": (1, 2),
    "step_down": (10, 11),
    "third_up": (3, 4),
    "third_down": (8, 9),
    "tritone": (6,),
}
CHORD_KINDS = ("major triad", "minor triad", "diminished triad", "augmented triad", "dominant seventh")

STATISTICS: dict[str, str] = {
    # Voice leading
    "parallels_outer_per_100": "parallel fifths and octaves between the top voice and the bass, per 100 onset-to-onset moves",
    "parallel_fifths_outer_per_100": "parallel fifths between the top voice and the bass, per 100 moves",
    "parallel_octaves_outer_per_100": "parallel octaves (and unisons) between the top voice and the bass, per 100 moves",
    "parallels_any_per_100": "parallel fifths and octaves between any two voices, per 100 onset-to-onset moves",
    "parallel_fifths_any_per_100": "parallel fifths between any two voices, per 100 moves",
    "parallel_octaves_any_per_100": "parallel octaves (and unisons) between any two voices, per 100 moves",
    "hidden_outer_per_100": "hidden fifths and octaves: top voice and bass move the same way into a fifth or octave, "
    "the top voice by leap, per 100 moves",
    "crossings_per_100": "onsets where a voice sounds below the voice written under it, per 100 onsets "
    "(NaN where the voices are read by register and cannot cross)",
    "wide_spacing_per_100": "onsets where neighbouring upper voices (soprano-alto, alto-tenor) are more than an "
    "octave apart, per 100 onsets",
    "outer_contrary": "share of the outer voices' moves in contrary motion",
    "outer_oblique": "share of the outer voices' moves in oblique motion (one voice holds or repeats)",
    "outer_parallel": "share of the outer voices' moves in parallel motion (same interval, e.g. parallel thirds)",
    "outer_similar": "share of the outer voices' moves in similar motion into another interval",
    "doubled_in_voice": "share of a voice's onsets where it starts two notes at once (one singer cannot; "
    "NaN where voices are read by register)",
    "rests": "share of onsets where a voice is silent",
    # Chords
    "non_chord_sonorities": "sonorities (the pitch classes sounding at an onset, three or more) that are neither "
    "a triad nor a seventh chord: passing and suspended notes, clusters",
    "dominant_sevenths": "sonorities that are a dominant seventh chord (the fifth may be missing)",
    "major_triads": "sonorities that are a major triad",
    "minor_triads": "sonorities that are a minor triad",
    "diminished_triads": "sonorities that are a diminished triad",
    "augmented_triads": "sonorities that are an augmented triad",
    "other_sevenths": "sonorities that are another seventh chord (major, minor, half-diminished, diminished)",
    "thin_sonorities": "onsets where fewer than three pitch classes sound (an open fifth, an octave, a lone note)",
    "dissonant_sonorities": "onsets where two sounding notes are a semitone (or a major seventh, a minor ninth) apart",
    "root_position": "chords (triads and sevenths) with their root in the bass",
    "tonic_chords": "chords whose root is the tonic",
    "dominant_chords": "chords whose root is the dominant (fifth degree)",
    "subdominant_chords": "chords whose root is the subdominant (fourth degree)",
    "chord_changes_per_beat": "how often the chord changes (root or quality), per beat (the harmonic rhythm)",
    **{
        f"root_motion_{name}": f"chord-to-chord root motion: {name.replace('_', ' ')} (share of consecutive chords)"
        for name in ROOT_MOTIONS
    },
    # Key
    "in_key": "notes in the piece's key (major scale; in minor the natural minor plus raised sixth and seventh)",
    "last_chord_on_tonic": "1 when the last sonority is the tonic chord with the tonic in the bass "
    "(in minor, a major tonic chord - a Picardy third - counts), else 0",
    "last_bass_on_tonic": "1 when the last bass note is the tonic, else 0",
    "pitch_class_entropy": "how evenly the piece uses the twelve pitch classes (bits; 0 = one pitch class)",
    "scale_consistency": "largest share of notes inside one major or natural-minor scale",
    **{f"degree_{name}": f"notes on scale degree {name} (semitones above the tonic)" for name in DEGREES},
    # Voices
    **{
        f"{slot}_{figure}": text.format(slot="bass" if slot == "bass" else f"{slot} voice")
        for slot in VOICE_SLOTS
        for figure, text in (
            ("range", "range of the {slot}, lowest to highest note (semitones)"),
            ("mean_pitch", "mean pitch of the {slot} (MIDI number; 60 = middle C)"),
            ("steps", "share of the {slot}'s moves by step (a semitone or a tone)"),
            ("leaps", "share of the {slot}'s moves that leap more than a major third"),
            ("repeats", "share of the {slot}'s moves that repeat the note"),
        )
    },
    **{
        f"melodic_{name}": f"moves within a voice of {text} (share of all voices' moves)"
        for name, text in (
            ("unison", "a repeated note"),
            ("semitone", "a semitone"),
            ("tone", "a whole tone"),
            ("minor_third", "a minor third"),
            ("major_third", "a major third"),
            ("fourth", "a perfect fourth"),
            ("tritone", "a tritone"),
            ("fifth", "a perfect fifth"),
            ("sixth_seventh", "a sixth or a seventh"),
            ("octave", "an octave"),
            ("over_octave", "more than an octave"),
        )
    },
    "melodic_rising": "moves within a voice that rise (share of moves that change the pitch)",
    **{
        f"outer_interval_{i}": f"onsets where the top voice sounds a {name} (modulo the octave) above the bass"
        for i, name in enumerate(INTERVAL_NAMES)
    },
    # Rhythm
    "one_beat_notes": "notes one beat (a quarter note) long",
    **{f"duration_{name}": f"notes {name.replace('_', ' ')} long" for name in DURATIONS},
    "duration_whole_or_longer": "notes four beats long or longer",
    "duration_other": "notes of any other length",
    **{f"gap_{name}": f"onset-to-onset gaps of a {name.replace('_', ' ')}" for name in GAPS},
    "gap_other": "onset-to-onset gaps of any other length",
    "all_voices_together": "onsets where every voice starts a note together",
    "single_note_onsets": "onsets where a single note starts (the other voices hold)",
    "notes_per_onset": "mean number of notes starting at an onset",
    "voices_sounding": "mean number of voices sounding at an onset",
    "off_beat_onsets": "onsets between the beats",
    "downbeat_onsets": "onsets on the first beat of a bar",
    "notes_per_beat": "notes per beat",
}
HEADLINE = (  # what issue 24 judges a model by (bench/musicality.py prints their targets)
    "parallels_outer_per_100",
    "parallels_any_per_100",
    "crossings_per_100",
    "wide_spacing_per_100",
    "non_chord_sonorities",
    "dominant_sevenths",
    "top_range",
    "top_leaps",
    "one_beat_notes",
    "all_voices_together",
    "in_key",
    "last_chord_on_tonic",
)


def piece_key(notes: pd.DataFrame) -> str:
    """The piece's key: its own (`notes.attrs["key"]`), else the likeliest by its notes and their durations."""
    own = notes.attrs.get("key")
    if own:
        return str(own)
    duration = notes["duration_beats"] if "duration_beats" in notes else notes["duration"]
    return find_key(notes["pitch"].to_numpy(np.int64), duration.to_numpy(np.float64))


def piece_statistics(notes: pd.DataFrame, key: str | None = None) -> dict[str, float]:
    """Every statistic in STATISTICS for one note table (columns pitch, beat, duration_beats, and where there
    are parts, part; bar_beat for the downbeats), in the order of STATISTICS."""
    if not len(notes):
        return {name: float("nan") for name in STATISTICS}
    key = key or piece_key(notes)
    tonic = root_class(key.partition(":")[0])
    minor = key.partition(":")[2].strip().lower() == "minor"
    grid = voice_grid(notes)
    pitch = notes["pitch"].to_numpy(np.int64)
    figures: dict[str, float] = {}
    figures.update(_voice_leading(grid))
    figures.update(_chords(grid, int(tonic or 0), minor))
    figures.update(_key(pitch, key, int(tonic or 0)))
    figures.update(_voices(grid))
    figures.update(_rhythm(notes, grid))
    return {name: float(figures[name]) for name in STATISTICS}


def statistics_table(pieces: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """piece_statistics of many pieces: one row per piece, one column per statistic."""
    return pd.DataFrame([piece_statistics(piece) for piece in pieces], columns=list(STATISTICS))


# ---------------------------------------------------------------- the parts of piece_statistics


def _share(count: float, total: float) -> float:
    return float(count) / total if total else float("nan")


def _voice_leading(grid: VoiceGrid) -> dict[str, float]:
    top, bass, linked = grid.pitch[:, 0], grid.pitch[:, -1], grid.linked
    fifths, octaves = parallel_perfect(top, bass, linked)
    outer_moves = both_sound(top, bass, linked).sum()
    any_fifths = any_octaves = 0
    judged = np.zeros(max(len(grid.onsets) - 1, 0), bool)
    for upper in range(grid.voices):
        for lower in range(upper + 1, grid.voices):
            f, o = parallel_perfect(grid.pitch[:, upper], grid.pitch[:, lower], linked)
            any_fifths, any_octaves = any_fifths + f.sum(), any_octaves + o.sum()
            judged |= both_sound(grid.pitch[:, upper], grid.pitch[:, lower], linked)
    several = (grid.pitch >= 0).sum(axis=1) >= 2  # onsets where voices can cross or be spaced
    motion = motion_kinds(top, bass, linked)
    moved = sum(motion.values())
    starts = grid.starts.sum()
    return {
        "parallels_outer_per_100": 100 * _share(fifths.sum() + octaves.sum(), outer_moves),
        "parallel_fifths_outer_per_100": 100 * _share(fifths.sum(), outer_moves),
        "parallel_octaves_outer_per_100": 100 * _share(octaves.sum(), outer_moves),
        "parallels_any_per_100": 100 * _share(any_fifths + any_octaves, judged.sum()),
        "parallel_fifths_any_per_100": 100 * _share(any_fifths, judged.sum()),
        "parallel_octaves_any_per_100": 100 * _share(any_octaves, judged.sum()),
        "hidden_outer_per_100": 100 * _share(hidden_perfect(top, bass, linked).sum(), outer_moves),
        "crossings_per_100": 100 * _share(crossings(grid)[several].sum(), several.sum())
        if grid.by_parts
        else float("nan"),
        "wide_spacing_per_100": 100 * _share(wide_spacing(grid)[several].sum(), several.sum())
        if grid.voices >= 3
        else float("nan"),
        **{f"outer_{kind}": _share(count, moved) for kind, count in motion.items()},
        "doubled_in_voice": _share(grid.doubled.sum(), starts) if grid.by_parts else float("nan"),
        "rests": float((grid.pitch == SILENT).mean()),
    }


def _chords(grid: VoiceGrid, tonic: int, minor: bool) -> dict[str, float]:
    kinds = dict.fromkeys(CHORD_KINDS, 0)
    other_sevenths = neither = thin = dissonant = with_two = root_position = 0
    roots: list[int] = []
    names: list[tuple[int, str]] = []
    for sounding in grid.sounding:
        classes = sorted(set((sounding % 12).tolist()))
        if len(classes) >= 2:
            with_two += 1
            dissonant += any((b - a) % 12 in (1, 11) for i, a in enumerate(classes) for b in classes[i + 1 :])
        if len(classes) < 3:
            thin += 1
            continue
        chord = tertian_chord(classes)
        if chord is None:
            neither += 1
            continue
        root, quality = chord
        if quality in kinds:
            kinds[quality] += 1
        else:
            other_sevenths += 1
        root_position += int(sounding[0] % 12 == root)
        roots.append(root)
        names.append(chord)
    judged = sum(kinds.values()) + other_sevenths + neither
    chords = len(roots)
    motion = np.mod(np.diff(roots), 12) if chords > 1 else np.zeros(0, np.int64)
    changes = sum(a != b for a, b in zip(names, names[1:]))
    span = float(grid.onsets[-1] - grid.onsets[0]) if len(grid.onsets) > 1 else 0.0
    relative = (np.asarray(roots, np.int64) - tonic) % 12
    return {
        "non_chord_sonorities": _share(neither, judged),
        "dominant_sevenths": _share(kinds["dominant seventh"], judged),
        "major_triads": _share(kinds["major triad"], judged),
        "minor_triads": _share(kinds["minor triad"], judged),
        "diminished_triads": _share(kinds["diminished triad"], judged),
        "augmented_triads": _share(kinds["augmented triad"], judged),
        "other_sevenths": _share(other_sevenths, judged),
        "thin_sonorities": _share(thin, len(grid.sounding)),
        "dissonant_sonorities": _share(dissonant, with_two),
        "root_position": _share(root_position, chords),
        "tonic_chords": _share((relative == 0).sum(), chords),
        "dominant_chords": _share((relative == 7).sum(), chords),
        "subdominant_chords": _share((relative == 5).sum(), chords),
        "chord_changes_per_beat": _share(changes, span),
        **{
            f"root_motion_{name}": _share(np.isin(motion, steps).sum(), len(motion))
            for name, steps in ROOT_MOTIONS.items()
        },
        **_last_chord(grid, tonic, minor),
    }


def _harmony_texture(notes: pd.DataFrame, melody: np.ndarray, beat: np.ndarray, end: np.ndarray) -> dict[str, float]:
    """full_harmony and chords_on_onsets of harmonisation_figures."""
    pitch = notes["pitch"].to_numpy(np.int64)
    parts = notes["part"].to_numpy()[~melody] if "part" in notes else np.zeros(int((~melody).sum()))
    needed = min(3, len(np.unique(parts)))
    times = np.arange(float(beat[melody].min()), float(end[melody].max()) - EPSILON, 0.25)
    under = sounding_matrix(beat[~melody], end[~melody], times).sum(axis=1) >= needed
    onsets = np.unique(beat[melody])
    sounding = sounding_matrix(beat, end, onsets)
    chords = [tertian_chord(set(pitch[row] % 12)) is not None for row in sounding if len(set(pitch[row] % 12)) >= 3]
    return {
        "full_harmony": float(under.mean()) if len(times) else float("nan"),
        "chords_on_onsets": float(np.mean(chords)) if chords else float("nan"),
    }


def _last_chord(grid: VoiceGrid, tonic: int, minor: bool) -> dict[str, float]:
    last = grid.sounding[-1] if grid.sounding else np.zeros(0, np.int64)
    if not len(last):
        return {"last_chord_on_tonic": float("nan"), "last_bass_on_tonic": float("nan")}
    classes = set(((last - tonic) % 12).tolist())
    tonic_chord = {0, 3, 4, 7} if minor else {0, 4, 7}  # minor: a Picardy third ends many minor chorales
    bass_on_tonic = int(last[0] % 12 == tonic)
    return {
        "last_chord_on_tonic": float(bass_on_tonic and classes <= tonic_chord and not {3, 4} <= classes),
        "last_bass_on_tonic": float(bass_on_tonic),
    }


def _key(pitch: np.ndarray, key: str, tonic: int) -> dict[str, float]:
    degrees = np.bincount((pitch - tonic) % 12, minlength=12) / len(pitch)
    return {
        "in_key": float(np.isin(pitch % 12, sorted(key_pitch_classes(key))).mean()),
        "pitch_class_entropy": pitch_class_entropy(pitch),
        "scale_consistency": scale_consistency(pitch),
        **{f"degree_{name}": float(share) for name, share in zip(DEGREES, degrees)},
    }


def _slots(voices: int) -> dict[str, int]:
    """Which of a piece's voices (0 = top) fills each of VOICE_SLOTS: top and bass always; the second and third
    voices from the top where there are three and four voices."""
    slots = {"top": 0, "bass": voices - 1}
    if voices >= 3:
        slots["second"] = 1
    if voices >= 4:
        slots["third"] = 2
    return slots


def voice_notes(grid: VoiceGrid, voice: int) -> np.ndarray:
    """The pitches a voice starts, in order (its line)."""
    return grid.pitch[grid.starts[:, voice], voice]


def _voices(grid: VoiceGrid) -> dict[str, float]:
    figures: dict[str, float] = {}
    slots = _slots(grid.voices)
    moves_all = []
    for slot in VOICE_SLOTS:
        line = voice_notes(grid, slots[slot]) if slot in slots else np.zeros(0, np.int64)
        moves = np.abs(np.diff(line))
        figures[f"{slot}_range"] = float(line.max() - line.min()) if len(line) else float("nan")
        figures[f"{slot}_mean_pitch"] = float(line.mean()) if len(line) else float("nan")
        figures[f"{slot}_steps"] = _share(((moves >= 1) & (moves <= 2)).sum(), len(moves))
        figures[f"{slot}_leaps"] = _share((moves > LEAP).sum(), len(moves))
        figures[f"{slot}_repeats"] = _share((moves == 0).sum(), len(moves))
    for voice in range(grid.voices):
        moves_all.append(np.diff(voice_notes(grid, voice)))
    moves = np.concatenate(moves_all) if moves_all else np.zeros(0, np.int64)
    size = np.abs(moves)
    bins = {
        "unison": size == 0,
        "semitone": size == 1,
        "tone": size == 2,
        "minor_third": size == 3,
        "major_third": size == 4,
        "fourth": size == 5,
        "tritone": size == 6,
        "fifth": size == 7,
        "sixth_seventh": (size >= 8) & (size <= 11),
        "octave": size == 12,
        "over_octave": size > 12,
    }
    figures.update({f"melodic_{name}": _share(chosen.sum(), len(size)) for name, chosen in bins.items()})
    figures["melodic_rising"] = _share((moves > 0).sum(), (moves != 0).sum())
    top, bass = grid.pitch[:, 0], grid.pitch[:, -1]
    both = (top >= 0) & (bass >= 0)
    intervals = np.bincount((top[both] - bass[both]) % 12, minlength=12)
    figures.update({f"outer_interval_{i}": _share(count, both.sum()) for i, count in enumerate(intervals)})
    return figures


def _rhythm(notes: pd.DataFrame, grid: VoiceGrid) -> dict[str, float]:
    beat, end, onsets = note_grid(notes)
    duration = end - beat
    near = lambda values, target: np.abs(values - target) < EPSILON  # noqa: E731 - a one-line predicate
    named = {name: near(duration, beats) for name, beats in DURATIONS.items()}
    one_beat = near(duration, ONE_BEAT)
    whole = duration >= 4.0 - EPSILON
    other = ~(one_beat | whole | np.any(list(named.values()), axis=0))
    gaps = np.diff(onsets)
    gap_named = {name: near(gaps, beats) for name, beats in GAPS.items()}
    gap_other = ~np.any(list(gap_named.values()), axis=0) if len(gaps) else np.zeros(0, bool)
    starting = np.unique(beat, return_counts=True)[1]
    bar_beat = notes["bar_beat"].to_numpy(np.float64) if "bar_beat" in notes else None
    first_of_onset = np.unique(beat, return_index=True)[1]
    span = float(end.max() - beat.min())
    return {
        "one_beat_notes": float(one_beat.mean()),
        **{f"duration_{name}": float(chosen.mean()) for name, chosen in named.items()},
        "duration_whole_or_longer": float(whole.mean()),
        "duration_other": float(other.mean()),
        **{f"gap_{name}": _share(chosen.sum(), len(gaps)) for name, chosen in gap_named.items()},
        "gap_other": _share(gap_other.sum(), len(gaps)),
        "all_voices_together": float(grid.starts.all(axis=1).mean()),
        "single_note_onsets": float((starting == 1).mean()),
        "notes_per_onset": float(starting.mean()),
        "voices_sounding": float((grid.pitch >= 0).sum(axis=1).mean()),
        "off_beat_onsets": float((~near(np.mod(onsets + 0.5, 1.0), 0.5)).mean()),
        "downbeat_onsets": float(near(np.asarray(bar_beat)[first_of_onset], 0.0).mean())
        if bar_beat is not None
        else float("nan"),
        "notes_per_beat": _share(len(beat), span),
    }


# ---------------------------------------------------------------- a melody and the notes under it


def harmonisation_figures(notes: pd.DataFrame, melody: np.ndarray, key: str | None = None) -> dict[str, float]:
    """How a harmony sits under its melody (`melody`: which notes are the melody's; for a chorale, its Soprano):

    - harmony_in_key: share of the harmony's notes in the melody's key (its own key by default, from the
      melody's notes and durations: theory.find_key);
    - clashes: share of melody notes against which a harmony note sounds a semitone, a major seventh or a minor
      ninth (any distance of 1 or 11 semitones modulo the octave) when the melody note starts;
    - to_the_end: 1 when the harmony sounds until the melody's last note ends, else 0;
      end_gap_beats: how many beats before that it stops (0 when it lasts);
    - last_chord_on_tonic: as in piece_statistics, in the melody's key;
    - full_harmony: share of the melody's time (in quarter beats) with at least three harmony notes sounding
      under it (as many as the harmony has parts, where it has fewer);
    - chords_on_onsets: share of the melody onsets where three or more pitch classes sound whose sound is a
      triad or seventh chord (theory.tertian_chord)."""
    melody = np.asarray(melody, bool)
    pitch = notes["pitch"].to_numpy(np.int64)
    beat, end, _ = note_grid(notes)
    if not melody.any() or melody.all():
        raise ValueError("a harmonisation needs melody notes and harmony notes")
    duration = end - beat
    key = key or find_key(pitch[melody], duration[melody])
    melody_onsets = beat[melody]
    sounds = sounding_matrix(beat[~melody], end[~melody], melody_onsets)  # (melody notes, harmony notes)
    distance = (pitch[melody][:, None] - pitch[~melody][None, :]) % 12
    clashes = (sounds & np.isin(distance, (1, 11))).any(axis=1)
    gap = max(0.0, float(end[melody].max() - end[~melody].max()))
    tonic = int(root_class(key.partition(":")[0]) or 0)
    grid = voice_grid(notes)
    return {
        **_harmony_texture(notes, melody, beat, end),
        "harmony_in_key": float(np.isin(pitch[~melody] % 12, sorted(key_pitch_classes(key))).mean()),
        "clashes": float(clashes.mean()),
        "to_the_end": float(gap <= EPSILON),
        "end_gap_beats": gap,
        "last_chord_on_tonic": _last_chord(grid, tonic, key.endswith("minor"))["last_chord_on_tonic"],
    }
