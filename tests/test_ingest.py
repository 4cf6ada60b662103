"""Parallel, cached ingestion (musicrnn.ingest): same result as the serial loader, no re-parse on a second
run, a re-parse when a file changes, and streamed windows equal to the in-memory ones."""

from __future__ import annotations

import zipfile

import numpy as np
import pretty_midi
import pytest

from musicrnn import ingest as ingest_module
from musicrnn.config import preset
from musicrnn.dataset import Corpus, flatten, window_batch
from musicrnn.ingest import file_windows, ingest
from musicrnn.midi import midi_bytes
from musicrnn.midi_load import load_paths


def synthetic_midi(seed: int, notes: int = 40) -> bytes:
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    t, pitch = 0.0, 60
    for _ in range(notes):
        step = float(rng.choice([0.0, 0.25, 0.5]))
        t += step
        # A new pitch for a note of the same chord: the loader merges same-pitch notes that start together.
        pitch = pitch + int(rng.integers(1, 5)) if step == 0 and pitch < 100 else int(rng.integers(48, 80))
        inst.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=t, end=t + 0.4))
    pm.instruments.append(inst)
    return midi_bytes(pm)


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "midi"
    (data / "sub").mkdir(parents=True)
    for i in range(5):
        (data / f"piece{i}.mid").write_bytes(synthetic_midi(i))
    (data / "sub" / "deep.midi").write_bytes(synthetic_midi(9))
    (data / "broken.mid").write_bytes(b"MThd this is not really a MIDI file")
    with zipfile.ZipFile(data / "more.zip", "w") as archive:
        archive.writestr("z1.mid", synthetic_midi(11))
        archive.writestr("notes.txt", "not music")
    return data


def as_dict(corpus: Corpus) -> dict:
    return {
        n: (p.tolist(), s.tolist(), d.tolist())
        for n, p, s, d in zip(corpus.names, corpus.pitch, corpus.step, corpus.duration)
    }


def test_parallel_ingest_equals_serial_load_paths_and_reports_the_bad_files(folder, tmp_path):
    serial = load_paths([folder])
    expected = Corpus.from_tables([(f.name, f.notes) for f in serial if f.ok])
    found = ingest([folder], cache_dir=tmp_path / "cache", workers=2)
    assert found.corpus.names == expected.names  # same files, same order
    for mine, theirs in zip(as_dict(found.corpus).values(), as_dict(expected).values()):
        assert mine[0] == theirs[0]
        np.testing.assert_allclose(mine[1], theirs[1], atol=1e-6)
        np.testing.assert_allclose(mine[2], theirs[2], atol=1e-6)
    assert [name for name, _ in found.errors] == [f.name for f in serial if not f.ok]
    assert "broken.mid" in dict(found.errors)
    assert found.parsed == 8 and found.cached == 0


def test_second_run_reads_the_cache_and_parses_nothing(folder, tmp_path):
    first = ingest([folder], cache_dir=tmp_path / "cache", workers=2)
    second = ingest([folder], cache_dir=tmp_path / "cache", workers=2)
    assert (second.parsed, second.cached) == (0, first.parsed)
    assert as_dict(second.corpus) == as_dict(first.corpus)
    assert second.errors == first.errors  # bad files are cached as bad, and still reported


def test_second_run_calls_the_parser_zero_times(folder, tmp_path, monkeypatch):
    calls = []
    real = ingest_module.load_one
    monkeypatch.setattr(ingest_module, "load_one", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    ingest([folder], cache_dir=tmp_path / "cache", workers=1)
    assert len(calls) == 8
    calls.clear()
    ingest([folder], cache_dir=tmp_path / "cache", workers=1)
    assert calls == []


def test_changed_file_content_is_parsed_again(folder, tmp_path):
    ingest([folder], cache_dir=tmp_path / "cache", workers=1)
    (folder / "piece0.mid").write_bytes(synthetic_midi(100, notes=55))
    again = ingest([folder], cache_dir=tmp_path / "cache", workers=1)
    assert again.parsed == 1
    assert len(again.corpus.pitch[again.corpus.names.index("piece0.mid")]) == 55


def test_parse_options_are_part_of_the_cache_key(folder, tmp_path):
    ingest([folder], cache_dir=tmp_path / "cache", workers=1)
    assert ingest([folder], cache_dir=tmp_path / "cache", workers=1, include_drums=True).parsed == 8


def test_cache_dir_defaults_to_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICRNN_CACHE", str(tmp_path / "env-cache"))
    assert ingest_module.default_cache_dir() == tmp_path / "env-cache"


def test_without_notes_only_cache_entries_come_back(folder, tmp_path):
    found = ingest([folder], cache_dir=tmp_path / "cache", workers=1, keep_notes=False)
    assert found.corpus is None
    assert all(f.path.exists() and f.notes > 0 for f in found.files)


def test_streamed_windows_equal_the_in_memory_windows(folder, tmp_path):
    cfg = preset("tiny", seq_length=8, window_stride=3)
    found = ingest([folder / "piece1.mid"], cache_dir=tmp_path / "cache", workers=1)
    flat = flatten(found.corpus, cfg)
    expected_in, expected_out = window_batch(flat, flat.starts, cfg.seq_length)
    got_in, got_out = file_windows(ingest_module.read_entry(found.files[0].path), cfg)
    for key in expected_in:
        np.testing.assert_allclose(got_in[key], expected_in[key], atol=1e-6)
    for key in expected_out:
        np.testing.assert_allclose(got_out[key], expected_out[key], atol=1e-6)
