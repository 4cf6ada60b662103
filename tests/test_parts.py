"""Parts: track names and General MIDI programs grouped into one vocabulary shared by every file."""

from __future__ import annotations

import io

import mido
import pretty_midi
import pytest

from musicrnn.midi import midi_bytes, notes_to_midi
from musicrnn.midi_load import load_one
from musicrnn.parts import (
    DRUM_CHANNEL,
    DRUMS_PART,
    PART_CLASSES,
    PART_NAMES,
    VOICE_LINEUPS,
    default_programs,
    part_name,
    part_of_track,
    sounding_program,
)


def _file(tracks, drums=()) -> bytes:
    """MIDI bytes of (name, program, pitches) tracks playing together, plus an optional drum track."""
    pm = pretty_midi.PrettyMIDI()
    for name, program, pitches in tracks:
        instrument = pretty_midi.Instrument(program=program, name=name)
        for i, pitch in enumerate(pitches):
            instrument.notes.append(pretty_midi.Note(90, pitch, i * 0.5, i * 0.5 + 0.45))
        pm.instruments.append(instrument)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True, name="Kit")
        for i, key in enumerate(drums):
            kit.notes.append(pretty_midi.Note(90, key, i * 0.5, i * 0.5 + 0.1))
        pm.instruments.append(kit)
    return midi_bytes(pm)


def test_vocabulary_holds_voices_families_and_drums():
    assert PART_CLASSES == 21 and PART_NAMES[:4] == ("Soprano", "Alto", "Tenor", "Bass voice")
    assert "Strings" in PART_NAMES and "Bass" in PART_NAMES and PART_NAMES[DRUMS_PART] == "Drums"


@pytest.mark.parametrize(
    "program, name, expected",
    [
        (0, "Soprano", "Soprano"),
        (0, "Alto", "Alto"),
        (0, "Tenor", "Tenor"),
        (0, "Bass", "Bass voice"),
        (52, "Bass", "Bass voice"),  # a choir sound named Bass is the voice
        (33, "Bass", "Bass"),  # an electric bass named Bass is the instrument family
        (40, "Violin I", "Strings"),
        (42, "", "Strings"),
        (24, "", "Guitar"),
        (56, "Trumpet", "Brass"),
        (0, "", "Piano"),  # no name, no program: General MIDI's default, a piano
    ],
)
def test_part_of_track_from_name_and_program(program, name, expected):
    assert part_name(part_of_track(program, name)) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Violin I", "Strings"),
        ("Violoncello", "Strings"),
        ("Contrabass", "Strings"),
        ("Double bass", "Strings"),
        ("Flute", "Pipe"),
        ("Bassoon", "Reed"),
        ("Electric Bass", "Bass"),
        ("Church organ", "Organ"),
    ],
)
def test_a_track_without_a_program_is_named_by_its_name(name, expected):
    assert part_name(part_of_track(0, name)) == expected


@pytest.mark.parametrize(
    "name, program",
    [
        ("Violino I.", 40),
        ("Violino II", 40),
        ("Vl. 1", 40),
        ("Viola", 41),
        ("Vla.", 41),
        ("Vc.", 42),
        ("Violoncello", 42),
        ("Cb.", 43),
        ("Violone", 43),
        ("Kontrabass", 43),
        ("Fl.", 73),
        ("Flauto traverso", 73),
        ("Ob.", 68),
        ("Clarinetto in B", 71),
        ("Fagotto", 70),
        ("Fag.", 70),
        ("Corno I", 60),
        ("Cor.", 60),
        ("Tromba", 56),
        ("Trompete", 56),
        ("Cembalo", 6),
        ("Organo", 19),
        ("Timpani", 47),
        ("Corno inglese", 69),
    ],
)
def test_instrument_names_in_other_languages_and_abbreviations_are_read(name, program):
    assert sounding_program(0, name) == program


@pytest.mark.parametrize(
    "name, voice",
    [("Sopran", "Soprano"), ("Canto", "Soprano"), ("Alt", "Alto"), ("Tenore", "Tenor"), ("Basso", "Bass voice")],
)
def test_voice_names_in_other_languages_are_read_as_voices(name, voice):
    assert part_name(part_of_track(0, name)) == voice


def test_two_violins_are_a_soprano_and_an_alto_and_a_trio_keeps_its_bass_low():
    from musicrnn.parts import parts_of_tracks

    duet = parts_of_tracks([(40, "Violino I.", False, 76.0), (40, "Violino II.", False, 70.0)])
    assert [part_name(p) for p in duet] == ["Soprano", "Alto"]  # not a "Bass voice" that plays at C6
    trio = parts_of_tracks(
        [(0, "Violino I.", False, 75.0), (0, "Violino II.", False, 71.0), (0, "Violone", False, 48.0)]
    )
    assert [part_name(p) for p in trio] == ["Soprano", "Alto", "Bass voice"]
    quartet = parts_of_tracks(
        [(40, "", False, 76.0), (40, "", False, 68.0), (41, "", False, 61.0), (42, "", False, 50.0)]
    )
    assert [part_name(p) for p in quartet] == ["Soprano", "Alto", "Tenor", "Bass voice"]


def test_drum_tracks_are_the_drums_part_whatever_their_program():
    assert part_of_track(25, "Guitar", is_drum=True) == DRUMS_PART


def test_note_table_keeps_each_notes_part_and_track():
    data = _file([("Soprano", 0, [72, 74]), ("Alto", 0, [67, 69]), ("Tenor", 0, [64, 65]), ("Bass", 0, [48, 50])])
    notes = load_one("satb.mid", data).notes
    names = {part_name(p) for p in notes["part"]}
    assert names == {"Soprano", "Alto", "Tenor", "Bass voice"}
    bass = notes[notes["pitch"] < 55]
    assert set(bass["part"].map(part_name)) == {"Bass voice"} and set(bass["track"]) == {3}


def test_a_file_whose_tracks_set_no_program_still_gets_parts():
    # No program-change event at all: pretty_midi reads program 0; the names say what plays.
    pm = mido.MidiFile(type=1)
    for name, pitch in (("Violin", 76), ("Flute", 84), ("", 60)):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)] if name else [])
        track += [
            mido.Message("note_on", note=pitch, velocity=90, time=0),
            mido.Message("note_off", note=pitch, time=480),
        ]
        pm.tracks.append(track)
    buffer = io.BytesIO()
    pm.save(file=buffer)
    notes = load_one("unset.mid", buffer.getvalue()).notes
    assert dict(zip(notes["pitch"], notes["part"].map(part_name))) == {76: "Strings", 84: "Pipe", 60: "Piano"}
    # ...and the program it is heard with: a model's "own" instruments play the violin as a violin.
    assert dict(zip(notes["pitch"], notes["program"])) == {76: 40, 84: 73, 60: 0}


def test_a_set_program_is_kept_whatever_the_track_is_called():
    assert sounding_program(41, "Violin I") == 41  # a viola named like a violin stays a viola
    assert sounding_program(0, "Soprano") == 0  # a voice's name names no instrument
    assert [sounding_program(0, name) for name in ("Violin II", "Viola", "Violoncello", "Double bass")] == [
        40,
        41,
        42,
        43,
    ]


def test_drums_are_their_own_part_and_never_merge_with_a_pitched_note():
    data = _file([("Bass", 33, [36, 38])], drums=[36, 38])  # kick/snare keys equal the bass's pitches
    notes = load_one("band.mid", data, include_drums=True).notes
    assert len(notes) == 4 and sorted(notes["part"].map(part_name)) == ["Bass", "Bass", "Drums", "Drums"]


def test_doubling_across_parts_keeps_the_voice():
    data = _file([("Violin", 40, [72, 74]), ("Soprano", 0, [72, 74])])
    loaded = load_one("doubled.mid", data)
    assert loaded.merged == 2 and set(loaded.notes["part"].map(part_name)) == {"Soprano"}


def test_notes_to_midi_writes_one_track_per_part_with_chosen_programs_and_drums_on_channel_10():
    data = _file([("Soprano", 0, [72, 74]), ("Bass", 0, [48, 50])], drums=[36, 42])
    notes = load_one("mix.mid", data, include_drums=True).notes
    soprano, bass = PART_NAMES.index("Soprano"), PART_NAMES.index("Bass voice")
    pm = notes_to_midi(notes, programs={soprano: 40, bass: 42})
    by_name = {inst.name: inst for inst in pm.instruments}
    assert set(by_name) == {"Soprano", "Bass voice", "Drums"}
    assert by_name["Soprano"].program == 40 and by_name["Bass voice"].program == 42 and by_name["Drums"].is_drum
    assert [n.pitch for n in by_name["Bass voice"].notes] == [48, 50]
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(pm)))
    channels = {msg.note: msg.channel for track in midi.tracks for msg in track if msg.type == "note_on"}
    assert channels[36] == DRUM_CHANNEL and channels[42] == DRUM_CHANNEL and channels[72] != DRUM_CHANNEL


def test_a_table_of_one_part_or_without_parts_is_one_instrument():
    notes = load_one("one.mid", _file([("", 0, [60, 62, 64])])).notes
    assert len(notes_to_midi(notes, program=24).instruments) == 1
    assert notes_to_midi(notes.drop(columns=["part"]), program=24).instruments[0].program == 24


def test_default_programs_prefer_the_datas_own_then_a_lineup_then_the_family():
    soprano, strings = PART_NAMES.index("Soprano"), PART_NAMES.index("Strings")
    assert default_programs([soprano, strings], own={strings: 41}) == {soprano: 52, strings: 41}
    assert default_programs([soprano], lineup="string quartet") == {soprano: VOICE_LINEUPS["string quartet"]["Soprano"]}


def test_a_string_quartet_becomes_four_voices_by_register():
    data = _file(
        [("Violin II", 48, [67, 69]), ("Violin I", 48, [76, 77]), ("Cello", 48, [48, 50]), ("Viola", 48, [60, 62])]
    )
    notes = load_one("quartet.mid", data).notes
    voice_of = {int(t): part_name(p) for t, p in zip(notes["track"], notes["part"])}
    assert voice_of == {1: "Soprano", 0: "Alto", 3: "Tenor", 2: "Bass voice"}


def test_a_single_string_track_stays_strings():
    notes = load_one("solo.mid", _file([("Violin", 40, [76, 77]), ("Piano", 0, [60, 64])])).notes
    assert set(notes["part"].map(part_name)) == {"Strings", "Piano"}


def test_instruments_text_takes_a_lineup_and_pairs_and_defaults_voices_to_a_string_quartet():
    from musicrnn.parts import parse_instruments

    soprano, bass_voice, bass = (PART_NAMES.index(n) for n in ("Soprano", "Bass voice", "Bass"))
    own = {soprano: 0, bass_voice: 0, bass: 33}
    assert parse_instruments("", [soprano, bass_voice, bass], own) == {soprano: 40, bass_voice: 42, bass: 33}
    assert parse_instruments("choir, Bass=Fretless Bass", [soprano, bass], own) == {soprano: 52, bass: 35}
    assert parse_instruments("own", [soprano, bass], own) == {soprano: 0, bass: 33}
    with pytest.raises(ValueError, match="unknown part"):
        parse_instruments("Kazoo=1", [soprano], own)
