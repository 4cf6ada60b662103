"""The bundled corpus and model: read in a child process in the background, or here when that fails."""

from __future__ import annotations

import pandas as pd
import pytest

from musicrnn import bundled


@pytest.fixture
def fresh(monkeypatch):
    """No background read started yet in this process (app tests may have started one)."""
    monkeypatch.setattr(bundled, "_background_read", None)


def test_chorales_read_in_the_background_equal_those_read_here(fresh):
    bundled.read_chorales_in_background()
    bundled.read_chorales_in_background()  # a second call starts nothing new
    first = bundled._background_read
    from_child = bundled.load_chorales()
    assert bundled._background_read is first and first.done() and first.exception() is None
    here = bundled._read_chorales()
    assert [f.name for f in from_child] == [f.name for f in here] and len(here) == len(bundled.chorale_files())
    for a, b in zip(from_child, here):
        pd.testing.assert_frame_equal(a.notes, b.notes)


def test_a_failed_background_read_falls_back_to_reading_here(fresh, monkeypatch):
    monkeypatch.setattr(bundled.sys, "executable", "/nonexistent/python")
    bundled.read_chorales_in_background()
    files = bundled.load_chorales()
    assert isinstance(bundled._background_read.exception(), OSError)
    assert len(files) == len(bundled.chorale_files()) and all(f.ok for f in files)


def test_without_a_background_read_the_chorales_are_read_here(fresh):
    files = bundled.load_chorales()
    assert bundled._background_read is None and len(files) == len(bundled.chorale_files())


def test_the_stored_chorale_harmony_figures_match_a_fresh_measurement():
    # Stale figures after a corpus rebuild would put wrong numbers next to every harmonisation.
    stored = bundled.chorale_harmony()
    measured = bundled.measure_chorale_harmony()
    assert stored.keys() == measured.keys()
    for name, value in measured.items():
        assert stored[name] == pytest.approx(value, rel=1e-9), name


def test_without_the_stored_file_the_chorale_harmony_figures_are_measured(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "CHORALE_HARMONY", tmp_path / "missing.json")
    bundled.chorale_harmony.cache_clear()
    try:
        figures = bundled.chorale_harmony()
    finally:
        bundled.chorale_harmony.cache_clear()
    assert 3.5 < figures["voices_per_onset"] <= 4.0 and figures["chord_notes_in_key"] > 0.8
