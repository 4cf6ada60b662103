"""Note names, scales and chord tables, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from musicrnn.theory import (
    CHORD_QUALITIES,
    PITCH_CLASSES,
    SCALES,
    note_name,
    parse_pitch,
    root_class,
    scale_pitch_classes,
)


def test_note_names_use_scientific_octaves_with_middle_c_as_c4():
    assert [note_name(p) for p in (0, 60, 61, 69, 127)] == ["C-1", "C4", "C#4", "A4", "G9"]


def test_parse_pitch_reads_sharps_flats_and_enharmonic_octave_crossings():
    assert [parse_pitch(text) for text in ("C4", "F#3", "Bb2", "B#3", "Cb4")] == [60, 54, 46, 60, 59]
    assert all(parse_pitch(note_name(p)) == p for p in range(PITCH_CLASSES))


@pytest.mark.parametrize("text", ["H4", "C", "G#9"])
def test_parse_pitch_names_what_it_cannot_read(text):
    with pytest.raises(ValueError, match=text):
        parse_pitch(text)


def test_root_class_accepts_flats_and_refuses_other_text():
    assert [root_class(name) for name in ("C", "f#", "Bb", "Cb", "E#")] == [0, 6, 10, 11, 5]
    assert root_class("X") is None


def test_scale_pitch_classes_of_a_key_and_its_errors():
    assert scale_pitch_classes("D:minor") == {2, 4, 5, 7, 9, 10, 0}
    assert scale_pitch_classes("Bb") == {10, 0, 2, 3, 5, 7, 9}  # major when no scale is named
    with pytest.raises(ValueError, match="unknown key"):
        scale_pitch_classes("C:lydian")


def test_every_scale_and_chord_starts_on_its_root_within_one_octave():
    for steps in [*SCALES.values(), *CHORD_QUALITIES.values()]:
        assert steps[0] == 0 and all(0 <= step < 12 for step in steps)


def test_find_key_names_the_key_of_a_scale_and_of_a_tune():
    from musicrnn.theory import find_key, key_index, key_name, parse_pitch

    g_major = [parse_pitch(n) for n in ("G3", "A3", "B3", "C4", "D4", "E4", "F#4", "G4")]
    assert find_key(g_major, [4, 1, 1, 1, 2, 1, 1, 4]) == "G:major"
    # "Greensleeves"-like A minor opening: A C D E F E D B G A B C A A G# A
    tune = [parse_pitch(n) for n in "A4 C5 D5 E5 F5 E5 D5 B4 G4 A4 B4 C5 A4 A4 G#4 A4".split()]
    assert find_key(tune) == "A:minor"
    assert [key_name(key_index(k)) for k in ("C:major", "Bb:major", "F#:minor")] == ["C:major", "A#:major", "F#:minor"]
    assert find_key([]) == "C:major"


def test_key_pitch_classes_allow_the_raised_sixth_and_seventh_in_minor():
    from musicrnn.theory import key_pitch_classes

    assert key_pitch_classes("C:major") == {0, 2, 4, 5, 7, 9, 11}
    assert key_pitch_classes("A:minor") == {9, 11, 0, 2, 4, 5, 7} | {6, 8}  # F# and G#


def test_tertian_chord_names_triads_and_sevenths_in_any_inversion_and_nothing_else():
    from musicrnn.theory import tertian_chord

    assert tertian_chord([4, 7, 0]) == (0, "major triad")  # C major in first inversion
    assert tertian_chord([9, 0, 4]) == (9, "minor triad")
    assert tertian_chord([11, 2, 5]) == (11, "diminished triad")
    assert tertian_chord([7, 11, 2, 5]) == (7, "dominant seventh")
    assert tertian_chord([7, 11, 5]) == (7, "dominant seventh")  # without its fifth
    assert tertian_chord([2, 5, 9, 0]) == (2, "minor seventh")
    assert tertian_chord([11, 2, 5, 9]) == (11, "half-diminished seventh")
    assert tertian_chord([0, 2, 4, 7]) is None  # an added ninth
    assert tertian_chord([0, 7]) is None and tertian_chord([0, 1, 2]) is None


def test_pitches_are_spelt_in_their_key_without_double_sharps_or_flats():
    from musicrnn.theory import spelled_name, written_key

    assert spelled_name(70, "F:major") == "Bb4" and spelled_name(70, "B:major") == "A#4"
    assert [spelled_name(p, "A:minor") for p in (68, 63, 70)] == ["G#4", "D#4", "Bb4"]  # leading note, #4, Neapolitan
    assert [spelled_name(p, "C:major") for p in (61, 63, 66, 68, 70)] == ["C#4", "Eb4", "F#4", "G#4", "Bb4"]
    assert spelled_name(67, "B:major") == "G4"  # not F##4
    assert spelled_name(60, "C#:major") == "C4" and written_key("C#:major") == ("Db", "major")
    assert written_key("A#:major") == ("Bb", "major") and written_key("D:dorian") == ("D", "minor")
    keys = ("C:major", "F#:major", "Db:major", "Eb:minor", "G#:minor", "D:dorian")
    assert all(parse_pitch(spelled_name(p, k)) == p for p in range(PITCH_CLASSES) for k in keys)
