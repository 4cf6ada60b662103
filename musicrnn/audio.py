"""Notes to sound: fluidsynth with pretty_midi's General MIDI soundfont, or a plain fallback synth."""

from __future__ import annotations

import io
import logging
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pretty_midi

from .midi import notes_to_midi

log = logging.getLogger(__name__)
SOUNDFONT = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
FALLBACK_WARNING = (
    "The fluidsynth library is not installed, so this audio uses simple sine waves instead of real "
    "instrument sounds (install the system package 'fluidsynth' to fix this)."
)
_synth_lock = threading.Lock()  # one fluidsynth instance at a time keeps memory flat with many users


@dataclass
class Rendered:
    wav: bytes
    seconds: float
    warning: str | None = None


def fluidsynth_available() -> bool:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth: needs the system library too)
    except (ImportError, OSError):
        return False
    return SOUNDFONT.exists()


def synthesize(pm: pretty_midi.PrettyMIDI, sample_rate: int = 16000) -> tuple[np.ndarray, str | None]:
    """A mono waveform in [-1, 1] and a warning when the fallback synth was used."""
    if not pm.instruments or not any(inst.notes for inst in pm.instruments):
        return np.zeros(int(sample_rate * 0.5), np.float32), None
    if fluidsynth_available():
        try:
            with _synth_lock:
                return _normalised(_fluidsynth_wave(pm, sample_rate)), None
        except Exception as exc:  # a broken system library must not take the app down
            log.warning("fluidsynth failed (%s); using the fallback synth", exc)
    audio = pm.synthesize(fs=sample_rate)
    peak = float(np.abs(audio).max()) or 1.0
    return (audio / peak).astype(np.float32), FALLBACK_WARNING


# A MIDI event for the synthesizer: (seconds, 0 for a note off else 1, kind, channel, first value, second value).
# Note offs sort before what starts at the same moment, as pretty_midi orders them.
_Event = tuple[float, int, int, int, int, int]
_NOTE_ON, _NOTE_OFF, _BEND, _CONTROL = range(4)
_MELODIC_CHANNELS = [channel for channel in range(16) if channel != 9]  # MIDI channel 10 is the drum kit


def _fluidsynth_wave(pm: pretty_midi.PrettyMIDI, sample_rate: int) -> np.ndarray:
    """The whole piece from one synthesizer, each instrument on its own channel, plus a second for the last
    notes to die away.

    pretty_midi's own `fluidsynth()` builds a synthesizer, loads the sound font and renders the whole length
    once per instrument: a five-voice madrigal of 100 s paid five times for its reverb and chorus (0.56 s, now
    0.35 s). More instruments than the 15 melodic channels keep pretty_midi's way."""
    instruments = [instrument for instrument in pm.instruments if instrument.notes]
    if sum(not instrument.is_drum for instrument in instruments) > len(_MELODIC_CHANNELS):
        return pm.fluidsynth(fs=sample_rate, synthesizer=str(SOUNDFONT))
    import fluidsynth

    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        font = synth.sfload(str(SOUNDFONT))
        events = _events(synth, font, instruments)
        return _play(synth, events, sample_rate)
    finally:
        synth.delete()


def _events(synth, font: int, instruments: list[pretty_midi.Instrument]) -> list[_Event]:
    """Every instrument's notes, bends and controller changes on its own channel, its sound chosen, in time order."""
    free = iter(_MELODIC_CHANNELS)
    events: list[_Event] = []
    for instrument in instruments:
        if instrument.is_drum:
            channel = 9
            if synth.program_select(channel, font, 128, instrument.program) == -1:
                synth.program_select(channel, font, 128, 0)  # the sound font has no such kit: the standard one
        else:
            channel = next(free)
            synth.program_select(channel, font, 0, instrument.program)
        for note in instrument.notes:
            events.append((note.start, 1, _NOTE_ON, channel, note.pitch, note.velocity))
            events.append((note.end, 0, _NOTE_OFF, channel, note.pitch, 0))
        events += [(bend.time, 1, _BEND, channel, bend.pitch, 0) for bend in instrument.pitch_bends]
        events += [(cc.time, 1, _CONTROL, channel, cc.number, cc.value) for cc in instrument.control_changes]
    events.sort(key=lambda event: event[:2])
    return events


def _play(synth, events: list[_Event], sample_rate: int) -> np.ndarray:
    """The synthesizer's left channel from the first event to a second after the last (silence before the
    first event, as pretty_midi leaves it)."""
    wave_out = np.zeros(int(np.ceil(sample_rate * (events[-1][0] + 1.0))), np.float32)
    position = int(sample_rate * events[0][0])
    for seconds, _, kind, channel, first, second in events:
        target = int(sample_rate * seconds)
        if target > position:
            wave_out[position:target] = synth.get_samples(target - position)[::2]
            position = target
        if kind == _NOTE_ON:
            synth.noteon(channel, first, second)
        elif kind == _NOTE_OFF:
            synth.noteoff(channel, first)
        elif kind == _BEND:
            synth.pitch_bend(channel, first)
        else:
            synth.cc(channel, first, second)
    wave_out[position:] = synth.get_samples(len(wave_out) - position)[::2]
    return wave_out


def _normalised(wave_in: np.ndarray) -> np.ndarray:
    """Peak at full scale, as pretty_midi's `fluidsynth()` returns it."""
    peak = float(np.abs(wave_in).max())
    return (wave_in / peak if peak else wave_in).astype(np.float32)


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV file contents."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def first_onset(pm: pretty_midi.PrettyMIDI) -> float:
    """When the first note starts, in seconds (0 without notes)."""
    return min((note.start for instrument in pm.instruments for note in instrument.notes), default=0.0)


def render(
    music: pd.DataFrame | pretty_midi.PrettyMIDI,
    sample_rate: int = 16000,
    program: int = 0,
    programs: dict[int, int] | None = None,
    max_seconds: float | None = None,
) -> Rendered:
    """Render a note table (played by `program`) or a PrettyMIDI to WAV bytes, optionally only its start. The
    silence before the first note (a pickup's rest, a file's lead-in) is left out: a listener hears it at once."""
    # A table with parts renders every part, each with its own instrument (`programs`, part id -> program).
    pm = (
        music if isinstance(music, pretty_midi.PrettyMIDI) else notes_to_midi(music, program=program, programs=programs)
    )
    audio, warning = synthesize(pm, sample_rate)
    audio = audio[max(0, int(first_onset(pm) * sample_rate)) :]
    if max_seconds is not None:
        audio = audio[: int(max_seconds * sample_rate)]
    fade = min(len(audio), int(0.05 * sample_rate))  # avoid a click where the audio is cut
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return Rendered(wav_bytes(audio, sample_rate), len(audio) / sample_rate, warning)
