"""Rendering notes to WAV bytes, with fluidsynth or the fallback synth, and instrument names."""

from __future__ import annotations

import io
import wave

import numpy as np
import pandas as pd
import pretty_midi
import pytest

from musicrnn import audio
from musicrnn.audio import FALLBACK_WARNING, render
from musicrnn.parts import instrument_program

# Four half-second notes: the music lasts 2 s.
NOTES = pd.DataFrame({"pitch": [60, 64, 67, 72], "step": [0.0, 0.5, 0.5, 0.5], "duration": [0.5] * 4})
NOTES_END = 2.0
TAIL = 1.5  # synths let the last note ring out (pretty_midi adds about a second)


def read_wav(data: bytes) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(io.BytesIO(data)) as wav:
        params = wav.getparams()
        samples = np.frombuffer(wav.readframes(params.nframes), dtype="<i2")
    return params, samples


@pytest.mark.parametrize("rate", [16000, 22050])
def test_render_returns_a_mono_16_bit_wav_at_the_requested_rate(rate):
    result = render(NOTES, sample_rate=rate)
    params, samples = read_wav(result.wav)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, rate)
    assert NOTES_END <= params.nframes / rate <= NOTES_END + TAIL
    assert result.seconds == pytest.approx(params.nframes / rate)


def test_rendered_audio_is_not_silent():
    _, samples = read_wav(render(NOTES).wav)
    assert np.abs(samples).max() > 1000  # out of 32767
    assert np.abs(samples[: 16000 * 2]).astype(np.float64).mean() > 50  # sound throughout the notes


def test_max_seconds_truncates_the_audio():
    result = render(NOTES, sample_rate=16000, max_seconds=1.0)
    params, _ = read_wav(result.wav)
    assert params.nframes == 16000
    assert result.seconds == pytest.approx(1.0)


def test_the_silence_before_the_first_note_is_not_played():
    # A pickup written after its bar's rest (or a file with a silent lead-in) starts sounding at once.
    late = NOTES.assign(step=[1.5, 0.5, 0.5, 0.5])
    params, samples = read_wav(render(late).wav)
    _, from_zero = read_wav(render(NOTES).wav)
    assert np.abs(samples[:800]).max() > 1000  # sound within the first 50 ms
    assert abs(params.nframes - len(from_zero)) <= 16000 * 0.05


def test_render_falls_back_with_a_warning_when_fluidsynth_is_unavailable(monkeypatch):
    monkeypatch.setattr(audio, "fluidsynth_available", lambda: False)
    result = render(NOTES, sample_rate=16000)
    assert result.warning == FALLBACK_WARNING
    params, samples = read_wav(result.wav)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert NOTES_END <= result.seconds <= NOTES_END + TAIL
    assert np.abs(samples).max() > 1000


@pytest.mark.skipif(not audio.fluidsynth_available(), reason="the fluidsynth system library is not installed")
def test_render_with_fluidsynth_gives_no_warning():
    assert render(NOTES).warning is None


def test_rendering_no_notes_gives_short_silence():
    result = render(NOTES.iloc[:0])
    _, samples = read_wav(result.wav)
    assert result.seconds > 0 and not samples.any()


@pytest.mark.parametrize("name_or_number", ["Violin", "violin", "  VIOLIN ", 40, "40"])
def test_instrument_program_by_name_or_number(name_or_number):
    assert instrument_program(name_or_number) == 40


def test_instrument_program_of_the_piano_is_zero():
    assert instrument_program("Acoustic Grand Piano") == 0


@pytest.mark.parametrize("bad", ["Kazoo Deluxe", 128, "200", -1])
def test_instrument_program_rejects_unknown_names_and_numbers(bad):
    with pytest.raises(ValueError):
        instrument_program(bad)


def _piece(*parts: tuple[int, bool, list[tuple[float, float, int]]]) -> pretty_midi.PrettyMIDI:
    """A PrettyMIDI of (program, is_drum, [(start, end, pitch), ...]) instruments."""
    pm = pretty_midi.PrettyMIDI()
    for program, is_drum, notes in parts:
        instrument = pretty_midi.Instrument(program, is_drum=is_drum)
        instrument.notes = [pretty_midi.Note(90, pitch, start, end) for start, end, pitch in notes]
        pm.instruments.append(instrument)
    return pm


def _spectrum(samples: np.ndarray) -> np.ndarray:
    frames = samples[: len(samples) // 2048 * 2048].astype(np.float64).reshape(-1, 2048) * np.hanning(2048)
    spectrum = np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0)
    return spectrum / np.linalg.norm(spectrum)


@pytest.mark.skipif(not audio.fluidsynth_available(), reason="the fluidsynth system library is not installed")
def test_one_synthesizer_sounds_as_pretty_midis_one_per_instrument():
    piano = (0, False, [(0.0, 1.0, 60), (1.0, 2.0, 64), (2.0, 3.0, 67)])
    violin = (40, False, [(0.0, 1.5, 72), (1.5, 3.0, 76)])
    drums = (0, True, [(t / 2, t / 2 + 0.1, 36) for t in range(6)])
    pm = _piece(piano, violin, drums)
    ours, warning = audio.synthesize(pm, 16000)
    theirs = pm.fluidsynth(fs=16000, synthesizer=str(audio.SOUNDFONT))
    assert warning is None and len(ours) == len(theirs)
    assert np.abs(ours).max() == pytest.approx(1.0)  # full scale, as pretty_midi normalises it
    assert _spectrum(ours) @ _spectrum(theirs) > 0.98


@pytest.mark.skipif(not audio.fluidsynth_available(), reason="the fluidsynth system library is not installed")
def test_a_note_ending_in_one_instrument_does_not_stop_the_same_pitch_in_another():
    # Each instrument has its own channel: a note off is heard only by the instrument that played the note.
    pm = _piece((0, False, [(0.0, 2.0, 60)]), (0, False, [(0.0, 0.25, 60)]))
    wave_out, _ = audio.synthesize(pm, 16000)
    assert np.abs(wave_out[int(16000 * 1.2) : int(16000 * 1.8)]).max() > 0.05


@pytest.mark.skipif(not audio.fluidsynth_available(), reason="the fluidsynth system library is not installed")
def test_more_instruments_than_midi_channels_are_all_heard():
    pm = _piece(*[(program, False, [(float(i), i + 0.5, 60)]) for i, program in enumerate(range(0, 80, 4))])
    wave_out, _ = audio.synthesize(pm, 16000)
    assert len(wave_out) >= 16000 * 19.5
    assert all(np.abs(wave_out[int(16000 * (i + 0.1)) : int(16000 * (i + 0.4))]).max() > 0.05 for i in range(20))
