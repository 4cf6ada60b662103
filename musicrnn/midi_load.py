"""MIDI files in: paths, folders, zip archives and uploads to note tables (midi.pm_to_notes), with the
tracks a file holds and, for a file that cannot be used, the reason (a LoadedFile's error, or a MidiError).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd
import pretty_midi

from .midi import DRUMS_PROGRAM, main_bpm, pm_to_notes
from .midi_scan import MAX_FILE_BYTES, MidiError, MidiScan, parse_with_scan
from .parts import instrument_name, sounding_program
from .safezip import ZipRefused, member_problem, open_zip, read_member
from .theory import DEFAULT_BPM

MIDI_SUFFIXES = (".mid", ".midi")
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_TOTAL_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # a MIDI file compresses maybe 5-10x; bombs compress 1000x
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
NO_POSITIVE_NOTES = "the file has no notes of positive length (each note ends the moment it starts, or before)"


@dataclass(frozen=True)
class Track:
    """One track of a file as a musician names it: General MIDI program and family, its own name, its notes."""

    program: int  # 0-127, or DRUMS_PROGRAM
    name: str
    notes: int

    @property
    def instrument(self) -> str:
        return "Drums" if self.program == DRUMS_PROGRAM else instrument_name(self.program)

    @property
    def family(self) -> str:
        return "Drums" if self.program == DRUMS_PROGRAM else pretty_midi.program_to_instrument_class(self.program)


def tracks_of(pm: pretty_midi.PrettyMIDI) -> list[Track]:
    """Each track as the app names and filters it: a track that never set a program but whose name names an
    instrument ("Violino I.", "Vc.") counts as that instrument, not as MIDI's default piano."""
    return [
        Track(
            DRUMS_PROGRAM if inst.is_drum else sounding_program(int(inst.program), inst.name),
            inst.name.strip(),
            len(inst.notes),
        )
        for inst in pm.instruments
    ]


@dataclass
class LoadedFile:
    """One input file after loading: its notes, or the reason it was refused."""

    name: str
    notes: pd.DataFrame | None = None
    error: str | None = None
    instruments: list[str] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)  # every track, whichever were chosen
    merged: int = 0  # doubled notes merged away (same pitch, same onset, in several parts)
    shift_ms: float = 0.0  # median distance (ms) an onset moved when snapped to the beat grid
    bpm: float = DEFAULT_BPM  # the tempo most of its notes play at (main_bpm)
    time_signature: str = "4/4"  # at the first note

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seconds(self) -> float:
        if not self.ok:
            return 0.0
        assert self.notes is not None  # a file that loaded has its notes
        return float(self.notes["end"].max()) if len(self.notes) else 0.0


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
    pm, scan = parse_with_scan(data, name)
    return _notes(pm, scan, name, instruments, include_drums)


def _notes(
    pm: pretty_midi.PrettyMIDI,
    scan: MidiScan,
    name: str,
    instruments: Sequence[int] | None,
    include_drums: bool,
    programs: Collection[int] | None = None,
) -> pd.DataFrame:
    """pm_to_notes, plus the one thing only the scan knows: notes existed but all had zero length."""
    if scan.notes and not any(inst.notes for inst in pm.instruments):
        raise MidiError(name, NO_POSITIVE_NOTES)  # pretty_midi silently drops zero-length notes
    if programs is not None:  # tracks by what they play (General MIDI program), the same in every file
        by_program = [i for i, track in enumerate(tracks_of(pm)) if track.program in programs]
        chosen = by_program if instruments is None else [i for i in instruments if i in by_program]
        if not chosen:
            raise MidiError(name, "none of its tracks plays one of the chosen instruments")
        instruments = chosen
    notes = pm_to_notes(pm, name, instruments=instruments, include_drums=include_drums)
    if len(notes) == 0:
        raise MidiError(name, NO_POSITIVE_NOTES)
    return notes


def instrument_label(instrument: pretty_midi.Instrument, index: int) -> str:
    """A readable label such as '2: Violin (program 40)' or '9: Drums'."""
    if instrument.is_drum:
        kind = "Drums"
    else:  # as its name says when it set no program (tracks_of)
        kind = instrument_name(sounding_program(int(instrument.program), instrument.name))
    name = instrument.name.strip()
    title = f"{name} – {kind}" if name and name != kind else kind
    return f"{index}: {title} ({len(instrument.notes)} notes)"


def read_zip(data: bytes, name: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """MIDI members of a zip archive, read in memory, and (member, reason) for those skipped.

    Member names are only labels: nothing is ever extracted to disk. Limits are checked from the
    archive's declared sizes before anything is inflated (see musicrnn.safezip).
    """
    try:
        archive = open_zip(data, ZIP_MAX_MEMBERS, ZIP_MAX_TOTAL_BYTES)
    except ZipRefused as exc:
        raise MidiError(name, f"the archive cannot be used: {exc}") from None
    files: list[tuple[str, bytes]] = []
    skipped: list[tuple[str, str]] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename.replace("\\", "/"))
        label = f"{name}/{_label(path.as_posix().lstrip('/'))}"
        if path.name.startswith(("._", ".")) or "__MACOSX" in path.parts:
            continue  # macOS resource forks and hidden files are noise, not music
        if path.name.lower().endswith(ARCHIVE_SUFFIXES):
            skipped.append((label, "nested archives are not opened"))
        elif path.suffix.lower() not in MIDI_SUFFIXES:
            skipped.append((label, "not a .mid or .midi file"))
        elif problem := member_problem(info, MAX_FILE_BYTES, ZIP_MAX_RATIO):
            skipped.append((label, problem))
        else:
            try:
                files.append((label, read_member(archive, info)))
            except ZipRefused as exc:
                skipped.append((label, str(exc)))
    return files, skipped


def _label(text: str) -> str:
    """A member name made safe to print: control characters (newlines, terminal escapes) become '?'."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def load_uploads(
    items: Iterable[tuple[str, bytes]],
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
    programs: Collection[int] | None = None,
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
            results.extend(load_uploads(members, instruments, include_drums, programs))
        else:
            results.append(load_one(name, data, instruments, include_drums, programs))
    return results


def load_one(
    name: str,
    data: bytes,
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
    programs: Collection[int] | None = None,
) -> LoadedFile:
    """`programs`: keep only tracks playing these General MIDI programs (DRUMS_PROGRAM for drum tracks)."""
    try:
        pm, scan = parse_with_scan(data, name)
    except MidiError as exc:
        return LoadedFile(name, error=exc.reason)
    labels, tracks = [instrument_label(inst, i) for i, inst in enumerate(pm.instruments)], tracks_of(pm)
    try:
        notes = _notes(pm, scan, name, instruments, include_drums, programs)
    except MidiError as exc:  # the tracks stay known, so a filter that refused the file can be changed
        return LoadedFile(name, error=exc.reason, instruments=labels, tracks=tracks)
    return LoadedFile(
        name,
        notes=notes,
        instruments=labels,
        tracks=tracks,
        merged=notes.attrs.get("merged", 0),
        shift_ms=notes.attrs.get("shift_ms", 0.0),
        bpm=main_bpm(notes),
        time_signature=notes.attrs.get("time_signature", "4/4"),
    )


def source_files(path: Path) -> list[tuple[str, Path]] | None:
    """The files one command-line path stands for, named as reports name them: a folder's MIDI and zip files
    (searched recursively, sorted, named relative to the folder), or the file itself; None when it does not exist."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES + (".zip",))
        return [(str(p.relative_to(path)), p) for p in found]
    if path.is_file():
        return [(path.name, path)]
    return None


def read_sources(paths: Iterable[str | Path]) -> list[tuple[str, bytes]]:
    """Named bytes for files, folders (searched recursively for MIDI and zip files) and zip archives."""
    items: list[tuple[str, bytes]] = []
    for raw in paths:
        found = source_files(Path(raw))
        if found is None:
            items.append((str(raw), b""))  # reported as an error by the loader
        else:
            items.extend((name, file.read_bytes()) for name, file in found)
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
