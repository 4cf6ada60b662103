"""Part-writing rules under a melody: chords of the key, complete chords, room for the alto, no parallels,
passing notes by step, voices held to their next note."""

import numpy as np
import pandas as pd

from musicrnn.part_writing import (
    chord_pitches,
    completing_pitches,
    first_possible,
    hold_voices,
    key_chords,
    leaving_room,
    parallel_pitches,
    passing_pitches,
)
from musicrnn.theory import key_index, tertian_chord


def classes(*pitch_classes: int) -> np.ndarray:
    mask = np.zeros(12, bool)
    mask[list(pitch_classes)] = True
    return mask


def test_key_chords_are_the_triads_and_sevenths_inside_the_key():
    chords = key_chords(key_index("C:major"))
    spelled = {frozenset(np.flatnonzero(row)) for row in chords}
    assert frozenset({0, 4, 7}) in spelled and frozenset({7, 11, 2, 5}) in spelled  # C major, G7
    assert frozenset({2, 6, 9}) not in spelled  # D major has an F sharp
    assert all(tertian_chord(chord) is not None for chord in spelled)
    assert len(key_chords(None)) > len(chords)  # any key: chromatic chords too


def test_chord_pitches_hold_the_melody_and_the_voices_written():
    chords = key_chords(key_index("C:major"))
    allowed = chord_pitches(chords, classes(0, 7))  # C in the melody, G in the bass
    assert allowed[64] and allowed[60] and allowed[69]  # E (C major), C, A (A minor seventh)
    assert not allowed[62] and not allowed[65]  # D, F: no C-major-key chord holds C, G and either
    assert chord_pitches(chords, classes(0, 1)).all()  # no chord holds C and C sharp: no rule


def test_the_last_voice_completes_the_chord():
    complete = completing_pitches(key_chords(None), classes(0, 7))  # C and G sound: E or E flat makes a triad
    assert complete[64] and complete[63] and not complete[60] and not complete[67]
    assert not completing_pitches(key_chords(key_index("C:major")), classes(0, 7))[63]  # no E flat in C major


def test_the_tenor_leaves_room_for_the_alto_under_the_melody():
    sounding = classes(0, 4)  # melody E4 (64) over a bass C
    candidates = np.zeros(128, bool)
    candidates[[55, 60, 62]] = True  # G3, C4, D4
    room = leaving_room(key_chords(None), candidates, sounding, melody_pitch=64)
    assert room[55]  # G3: C, E, G is a chord already, so the alto can double C4 or E4...
    assert not room[62]  # D4: only D sharp 4 lies below E4, and C, D, D sharp, E is no chord
    # Under the final note of a cadence only the tonic triad counts: melody G4 over a bass C, a tenor on C4
    # leaves E4 for the alto, one on E4 leaves only F4 and F sharp 4.
    final, tenor = classes(0, 4, 7)[None, :], np.zeros(128, bool)
    tenor[[60, 64]] = True
    room = leaving_room(final, tenor, classes(0, 7), melody_pitch=67)
    assert room[60] and not room[64]


def test_parallel_fifths_and_octaves_are_kept_out_with_any_moving_voice():
    # The bass moved C3 -> D3 under a voice that sounded G3 (a fifth): A3 would be parallel fifths.
    banned = parallel_pitches(before=55, others=[(48, 50)])
    assert banned[57] and not banned[53] and not banned[55]  # A3 banned; F3 (contrary), G3 (held) are fine
    assert not parallel_pitches(before=52, others=[(48, 50)]).any()  # a third is not a perfect interval
    assert not parallel_pitches(before=-1, others=[(48, 50)]).any()


def test_a_passing_note_moves_by_step_or_to_a_chord_note_and_never_repeats():
    allowed = passing_pitches(before=60, chord=classes(0, 4, 7))
    assert allowed[62] and allowed[58] and allowed[64] and allowed[55]
    assert not allowed[60] and not allowed[66]  # repeated; F sharp is neither a step nor in the chord


def test_first_possible_falls_back_in_order():
    empty, some = np.zeros(4, bool), np.array([0, 1, 0, 0], bool)
    assert first_possible(iter([empty, some]), np.ones(4, bool)) is some
    assert first_possible(iter([empty]), np.ones(4, bool)).all()


def test_voices_are_held_to_their_next_note_or_the_next_melody_onset():
    rows = [  # beat, duration, pitch, part, melody
        (0.0, 2.0, 67, 0, True),
        (0.0, 1.0, 48, 3, False),  # bass: to beat 2 (the next melody onset)
        (0.0, 0.5, 55, 2, False),  # tenor: to its passing note at 1.0
        (1.0, 0.5, 57, 2, False),  # the passing note: to beat 2
        (0.0, 3.0, 60, 1, False),  # alto: longer than the melody note, kept, but not past the melody's end
        (2.0, 1.0, 65, 0, True),
    ]
    beat, duration, pitch, part, melody = map(np.array, zip(*rows))
    piece = pd.DataFrame(
        {"pitch": pitch, "beat": beat, "duration_beats": duration, "part": part, "bpm": 120.0, "start": beat / 2}
    )
    held = hold_voices(piece, melody.astype(bool))
    assert held["duration_beats"].tolist() == [2.0, 2.0, 1.0, 1.0, 3.0, 1.0]
    assert np.allclose(held["duration"], held["duration_beats"] / 2) and np.allclose(
        held["end"], held["start"] + held["duration"]
    )
