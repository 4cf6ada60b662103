"""Hostile inputs for the upload paths, built in memory from raw bytes (nothing large is committed).

MIDI files are written byte by byte (so truncations, lying chunk lengths and 300,000-note files cost
microseconds), zips by a tiny writer whose central directory says whatever we tell it to (so a zip bomb
is a few hundred kilobytes that declare hundreds of megabytes).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import marshal
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DIVISION = 220  # ticks per beat; at the default 120 bpm one tick is ~2.3 ms
MB = 1024 * 1024


# ---------------------------------------------------------------- MIDI bytes


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity (7 bits per byte, high bit = more follows)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def chunk(kind: bytes, body: bytes, declared: int | None = None) -> bytes:
    return kind + struct.pack(">I", len(body) if declared is None else declared) + body


def track(events: Iterable[tuple[int, bytes]], end: bool = True, declared: int | None = None) -> bytes:
    """An MTrk chunk from (delta ticks, event bytes); an end-of-track meta event is appended."""
    body = b"".join(vlq(delta) + event for delta, event in events)
    if end:
        body += b"\x00\xff\x2f\x00"
    return chunk(b"MTrk", body, declared)


def header(tracks: int, division: int = DIVISION, fmt: int = 1, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, tracks, division)


def smf(tracks: Sequence[bytes], division: int = DIVISION, fmt: int = 1) -> bytes:
    return header(len(tracks), division, fmt) + b"".join(tracks)


def tempo(bpm: float) -> bytes:
    return b"\xff\x51\x03" + int(60_000_000 / bpm).to_bytes(3, "big")


def notes_track(notes: Sequence[tuple[int, int, int]], channel: int = 0) -> bytes:
    """A track from (start tick, end tick, pitch); note-offs written as note-on velocity 0."""
    events = []
    for start, end, pitch in notes:
        events.append((start, bytes([0x90 | channel, pitch, 100])))
        events.append((end, bytes([0x90 | channel, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1][2] != 0))  # offs before ons at the same tick
    out, now = [], 0
    for tick, event in events:
        out.append((tick - now, event))
        now = tick
    return track(out)


def scale(count: int = 8, length: int = DIVISION, channel: int = 0) -> bytes:
    """A valid file: `count` notes of C major, one per beat."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [(i * DIVISION, i * DIVISION + length, pitches[i % 8]) for i in range(count)]
    return smf([track([(0, tempo(120))]), notes_track(notes, channel)])


def empty() -> bytes:
    return b""


def random_bytes(size: int = 4096, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def text_file() -> bytes:
    return "Shopping list:\n- milk\n- bread\n- sheet music ♫\n".encode() * 20


def png_file() -> bytes:
    """A real 4x4 grey PNG."""

    def png_chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\x80" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def truncated() -> bytes:
    """A valid file cut off in the middle of its note track."""
    data = scale(32)
    return data[: len(data) - 60]


def header_too_short() -> bytes:
    """'MThd' followed by a header that claims 2 bytes instead of 6."""
    return b"MThd" + struct.pack(">IH", 2, 1) + track([(0, b"\x90\x3c\x64"), (100, b"\x90\x3c\x00")])


def header_zero_division() -> bytes:
    return header(1, division=0) + notes_track([(0, 100, 60)])


def header_zero_tracks() -> bytes:
    return header(0)


def header_missing_tracks() -> bytes:
    """The header promises 5 tracks; the file holds 1."""
    return header(5) + notes_track([(0, 100, 60)])


def track_length_too_long() -> bytes:
    """The note track's chunk declares 2 GB."""
    body = notes_track([(i * 100, i * 100 + 90, 60 + i) for i in range(8)])[8:]
    return header(1) + chunk(b"MTrk", body, declared=0x7FFFFFFF)


def track_length_too_short() -> bytes:
    """The first track's chunk declares 5 bytes fewer than it holds, so the next chunk starts mid-event."""
    first = track([(0, tempo(100)), (0, b"\xff\x58\x04\x04\x02\x18\x08")])
    first = first[:4] + struct.pack(">I", len(first) - 8 - 5) + first[8:]
    return header(2) + first + notes_track([(0, 100, 60), (100, 200, 62)])


def zero_notes() -> bytes:
    """Tempo, time signature and a track name, but not one note."""
    return smf([track([(0, tempo(90)), (0, b"\xff\x58\x04\x03\x02\x18\x08"), (0, b"\xff\x03\x05Empty")])])


def drums_only() -> bytes:
    kit = [(i * 110, i * 110 + 50, key) for i, key in enumerate([36, 38, 42, 46] * 4)]
    return smf([notes_track(kit, channel=9)])


def single_note() -> bytes:
    return smf([notes_track([(0, 440, 60)])])


def zero_length_notes(keep: int = 0) -> bytes:
    """Notes that stop on the tick they start, plus `keep` ordinary notes after them."""
    events = []
    for i in range(6):
        events += [(0 if i == 0 else 50, bytes([0x90, 60 + i, 100])), (0, bytes([0x80, 60 + i, 0]))]
    for i in range(keep):
        events += [(10, bytes([0x90, 72 + i, 100])), (100, bytes([0x90, 72 + i, 0]))]
    return smf([track(events)])


def negative_length_notes() -> bytes:
    """Each note's off comes before its on, so in time order the notes have negative length."""
    events = []
    for i in range(4):
        events += [(100, bytes([0x80, 60 + i, 0])), (100, bytes([0x90, 60 + i, 100]))]
    return smf([track(events)])


def tempo_storm(changes: int = 5000, notes: int = 200) -> bytes:
    """A tempo change on every tick (thousands of them) under a few hundred notes: the tempo wobbles each
    tick and steps up every 500 ticks (60, 75, ... bpm), so note spacing shows the tempo map was followed."""
    conductor = track([(0 if i == 0 else 1, tempo(60 + 15 * ((i // 500) % 10) + (i % 2))) for i in range(changes)])
    melody = [(i * 20, i * 20 + 15, 48 + i % 24) for i in range(notes)]
    return smf([conductor, notes_track(melody)])


def many_notes(count: int = 300_000) -> bytes:
    """`count` short notes in ~6 bytes each (running status), built by repetition: no per-note Python."""
    pair = b"\x00\x3c\x64" + b"\x0a\x3c\x00"  # delta 0 note-on, delta 10 note-off, status byte omitted
    body = b"\x00\x90\x3c\x64\x0a\x3c\x00" + pair * (count - 1) + b"\x00\xff\x2f\x00"
    return header(1, fmt=0) + chunk(b"MTrk", body)


def smpte() -> bytes:
    """25 frames per second, 40 ticks per frame (division's high bit set)."""
    division = ((-25 & 0xFF) << 8) | 40
    return smf([notes_track([(0, 40, 60), (40, 80, 62)])], division=division)


def far_future_tick() -> bytes:
    """One note, then an event 268 million ticks later (pretty_midi would need a 2 GB time table)."""
    return smf([track([(0, b"\x90\x3c\x64"), (100, b"\x90\x3c\x00"), (0x0FFFFFFF, b"\xff\x01\x01x")])])


UNUSUAL_NAMES = [
    "Bach – Präludium Nº1 🎹.mid",
    "my song (final) v2 copy.mid",
    "日本の歌.midi",
    "x" * 296 + ".mid",  # 300 characters: longer than a file name may be on disk
    " leading and trailing spaces .mid",
]


# ---------------------------------------------------------------- zips


@dataclass
class Member:
    """One zip member as stored: compressed payload plus the sizes the central directory will claim."""

    name: str
    payload: bytes
    method: int = zipfile.ZIP_DEFLATED
    crc: int = 0
    size: int = 0
    compressed: int | None = None  # None: the payload's real length
    flags: int = 0x800  # UTF-8 names


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def member(name: str, data: bytes, **lies) -> Member:
    """An honest member unless `lies` overrides size, crc, compressed or flags."""
    return Member(name, deflate(data), **{"crc": zlib.crc32(data), "size": len(data), **lies})


@functools.lru_cache(maxsize=8)
def _compressed_zeros(size: int) -> tuple[bytes, int]:
    packer, crc, parts, block = zlib.compressobj(9, zlib.DEFLATED, -15), 0, [], bytes(MB)
    for offset in range(0, size, MB):
        piece = block[: min(MB, size - offset)]
        parts.append(packer.compress(piece))
        crc = zlib.crc32(piece, crc)
    parts.append(packer.flush())
    return b"".join(parts), crc


def zeros_member(name: str, size: int, **lies) -> Member:
    """`size` bytes of zeros, compressed ~1000x, built 1 MB at a time (the zeros never exist at once)."""
    payload, crc = _compressed_zeros(size)
    return Member(name, payload, **{"crc": crc, "size": size, **lies})


def raw_zip(members: Sequence[Member]) -> bytes:
    """Local headers, payloads, central directory and end record, with each member's claims verbatim."""
    out, directory = io.BytesIO(), io.BytesIO()
    for m in members:
        name = m.name.encode()
        compressed = len(m.payload) if m.compressed is None else m.compressed
        offset = out.tell()
        fields = (20, m.flags, m.method, 0, 0x21, m.crc & 0xFFFFFFFF, compressed, m.size & 0xFFFFFFFF, len(name))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + name + m.payload)
        directory.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset) + name)
    cd = directory.getvalue()
    count = min(len(members), 0xFFFE)  # the end record's 16-bit counts; readers trust the directory size
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(cd), out.tell(), 0)
    return out.getvalue() + cd + end


def honest_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    return raw_zip([member(name, data) for name, data in members])


def traversal_zip(tag: str) -> bytes:
    """MIDI members named to escape any folder they might be extracted into."""
    return honest_zip(
        [
            (f"../evil_{tag}.mid", scale()),
            (f"/abs_{tag}.mid", scale()),
            (f"../../tmp/deep_{tag}.mid", scale()),
            (f"C:\\win_{tag}.mid", scale()),
        ]
    )


def too_many_members(count: int = 2001) -> bytes:
    tiny = member("x", b"MThd")
    return raw_zip([Member(f"f{i}.mid", tiny.payload, crc=tiny.crc, size=tiny.size) for i in range(count)])


def big_directory(count: int = 60_000) -> bytes:
    """A central directory of 60,000 entries (3 MB) that the end record claims are only 2 (a lie)."""
    data = too_many_members(count)
    end = len(data) - 22
    return data[:end] + struct.pack("<4s4H", b"PK\x05\x06", 0, 0, 2, 2) + data[end + 12 :]


def ratio_bomb() -> bytes:
    """A 5 MB member (under the size limit) of zeros: compresses ~1000x."""
    return raw_zip([zeros_member("quiet.mid", 5 * MB), member("good.mid", scale())])


def total_bomb(members: int = 5, size: int = 50 * MB) -> bytes:
    """Five 50 MB members sharing one compressed payload: ~250 KB declaring 250 MB."""
    one = zeros_member("a.mid", size)
    return raw_zip([Member(f"bomb{i}.mid", one.payload, crc=one.crc, size=one.size) for i in range(members)])


def declared_huge() -> bytes:
    """One member whose directory entry claims 4 GB."""
    return raw_zip([member("huge.mid", scale(), size=0xFFFFFFF0), member("good.mid", scale())])


def understated_sizes() -> bytes:
    """A member that inflates to 50 MB while the directory claims 1 KB (and a ratio of 1)."""
    bomb = zeros_member("liar.mid", 50 * MB)
    bomb.size = bomb.compressed = 1024  # claims 1 KB compressed too, so the ratio looks innocent
    return raw_zip([bomb, member("good.mid", scale())])


def overstated_compressed() -> bytes:
    """Directory claims members are far larger compressed than the whole archive (to hide the ratio)."""
    bomb = zeros_member("hidden.mid", 6 * MB)
    bomb.compressed = 6 * MB // 2
    return raw_zip([bomb, member("good.mid", scale())])


def nested_archives() -> bytes:
    inner = honest_zip([("inner.mid", scale())])
    return honest_zip(
        [
            ("inner.zip", inner),
            ("backup.tar.gz", b"\x1f\x8b\x08\x00" + bytes(40)),
            ("disguised.mid", inner),  # a zip named like MIDI
            ("good.mid", scale()),
        ]
    )


def mixed_members() -> bytes:
    return honest_zip(
        [
            ("readme.txt", text_file()),
            ("cover.png", png_file()),
            ("folder/song.MID", scale()),
            ("__MACOSX/._song.mid", b"\x00\x05\x16\x07"),
            ("notes.mid", text_file()),
        ]
    )


def encrypted_member() -> bytes:
    return raw_zip([member("secret.mid", scale(), flags=0x801), member("good.mid", scale())])


# ---------------------------------------------------------------- model files


def keras_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def keras_oversized(limit: int) -> bytes:
    return b"PK\x03\x04" + bytes(limit + 1 - 4)


def keras_bomb(member_name: str, size: int = 60 * MB) -> bytes:
    """A .keras-shaped zip where `member_name` inflates to `size` bytes of zeros."""
    parts = [
        member("metadata.json", b'{"keras_version": "3.15.1"}'),
        member("config.json", b"{}"),
        member("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
    ]
    parts = [p for p in parts if p.name != member_name] + [zeros_member(member_name, size)]
    return raw_zip(parts)


def keras_understated(member_name: str = "config.json") -> bytes:
    """config.json claims 100 bytes but inflates to 50 MB."""
    bomb = zeros_member(member_name, 50 * MB)
    bomb.size = bomb.compressed = 100
    return raw_zip([member("metadata.json", b"{}"), bomb, member("model.weights.h5", b"")])


def keras_with_config(config: object, sidecar: object | None = None) -> bytes:
    members = {"metadata.json": b"{}", "config.json": json.dumps(config).encode(), "model.weights.h5": b""}
    if sidecar is not None:
        members["musicrnn.json"] = json.dumps(sidecar).encode()
    return keras_zip(members)


def keras_deep_json(depth: int = 100_000) -> bytes:
    """JSON nested 100,000 deep, stored uncompressed (deflated, it would be refused as a bomb first)."""
    return keras_zip({"config.json": b"[" * depth + b"]" * depth, "model.weights.h5": b""}, zipfile.ZIP_STORED)


def keras_lambda(marker_path: str) -> bytes:
    """A functional graph with a Lambda layer whose (marshalled) code would create `marker_path` if run."""
    code = compile(f"lambda x: (open({marker_path!r}, 'w').write('pwned'), x)[1]", "<lambda>", "eval")
    function = eval(code)  # the function object only; it is never called
    payload = base64.b64encode(marshal.dumps(function.__code__)).decode()
    tensor = lambda name: {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, None, 3], "dtype": "float32", "keras_history": [name, 0, 0]},
    }
    layers = [
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "name": "pitch_input",
            "config": {"batch_shape": [None, None], "dtype": "int32", "name": "pitch_input"},
            "inbound_nodes": [],
        },
        {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "name": "features",
            "config": {"batch_shape": [None, None, 5], "dtype": "float32", "name": "features"},
            "inbound_nodes": [],
        },
        {
            "module": "keras.layers",
            "class_name": "Lambda",
            "name": "pitch",
            "config": {
                "name": "pitch",
                "function": {
                    "class_name": "__lambda__",
                    "config": {"code": payload, "defaults": None, "closure": None},
                },
                "arguments": {},
            },
            "inbound_nodes": [{"args": [tensor("features")], "kwargs": {}}],
        },
    ]
    graph = {
        "module": "keras",
        "class_name": "Functional",
        "config": {
            "name": "musicrnn",
            "layers": layers,
            "input_layers": [["pitch_input", 0, 0], ["features", 0, 0]],
            "output_layers": {"pitch": ["pitch", 0, 0], "step": ["pitch", 0, 0], "duration": ["pitch", 0, 0]},
        },
    }
    return keras_with_config(graph)
