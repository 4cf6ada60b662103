"""How much a piece copies its corpus: the longest run of notes it shares with one corpus file.

Nothing here needs TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..dataset import Corpus


@dataclass
class CopiedRun:
    """The longest run of consecutive notes a piece shares with one corpus file."""

    length: int  # notes (0 when not even one pitch occurs in the corpus)
    file: str | None  # the corpus file it comes from
    file_position: int  # index of the run's first note in that file
    piece_position: int  # index of the run's first note in the piece
    transposition: int | None  # semitones from piece to file (0 for exact matches)

    def to_dict(self) -> dict:
        return asdict(self)


_MASK = (1 << 64) - 1
_BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64


class CorpusIndex:
    """The corpus's pitch streams, hashed once for `longest_copied_run` (build one per corpus and reuse it).

    Every window of L symbols gets a polynomial hash modulo 2**64, computed for all windows at once from
    prefix sums: with h_i = sum_j x_j B^j, window (i, L) has (h_{i+L} - h_i) · B^-i. Finding the longest
    shared run is then a binary search on L (a run of L shared implies one of L-1), each step one sorted
    membership test over ~100k hashes, and the final candidate is checked note by note.
    """

    def __init__(self, corpus: Corpus, intervals: bool = False):
        self.names = list(corpus.names)
        self.intervals = intervals
        seqs = [_symbols(p, intervals) for p in corpus.pitch]
        self.lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self.pitch = list(corpus.pitch)
        self.symbols = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
        self.file_of = np.repeat(np.arange(len(seqs)), self.lengths)
        self.prefix, self.inverse = _prefix_hashes(self.symbols)

    def window_hashes(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of every window of `length` symbols lying inside one file, and the windows' starts."""
        starts = np.arange(len(self.symbols) - length + 1)
        if not len(starts):
            return np.zeros(0, np.uint64), starts
        starts = starts[starts + length <= self.offsets[self.file_of[starts] + 1]]
        return _window_hashes(self.prefix, self.inverse, starts, length), starts


def _symbols(pitch: np.ndarray, intervals: bool) -> np.ndarray:
    pitch = np.asarray(pitch, dtype=np.int64)
    return np.diff(pitch) + 128 if intervals else pitch + 1  # never zero: a zero would hash like nothing


def _prefix_hashes(symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums of x_j·B^j and the inverse powers B^-j, modulo 2**64 (numpy's uint64 wraps)."""
    n = len(symbols)
    powers = np.full(n + 1, _BASE, dtype=np.uint64)
    powers[0] = 1
    inverse = np.full(n + 1, pow(_BASE, -1, 1 << 64), dtype=np.uint64)
    inverse[0] = 1
    with np.errstate(over="ignore"):
        powers = np.cumprod(powers, dtype=np.uint64)
        inverse = np.cumprod(inverse, dtype=np.uint64)
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(symbols.astype(np.uint64) * powers[:n], dtype=np.uint64)])
    return prefix, inverse


def _window_hashes(prefix: np.ndarray, inverse: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (prefix[starts + length] - prefix[starts]) * inverse[starts]


def _present(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """The needles found in the (large) haystack: a binary search of each haystack value among the few
    sorted needles, much faster than np.isin's hashing of the whole haystack."""
    if not len(needles) or not len(haystack):
        return needles[:0]
    needles = np.sort(needles)
    at = np.minimum(np.searchsorted(needles, haystack), len(needles) - 1)
    return needles[at[needles[at] == haystack]]


def longest_copied_run(
    pitches: np.ndarray | Sequence[int] | pd.DataFrame,
    corpus: Corpus | CorpusIndex,
    transposed: bool = False,
) -> CopiedRun:
    """The longest run of consecutive notes of a piece that appears verbatim in one corpus file.

    Exact pitches by default; with `transposed=True` a run matches when its intervals do (the same melody
    in another key), so a run of k notes means k-1 shared intervals. Pass a `CorpusIndex` (built with the
    same `intervals=transposed`) to reuse the hashing across pieces. Runs of the note stream, chords
    included, as the model generates it.
    """
    if isinstance(pitches, pd.DataFrame):
        pitches = pitches["pitch"].to_numpy(np.int64)
    pitch = np.asarray(pitches, dtype=np.int64)
    index = corpus if isinstance(corpus, CorpusIndex) else CorpusIndex(corpus, intervals=transposed)
    if index.intervals != transposed:
        raise ValueError("the corpus index was built for the other matching mode")
    query = _symbols(pitch, transposed)
    q_prefix, q_inverse = _prefix_hashes(query)
    extra = 1 if transposed else 0  # k shared intervals are k+1 notes

    def matches(length: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        corpus_hashes, corpus_starts = index.window_hashes(length)
        query_starts = np.arange(len(query) - length + 1)
        query_hashes = _window_hashes(q_prefix, q_inverse, query_starts, length)
        found = np.isin(query_hashes, _present(corpus_hashes, query_hashes))
        return query_starts[found], query_hashes[found], (corpus_hashes, corpus_starts)

    low, high, best = 0, min(len(query), int(index.lengths.max()) if len(index.lengths) else 0), None
    while low < high:  # invariant: a run of `low` symbols is shared; none longer than `high` can be
        middle = (low + high + 1) // 2
        found = matches(middle)
        if len(found[0]):
            low, best = middle, found
        else:
            high = middle - 1
    if best is None:
        if transposed and len(pitch) and len(index.pitch) and any(len(p) for p in index.pitch):
            # One note always matches some note of the corpus once transposition is free.
            file = next(i for i, p in enumerate(index.pitch) if len(p))
            return CopiedRun(1, index.names[file], 0, 0, int(index.pitch[file][0] - pitch[0]))
        return CopiedRun(0, None, 0, 0, None)
    query_starts, query_hashes, (corpus_hashes, corpus_starts) = best
    for q, h in zip(query_starts, query_hashes):  # confirm note by note (hash collisions are possible)
        for c in corpus_starts[corpus_hashes == h]:
            if np.array_equal(index.symbols[c : c + low], query[q : q + low]):
                file = int(index.file_of[c])
                position = int(c - index.offsets[file])
                shift = int(index.pitch[file][position] - pitch[q])
                return CopiedRun(low + extra, index.names[file], position, int(q), shift)
    raise RuntimeError("hash collision hid every candidate run")  # ~2**-64 per comparison
