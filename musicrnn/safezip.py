"""Untrusted zip archives, opened in memory: every limit is checked against the archive's own table of
contents before anything is inflated, and reads never return more than a member declares.

Used for uploaded MIDI zips (musicrnn.midi_load) and `.keras` model files (musicrnn.infer). Reasons are plain
English so the callers can show them to anyone.
"""

from __future__ import annotations

import io
import zipfile
import zlib

MB = 1024 * 1024
# A directory entry is 46 bytes plus its name; 1 KB per allowed member is generous. Checked before
# zipfile builds one object per entry, so a 1,000,000-entry directory never gets parsed.
DIRECTORY_BYTES_PER_MEMBER = 1024
# Below this a member cannot be a bomb worth refusing, however well it compresses.
RATIO_FLOOR_BYTES = 4096


class ZipRefused(ValueError):
    """An archive (or member) that will not be opened, with the reason."""


def open_zip(data: bytes, max_members: int, max_total_bytes: int) -> zipfile.ZipFile:
    """Open `data` as a zip after checking its member count and declared sizes; raise ZipRefused."""
    # zipfile._EndRecData is private but has been stable since Python 2; it finds the end record (zip64 too).
    end = zipfile._EndRecData(io.BytesIO(data))  # type: ignore[attr-defined]
    if end is None:
        raise ZipRefused("it is not a zip archive")
    if end[zipfile._ECD_SIZE] > max_members * DIRECTORY_BYTES_PER_MEMBER:  # type: ignore[attr-defined]
        raise ZipRefused(f"it lists more than {max_members:,} files (the limit)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, UnicodeDecodeError):
        raise ZipRefused("it is a damaged zip archive and cannot be opened") from None
    if len(infos) > max_members:
        raise ZipRefused(f"it has {len(infos):,} files, more than the limit of {max_members:,}")
    declared = sum(info.file_size for info in infos)
    if declared > max_total_bytes:
        raise ZipRefused(
            f"it would unpack to {declared / MB:,.0f} MB, more than the limit of {max_total_bytes / MB:,.0f} MB"
        )
    if sum(info.compress_size for info in infos) > len(data):
        raise ZipRefused("it is damaged (its table of contents claims more data than the archive holds)")
    return archive


def member_problem(info: zipfile.ZipInfo, max_bytes: int, max_ratio: float) -> str | None:
    """Why a member must not be unpacked (from its declared sizes only), or None."""
    if info.flag_bits & 0x1:
        return "it is password-protected"
    if info.file_size > max_bytes:
        return f"it is too large ({info.file_size / MB:,.1f} MB; the limit is {max_bytes / MB:,.0f} MB)"
    if info.file_size > RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
        return "it is compressed suspiciously well (a possible zip bomb), so it was not unpacked"
    return None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes. zipfile stops at the declared size, so a member that lies about it fails its
    checksum after at most that many bytes instead of inflating further."""
    try:
        with archive.open(info) as stream:
            return stream.read(info.file_size + 1)
    except zipfile.BadZipFile:
        raise ZipRefused("it is damaged (its contents do not match the archive's records)") from None
    except NotImplementedError:
        raise ZipRefused("it uses a compression method that is not supported") from None
    except (RuntimeError, zlib.error, EOFError, OSError, ValueError):
        raise ZipRefused("it is damaged and cannot be unpacked") from None
