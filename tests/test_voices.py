"""Voices read from a note table, and the voice-leading faults counted between consecutive onsets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers_voices import block_chords, lines
from musicrnn.evaluation.voices import (
    SILENT,
    crossings,
    hidden_perfect,
    motion_kinds,
    parallel_perfect,
    voice_grid,
    voice_parts,
    wide_spacing,
)


def test_similar_motion_from_fifth_to_fifth_is_a_parallel_fifth():
    fifths, octaves = parallel_perfect([55, 57], [48, 50])  # C3-G3 up to D3-A3
    assert fifths.tolist() == [True] and octaves.tolist() == [False]


def test_compound_fifths_and_octaves_count_as_parallels():
    fifths, _ = parallel_perfect([67, 69], [48, 50])  # a twelfth to a twelfth
    _, octaves = parallel_perfect([72, 71], [48, 47])  # two octaves to two octaves, both falling
    assert fifths.tolist() == [True] and octaves.tolist() == [True]


def test_contrary_motion_into_a_fifth_is_not_parallel():
    fifths, _ = parallel_perfect([55, 60], [48, 41])  # C3-G3 to F2-C4: the bass falls, the top rises
    assert fifths.tolist() == [False]


def test_a_held_voice_makes_no_parallel():
    fifths, octaves = parallel_perfect([67, 67], [60, 48])  # G4 held over C4 then C3: still a fifth, oblique
    assert not fifths.any() and not octaves.any()


def test_two_voices_leaping_an_octave_together_keep_their_notes_and_make_no_parallel():
    fifths, _ = parallel_perfect([64, 76], [57, 69])  # A3-E4 to A4-E5: the same fifth, an octave higher
    assert fifths.tolist() == [False]


def test_a_phrase_break_of_a_beat_or_more_ends_the_motion_but_a_short_rest_does_not():
    fifth_then_fifth = [[(55, 0, 1), (57, 3, 1)], [(48, 0, 1), (50, 3, 1)]]  # two beats of silence between
    grid = voice_grid(lines(fifth_then_fifth))
    assert grid.linked.tolist() == [False]
    assert not parallel_perfect(grid.pitch[:, 0], grid.pitch[:, 1], grid.linked)[0].any()
    staccato = voice_grid(lines([[(55, 0, 0.5), (57, 1, 1)], [(48, 0, 0.5), (50, 1, 1)]]))  # half a beat apart
    assert staccato.linked.tolist() == [True]
    assert parallel_perfect(staccato.pitch[:, 0], staccato.pitch[:, 1], staccato.linked)[0].tolist() == [True]


def test_a_silent_voice_makes_no_parallel():
    fifths, _ = parallel_perfect([55, SILENT, 57, 59], [48, 48, 50, 52])
    assert fifths.tolist() == [False, False, True]  # only the last move has both voices at both onsets


def test_hidden_octave_needs_the_top_voice_to_leap_in_similar_motion():
    assert hidden_perfect([64, 72], [50, 48]).tolist() == [False]  # top rises, bass falls: contrary
    assert hidden_perfect([64, 72], [52, 60]).tolist() == [False]  # octave to octave: parallel, not hidden
    assert hidden_perfect([64, 72], [55, 60]).tolist() == [True]  # a ninth (E over G) leaps to the octave C-C
    assert hidden_perfect([71, 72], [55, 60]).tolist() == [False]  # the top steps up: allowed


def test_motion_kinds_between_two_voices():
    kinds = motion_kinds([64, 65, 65, 67, 69], [60, 59, 57, 64, 66])
    # E/C -> F/B contrary; -> F/A oblique; -> G/E similar (a minor 6th into a minor 3rd); -> A/F# parallel 3rds
    assert kinds == {"contrary": 1, "oblique": 1, "parallel": 1, "similar": 1}


def test_a_chorale_table_is_read_by_its_voices_top_down():
    piece = block_chords([(72, 67, 64, 48), (74, 67, 62, 43)])
    grid = voice_grid(piece)
    assert grid.by_parts and grid.names == ("Soprano", "Alto", "Tenor", "Bass voice")
    assert grid.pitch.tolist() == [[72, 67, 64, 48], [74, 67, 62, 43]]
    assert grid.starts.all()


def test_a_held_note_sounds_on_at_the_next_onset_and_does_not_start_there():
    piece = lines([[(72, 0, 2)], [(67, 0, 1), (65, 1, 1)]])  # soprano holds over the alto's second note
    grid = voice_grid(piece)
    assert grid.pitch.tolist() == [[72, 67], [72, 65]]
    assert grid.starts.tolist() == [[True, True], [False, True]]


def test_crossing_is_found_where_the_alto_sounds_below_the_tenor():
    piece = block_chords([(72, 67, 64, 48), (72, 60, 64, 48)])
    assert crossings(voice_grid(piece)).tolist() == [False, True]


def test_more_than_an_octave_between_upper_voices_is_wide_but_not_between_tenor_and_bass():
    piece = block_chords([(79, 67, 64, 48), (80, 67, 64, 48), (72, 67, 64, 40)])
    # G5/G4: exactly an octave; G#5/G4: more; C5 over an E2 bass far below: the bass may lie low
    assert wide_spacing(voice_grid(piece)).tolist() == [False, True, False]


def test_without_parts_voices_are_read_by_register_with_the_lowest_note_as_bass():
    chords = pd.DataFrame(
        {"pitch": [48, 55, 64, 72, 50, 57, 65], "beat": [0, 0, 0, 0, 1, 1, 1.0], "duration_beats": 1.0}
    )
    grid = voice_grid(chords)
    assert not grid.by_parts and grid.voices == 4
    # three notes at the second onset: the top two take the upper voices, the lowest the bass
    assert grid.pitch.tolist() == [[72, 64, 55, 48], [65, 57, SILENT, 50]]


def test_a_part_that_plays_chords_is_not_a_voice():
    piano = lines([[(72, 0, 1), (76, 0, 1), (74, 1, 1), (77, 1, 1)], [(48, 0, 2)]], parts=[0, 3])
    assert voice_parts(piano) is None  # the "soprano" plays two notes at once every time: read by register


def test_non_voice_parts_are_voices_by_median_pitch():
    strings, bass = 5, 9  # two instrument families, a high line and a low one
    piece = lines([[(50, 0, 1), (52, 1, 1)], [(76, 0, 1), (77, 1, 1)]], parts=[bass, strings])
    assert voice_parts(piece) == [strings, bass]


def test_a_voice_that_starts_two_notes_rarely_is_still_a_voice_and_keeps_the_outer_note():
    twice = lines([[(72, 0, 1), (76, 0, 1), (74, 1, 1), (60, 2, 1)], [(48, 0, 2), (50, 2, 1)]])
    assert voice_parts(twice) is None  # two notes at one onset of three: more than 10 %, not one singer
    soprano = [(72 + (i % 3), i, 1) for i in range(12)] + [(79, 0, 1)]  # once in twelve onsets
    grid = voice_grid(lines([soprano, [(48, i, 1) for i in range(12)]]))
    assert grid.by_parts and grid.pitch[0, 0] == 79  # of two started together, the top voice keeps the higher
    assert grid.doubled[0, 0] and not grid.doubled[1:, 0].any()
    assert np.array_equal(grid.pitch[:, 1], [48] * 12)
