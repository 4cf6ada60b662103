"""Process-wide settings, applied once by each entry point: the app (ui/boot.py), the CLI (musicrnn/__main__.py),
the benchmarks (bench/common.py) and the tests (tests/conftest.py); the app's server also limits malloc's arenas.

They live here rather than in a constructor or the package's __init__ so that importing musicrnn changes nothing
about the process: a program that embeds the package chooses whether it wants them.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
from pathlib import Path


def set_up_process() -> None:
    """Everything below, in the order it needs: fluidsynth before pretty_midi, numpy before its BLAS is found."""
    import_fluidsynth_quietly()
    import numpy  # noqa: F401  (loads OpenBLAS, which one_blas_thread looks for)

    one_blas_thread()


@functools.lru_cache(maxsize=1)
def import_fluidsynth_quietly() -> None:
    """Import pyfluidsynth with stdout silenced; call it before anything imports pretty_midi.

    pyfluidsynth (imported by pretty_midi) prints a debug line to stdout when $CI is set; importing it first,
    quietly, keeps the CLI's output (JSON, OK/ERROR lines) clean everywhere.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            import fluidsynth  # noqa: F401
        except (ImportError, OSError):
            pass  # no system library: musicrnn.audio falls back to a plain synth


@functools.lru_cache(maxsize=1)
def one_blas_thread() -> bool:
    """Make numpy's OpenBLAS run on one thread (for the whole process); True if it could.

    Our products are tiny (at most (8, 240) @ (240, 768) per note) yet OpenBLAS splits them across every
    core; on a busy two-core machine each hand-off waits for a time slice, and batched generation ran
    10-40x slower (bench/generation.py). This is what threadpoolctl does, without the dependency; TensorFlow
    does not use OpenBLAS, so training is unaffected. A no-op where the library cannot be found (or numpy
    has not been imported yet: call set_up_process()).
    """
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return False
    loaded = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    done = False
    for path in loaded:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(library, symbol):
                getattr(library, symbol)(1)
                done = True
                break
    return done


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, kept fixed


@functools.lru_cache(maxsize=1)
def give_back_large_blocks(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Make glibc's malloc hand every block of `threshold` bytes or more straight back to the system when it
    is freed; True if it could (a no-op where malloc is not glibc's).

    glibc starts so, but raises the threshold to the size of each large block freed (up to 32 MB): after the
    first piece's audio (a few MB of samples) such blocks come from its pools instead, and Streamlit runs each
    script on a new thread with pools of its own (12 already when the app first runs), which keep what was
    freed in them. bench/memory.py (ten visitors each playing a piece, making variations and harmonisations,
    then leaving; bench/RESULTS.md, 2026-12-05): the server ended 51 MB above one visitor's memory without this
    (most of ui/state.py's audio fixes in place), 16 MB with it and all of them. Setting it fixes it for every
    pool at once, even after threads started.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False
