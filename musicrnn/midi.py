"""MIDI in and out: bytes, paths and zip archives to note tables, and note tables back to MIDI.

Everything that is not a usable MIDI file raises `MidiError`, whose message names the file and the reason.
Time is in seconds here; ticks and tempo maps stay inside pretty_midi.
"""
from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pretty_midi

NOTE_COLUMNS = ["pitch", "start", "end", "step", "duration", "velocity"]
MIDI_SUFFIXES = (".mid", ".midi")
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NOTES = 100_000  # more than any real piece; bounds memory and time of hostile files
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_TOTAL_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # a MIDI file compresses maybe 5-10x; bombs compress 1000x


class MidiError(ValueError):
    """A file that cannot be used as music, with the file's name and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass
class LoadedFile:
    """One input file after loading: its notes, or the reason it was refused."""

    name: str
    notes: pd.DataFrame | None = None
    error: str | None = None
    instruments: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seconds(self) -> float:
        return float(self.notes["end"].max()) if self.ok and len(self.notes) else 0.0


def parse_midi(data: bytes, name: str = "file") -> pretty_midi.PrettyMIDI:
    """Parse MIDI bytes, turning every failure into a MidiError naming the file."""
    if len(data) == 0:
        raise MidiError(name, "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(name, f"the file is too large ({len(data) / 1e6:.1f} MB; limit {MAX_FILE_BYTES / 1e6:.0f} MB)")
    if not data.startswith(b"MThd"):
        raise MidiError(name, "not a MIDI file (it does not start with a MIDI header)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns about odd but usable files
            return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except EOFError:
        raise MidiError(name, "the MIDI file is truncated (it ends in the middle of a track)") from None
    except Exception as exc:  # mido/pretty_midi raise many types for corrupt data
        raise MidiError(name, f"the MIDI file is corrupt ({type(exc).__name__}: {exc})") from None


def instrument_label(instrument: pretty_midi.Instrument, index: int) -> str:
    """A readable label such as '2: Violin (program 40)' or '9: Drums'."""
    if instrument.is_drum:
        kind = "Drums"
    else:
        kind = pretty_midi.program_to_instrument_name(instrument.program)
    name = instrument.name.strip()
    title = f"{name} – {kind}" if name and name != kind else kind
    return f"{index}: {title} ({len(instrument.notes)} notes)"


def pm_to_notes(
    pm: pretty_midi.PrettyMIDI,
    name: str = "file",
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
    max_notes: int = MAX_NOTES,
) -> pd.DataFrame:
    """Merge the chosen instruments' notes into one table sorted by start time (ties by pitch)."""
    if not pm.instruments:
        raise MidiError(name, "the file has no notes")
    chosen = range(len(pm.instruments)) if instruments is None else instruments
    picked = [pm.instruments[i] for i in chosen if 0 <= i < len(pm.instruments)]
    if not include_drums:
        if picked and all(inst.is_drum for inst in picked):
            raise MidiError(name, "the file has only drum tracks (drum keys are not pitches); include drums to use it")
        picked = [inst for inst in picked if not inst.is_drum]
    total = sum(len(inst.notes) for inst in picked)
    if total == 0:
        raise MidiError(name, "the chosen instruments have no notes")
    if total > max_notes:
        raise MidiError(name, f"the file has {total:,} notes, more than the limit of {max_notes:,}")
    rows = np.array(
        [(n.pitch, n.start, n.end, n.velocity) for inst in picked for n in inst.notes], dtype=np.float64
    ).reshape(-1, 4)
    return notes_frame(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])


def notes_frame(pitch: np.ndarray, start: np.ndarray, end: np.ndarray, velocity: np.ndarray) -> pd.DataFrame:
    """Build the standard note table; drops notes that end before they start."""
    keep = end > start
    pitch, start, end, velocity = pitch[keep], start[keep], end[keep], velocity[keep]
    order = np.lexsort((pitch, start))
    start = start[order]
    step = np.diff(start, prepend=start[:1]) if len(start) else start
    return pd.DataFrame(
        {
            "pitch": pitch[order].astype(np.int64),
            "start": start,
            "end": end[order],
            "step": step,
            "duration": end[order] - start,
            "velocity": velocity[order].astype(np.int64),
        }
    )


def midi_to_notes(
    source: str | Path | bytes,
    name: str | None = None,
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
) -> pd.DataFrame:
    """Read a MIDI file (path or bytes) into a note table with pitch, start, end, step, duration, velocity."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MidiError(name, f"cannot read the file ({exc.strerror or exc})") from None
    else:
        data = source
        name = name or "file"
    pm = parse_midi(data, name)
    notes = pm_to_notes(pm, name, instruments=instruments, include_drums=include_drums)
    if len(notes) == 0:
        raise MidiError(name, "the file has no notes of positive length")
    return notes


def notes_to_midi(
    notes: pd.DataFrame,
    program: int = 0,
    velocity: int | None = None,
    is_drum: bool = False,
    instrument_name: str = "",
) -> pretty_midi.PrettyMIDI:
    """Write a note table (pitch plus start/end, or step/duration) as a one-instrument MIDI file."""
    pm = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=int(program), is_drum=is_drum, name=instrument_name)
    starts, ends = note_times(notes)
    velocities = notes["velocity"].to_numpy() if velocity is None and "velocity" in notes else None
    for i, pitch in enumerate(notes["pitch"].to_numpy()):
        vel = int(velocities[i]) if velocities is not None else int(velocity or 90)
        instrument.notes.append(
            pretty_midi.Note(velocity=int(np.clip(vel, 1, 127)), pitch=int(pitch), start=float(starts[i]), end=float(ends[i]))
        )
    pm.instruments.append(instrument)
    return pm


def note_times(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of a note table, from start/end columns or from step/duration."""
    if "start" in notes and "end" in notes:
        return notes["start"].to_numpy(float), notes["end"].to_numpy(float)
    starts = np.cumsum(notes["step"].to_numpy(float))
    return starts, starts + notes["duration"].to_numpy(float)


def midi_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def read_zip(data: bytes, name: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """MIDI members of a zip archive, read in memory, and (member, reason) for those skipped.

    Member names are only labels: nothing is ever extracted to disk.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MidiError(name, f"not a readable zip archive ({exc})") from None
    members = [info for info in infos if not info.is_dir()]
    if len(members) > ZIP_MAX_MEMBERS:
        raise MidiError(name, f"the archive has {len(members):,} files, more than the limit of {ZIP_MAX_MEMBERS:,}")
    declared = sum(info.file_size for info in members)
    if declared > ZIP_MAX_TOTAL_BYTES:
        raise MidiError(name, f"the archive would unpack to {declared / 1e6:,.0f} MB, more than the limit of {ZIP_MAX_TOTAL_BYTES / 1e6:.0f} MB")
    files: list[tuple[str, bytes]] = []
    skipped: list[tuple[str, str]] = []
    for info in members:
        label = f"{name}/{PurePosixPath(info.filename).as_posix().lstrip('/')}"
        suffix = PurePosixPath(info.filename).suffix.lower()
        if PurePosixPath(info.filename).name.startswith(("._", ".")):
            continue  # macOS resource forks and hidden files are noise, not music
        if suffix == ".zip":
            skipped.append((label, "nested archives are not opened"))
        elif suffix not in MIDI_SUFFIXES:
            skipped.append((label, "not a .mid or .midi file"))
        elif info.file_size > MAX_FILE_BYTES:
            skipped.append((label, f"too large ({info.file_size / 1e6:.1f} MB)"))
        elif info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO:
            skipped.append((label, "suspicious compression ratio (possible zip bomb)"))
        else:
            try:
                files.append((label, archive.read(info)))
            except Exception as exc:  # corrupt member, bad CRC, unsupported compression
                skipped.append((label, f"cannot be read from the archive ({exc})"))
    return files, skipped


def load_uploads(
    items: Iterable[tuple[str, bytes]],
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
) -> list[LoadedFile]:
    """Load named byte blobs (.mid/.midi or .zip); every file gets a LoadedFile, good or bad."""
    results: list[LoadedFile] = []
    for name, data in items:
        if name.lower().endswith(".zip"):
            try:
                members, skipped = read_zip(data, name)
            except MidiError as exc:
                results.append(LoadedFile(name, error=exc.reason))
                continue
            results.extend(LoadedFile(label, error=f"skipped: {reason}") for label, reason in skipped)
            results.extend(load_uploads(members, instruments, include_drums))
        else:
            results.append(load_one(name, data, instruments, include_drums))
    return results


def load_one(name: str, data: bytes, instruments: Sequence[int] | None = None, include_drums: bool = False) -> LoadedFile:
    try:
        pm = parse_midi(data, name)
        labels = [instrument_label(inst, i) for i, inst in enumerate(pm.instruments)]
        notes = pm_to_notes(pm, name, instruments=instruments, include_drums=include_drums)
    except MidiError as exc:
        return LoadedFile(name, error=exc.reason)
    return LoadedFile(name, notes=notes, instruments=labels)


def read_sources(paths: Iterable[str | Path]) -> list[tuple[str, bytes]]:
    """Named bytes for files, folders (searched recursively for MIDI and zip files) and zip archives."""
    items: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES + (".zip",))
            items.extend((str(p.relative_to(path)), p.read_bytes()) for p in found)
        elif path.is_file():
            items.append((path.name, path.read_bytes()))
        else:
            items.append((str(path), b""))  # reported as an error by the loader
    return items


def load_paths(paths: Iterable[str | Path], **kwargs) -> list[LoadedFile]:
    """Load files, folders and zips from disk; missing paths are reported, not raised."""
    results = []
    for raw in paths:
        if not Path(raw).exists():
            results.append(LoadedFile(str(raw), error="no such file or folder"))
        else:
            results.extend(load_uploads(read_sources([raw]), **kwargs))
    return results
