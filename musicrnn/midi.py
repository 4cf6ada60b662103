"""MIDI in and out: bytes, paths and zip archives to note tables, and note tables back to MIDI.

Everything that is not a usable MIDI file raises `MidiError`, whose message names the file and the reason.
Every note has its time twice: in seconds (display, audio) and in beats (quarter notes, read through the file's
tempo map and snapped to a 1/12-beat grid), which is what the beat-based models see: the same music at another
tempo gives the same beats. Every note keeps its `track` (index in the file) and its `part` (musicrnn.parts: a
voice, a General MIDI family, or drums). Notes of one pitch that start together in several parts (instruments
doubling the voices) are merged into one; drums never merge with pitched notes (their "pitch" is a drum sound).
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import mido
import numpy as np
import pandas as pd
import pretty_midi

from .parts import DRUMS_PART, PIANO_PART, part_name, parts_of_tracks, sounding_program
from .safezip import ZipRefused, member_problem, open_zip, read_member
from .theory import BAR_BEATS, BEAT_GRID, DEFAULT_BPM

# A piece's columns (what generation writes), then what a file adds: each note's part, track and program.
PIECE_COLUMNS = [
    "pitch",
    "start",
    "end",
    "step",
    "duration",
    "velocity",
    "beat",
    "step_beats",
    "duration_beats",
    "bar_beat",
    "bar_beats",
    "bpm",
]
NOTE_COLUMNS = [*PIECE_COLUMNS, "part", "track", "program"]
MIDI_SUFFIXES = (".mid", ".midi")
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NOTES = 100_000  # more than any real piece; bounds memory and time of hostile files
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_TOTAL_BYTES = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100  # a MIDI file compresses maybe 5-10x; bombs compress 1000x
# Bounds on what pretty_midi is asked to parse: it builds a Python object per event (~4 s and ~230 MB for
# 200k notes) and a float table with one entry per tick, so hostile files are refused from a byte scan first.
MAX_EVENTS = 3 * MAX_NOTES
MAX_TICKS = 10_000_000  # pretty_midi's own corruption bound (an 80 MB table)
# A file longer than this is damaged, not music (13 hours at 120 bpm; real pieces hold a few thousand beats).
# One within it whose ticks pass MAX_TICKS only counts time finely (music21 writes 10080 ticks a beat, so a
# long quartet movement passes 10 million ticks): it is read at a coarser resolution instead of refused.
MAX_BEATS = 100_000
COARSE_TICKS_PER_BEAT = 480
MAX_META_BYTES = 1024 * 1024  # text, lyrics and system-exclusive data; real files hold kilobytes
MAX_META_EVENTS = 20_000  # tempo/text/sysex events cost mido ~50 µs each; real files hold hundreds
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
NO_POSITIVE_NOTES = "the file has no notes of positive length (each note ends the moment it starts, or before)"


class MidiError(ValueError):
    """A file that cannot be used as music, with the file's name and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


DRUMS_PROGRAM = 128  # what `programs` filters and Track.program call drum tracks (GM programs are 0-127)


@dataclass(frozen=True)
class Track:
    """One track of a file as a musician names it: General MIDI program and family, its own name, its notes."""

    program: int  # 0-127, or DRUMS_PROGRAM
    name: str
    notes: int

    @property
    def instrument(self) -> str:
        return "Drums" if self.program == DRUMS_PROGRAM else pretty_midi.program_to_instrument_name(self.program)

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


@dataclass
class MidiScan:
    """What a byte-level walk of a MIDI file counted, before any parsing."""

    tracks: int
    notes: int  # note-on events with a velocity above zero
    events: int
    division: int = 480  # ticks a beat
    last_tick: int = 0  # of the latest event in any track


# How many data bytes follow each system status byte (0xF4, 0xF5, 0xF9 and 0xFD are undefined).
_SYSTEM_LENGTHS = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}
_LOOKS_LIKE = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a zip archive"),
    (b"%PDF", "a PDF document"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1f\x8b", "a compressed (gzip) file"),
    (b"<?xml", "an XML file, perhaps MusicXML"),
]


def _looks_like(data: bytes) -> str:
    """A guess at what a non-MIDI file is, for the error message."""
    for magic, kind in _LOOKS_LIKE:
        if data.startswith(magic):
            return f"it looks like {kind}"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "it looks like a WAV audio file"
    if data.startswith(b"RIFF") and data[8:12] == b"RMID":
        return "it is a RIFF-wrapped MIDI (.rmi) file; save it as a standard .mid file"
    try:
        head = data[:1024].decode("utf-8")
    except UnicodeDecodeError:
        head = ""
    if head and all(ch.isprintable() or ch in "\r\n\t" for ch in head.rstrip("\x00")):
        return "it looks like a text file"
    return "it does not start with a MIDI header"


def scan_midi(data: bytes, name: str = "file") -> MidiScan:
    """Walk the raw bytes once, building no objects; refuse damaged, unsupported or oversized files.

    This runs before pretty_midi, so a hostile file costs one bounded pass instead of a hang or gigabytes,
    and the reason is said in plain words rather than as a parser exception.
    """
    if len(data) == 0:
        raise MidiError(name, "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(name, f"the file is too large ({len(data) / 1e6:.1f} MB; limit {MAX_FILE_BYTES / 1e6:.0f} MB)")
    if not data.startswith(b"MThd"):
        raise MidiError(name, f"not a MIDI file ({_looks_like(data)})")
    if len(data) < 14:
        raise MidiError(name, "the MIDI file is truncated (it ends inside its header)")
    length, _, tracks, division = struct.unpack_from(">IHHH", data, 4)
    if length < 6:
        raise MidiError(name, "the MIDI file's header is damaged (it is too short)")
    if division & 0x8000:
        raise MidiError(
            name, "the file uses SMPTE timing (frames per second), which is not supported; save it with timing in beats"
        )
    if division == 0:
        raise MidiError(name, "the MIDI file's header is damaged (it says a beat lasts 0 ticks)")
    if tracks == 0 or tracks > 0x7FFF:
        raise MidiError(name, "the MIDI file has no tracks")
    totals = [0, 0, 0, 0, 0]  # notes, events, meta events, meta bytes, last tick
    position = 8 + length
    for _ in range(tracks):
        if position + 8 > len(data):
            raise MidiError(name, "the MIDI file is truncated (it ends before all of its tracks)")
        if data[position : position + 4] != b"MTrk":
            raise MidiError(name, "the MIDI file is damaged (a track is not where the file says it is)")
        end = position + 8 + int.from_bytes(data[position + 4 : position + 8], "big")
        if end > len(data):
            raise MidiError(name, "the MIDI file is truncated (it ends in the middle of a track)")
        _scan_track(data, position + 8, end, name, totals)
        position = end
    if totals[4] / division > MAX_BEATS:
        raise MidiError(name, "the MIDI file's timing is damaged (an event lies impossibly far from the start)")
    return MidiScan(tracks=tracks, notes=totals[0], events=totals[1], division=division, last_tick=totals[4])


def _read_vlq(data: bytes, position: int) -> tuple[int, int]:
    """A MIDI variable-length number at `position` (7 bits a byte, high bit = more follow), and the next position."""
    byte = data[position]
    position += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = data[position]
        position += 1
        value = (value << 7) | (byte & 0x7F)
    return value, position


def _scan_track(data: bytes, position: int, end: int, name: str, totals: list[int]) -> None:
    """Count one track's events into `totals`, following the same rules as mido's reader."""
    notes, events, metas, meta, last_tick = totals
    tick, status = 0, 0
    try:
        while position < end:
            delta, position = _read_vlq(data, position)
            tick += delta
            kind = data[position]
            if kind & 0x80:
                position += 1
                if kind < 0xF0:
                    status = kind
            elif status:
                kind = status  # running status: this byte is already data
            else:
                raise MidiError(name, "the MIDI file is damaged (a track starts with data instead of an event)")
            if kind == 0xFF or kind == 0xF0 or kind == 0xF7:
                if kind == 0xFF:
                    position += 1  # the meta event's type
                size, position = _read_vlq(data, position)
                position += size
                meta += size
                metas += 1
                if metas > MAX_META_EVENTS:
                    raise MidiError(
                        name,
                        f"the file has more than {MAX_META_EVENTS:,} tempo changes, texts or other "
                        "non-note events (the limit)",
                    )
                if meta > MAX_META_BYTES:
                    raise MidiError(
                        name,
                        f"the file holds more than {MAX_META_BYTES // 1024:,} KB of text or "
                        "system-exclusive data (the limit)",
                    )
            elif kind < 0xF0:
                high = kind & 0xF0
                if high == 0xC0 or high == 0xD0:
                    position += 1
                else:
                    if high == 0x90 and data[position + 1]:
                        notes += 1
                        if notes > MAX_NOTES:
                            raise MidiError(
                                name,
                                f"the file has more than {MAX_NOTES:,} notes (the limit); split it into shorter pieces",
                            )
                    position += 2
            elif kind in _SYSTEM_LENGTHS:
                position += _SYSTEM_LENGTHS[kind]
            else:
                raise MidiError(name, f"the MIDI file is damaged (it holds an undefined event 0x{kind:02X})")
            events += 1
            if events > MAX_EVENTS:
                raise MidiError(
                    name, f"the file has more than {MAX_EVENTS:,} MIDI events (the limit); split it into shorter pieces"
                )
    except IndexError:
        raise MidiError(name, "the MIDI file is truncated (it ends in the middle of an event)") from None
    if position != end:
        raise MidiError(name, "the MIDI file is damaged (a track's length does not match its contents)")
    totals[:] = [notes, events, metas, meta, max(last_tick, tick)]


def _parse(data: bytes, name: str) -> tuple[pretty_midi.PrettyMIDI, MidiScan]:
    scan = scan_midi(data, name)
    try:
        if scan.last_tick > MAX_TICKS:
            data = coarser_ticks(data, scan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns about odd but usable files
            return pretty_midi.PrettyMIDI(io.BytesIO(data)), scan
    except EOFError:
        raise MidiError(name, "the MIDI file is truncated (it ends in the middle of a track)") from None
    except Exception as exc:  # mido/pretty_midi raise many types for corrupt data the scan let through
        detail = f" ({exc})" if isinstance(exc, (OSError, ValueError)) and str(exc) else ""
        raise MidiError(name, f"the MIDI file is damaged and cannot be read{detail}") from None


def coarser_ticks(data: bytes, scan: MidiScan) -> bytes:
    """The same MIDI file with fewer ticks a beat, so its last tick fits pretty_midi's bound (see MAX_BEATS).

    Absolute times are rescaled and rounded (not each delta, whose errors would add up); tempo is per beat,
    so seconds stay the same to within one new tick.
    """
    beats = scan.last_tick / scan.division
    coarse = min(COARSE_TICKS_PER_BEAT, int(MAX_TICKS // (beats + 1)))
    song = mido.MidiFile(file=io.BytesIO(data))
    for track in song.tracks:
        tick = written = 0
        for message in track:
            tick += message.time
            scaled = round(tick * coarse / scan.division)
            message.time, written = scaled - written, scaled
    song.ticks_per_beat = coarse
    out = io.BytesIO()
    song.save(file=out)
    return out.getvalue()


def parse_midi(data: bytes, name: str = "file") -> pretty_midi.PrettyMIDI:
    """Parse MIDI bytes, turning every failure into a MidiError naming the file."""
    return _parse(data, name)[0]


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
        kind = pretty_midi.program_to_instrument_name(sounding_program(int(instrument.program), instrument.name))
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
        raise MidiError(name, "the file has no notes (only settings such as tempo or track names)")
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
    index = {id(inst): i for i, inst in enumerate(pm.instruments)}
    parts = parts_of_tracks(
        [(inst.program, inst.name, inst.is_drum, np.mean([n.pitch for n in inst.notes] or [0])) for inst in picked]
    )
    rows = np.array(
        [
            (
                n.pitch,
                n.start,
                n.end,
                n.velocity,
                part,
                index[id(inst)],
                DRUMS_PROGRAM if inst.is_drum else sounding_program(inst.program, inst.name),
            )
            for inst, part in zip(picked, parts)
            for n in inst.notes
        ],
        dtype=np.float64,
    ).reshape(-1, 7)
    timing = MusicalTime.of(pm)
    return notes_frame(
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], timing, part=rows[:, 4], track=rows[:, 5], program=rows[:, 6]
    )


class MusicalTime:
    """A file's tempo map and time signatures: seconds to beats (quarter notes) and back, and bars.

    pretty_midi gives the tempo changes (time, quarter notes per minute); between two changes beats grow
    linearly with time, so both directions are one np.interp over the change points.
    """

    def __init__(self, tempo_times: np.ndarray, tempi: np.ndarray, signatures: Sequence[tuple[float, int, int]] = ()):
        tempo_times, tempi = np.asarray(tempo_times, np.float64), np.asarray(tempi, np.float64)
        if len(tempi) == 0 or tempo_times[0] > 0:
            tempo_times = np.concatenate([[0.0], tempo_times])
            tempi = np.concatenate([[tempi[0] if len(tempi) else DEFAULT_BPM], tempi])
        tempi = np.where((tempi > 0) & np.isfinite(tempi), tempi, DEFAULT_BPM)
        self.tempo_times, self.tempi = tempo_times, tempi
        self.tempo_beats = np.concatenate([[0.0], np.cumsum(np.diff(tempo_times) * tempi[:-1] / 60.0)])
        # (beat where it starts, bar length in beats) per time signature; 4/4 unless the file says otherwise.
        bars = [
            (float(self.to_beats(np.array([t]))[0]), num * 4.0 / den)
            for t, num, den in signatures
            if num > 0 and den > 0
        ]
        self.signature_names = [f"{num}/{den}" for _, num, den in signatures if num > 0 and den > 0] or ["4/4"]
        if not bars or bars[0][0] > 0:
            bars.insert(0, (0.0, BAR_BEATS))
        self.bar_starts = np.array([b for b, _ in bars])
        self.bar_lengths = np.array([length for _, length in bars])

    @classmethod
    def of(cls, pm: pretty_midi.PrettyMIDI) -> MusicalTime:
        times, tempi = pm.get_tempo_changes()
        signatures = [(ts.time, ts.numerator, ts.denominator) for ts in pm.time_signature_changes]
        return cls(times, tempi, signatures)

    def to_beats(self, seconds: np.ndarray) -> np.ndarray:
        seconds = np.asarray(seconds, np.float64)
        index = np.searchsorted(self.tempo_times, seconds, side="right") - 1
        index = np.clip(index, 0, len(self.tempi) - 1)
        return self.tempo_beats[index] + (seconds - self.tempo_times[index]) * self.tempi[index] / 60.0

    def to_seconds(self, beats: np.ndarray) -> np.ndarray:
        beats = np.asarray(beats, np.float64)
        index = np.clip(np.searchsorted(self.tempo_beats, beats, side="right") - 1, 0, len(self.tempi) - 1)
        return self.tempo_times[index] + (beats - self.tempo_beats[index]) * 60.0 / self.tempi[index]

    def tempo_at(self, seconds: np.ndarray) -> np.ndarray:
        """BPM at each time, to 0.01 (MIDI stores whole microseconds per beat: 84 bpm reads as 84.000084)."""
        index = np.clip(
            np.searchsorted(self.tempo_times, np.asarray(seconds, np.float64), side="right") - 1, 0, len(self.tempi) - 1
        )
        return np.round(self.tempi[index], 2)

    def bar_position(self, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(place of each onset in its bar, that bar's length), both in beats."""
        beats = np.asarray(beats, np.float64)
        index = np.clip(np.searchsorted(self.bar_starts, beats + 1e-9, side="right") - 1, 0, len(self.bar_starts) - 1)
        length = self.bar_lengths[index]
        return np.mod(beats - self.bar_starts[index], length), length

    def signature_at_start(self) -> str:
        return self.signature_names[0]


def snap(beats: np.ndarray, grid: int = BEAT_GRID) -> np.ndarray:
    """Beats rounded to the nearest 1/grid beat."""
    return np.round(np.asarray(beats, np.float64) * grid) / grid


def merge_doublings(
    pitch: np.ndarray, onset: np.ndarray, length: np.ndarray, part: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the notes to keep when notes of the same pitch start together (on the same snapped onset):
    one of each group, the longest, and of equal lengths the one of the lowest part id (a voice before an
    instrument). Instruments doubling the voices would otherwise count every note twice.

    Across parts, not only within one: music21's chorales with instrumental parts scored worse than the
    bigram until their doublings were merged (3.47 -> 2.66 nats, FACTS.md), and the pitch head cannot know
    that the next note is the same pitch in another part. Drums are grouped apart from pitched notes."""
    part = np.zeros(len(pitch), np.int64) if part is None else np.asarray(part, np.int64)
    drums = part == DRUMS_PART
    order = np.lexsort((part, -length, pitch, drums, onset))  # within a group, the longest first
    key_onset, key_pitch, key_drums = onset[order], pitch[order], drums[order]
    first = np.ones(len(order), bool)
    first[1:] = (
        (key_onset[1:] != key_onset[:-1]) | (key_pitch[1:] != key_pitch[:-1]) | (key_drums[1:] != key_drums[:-1])
    )
    return np.sort(order[first])


def notes_frame(
    pitch: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    velocity: np.ndarray,
    timing: MusicalTime | None = None,
    part: np.ndarray | None = None,
    track: np.ndarray | None = None,
    program: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the standard note table (seconds and beats); drops notes that end before they start and merges
    doubled notes. Without a tempo map, beats are read at 120 bpm; without parts, every note is piano, track 0."""
    timing = timing or MusicalTime(np.zeros(1), np.array([DEFAULT_BPM]))
    part = np.full(len(pitch), PIANO_PART) if part is None else np.asarray(part)
    track = np.zeros(len(pitch)) if track is None else np.asarray(track)
    program = np.zeros(len(pitch)) if program is None else np.asarray(program)
    keep = end > start
    pitch, start, end, velocity, part, track = (
        pitch[keep],
        start[keep],
        end[keep],
        velocity[keep],
        part[keep],
        track[keep],
    )
    program = program[keep]
    raw_onset = timing.to_beats(start)
    onset = snap(raw_onset)
    length = np.maximum(snap(timing.to_beats(end) - raw_onset), 1.0 / BEAT_GRID)
    kept = merge_doublings(pitch.astype(np.int64), onset, length, part)
    merged = len(pitch) - len(kept)
    pitch, start, end, velocity, onset, length = (
        pitch[kept],
        start[kept],
        end[kept],
        velocity[kept],
        onset[kept],
        length[kept],
    )
    part, track, program = part[kept], track[kept], program[kept]
    shift = np.abs(timing.to_seconds(onset) - start)
    # Ties in onset by pitch, as before parts existed: a chord is read from the bass up (drums last).
    order = np.lexsort((pitch, part == DRUMS_PART, onset))
    start, onset = start[order], onset[order]
    step = np.maximum(np.diff(start, prepend=start[:1]), 0.0) if len(start) else start
    step_beats = np.diff(onset, prepend=onset[:1]) if len(onset) else onset
    bar_beat, bar_beats = timing.bar_position(onset)
    notes = pd.DataFrame(
        {
            "pitch": pitch[order].astype(np.int64),
            "start": start,
            "end": end[order],
            "step": step,
            "duration": end[order] - start,
            "velocity": velocity[order].astype(np.int64),
            "beat": onset,
            "step_beats": step_beats,
            "duration_beats": length[order],
            "bar_beat": bar_beat,
            "bar_beats": bar_beats,
            "bpm": timing.tempo_at(start),
            "part": part[order].astype(np.int64),
            "track": track[order].astype(np.int64),
            "program": program[order].astype(np.int64),  # the track's General MIDI program (DRUMS_PROGRAM: drums)
        }
    )
    notes.attrs.update(
        merged=int(merged),
        shift_ms=float(np.median(shift) * 1000) if len(shift) else 0.0,
        time_signature=timing.signature_at_start(),
    )
    return notes


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
    pm, scan = _parse(data, name)
    return _notes(pm, scan, name, instruments, include_drums)


def main_bpm(notes: pd.DataFrame) -> float:
    """The tempo most of the notes play at: the median of the notes' tempos, 120 without a `bpm` column.

    Not the first note's: a piece that opens with a pickup often has MIDI's default 120 bpm under it and its
    own tempo from the first full bar (music21 writes chorales so).
    """
    return float(notes["bpm"].median()) if "bpm" in notes and len(notes) else DEFAULT_BPM


def notes_to_midi(
    notes: pd.DataFrame,
    program: int = 0,
    velocity: int | None = None,
    is_drum: bool = False,
    instrument_name: str = "",
    bpm: float | None = None,
    time_signature: tuple[int, int] | None = None,
    programs: dict[int, int] | None = None,
) -> pretty_midi.PrettyMIDI:
    """Write a note table (pitch plus start/end, or step/duration) as a MIDI file, with a tempo (`bpm`, else
    the table's own `bpm` column, else 120) and a time signature (default 4/4).

    A table with a `part` column of several parts (or given `programs`, part id -> General MIDI program)
    becomes one track per part, named after it, drums on channel 10; otherwise one instrument, `program`."""
    if bpm is None:
        bpm = main_bpm(notes)
    # 480 ticks a beat: divisible by 12, so every 1/12-beat position is a whole tick.
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=float(bpm))
    numerator, denominator = time_signature or signature_of(notes)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(numerator), int(denominator), 0.0))
    starts, ends = note_times(notes)
    velocities = notes["velocity"].to_numpy() if velocity is None and "velocity" in notes else None
    pitches = notes["pitch"].to_numpy()
    parts = notes["part"].to_numpy(np.int64) if "part" in notes else np.zeros(len(notes), np.int64)
    by_part = "part" in notes and (programs is not None or len(np.unique(parts)) > 1)
    for part in np.unique(parts) if by_part else [None]:
        if part is None:
            instrument = pretty_midi.Instrument(program=int(program), is_drum=is_drum, name=instrument_name)
            chosen = np.arange(len(notes))
        else:
            drums = int(part) == DRUMS_PART  # pretty_midi writes drum instruments on channel 10
            instrument = pretty_midi.Instrument(
                program=int((programs or {}).get(int(part), program)) if not drums else 0,
                is_drum=drums,
                name=part_name(part),
            )
            chosen = np.flatnonzero(parts == part)
        for i in chosen:
            vel = int(velocities[i]) if velocities is not None else int(velocity or 90)
            instrument.notes.append(
                pretty_midi.Note(
                    velocity=int(np.clip(vel, 1, 127)),
                    pitch=int(pitches[i]),
                    start=float(starts[i]),
                    end=float(ends[i]),
                )
            )
        pm.instruments.append(instrument)
    return pm


def signature_of(notes: pd.DataFrame) -> tuple[int, int]:
    """The time signature of a table's bars (its `bar_beats` column): 4 beats -> 4/4, 3 -> 3/4, 1.5 -> 3/8."""
    if "bar_beats" not in notes or not len(notes):
        return 4, 4
    beats = float(notes["bar_beats"].iloc[0])
    if beats > 0 and float(beats).is_integer():
        return int(beats), 4
    eighths = round(beats * 2)
    return (eighths, 8) if eighths > 0 else (4, 4)


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


def _label(text: str) -> str:
    """A member name made safe to print: control characters (newlines, terminal escapes) become '?'."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


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
        pm, scan = _parse(data, name)
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
