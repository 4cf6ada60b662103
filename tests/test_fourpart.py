"""Per-piece statistics of four-part music, each checked on a passage small enough to count by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers_voices import block_chords, lines
from musicrnn.evaluation.fourpart import (
    HEADLINE,
    STATISTICS,
    harmonisation_figures,
    piece_key,
    piece_statistics,
    statistics_table,
)


def in_key(table: pd.DataFrame, key: str) -> pd.DataFrame:
    table.attrs["key"] = key
    return table


def test_every_statistic_is_described_and_every_headline_figure_is_a_statistic():
    assert set(HEADLINE) <= set(STATISTICS)
    assert all(len(text) > 10 for text in STATISTICS.values())
    assert len(STATISTICS) >= 90  # enough for a classifier to find what differs


def test_parallel_fifths_and_octaves_between_the_outer_and_any_voices():
    # C major (G4 E4 C4 C3) to D minor (A4 F4 D4 D3), every voice up a step: the outer voices move in fifths
    # (G/C to A/D), soprano and tenor too, and tenor and bass in octaves: three parallels in one move.
    figures = piece_statistics(block_chords([(67, 64, 60, 48), (69, 65, 62, 50)]))
    assert figures["parallels_outer_per_100"] == 100 and figures["parallel_fifths_outer_per_100"] == 100
    assert figures["parallel_octaves_outer_per_100"] == 0
    assert figures["parallels_any_per_100"] == 300
    assert figures["parallel_fifths_any_per_100"] == 200 and figures["parallel_octaves_any_per_100"] == 100


def test_good_voice_leading_from_tonic_to_subdominant_has_no_parallels():
    # C-G-E-C to C-A-F-F: soprano holds, tenor rises to F as the bass falls to F (contrary into the octave)
    figures = piece_statistics(block_chords([(72, 67, 64, 48), (72, 69, 65, 41)]))
    assert figures["parallels_outer_per_100"] == 0 and figures["parallels_any_per_100"] == 0
    assert figures["outer_oblique"] == 1  # the soprano holds


def test_dominant_seventh_to_tonic_is_counted_and_ends_on_the_tonic():
    # G7 (B4 F4 D4 G3) resolving to C (C5 E4 G3 C3)
    figures = piece_statistics(in_key(block_chords([(71, 65, 62, 55), (72, 64, 55, 48)]), "C:major"))
    assert figures["dominant_sevenths"] == 0.5 and figures["major_triads"] == 0.5
    assert figures["non_chord_sonorities"] == 0
    assert figures["root_motion_falling_fifth"] == 1
    assert figures["root_position"] == 1 and figures["tonic_chords"] == 0.5 and figures["dominant_chords"] == 0.5
    assert figures["last_chord_on_tonic"] == 1 and figures["last_bass_on_tonic"] == 1


def test_a_tonic_without_its_fifth_after_a_dominant_seventh_ends_on_the_tonic_but_is_thin():
    # the strict resolution of G7 (B4 F4 D4 G3) leaves C5 E4 C4 C3: no G
    figures = piece_statistics(in_key(block_chords([(71, 65, 62, 55), (72, 64, 60, 48)]), "C:major"))
    assert figures["last_chord_on_tonic"] == 1 and figures["thin_sonorities"] == 0.5


def test_a_dominant_seventh_without_its_fifth_is_still_one():
    figures = piece_statistics(block_chords([(77, 71, 67, 55)]))  # F5 B4 G4 G3: no D
    assert figures["dominant_sevenths"] == 1


def test_a_sonority_that_is_neither_triad_nor_seventh_is_counted_and_a_dyad_is_thin():
    # C-D-E-G (an added ninth), then an open fifth C-G-C-G
    figures = piece_statistics(block_chords([(67, 64, 62, 48), (67, 60, 55, 48)]))
    assert figures["non_chord_sonorities"] == 1  # the only sonority of three pitch classes or more
    assert figures["thin_sonorities"] == 0.5
    assert figures["dissonant_sonorities"] == 0  # C-D and D-E are tones, not semitones


def test_ending_on_the_dominant_is_not_ending_on_the_tonic():
    figures = piece_statistics(in_key(block_chords([(72, 64, 60, 48), (71, 67, 62, 43)]), "C:major"))
    assert figures["last_chord_on_tonic"] == 0 and figures["last_bass_on_tonic"] == 0


def test_a_picardy_third_ends_a_minor_piece_on_its_tonic():
    ending = block_chords([(76, 71, 68, 52), (76, 69, 61, 45)])  # E major to A major in A minor
    assert piece_statistics(in_key(ending, "A:minor"))["last_chord_on_tonic"] == 1
    assert piece_statistics(in_key(ending.copy(), "A:major"))["last_chord_on_tonic"] == 1


def test_range_and_leaps_of_the_top_voice():
    soprano = [(60, 0, 1), (62, 1, 1), (64, 2, 1), (72, 3, 1), (71, 4, 1)]  # steps, a minor 6th up, a step
    figures = piece_statistics(lines([soprano, [(48, i, 1) for i in range(5)]]))
    assert figures["top_range"] == 12
    assert figures["top_leaps"] == 0.25 and figures["top_steps"] == 0.75 and figures["bass_repeats"] == 1


def test_note_lengths_and_onsets_where_all_voices_start_together():
    # four voices in block chords on beats 0 and 1 (one beat long each), the alto adds a passing eighth at 0.5
    piece = lines(
        [
            [(72, 0, 1), (74, 1, 1)],
            [(67, 0, 0.5), (65, 0.5, 0.5), (64, 1, 1)],
            [(64, 0, 1), (60, 1, 1)],
            [(48, 0, 1), (43, 1, 1)],
        ]
    )
    figures = piece_statistics(piece)
    assert figures["one_beat_notes"] == pytest.approx(7 / 9) and figures["duration_eighth"] == pytest.approx(2 / 9)
    assert figures["all_voices_together"] == pytest.approx(2 / 3) and figures["single_note_onsets"] == pytest.approx(
        1 / 3
    )
    assert figures["off_beat_onsets"] == pytest.approx(1 / 3) and figures["gap_eighth"] == 1


def test_share_of_notes_in_the_key():
    piece = in_key(block_chords([(72, 67, 64, 48), (74, 66, 62, 50)]), "C:major")  # the F#4 is outside C major
    assert piece_statistics(piece)["in_key"] == pytest.approx(7 / 8)
    assert piece_statistics(in_key(piece.copy(), "E:minor"))["in_key"] == pytest.approx(1.0)  # F# fits E minor


def test_the_key_is_the_tables_own_else_found_from_its_notes():
    scale = block_chords([(p,) for p in (67, 69, 71, 72, 74, 76, 78, 79)])  # G major scale
    assert piece_key(scale) == "G:major"
    assert piece_key(in_key(scale, "E:minor")) == "E:minor"


def test_crossing_and_spacing_per_100_onsets():
    piece = block_chords([(72, 67, 64, 48), (72, 60, 64, 48), (81, 67, 64, 48), (72, 67, 64, 48)])
    figures = piece_statistics(piece)
    assert figures["crossings_per_100"] == 25 and figures["wide_spacing_per_100"] == 25


def test_voices_read_by_register_cannot_cross_so_crossing_is_not_measured():
    chords = pd.DataFrame({"pitch": [48, 64, 72, 50, 65, 74], "beat": [0, 0, 0, 1, 1, 1.0], "duration_beats": 1.0})
    figures = piece_statistics(chords)
    assert math.isnan(figures["crossings_per_100"]) and math.isnan(figures["doubled_in_voice"])
    assert figures["parallels_outer_per_100"] == 100  # C3-C5 to D3-D5: an octave moving in parallel


def test_an_empty_table_gives_nan_everywhere_and_a_table_has_one_row_per_piece():
    empty = piece_statistics(block_chords([(72, 48)]).iloc[:0])
    assert list(empty) == list(STATISTICS) and all(math.isnan(v) for v in empty.values())
    table = statistics_table([block_chords([(72, 48)]), block_chords([(72, 48), (74, 50)])])
    assert table.shape == (2, len(STATISTICS))


def test_harmonisation_clashes_key_and_ending():
    melody = [(72, 0, 1), (76, 1, 1), (72, 2, 2)]  # C5 E5 C5 (two beats)
    harmony = [(71, 0, 1), (60, 1, 1), (64, 2, 1)]  # B4 under C5: a semitone; C4 under E5; E4 ends a beat early
    piece = lines([melody, harmony])
    figures = harmonisation_figures(piece, piece["part"].to_numpy() == 0)
    assert figures["clashes"] == pytest.approx(1 / 3)
    assert figures["harmony_in_key"] == 1  # B, C, E are all in C major
    assert figures["to_the_end"] == 0 and figures["end_gap_beats"] == 1
    # One harmony part: one note under the melody is full; it stops a beat early (3 of 4 beats). No onset
    # sounds three pitch classes, so there is no chord to judge.
    assert figures["full_harmony"] == pytest.approx(3 / 4) and math.isnan(figures["chords_on_onsets"])


def test_harmonisation_texture_counts_three_voices_under_the_melody_and_chords_on_its_onsets():
    melody = [(72, 0, 2), (74, 2, 2)]  # C5 (two beats), D5
    alto = [(67, 0, 1), (65, 2, 2)]  # G4 for a beat only, then F4
    tenor = [(64, 0, 2), (59, 2, 2)]  # E4, B3
    bass = [(48, 0, 2), (55, 2, 2)]  # C3, G3: C major, then G7 (G B D F)
    piece = lines([melody, alto, tenor, bass])
    figures = harmonisation_figures(piece, piece["part"].to_numpy() == 0)
    assert figures["full_harmony"] == pytest.approx(3 / 4)  # beat 1: the alto is silent
    assert figures["chords_on_onsets"] == 1


def test_harmonisation_counts_a_major_seventh_and_a_minor_ninth_as_clashes_and_a_note_out_of_key():
    melody = [(72, 0, 1), (72, 1, 1), (72, 2, 1)]
    harmony = [(61, 0, 1), (59, 1, 1), (57, 2, 1)]  # C#4 (a major 7th below), B3 (a minor 9th), A3 (a 6th)
    piece = lines([melody, harmony])
    figures = harmonisation_figures(piece, piece["part"].to_numpy() == 0, key="C:major")
    assert figures["clashes"] == pytest.approx(2 / 3) and figures["harmony_in_key"] == pytest.approx(2 / 3)
    assert figures["to_the_end"] == 1 and figures["end_gap_beats"] == 0
    with pytest.raises(ValueError, match="melody notes and harmony notes"):
        harmonisation_figures(piece, np.ones(len(piece), bool))
