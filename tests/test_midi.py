"""MIDI in and out: note tables, instrument choice, drums, round trips, uploads and zips in memory.

Basic cases only; the exhaustive hostile-upload suite lives in tests/test_hostile.py.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import mido
import numpy as np
import pytest

from musicrnn import midi, midi_scan
from musicrnn.midi import NOTE_COLUMNS, midi_bytes, notes_to_midi
from musicrnn.midi_load import load_uploads, midi_to_notes
from musicrnn.midi_scan import MidiError

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


def test_hostile_zip_member_names_are_labels_only_and_nothing_is_written(
    midi_factory, zip_factory, tmp_path, monkeypatch
):
    tag = uuid.uuid4().hex[:8]
    evil, absolute = f"evil_{tag}.mid", f"abs_{tag}.mid"
    archive = zip_factory(
        [(f"../{evil}", midi_factory()), (f"/{absolute}", midi_factory()), (f"../../tmp/{evil}", midi_factory())]
    )
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
    results = {
        r.name: r for r in load_uploads([("outer.zip", zip_factory([("inner.zip", inner), ("y.mid", midi_factory())]))])
    }
    assert set(results) == {"outer.zip/inner.zip", "outer.zip/y.mid"}
    assert "nested" in results["outer.zip/inner.zip"].error
    assert results["outer.zip/y.mid"].ok


def test_unreadable_zip_is_one_error_naming_the_archive():
    (result,) = load_uploads([("broken.zip", b"PK\x03\x04 not really a zip")])
    assert result.name == "broken.zip" and not result.ok
    assert "zip" in result.error


# --- musical time: beats through the tempo map, the beat grid, doubled parts, tempo and metre out -------------


def beats_midi(beat_notes, tempi=((0.0, 120.0),), signature=(4, 4), tracks=1, performed_jitter=0.0, seed=0) -> bytes:
    """A MIDI file of (pitch, onset beat, length in beats) notes under a tempo map of (beat, bpm) changes,
    each note written into every one of `tracks` tracks (doubling), optionally with jittered onsets."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=480)
    # pretty_midi writes its tick scales as the file's tempo events: one (tick, seconds per tick) per change.
    pm._tick_scales = [(int(beat * 480), 60.0 / (bpm * 480)) for beat, bpm in tempi]
    pm._update_tick_to_time(int(max(b + d for _, b, d in beat_notes) * 480) + 480)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*signature, 0.0))
    rng = np.random.default_rng(seed)
    for track in range(tracks):
        instrument = pretty_midi.Instrument(program=40 + track)
        for pitch, beat, length in beat_notes:
            start = pm.tick_to_time(int(round(beat * 480))) + rng.uniform(-performed_jitter, performed_jitter)
            end = pm.tick_to_time(int(round((beat + length) * 480)))
            instrument.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=max(0.0, start), end=end))
        pm.instruments.append(instrument)
    return midi_bytes(pm)


PHRASE = [
    (60, 0, 1),
    (64, 0, 1),
    (67, 0, 1),
    (62, 1, 0.5),
    (64, 1.5, 0.5),
    (65, 2, 1 / 3),
    (67, 2 + 1 / 3, 1 / 3),
    (69, 2 + 2 / 3, 1 / 3),
    (72, 3, 2),
    (60, 3, 2),
    (59, 5, 0.25),
    (57, 5.25, 0.75),
    (55, 6, 2),
]
BEAT_COLUMNS = ["pitch", "beat", "step_beats", "duration_beats", "bar_beat", "bar_beats"]


@pytest.mark.parametrize("bpm", [60.0, 96.0, 180.0])
def test_the_same_music_at_another_tempo_has_the_same_beats(bpm):
    reference = midi_to_notes(beats_midi(PHRASE, tempi=((0.0, 120.0),)))
    retimed = midi_to_notes(beats_midi(PHRASE, tempi=((0.0, bpm),)))
    assert retimed[BEAT_COLUMNS].equals(reference[BEAT_COLUMNS])
    np.testing.assert_allclose(retimed["start"], reference["start"] * 120.0 / bpm, atol=1e-3)  # seconds differ
    assert (retimed["bpm"] == bpm).all()


def test_beats_follow_a_tempo_change_inside_the_file():
    steady = midi_to_notes(beats_midi(PHRASE))
    changing = midi_to_notes(beats_midi(PHRASE, tempi=((0.0, 120.0), (3.0, 60.0))))
    assert changing[BEAT_COLUMNS].equals(steady[BEAT_COLUMNS])
    late = changing["beat"] >= 3
    assert (changing.loc[late, "bpm"] == 60.0).all() and (changing.loc[~late, "bpm"] == 120.0).all()
    np.testing.assert_allclose(changing.loc[late, "start"], 1.5 + (changing.loc[late, "beat"] - 3) * 1.0, atol=1e-3)


def test_onsets_and_lengths_are_on_the_twelfth_beat_grid_with_triplets_and_sixteenths():
    notes = midi_to_notes(beats_midi(PHRASE))
    expected_onsets = sorted(b for _, b, _ in PHRASE)
    np.testing.assert_allclose(notes["beat"], expected_onsets, atol=1e-12)
    np.testing.assert_allclose(notes["beat"] * 12, np.round(notes["beat"] * 12), atol=1e-9)
    assert notes.loc[notes["pitch"] == 59, "duration_beats"].iloc[0] == 0.25


def test_performed_timing_snaps_to_the_grid_and_says_how_far_it_moved():
    from musicrnn.midi_load import load_one

    exact = midi_to_notes(beats_midi(PHRASE))
    loaded = load_one("played.mid", beats_midi(PHRASE, performed_jitter=0.02, seed=3))
    assert loaded.ok
    assert loaded.notes[BEAT_COLUMNS].equals(exact[BEAT_COLUMNS])  # 20 ms is well inside 1/24 beat at 120 bpm
    assert 2 <= loaded.shift_ms <= 20
    assert load_one("exact.mid", beats_midi(PHRASE)).shift_ms < 1


def test_parts_doubling_each_other_are_merged_into_one_note_the_longest_kept():
    from musicrnn.midi_load import load_one

    single = midi_to_notes(beats_midi(PHRASE))
    doubled = load_one("doubled.mid", beats_midi(PHRASE, tracks=3))
    assert doubled.merged == 2 * len(PHRASE)
    assert doubled.notes[BEAT_COLUMNS].equals(single[BEAT_COLUMNS])
    # A unison of different lengths in two parts: one note, as long as the longer one.
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    for notes in ([(60, 0.0, 0.5), (64, 0.5, 1.0)], [(60, 0.0, 1.0)]):
        pm.instruments.append(pretty_midi.Instrument(program=0))
        pm.instruments[-1].notes.extend(pretty_midi.Note(80, p, start, end) for p, start, end in notes)
    unison = load_one("unison.mid", midi_bytes(pm))
    assert unison.merged == 1 and unison.notes["duration_beats"].tolist() == [2.0, 1.0]


def test_time_signature_gives_each_onset_its_place_in_the_bar():
    notes = midi_to_notes(beats_midi([(60, b, 1) for b in range(7)], signature=(3, 4)))
    assert notes["bar_beats"].tolist() == [3.0] * 7
    assert notes["bar_beat"].tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_written_midi_carries_the_tempo_and_metre_and_reads_back_in_the_same_beats():
    import pretty_midi

    notes = midi_to_notes(beats_midi(PHRASE, tempi=((0.0, 84.0),), signature=(3, 4)))
    pm = notes_to_midi(notes)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(84.0, rel=1e-5)
    assert [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes] == [(3, 4)]
    again = midi_to_notes(midi_bytes(pm))
    assert again[BEAT_COLUMNS].equals(notes[BEAT_COLUMNS])
    # Another tempo written over the same seconds: the notes sound the same, twice as many beats go by.
    other = midi_bytes(notes_to_midi(notes, bpm=168.0))
    assert pretty_midi.PrettyMIDI(io.BytesIO(other)).get_tempo_changes()[1][0] == pytest.approx(168.0, rel=1e-5)
    np.testing.assert_allclose(midi_to_notes(other)["beat"], notes["beat"] * 2)


def test_a_pickup_is_written_after_the_rest_that_fills_its_first_bar():
    # A file in 3/4 that opens on beat 3 (an upbeat), read, then moved to start at time 0 as a generated or
    # harmonised table does: written as MIDI, the upbeat comes after two beats' rest, so other programs bar it as
    # the table does, and it reads back on beat 3 with the same notes.
    read = midi_to_notes(beats_midi([(62, 2, 1), (67, 3, 2), (71, 5, 1)], tempi=((0.0, 90.0),), signature=(3, 4)))
    assert read["bar_beat"].tolist() == [2.0, 0.0, 2.0]
    at_zero = read.assign(start=read["start"] - read["start"].iloc[0], end=read["end"] - read["start"].iloc[0])
    written = pretty_midi_of(notes_to_midi(at_zero))
    assert written.instruments[0].notes[0].start == pytest.approx(2 * 60 / 90)
    again = midi_to_notes(midi_bytes(written))
    assert again[BEAT_COLUMNS].equals(read[BEAT_COLUMNS])
    # The control: a table on the bar line, or one already starting after its rest, is written as it is.
    assert pretty_midi_of(notes_to_midi(read)).instruments[0].notes[0].start == pytest.approx(2 * 60 / 90)
    on_the_bar = at_zero.assign(bar_beat=0.0)
    assert pretty_midi_of(notes_to_midi(on_the_bar)).instruments[0].notes[0].start == 0.0


def pretty_midi_of(pm):
    """`pm` as another program reads it: written to bytes and parsed again."""
    import pretty_midi

    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(pm)))


def fine_long_file(beats: int, ticks_per_beat: int = 10080, bpm: float = 100.0) -> bytes:
    """One note a beat for `beats` beats at a resolution music21 writes (more than MAX_TICKS ticks in all)."""
    song = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)])
    for index in range(beats):
        track.append(
            mido.Message("note_on", note=60 + index % 12, velocity=80, time=0 if index == 0 else ticks_per_beat // 2)
        )
        track.append(mido.Message("note_off", note=60 + index % 12, velocity=0, time=ticks_per_beat // 2))
    song.tracks.append(track)
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def test_a_long_finely_timed_file_loads_at_a_coarser_resolution_with_the_same_times():
    # 1100 beats at 10080 ticks a beat pass pretty_midi's 10-million-tick bound; a real quartet movement
    # written by music21 did, and was refused as "damaged" before.
    data = fine_long_file(1100)
    assert midi_scan.scan_midi(data, "q.mid").last_tick > midi_scan.MAX_TICKS
    notes = midi_to_notes(data, name="q.mid")
    assert len(notes) == 1100
    np.testing.assert_allclose(notes["start"], np.arange(1100) * 0.6, atol=1e-3)  # 100 bpm: a beat is 0.6 s
    np.testing.assert_allclose(notes["duration"], 0.3, atol=1e-3)
    np.testing.assert_array_equal(notes["beat"], np.arange(1100))
    assert notes["bpm"].iloc[0] == pytest.approx(100.0)


def test_a_files_tempo_is_the_one_most_notes_play_at_not_a_pickups_default():
    # music21 writes a chorale with a pickup so: MIDI's default 120 bpm for the pickup beat, then 72.
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0)])
    for index in range(9):
        if index == 1:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(72), time=0))
        track.append(mido.Message("note_on", note=60 + index, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60 + index, velocity=0, time=480))
    song.tracks.append(track)
    out = io.BytesIO()
    song.save(file=out)
    loaded = load_uploads([("pickup.mid", out.getvalue())])[0]
    assert loaded.bpm == pytest.approx(72.0)
    assert midi.main_bpm(loaded.notes) == pytest.approx(72.0)
    assert midi.main_bpm(loaded.notes.drop(columns="bpm")) == midi.DEFAULT_BPM
