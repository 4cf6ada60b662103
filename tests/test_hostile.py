"""Hostile uploads (issue 7): every bad file gets a plain message naming it, good files beside it still
load, nothing is written anywhere, and time and memory stay bounded.

Inputs come from tests/hostile.py, built in memory. Time bounds are pytest-timeout marks (generous: the
test machines are shared); memory bounds are tracemalloc peaks or a parser that must never be reached.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import hostile as h
from musicrnn import infer, midi_load, midi_scan, safezip
from musicrnn.infer import MAX_MODEL_BYTES, ModelFileError, read_model_file
from musicrnn.midi_load import load_uploads, midi_to_notes, read_zip
from musicrnn.midi_scan import MAX_NOTES, MidiError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "musicrnn" / "assets" / "default_model.keras"
MB = 1024 * 1024

pytestmark = pytest.mark.timeout(120)

# upload name -> (builder, the exact reason shown to the user)
BAD_MIDI = {
    "empty.mid": (h.empty, "the file is empty"),
    "random.mid": (h.random_bytes, "not a MIDI file (it does not start with a MIDI header)"),
    "letter.mid": (h.text_file, "not a MIDI file (it looks like a text file)"),
    "photo.mid": (h.png_file, "not a MIDI file (it looks like a PNG image)"),
    "archive.mid": (lambda: h.honest_zip([("a.mid", h.scale())]), "not a MIDI file (it looks like a zip archive)"),
    "cut.mid": (h.truncated, "the MIDI file is truncated (it ends in the middle of a track)"),
    "short header.mid": (h.header_too_short, "the MIDI file's header is damaged (it is too short)"),
    "zero ticks.mid": (h.header_zero_division, "the MIDI file's header is damaged (it says a beat lasts 0 ticks)"),
    "no tracks.mid": (h.header_zero_tracks, "the MIDI file has no tracks"),
    "missing tracks.mid": (h.header_missing_tracks, "the MIDI file is truncated (it ends before all of its tracks)"),
    "long track.mid": (h.track_length_too_long, "the MIDI file is truncated (it ends in the middle of a track)"),
    "short track.mid": (
        h.track_length_too_short,
        "the MIDI file is damaged (a track's length does not match its contents)",
    ),
    "silence.mid": (h.zero_notes, "the file has no notes (only settings such as tempo or track names)"),
    "drums.mid": (h.drums_only, "the file has only drum tracks (drum keys are not pitches); include drums to use it"),
    "zero length.mid": (h.zero_length_notes, midi_load.NO_POSITIVE_NOTES),
    "negative length.mid": (h.negative_length_notes, midi_load.NO_POSITIVE_NOTES),
    "smpte.mid": (
        h.smpte,
        "the file uses SMPTE timing (frames per second), which is not supported; save it with timing in beats",
    ),
    "far future.mid": (
        h.far_future_tick,
        "the MIDI file's timing is damaged (an event lies impossibly far from the start)",
    ),
    "huge.mid": (h.many_notes, f"the file has more than {MAX_NOTES:,} notes (the limit); split it into shorter pieces"),
    "tempo flood.mid": (
        lambda: h.tempo_storm(25_000, 10),
        f"the file has more than {midi_scan.MAX_META_EVENTS:,} tempo changes, texts or other non-note events (the limit)",
    ),
}


@pytest.fixture
def clean_dirs(tmp_path, monkeypatch):
    """Run in an empty working directory with an empty private temp dir; yields both to check afterwards."""
    work, temp = tmp_path / "cwd", tmp_path / "systemp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    yield work, temp
    assert not list(work.iterdir()), "something was written to the working directory"
    assert not list(temp.iterdir()), "something was written to the temp directory"


def peak_bytes(fn):
    """Run fn under tracemalloc; return (result or exception, peak bytes allocated)."""
    tracemalloc.start()
    try:
        try:
            result = fn()
        except Exception as exc:  # returned, so the caller can assert on it
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def by_name(results):
    return {r.name: r for r in results}


# ------------------------------------------------------------------ single MIDI files


@pytest.mark.parametrize("name", list(BAD_MIDI))
def test_bad_midi_gets_its_message_while_neighbours_load(name, clean_dirs):
    builder, reason = BAD_MIDI[name]
    results = load_uploads([("before.mid", h.scale()), (name, builder()), ("after.mid", h.scale(5))])
    assert [r.name for r in results] == ["before.mid", name, "after.mid"]
    before, bad, after = results
    assert bad.error == reason
    assert bad.notes is None and not bad.ok
    # a refused file that parsed keeps its tracks, so the user can change the filter (only drums.mid has any)
    assert bad.instruments == (["0: Drums (16 notes)"] if name == "drums.mid" else [])
    assert before.ok and len(before.notes) == 8
    assert after.ok and len(after.notes) == 5


@pytest.mark.parametrize("name", list(BAD_MIDI))
def test_bad_midi_raises_a_midi_error_naming_the_file(name):
    builder, reason = BAD_MIDI[name]
    with pytest.raises(MidiError) as caught:
        midi_to_notes(builder(), name=name)
    assert caught.value.name == name and caught.value.reason == reason
    assert str(caught.value) == f"{name}: {reason}"


def test_messages_never_show_python_internals():
    for name, (_builder, reason) in BAD_MIDI.items():
        assert not re.search(r"Error\b|Traceback|0x[0-9a-f]{4,}|\bNone\b", reason), name


def test_huge_file_is_refused_before_pretty_midi_builds_anything(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pretty_midi must not parse a file the scan refuses")

    monkeypatch.setattr(midi_scan.pretty_midi, "PrettyMIDI", forbidden)
    data = h.many_notes(300_000)
    result, peak = peak_bytes(lambda: load_uploads([("huge.mid", data)]))
    (loaded,) = result
    assert "more than 100,000 notes" in loaded.error
    assert peak < 10 * MB  # the 1.8 MB file is walked, not expanded into 300,000 objects


@pytest.mark.timeout(60)
def test_thousands_of_tempo_changes_load_with_tempo_followed():
    (loaded,) = load_uploads([("rubato.mid", h.tempo_storm(5000, 200))])
    assert loaded.ok and len(loaded.notes) == 200
    starts = loaded.notes["start"].to_numpy()
    assert (np.diff(starts) > 0).all()
    # Tempo changes every tick for the first 5000 ticks (60-200 bpm), so those notes are not evenly spaced.
    gaps = np.diff(starts[:200])
    assert gaps.max() > 1.5 * gaps.min()


def test_single_note_loads_as_one_note():
    (loaded,) = load_uploads([("one.mid", h.single_note())])
    assert loaded.ok and loaded.error is None
    assert loaded.notes["pitch"].tolist() == [60]
    assert loaded.notes["duration"].iloc[0] == pytest.approx(1.0, abs=0.01)  # 440 ticks at 220/beat, 120 bpm


def test_zero_length_notes_are_dropped_and_the_rest_kept():
    (loaded,) = load_uploads([("mixed.mid", h.zero_length_notes(keep=2))])
    assert loaded.ok
    assert loaded.notes["pitch"].tolist() == [72, 73]
    assert (loaded.notes["duration"] > 0).all()


def test_drums_only_file_loads_when_drums_are_included():
    (loaded,) = load_uploads([("drums.mid", h.drums_only())], include_drums=True)
    assert loaded.ok and len(loaded.notes) == 16


@pytest.mark.parametrize("name", h.UNUSUAL_NAMES)
def test_unusual_names_are_kept_verbatim(name):
    results = load_uploads([(name, h.scale()), (f"broken {name}", b"")])
    assert [r.name for r in results] == [name, f"broken {name}"]
    assert results[0].ok and len(results[0].notes) == 8
    assert results[1].error == "the file is empty"


# ------------------------------------------------------------------ the command line


def test_inspect_reports_every_file_by_name(tmp_path):
    files, temp, work = tmp_path / "files", tmp_path / "systemp", tmp_path / "cwd"
    for folder in (files, temp, work):
        folder.mkdir()
    expected = {}
    for name, (builder, reason) in BAD_MIDI.items():
        (files / name).write_bytes(builder())
        expected[name] = f"ERROR {name}: {reason}"
    long_name = "y" * 240 + ".mid"  # near the 255-byte limit of a file name on disk
    for name in ["good.mid", "Bach – Präludium Nº1 🎹.mid", "with spaces .mid", long_name]:
        (files / name).write_bytes(h.scale())
        expected[name] = f"OK {name} notes=8 seconds=4.0"
    (files / "songs.zip").write_bytes(h.mixed_members())
    expected["songs.zip/folder/song.MID"] = "OK songs.zip/folder/song.MID notes=8 seconds=4.0"
    expected["songs.zip/readme.txt"] = "ERROR songs.zip/readme.txt: skipped: not a .mid or .midi file"
    (files / "bomb.zip").write_bytes(h.total_bomb())
    expected["bomb.zip"] = (
        "ERROR bomb.zip: the archive cannot be used: it would unpack to 250 MB, more than the limit of 200 MB"
    )

    paths = sorted(str(p) for p in files.iterdir())
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "musicrnn", "inspect", *paths],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    lines = run.stdout.splitlines()
    for name, line in expected.items():
        assert line in lines, f"{name!r} not reported as {line!r}"
    assert run.returncode == 1  # some files failed
    assert "Traceback" not in run.stderr
    assert not list(work.iterdir()) and not list(temp.iterdir())
    assert sorted(p.name for p in files.iterdir()) == sorted(Path(p).name for p in paths)


# ------------------------------------------------------------------ zip archives


def test_zip_member_names_are_only_labels_and_nothing_is_written(clean_dirs):
    tag = uuid.uuid4().hex[:8]
    results = load_uploads([("songs.zip", h.traversal_zip(tag))])
    assert [r.name for r in results] == [
        f"songs.zip/../evil_{tag}.mid",
        f"songs.zip/abs_{tag}.mid",
        f"songs.zip/../../tmp/deep_{tag}.mid",
        f"songs.zip/C:/win_{tag}.mid",
    ]
    assert all(r.ok and len(r.notes) == 8 for r in results)
    system_temp = Path("/tmp")
    assert not [p for p in system_temp.iterdir() if tag in p.name]


def test_control_characters_in_member_names_cannot_forge_output_lines():
    archive = h.honest_zip([("a\nOK fake.mid notes=999\x1b[2J.mid", h.scale())])
    (loaded,) = load_uploads([("x.zip", archive)])
    assert loaded.name == "x.zip/a?OK fake.mid notes=999?[2J.mid"
    assert loaded.ok


def test_zip_with_too_many_members_is_refused():
    (loaded,) = load_uploads([("many.zip", h.too_many_members(2001))])
    assert loaded.name == "many.zip"
    assert loaded.error == "the archive cannot be used: it has 2,001 files, more than the limit of 2,000"


def test_huge_central_directory_is_refused_before_zipfile_parses_it(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("zipfile must not parse a directory this large")

    data = h.big_directory()
    monkeypatch.setattr(safezip.zipfile, "ZipFile", forbidden)
    with pytest.raises(MidiError) as caught:
        read_zip(data, "big.zip")
    assert caught.value.reason == "the archive cannot be used: it lists more than 2,000 files (the limit)"


@pytest.fixture
def no_unpacking(monkeypatch):
    """Fail the test if any zip member is opened for reading."""
    opened = []
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, info, *a, **k: opened.append(info) or pytest.fail("a member was unpacked")
    )
    return opened


def test_zip_bomb_is_refused_from_declared_sizes_without_inflating(no_unpacking):
    data = h.total_bomb()  # ~250 KB declaring 250 MB
    assert len(data) < 300_000
    with pytest.raises(MidiError) as caught:
        read_zip(data, "bomb.zip")
    assert caught.value.reason == "the archive cannot be used: it would unpack to 250 MB, more than the limit of 200 MB"
    assert no_unpacking == []


def test_member_claiming_gigabytes_is_refused_without_inflating(no_unpacking):
    with pytest.raises(MidiError) as caught:
        read_zip(h.declared_huge(), "huge.zip")
    assert "it would unpack to 4,096 MB" in caught.value.reason


def test_overstated_compressed_sizes_are_refused(no_unpacking):
    with pytest.raises(MidiError) as caught:
        read_zip(h.overstated_compressed(), "liar.zip")
    assert caught.value.reason == (
        "the archive cannot be used: it is damaged (its table of contents claims more data than the archive holds)"
    )


def test_member_compressed_a_thousand_times_is_skipped_and_the_rest_load():
    result, peak = peak_bytes(lambda: load_uploads([("quiet.zip", h.ratio_bomb())]))
    found = by_name(result)
    assert found["quiet.zip/quiet.mid"].error == (
        "skipped: it is compressed suspiciously well (a possible zip bomb), so it was not unpacked"
    )
    assert found["quiet.zip/good.mid"].ok
    assert peak < 4 * MB  # the 5 MB member was never inflated


def test_member_that_understates_its_size_stops_at_the_declared_size():
    result, peak = peak_bytes(lambda: load_uploads([("liar.zip", h.understated_sizes())]))
    found = by_name(result)
    assert (
        found["liar.zip/liar.mid"].error == "skipped: it is damaged (its contents do not match the archive's records)"
    )
    assert found["liar.zip/good.mid"].ok
    assert peak < 4 * MB  # it would inflate to 50 MB; reading stops at the declared 1 KB


def test_nested_archives_are_skipped_with_a_message():
    found = by_name(load_uploads([("outer.zip", h.nested_archives())]))
    assert found["outer.zip/inner.zip"].error == "skipped: nested archives are not opened"
    assert found["outer.zip/backup.tar.gz"].error == "skipped: nested archives are not opened"
    assert found["outer.zip/disguised.mid"].error == "not a MIDI file (it looks like a zip archive)"
    assert found["outer.zip/good.mid"].ok
    assert "outer.zip/inner.zip/inner.mid" not in found


def test_non_midi_members_are_listed_as_skipped_and_resource_forks_ignored():
    found = by_name(load_uploads([("mixed.zip", h.mixed_members())]))
    assert set(found) == {
        "mixed.zip/readme.txt",
        "mixed.zip/cover.png",
        "mixed.zip/folder/song.MID",
        "mixed.zip/notes.mid",
    }
    assert found["mixed.zip/readme.txt"].error == "skipped: not a .mid or .midi file"
    assert found["mixed.zip/cover.png"].error == "skipped: not a .mid or .midi file"
    assert found["mixed.zip/notes.mid"].error == "not a MIDI file (it looks like a text file)"
    assert found["mixed.zip/folder/song.MID"].ok


def test_password_protected_member_is_skipped():
    found = by_name(load_uploads([("locked.zip", h.encrypted_member())]))
    assert found["locked.zip/secret.mid"].error == "skipped: it is password-protected"
    assert found["locked.zip/good.mid"].ok


@pytest.mark.timeout(180)
def test_everything_at_once_loads_the_good_files_and_writes_nothing(clean_dirs):
    uploads = [(name, builder()) for name, (builder, _) in BAD_MIDI.items()]
    uploads += [("good.mid", h.scale()), (h.UNUSUAL_NAMES[0], h.scale(3))]
    uploads += [
        ("traversal.zip", h.traversal_zip("batch")),
        ("bomb.zip", h.total_bomb()),
        ("quiet.zip", h.ratio_bomb()),
        ("many.zip", h.too_many_members()),
        ("nested.zip", h.nested_archives()),
        ("mixed.zip", h.mixed_members()),
        ("liar.zip", h.understated_sizes()),
        ("not really.zip", h.text_file()),
    ]
    results = load_uploads(uploads)
    good = sorted(r.name for r in results if r.ok)
    assert good == sorted(
        [
            "good.mid",
            h.UNUSUAL_NAMES[0],
            "quiet.zip/good.mid",
            "nested.zip/good.mid",
            "mixed.zip/folder/song.MID",
            "liar.zip/good.mid",
        ]
        + [
            f"traversal.zip/{n}"
            for n in ("../evil_batch.mid", "abs_batch.mid", "../../tmp/deep_batch.mid", "C:/win_batch.mid")
        ]
    )
    assert all(r.error for r in results if not r.ok)
    assert by_name(results)["not really.zip"].error == "the archive cannot be used: it is not a zip archive"


# ------------------------------------------------------------------ model files


def refused(data: bytes, pattern: str) -> str:
    with pytest.raises(ModelFileError) as caught:
        read_model_file(data, name="upload.keras")
    message = str(caught.value)
    assert message.startswith("upload.keras: ")
    assert re.search(pattern, message), message
    return message


def test_model_over_the_size_limit_is_refused_before_opening(monkeypatch):
    monkeypatch.setattr(infer, "open_zip", lambda *a: pytest.fail("an oversized file must not be opened"))
    refused(h.keras_oversized(MAX_MODEL_BYTES), r"too large \(67 MB; limit 67 MB\)")


@pytest.mark.parametrize("builder", [h.random_bytes, h.png_file, h.text_file, h.scale, h.empty])
def test_model_that_is_not_a_zip_is_refused(builder):
    refused(builder(), r"not a \.keras model file \(it is not a zip archive\)$")


@pytest.mark.parametrize(
    "member, reason",
    [
        ("config.json", r"config\.json cannot be used \(it is too large \(60\.0 MB; the limit is 4 MB\)\)"),
        ("musicrnn.json", r"musicrnn\.json cannot be used \(it is too large"),
        ("model.weights.h5", r"model\.weights\.h5 cannot be used \(it is compressed suspiciously well"),
    ],
)
def test_zip_bomb_inside_a_model_is_refused_without_inflating(member, reason, no_unpacking):
    data = h.keras_bomb(member)
    assert len(data) < 200_000
    refused(data, reason)


def test_model_member_that_understates_its_size_is_refused_within_bounds():
    data = h.keras_understated("config.json")
    result, peak = peak_bytes(lambda: read_model_file(data, name="upload.keras"))
    assert isinstance(result, ModelFileError)
    assert "the file is damaged (config.json: it is damaged" in str(result)
    assert peak < 4 * MB


def test_model_with_many_members_is_refused():
    members = {f"extra{i}.bin": b"x" for i in range(20)} | {"config.json": b"{}", "model.weights.h5": b""}
    refused(h.keras_zip(members), r"not a usable \.keras model file \(it has 22 files, more than the limit of 16\)")


@pytest.mark.parametrize("config", [[1, 2, 3], None, "Functional", 42, True])
def test_config_json_that_is_not_an_object_is_refused(config):
    refused(h.keras_with_config(config), r"not a musicrnn model \(config\.json does not describe a Keras model\)$")


def test_deeply_nested_json_is_refused():
    refused(h.keras_deep_json(), r"the file is damaged \(its JSON cannot be read: RecursionError\)")


def test_json_with_invalid_text_encoding_is_refused():
    refused(
        h.keras_zip({"config.json": b'{"a": "\xff\xfe"}', "model.weights.h5": b""}),
        r"the file is damaged \(its JSON cannot be read",
    )


def test_lambda_layer_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "pwned.txt"
    refused(h.keras_lambda(str(marker)), r"not a musicrnn model \(unexpected layer 'Lambda' named 'pitch'\)")
    assert not marker.exists()


# The remaining cases alter a real model file; the bundled default model is the handiest one.
needs_default_model = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="bundled default model not built yet")


def rewrite(model: bytes, name: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(model))
    return h.keras_zip(
        {
            info.filename: change(source.read(info)) if info.filename == name else source.read(info)
            for info in source.infolist()
        }
    )


def rewrite_weights(model: bytes, path: str, replace) -> bytes:
    """Copy model.weights.h5 with the dataset at `path` replaced by replace(h5_file, path)."""

    def change(original: bytes) -> bytes:
        buffer = io.BytesIO(original)
        with h5py.File(buffer, "r+") as h5:
            del h5[path]
            replace(h5, path)
        return buffer.getvalue()

    return rewrite(model, "model.weights.h5", change)


@needs_default_model
def test_sidecar_setting_of_the_wrong_type_is_refused():
    def change(raw: bytes) -> bytes:
        sidecar = json.loads(raw)
        sidecar["config"]["max_time"] = "four seconds"
        return json.dumps(sidecar).encode()

    refused(
        rewrite(DEFAULT_MODEL.read_bytes(), "musicrnn.json", change),
        r"musicrnn\.json is damaged \(setting 'max_time' has the wrong type\)",
    )


@needs_default_model
def test_weights_linking_to_another_file_are_refused(tmp_path):
    outside = tmp_path / "secret.h5"
    with h5py.File(outside, "w") as other:
        other["data"] = np.ones((64, 128), np.float32)

    data = rewrite_weights(
        DEFAULT_MODEL.read_bytes(),
        "layers/lstm/cell/vars/0",
        lambda h5, path: h5.__setitem__(path, h5py.ExternalLink(str(outside), "data")),
    )
    refused(data, r"model\.weights\.h5 is damaged \(layers/lstm/cell/vars/0 is missing or links elsewhere\)")


@needs_default_model
def test_compressed_weight_that_would_inflate_past_the_file_is_refused():
    def huge(h5, path):
        h5.create_dataset(path, shape=(30_000, 30_000), dtype="f4", compression="gzip", chunks=(1000, 1000))

    data = rewrite_weights(DEFAULT_MODEL.read_bytes(), "layers/lstm/cell/vars/0", huge)
    assert len(data) < DEFAULT_MODEL.stat().st_size + MB  # a small file claiming 3.6 GB
    result, peak = peak_bytes(lambda: read_model_file(data, name="upload.keras"))
    assert isinstance(result, ModelFileError)
    assert "layers/lstm/cell/vars/0 claims more data than the file holds" in str(result)
    assert peak < 50 * MB  # 3.6 GB if it were read
