"""Readable tables about loaded files and notes, for people (the app's tables, the CLI's reports)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

from .midi import DRUMS_PROGRAM
from .midi_load import LoadedFile, Track
from .theory import note_name

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
            "notes": [len(item.notes) if item.ok and item.notes is not None else 0 for item in files],
            "seconds": [round(item.seconds, 1) for item in files],
            "tempo": [f"{item.bpm:.0f} BPM, {item.time_signature}" if item.ok else "" for item in files],
            "timing": [timing_note(item) for item in files],
            "instruments": [", ".join(item.instruments) for item in files],
        }
    )


PIANO_LOWEST, PIANO_HIGHEST = 21, 108  # A0 and C8, the ends of an 88-key piano


def readable_note(pitch: int) -> str:
    """A note name a musician reads at once: 'C4', and for the lowest octave 'B−1' with a true minus sign
    (a hyphen reads like a range) and where it lies: 'B−1 (below the piano)'."""
    name = note_name(int(pitch)).replace("-", "−")
    if pitch < PIANO_LOWEST:
        return f"{name} (below the piano)"
    if pitch > PIANO_HIGHEST:
        return f"{name} (above the piano)"
    return name


def ending_words(notes: pd.DataFrame, cap: int) -> str:
    """How a generated piece ended, for the line under its player: "ended by the model after 212 notes" or
    "stopped at 400 notes, the most allowed" (a model that has not learned endings always stops at the cap)."""
    if notes.attrs.get("ended"):
        return f"ended by the model after {len(notes)} notes"
    if len(notes) >= cap:
        return f"stopped at {cap} notes, the most allowed"
    return f"{len(notes)} notes"


def outside_the_piano(pitches: Iterable[int]) -> str:
    """What of a range lies beyond the piano's 88 keys, as a sentence ("" when nothing does)."""
    beyond = [
        f"{note_name(int(p)).replace('-', '−')} is {'below' if p < PIANO_LOWEST else 'above'} the piano's "
        f"{'lowest' if p < PIANO_LOWEST else 'highest'} key ({note_name(PIANO_LOWEST if p < PIANO_LOWEST else PIANO_HIGHEST)})"
        for p in pitches
        if p < PIANO_LOWEST or p > PIANO_HIGHEST
    ]
    return "; ".join(beyond) + "." if beyond else ""


def corpus_summary(files: Sequence[LoadedFile]) -> dict:
    """Counts over the usable files: files, refused files, notes, minutes, the pitch range as note names short
    enough for a metric ("B−1 – G9"), and what of it lies beyond the piano, in words."""
    good = [item for item in files if item.ok]
    pitches = (
        pd.concat([item.notes["pitch"] for item in good if item.notes is not None]) if good else pd.Series(dtype=int)
    )
    return {
        "files": len(good),
        "refused": len(files) - len(good),
        "notes": int(len(pitches)),
        "minutes": sum(item.seconds for item in good) / 60,
        "lowest": note_name(int(pitches.min())).replace("-", "−") if len(pitches) else "–",
        "highest": note_name(int(pitches.max())).replace("-", "−") if len(pitches) else "–",
        "outside_piano": outside_the_piano([int(pitches.min()), int(pitches.max())]) if len(pitches) else "",
    }


def track_names(files: Sequence[LoadedFile]) -> dict[int, str]:
    """Instrument index -> its most common label across files ('0: Soprano – Acoustic Grand Piano')."""
    labels: dict[int, Counter] = {}
    for item in files:
        for index, label in enumerate(item.instruments):
            labels.setdefault(index, Counter())[_NOTE_COUNT.sub("", label)] += 1
    return {index: counts.most_common(1)[0][0] for index, counts in sorted(labels.items())}


def _families() -> dict[str, frozenset[int]]:
    import pretty_midi

    families: dict[str, set[int]] = {"family:Drums": {DRUMS_PROGRAM}}
    for program in range(128):
        families.setdefault(f"family:{pretty_midi.program_to_instrument_class(program)}", set()).add(program)
    return {key: frozenset(programs) for key, programs in families.items()}


PROGRAM_FAMILIES = _families()  # "family:Strings" -> every General MIDI program of the family


def chosen_programs(options: Iterable[str]) -> tuple[int, ...] | None:
    """The General MIDI programs kept by options of instrument_choices ("program:N", "family:Name"); None
    when none is chosen (keep every track)."""
    programs: set[int] = set()
    for option in options:
        programs |= (
            {int(option.partition(":")[2])} if option.startswith("program:") else set(PROGRAM_FAMILIES.get(option, ()))
        )
    return tuple(sorted(programs)) or None


def instrument_choices(files: Sequence[LoadedFile]) -> dict[str, tuple[str, frozenset[int]]]:
    """What a musician can keep across all files: each instrument family and each General MIDI program found,
    as option -> (label with the notes and files it brings, the programs it keeps). Counts all tracks, chosen or not."""
    notes: Counter = Counter()
    files_with: dict[int, set[str]] = {}
    example: dict[int, Track] = {}
    for item in files:
        for track in item.tracks:
            notes[track.program] += track.notes
            files_with.setdefault(track.program, set()).add(item.name)
            example.setdefault(track.program, track)
    families: dict[str, set[int]] = {}
    for program, track in example.items():
        families.setdefault(track.family, set()).add(program)

    def label(text: str, programs: set[int]) -> str:
        count = len(set().union(*(files_with[p] for p in programs)))
        return f"{text} — {sum(notes[p] for p in programs):,} notes in {count} file(s)"

    choices: dict[str, tuple[str, frozenset[int]]] = {}
    for family, programs in sorted(families.items()):
        if len(programs) > 1:  # a family of one program is just that program
            choices[f"family:{family}"] = (label(f"All {family}", programs), frozenset(programs))
        for program in sorted(programs):
            choices[f"program:{program}"] = (
                label(f"{family} › {example[program].instrument}", {program}),
                frozenset({program}),
            )
    return choices


def named_notes(notes: pd.DataFrame) -> pd.DataFrame:
    """The note table with a 'note' column (C4, F#3, …) first, times rounded for reading."""
    table = notes.copy()
    table.insert(0, "note", [note_name(p) for p in table["pitch"]])
    return table.round({column: 3 for column in ("start", "end", "step", "duration") if column in table})
