"""MIDI bytes checked before they are parsed: a byte-level scan that refuses hostile files, and MidiError.

A damaged, oversized or disguised file (a PNG renamed .mid, a zip bomb's member, 300,000 notes) is refused
from one bounded pass over its bytes, with the reason in plain words, before pretty_midi builds anything
(pretty_midi would hang, take gigabytes or raise a parser exception). `parse_midi` is the only way in.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import mido
import pretty_midi

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NOTES = 100_000  # more than any real piece; bounds memory and time of hostile files
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


class MidiError(ValueError):
    """A file that cannot be used as music, with the file's name and the reason."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


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


def parse_with_scan(data: bytes, name: str) -> tuple[pretty_midi.PrettyMIDI, MidiScan]:
    """Scan, then parse: the PrettyMIDI and what the scan counted (which the loader needs: see
    midi_load.NO_POSITIVE_NOTES); every failure a MidiError naming the file."""
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
    return parse_with_scan(data, name)[0]
