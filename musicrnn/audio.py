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
                return pm.fluidsynth(fs=sample_rate, synthesizer=str(SOUNDFONT)).astype(np.float32), None
        except Exception as exc:  # a broken system library must not take the app down
            log.warning("fluidsynth failed (%s); using the fallback synth", exc)
    audio = pm.synthesize(fs=sample_rate)
    peak = float(np.abs(audio).max()) or 1.0
    return (audio / peak).astype(np.float32), FALLBACK_WARNING


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


def render(
    music: pd.DataFrame | pretty_midi.PrettyMIDI,
    sample_rate: int = 16000,
    program: int = 0,
    programs: dict[int, int] | None = None,
    max_seconds: float | None = None,
) -> Rendered:
    """Render a note table (played by `program`) or a PrettyMIDI to WAV bytes, optionally only its start."""
    # A table with parts renders every part, each with its own instrument (`programs`, part id -> program).
    pm = (
        music if isinstance(music, pretty_midi.PrettyMIDI) else notes_to_midi(music, program=program, programs=programs)
    )
    audio, warning = synthesize(pm, sample_rate)
    if max_seconds is not None:
        audio = audio[: int(max_seconds * sample_rate)]
    fade = min(len(audio), int(0.05 * sample_rate))  # avoid a click where the audio is cut
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return Rendered(wav_bytes(audio, sample_rate), len(audio) / sample_rate, warning)
