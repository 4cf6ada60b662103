"""MIDI in and out: note tables, instrument choice, drums, round trips, uploads and zips in memory.

Basic cases only; the exhaustive hostile-upload suite lives in tests/test_hostile.py.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from musicrnn.midi import NOTE_COLUMNS, MidiError, load_uploads, midi_bytes, midi_to_notes, notes_to_midi

TICK = 0.01  # pretty_midi writes 220 ticks per beat at 120 bpm (~2.3 ms); times round-trip within this


def test_notes_have_the_standard_columns(midi_factory):
    notes = midi_to_notes(midi_factory())
    assert list(notes.columns) == NOTE_COLUMNS
    assert notes["pitch"].dtype.kind == "i"


def test_notes_are_sorted_by_start_then_pitch(midi_factory):
    # Two instruments playing chords: every start time is shared by two notes, written high voice first.
    data = midi_factory([(0, [72, 74, 76]), (0, [60, 62, 64])], chord=True)
    notes = midi_to_notes(data)
    assert notes["pitch"].tolist() == [60, 72, 62, 74, 64, 76]
    assert (np.diff(notes["start"]) >= 0).all()


def test_step_is_the_difference_of_start_times(midi_factory):
    notes = midi_to_notes(midi_factory([(0, [60, 62]), (0, [64, 65])]))  # second track offset by 0.125 s
    np.testing.assert_allclose(notes["start"], [0.0, 0.125, 0.5, 0.625], atol=TICK)
    assert notes["step"].iloc[0] == 0.0
    np.testing.assert_allclose(notes["step"].iloc[1:], np.diff(notes["start"]), atol=1e-9)


def test_duration_is_end_minus_start(midi_factory):
    notes = midi_to_notes(midi_factory(note_seconds=0.5))
    np.testing.assert_allclose(notes["duration"], notes["end"] - notes["start"], atol=1e-9)
    np.testing.assert_allclose(notes["duration"], 0.45, atol=TICK)


def test_chosen_instruments_only_are_read(midi_factory):
    data = midi_factory([(0, [60, 61, 62]), (40, [80, 81])])
    assert midi_to_notes(data, instruments=[1])["pitch"].tolist() == [80, 81]
    assert midi_to_notes(data, instruments=[0])["pitch"].tolist() == [60, 61, 62]


def test_several_instruments_are_merged_in_time_order(midi_factory):
    data = midi_factory([(0, [60, 61, 62]), (40, [80, 81, 82])])
    notes = midi_to_notes(data, instruments=[0, 1])
    assert notes["pitch"].tolist() == [60, 80, 61, 81, 62, 82]
    assert len(midi_to_notes(data)) == 6  # no choice means all instruments


def test_drums_are_excluded_by_default(midi_factory):
    data = midi_factory([(0, [60, 62, 64])], drums=[36, 38, 42, 46])
    assert midi_to_notes(data)["pitch"].tolist() == [60, 62, 64]
    assert len(midi_to_notes(data, include_drums=True)) == 7


def test_drum_only_file_raises_a_midi_error_saying_so(midi_factory):
    data = midi_factory(tracks=(), drums=[36, 38, 42])
    with pytest.raises(MidiError) as caught:
        midi_to_notes(data, name="beat.mid")
    assert "drum" in caught.value.reason
    assert "beat.mid" in str(caught.value)


def test_notes_to_midi_round_trips_notes_program_and_velocity(notes_factory):
    notes = notes_factory([60, 64, 67, 72], step=[0.0, 0.5, 0.5, 1.0], duration=[0.5, 0.5, 1.0, 0.25])
    pm = notes_to_midi(notes, program=40, velocity=77)
    back = midi_to_notes(midi_bytes(pm))
    assert back["pitch"].tolist() == [60, 64, 67, 72]
    np.testing.assert_allclose(back["start"], notes["start"], atol=TICK)
    np.testing.assert_allclose(back["duration"], notes["duration"], atol=TICK)
    assert (back["velocity"] == 77).all()
    assert [inst.program for inst in pm.instruments] == [40]


def test_notes_to_midi_keeps_per_note_velocity_when_none_given(notes_factory):
    notes = notes_factory([60, 62, 64]).assign(velocity=[30, 60, 120])
    back = midi_to_notes(midi_bytes(notes_to_midi(notes)))
    assert back["velocity"].tolist() == [30, 60, 120]


def test_notes_to_midi_accepts_step_and_duration_only(notes_factory):
    notes = notes_factory([60, 62], step=[0.0, 0.75], duration=[0.5, 0.5])[["pitch", "step", "duration"]]
    back = midi_to_notes(midi_bytes(notes_to_midi(notes)))
    np.testing.assert_allclose(back["start"], [0.0, 0.75], atol=TICK)


BAD_FILES = {
    "random.mid": np.random.default_rng(1).integers(0, 256, 300, dtype=np.uint8).tobytes(),
    "empty.mid": b"",
    "letter.mid": b"Dear friend,\nthis is not music.\n" * 5,
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_upload_gets_an_error_while_good_ones_load(midi_factory, name):
    results = load_uploads([("good.mid", midi_factory()), (name, BAD_FILES[name]), ("good2.mid", midi_factory())])
    by_name = {r.name: r for r in results}
    assert set(by_name) == {"good.mid", name, "good2.mid"}
    assert by_name["good.mid"].ok and by_name["good2.mid"].ok
    assert len(by_name["good.mid"].notes) == 8
    assert not by_name[name].ok and by_name[name].notes is None
    assert by_name[name].error


def test_truncated_upload_is_reported_as_truncated(midi_factory):
    data = midi_factory()
    (result,) = load_uploads([("cut.mid", data[: len(data) // 2])])
    assert not result.ok
    assert "truncated" in result.error


def test_text_renamed_to_mid_is_not_a_midi_file():
    with pytest.raises(MidiError) as caught:
        midi_to_notes(b"hello, world\n" * 20, name="notes.mid")
    assert str(caught.value).startswith("notes.mid: ")
    assert "not a MIDI file" in caught.value.reason


def test_error_message_names_the_file_read_from_disk(tmp_path):
    path = tmp_path / "broken.mid"
    path.write_bytes(b"")
    with pytest.raises(MidiError, match="broken.mid"):
        midi_to_notes(path)


def test_zip_midis_load_and_text_member_is_listed_as_skipped(midi_factory, zip_factory):
    archive = zip_factory([("a.mid", midi_factory()), ("sub/b.midi", midi_factory()), ("readme.txt", b"hello")])
    results = {r.name: r for r in load_uploads([("songs.zip", archive)])}
    assert results["songs.zip/a.mid"].ok and results["songs.zip/sub/b.midi"].ok
    assert not results["songs.zip/readme.txt"].ok
    assert "skipped" in results["songs.zip/readme.txt"].error


def test_hostile_zip_member_names_are_labels_only_and_nothing_is_written(midi_factory, zip_factory, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    evil, absolute = f"evil_{tag}.mid", f"abs_{tag}.mid"
    archive = zip_factory([(f"../{evil}", midi_factory()), (f"/{absolute}", midi_factory()), (f"../../tmp/{evil}", midi_factory())])
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)

    results = load_uploads([("songs.zip", archive)])

    assert len(results) == 3 and all(r.ok for r in results)
    assert all(r.name.startswith("songs.zip/") for r in results)
    assert not list(tmp_path.rglob("*.mid"))
    for folder in (Path.cwd(), Path("/tmp"), Path("/")):
        assert not (folder / evil).exists() and not (folder / absolute).exists()


def test_nested_zip_is_skipped_with_a_message(midi_factory, zip_factory):
    inner = zip_factory([("x.mid", midi_factory())])
    results = {r.name: r for r in load_uploads([("outer.zip", zip_factory([("inner.zip", inner), ("y.mid", midi_factory())]))])}
    assert set(results) == {"outer.zip/inner.zip", "outer.zip/y.mid"}
    assert "nested" in results["outer.zip/inner.zip"].error
    assert results["outer.zip/y.mid"].ok


def test_unreadable_zip_is_one_error_naming_the_archive():
    (result,) = load_uploads([("broken.zip", b"PK\x03\x04 not really a zip")])
    assert result.name == "broken.zip" and not result.ok
    assert "zip" in result.error
