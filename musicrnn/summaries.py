"""Readable tables about loaded files and notes, for people (the app's tables, the CLI's reports)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import pandas as pd

from .generate import note_name
from .midi import LoadedFile

_NOTE_COUNT = re.compile(r"\s*\(\d[\d,]* notes?\)$")


def timing_note(item: LoadedFile) -> str:
    """How the file's time was read: how far onsets moved onto the beat grid, and doubled notes merged."""
    if not item.ok:
        return ""
    parts = ["on the beat grid" if item.shift_ms < 0.5 else f"timing quantised: median shift {item.shift_ms:.0f} ms"]
    if item.merged:
        parts.append(f"{item.merged:,} doubled note{'s' if item.merged != 1 else ''} merged")
    return "; ".join(parts)


def files_table(files: Sequence[LoadedFile]) -> pd.DataFrame:
    """One row per file: name, 'OK' or the reason it was refused, notes, seconds, tempo and metre, how its
    timing was read, and instruments."""
    return pd.DataFrame(
        {
            "file": [item.name for item in files],
            "status": ["OK" if item.ok else item.error for item in files],
            "notes": [len(item.notes) if item.ok else 0 for item in files],
            "seconds": [round(item.seconds, 1) for item in files],
            "tempo": [f"{item.bpm:.0f} BPM, {item.time_signature}" if item.ok else "" for item in files],
            "timing": [timing_note(item) for item in files],
            "instruments": [", ".join(item.instruments) for item in files],
        }
    )


def corpus_summary(files: Sequence[LoadedFile]) -> dict:
    """Counts over the usable files: files, refused files, notes, minutes and the pitch range as names."""
    good = [item for item in files if item.ok]
    pitches = pd.concat([item.notes["pitch"] for item in good]) if good else pd.Series(dtype=int)
    return {
        "files": len(good),
        "refused": len(files) - len(good),
        "notes": int(len(pitches)),
        "minutes": sum(item.seconds for item in good) / 60,
        "lowest": note_name(pitches.min()) if len(pitches) else "–",
        "highest": note_name(pitches.max()) if len(pitches) else "–",
    }


def track_names(files: Sequence[LoadedFile]) -> dict[int, str]:
    """Instrument index -> its most common label across files ('0: Soprano – Acoustic Grand Piano')."""
    labels: dict[int, Counter] = {}
    for item in files:
        for index, label in enumerate(item.instruments):
            labels.setdefault(index, Counter())[_NOTE_COUNT.sub("", label)] += 1
    return {index: counts.most_common(1)[0][0] for index, counts in sorted(labels.items())}


def named_notes(notes: pd.DataFrame) -> pd.DataFrame:
    """The note table with a 'note' column (C4, F#3, …) first, times rounded for reading."""
    table = notes.copy()
    table.insert(0, "note", [note_name(p) for p in table["pitch"]])
    return table.round({column: 3 for column in ("start", "end", "step", "duration") if column in table})
