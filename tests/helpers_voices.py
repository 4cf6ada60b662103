"""Hand-made four-part passages for the voice-leading and statistics tests: a note table (pitch, beat,
duration_beats, part, bar_beat, bar_beats) from lines or block chords, small enough to check by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from musicrnn.parts import PART_NAMES, VOICES

SATB = [PART_NAMES.index(voice) for voice in VOICES]  # Soprano, Alto, Tenor, Bass voice


def lines(voices: Sequence[Sequence[tuple[int, float, float]]], parts: Sequence[int] | None = None) -> pd.DataFrame:
    """A table from one line per voice, top voice first, each a list of (pitch, beat, beats long); the voices
    are Soprano, Alto, Tenor, Bass voice unless `parts` names others. Rows sorted as files are (time, pitch)."""
    parts = list(parts or SATB[: len(voices)])
    rows = [
        {"pitch": pitch, "beat": float(beat), "duration_beats": float(length), "part": part}
        for line, part in zip(voices, parts)
        for pitch, beat, length in line
    ]
    table = pd.DataFrame(rows).sort_values(["beat", "pitch"], kind="stable").reset_index(drop=True)
    return table.assign(bar_beat=table["beat"] % 4, bar_beats=4.0)


def block_chords(chords: Sequence[Sequence[int]], beats: float = 1.0) -> pd.DataFrame:
    """Chords of one note per voice (top voice first), each `beats` long, one after another."""
    voices = len(chords[0])
    return lines([[(chord[v], i * beats, beats) for i, chord in enumerate(chords)] for v in range(voices)])
