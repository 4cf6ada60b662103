"""Corpus ingestion at scale: parse MIDI files in a process pool, with a per-file cache on disk.

Each file's notes are stored once as a small `.npz` keyed by the SHA-256 of the file's bytes, the parse
options and `CACHE_VERSION`, so a second run over the same corpus reads arrays instead of parsing MIDI, and
an edited file (new bytes, new key) is parsed again. Files that cannot be used are cached as errors too, and
reported, never raised. The CLI uses this; the app does not (it keeps everything in memory).

The cache is also the streaming source for corpora too big for memory: `stream_dataset` reads windows from
the per-file arrays, shuffled by file and by window within a buffer, and never holds the whole corpus.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Config
from .dataset import FILE_ARRAYS, Corpus, augment, config_window_starts, flatten, note_arrays, window_batch
from .midi_load import load_one, read_zip, source_files
from .midi_scan import MidiError

# 2: notes in beats too, doublings merged; 3: a file's tempo is its main one; 4: each note's part and program.
# 5: a track with no program set but an instrument name ("Violin I") keeps that instrument's program.
# 6: instrument names in other languages and abbreviations ("Vc.", "Fagotto"); a string section's tracks become
# the voices nearest their registers (two violins: soprano and alto, no longer soprano and bass).
# Bump when the parse or the stored arrays change: old entries are then ignored.
CACHE_VERSION = 6
CACHE_ENV = "MUSICRNN_CACHE"


def default_cache_dir() -> Path:
    """`$MUSICRNN_CACHE`, else `~/.cache/musicrnn/notes`."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "musicrnn" / "notes")


@dataclass
class CachedFile:
    """One usable file: its name, its cache entry (None when no cache is used) and its note count."""

    name: str
    path: Path | None
    notes: int


@dataclass
class Ingested:
    """What one ingestion run found: the corpus (unless asked not to keep notes) and how it got there."""

    files: list[CachedFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) of skipped files
    corpus: Corpus | None = None
    parsed: int = 0  # files parsed from MIDI this run (cache misses)
    cached: int = 0  # files read from the cache
    seconds: float = 0.0

    @property
    def note_count(self) -> int:
        return sum(f.notes for f in self.files)


@dataclass(frozen=True)
class _Task:
    """One file to ingest: a path on disk (read by the worker) or bytes (a zip member)."""

    name: str
    path: str | None = None
    data: bytes | None = None


def _tasks(paths: Iterable[str | Path]) -> tuple[list[_Task], list[tuple[int, str, str]]]:
    """Files to parse, in the order `midi_load.load_paths` reports them, plus (position, name, reason) of those
    refused before parsing (missing paths, unreadable zips, skipped members)."""
    tasks: list[_Task] = []
    refused: list[tuple[int, str, str]] = []
    for raw in paths:
        named = source_files(Path(raw))
        if named is None:
            refused.append((len(tasks), str(raw), "no such file or folder"))
            continue
        for name, file in named:
            if not name.lower().endswith(".zip"):
                tasks.append(_Task(name, path=str(file)))
                continue
            try:
                members, skipped = read_zip(file.read_bytes(), name)
            except MidiError as exc:
                refused.append((len(tasks), name, exc.reason))
                continue
            refused.extend((len(tasks), label, f"skipped: {reason}") for label, reason in skipped)
            tasks.extend(_Task(label, data=data) for label, data in members)
    return tasks, refused


def cache_key(data: bytes, options: dict) -> str:
    """SHA-256 of the file's bytes, the parse options and the cache format version."""
    digest = hashlib.sha256(data).hexdigest()
    extra = json.dumps({"v": CACHE_VERSION, **options}, sort_keys=True)
    return hashlib.sha256(f"{digest}|{extra}".encode()).hexdigest()


def _entry_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.npz"


def _write_entry(path: Path, **arrays: np.ndarray) -> None:
    """Write atomically: parallel runs sharing a cache never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        # numpy's stub: savez(file, *args, allow_pickle: bool, **kwds), so to mypy **arrays may fill allow_pickle.
        # Passing allow_pickle=True is no way out: numpy 1.26 (still allowed) has no such parameter and would
        # store it as one more array.
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def read_entry(path: str | Path) -> dict[str, np.ndarray]:
    """One cached file's arrays (dataset.FILE_ARRAYS and bpm), pitch as int64."""
    with np.load(path) as entry:
        return _entry_arrays(entry)


def _entry_arrays(entry) -> dict[str, np.ndarray]:
    arrays = {name: entry[name] for name in (*FILE_ARRAYS, "bpm")}
    arrays["pitch"] = arrays["pitch"].astype(np.int64)
    return arrays


def _ingest_one(task: _Task, cache_dir: str | None, options: dict, keep_notes: bool) -> tuple:
    """(name, error, notes, entry path, arrays or None, parsed?) for one file; runs in a worker process."""
    try:
        if task.data is not None:
            data = task.data
        else:
            assert task.path is not None  # a task holds its bytes or a path (see _tasks)
            data = Path(task.path).read_bytes()
    except OSError as exc:
        return task.name, f"cannot read the file ({exc.strerror or exc})", 0, None, None, False
    entry = _entry_path(Path(cache_dir), cache_key(data, options)) if cache_dir else None
    if entry is not None and entry.exists():
        try:
            with np.load(entry) as cached:
                if "error" in cached:
                    return task.name, str(cached["error"]), 0, None, None, False
                return (
                    task.name,
                    None,
                    int(cached["pitch"].shape[0]),
                    entry,
                    _entry_arrays(cached) if keep_notes else None,
                    False,
                )
        except Exception:  # a damaged entry (disk full, killed writer): parse again and overwrite it
            pass
    loaded = load_one(task.name, data, **options)
    if not loaded.ok:
        if entry is not None:
            _write_entry(entry, error=np.array(loaded.error))
        return task.name, loaded.error, 0, None, None, True
    arrays = note_arrays(loaded.notes)
    if entry is not None:
        _write_entry(entry, **{**arrays, "pitch": arrays["pitch"].astype(np.uint8)})
    return task.name, None, len(arrays["pitch"]), entry, arrays if keep_notes else None, True


def _pool_context():
    """forkserver: safe even when the parent already runs TensorFlow's threads (plain fork is not)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["musicrnn.quiet_child", "musicrnn.ingest"])  # quiet_child first: see it
    return context


def ingest(
    paths: Iterable[str | Path],
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    keep_notes: bool = True,
    use_cache: bool = True,
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
    on_file: Callable[[int, int], None] | None = None,
) -> Ingested:
    """Parse files, folders and zips with `workers` processes (default: CPU count), through the disk cache.

    `keep_notes=False` returns only the cache entries (for `stream_dataset`); it needs the cache.
    `on_file(done, total)` is called as files finish.
    """
    started = time.monotonic()
    workers = workers or os.cpu_count() or 1
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not use_cache and not keep_notes:
        raise ValueError("streaming reads notes from the cache; it cannot run without one")
    cache_arg = str(cache) if use_cache else None
    options = {"instruments": list(instruments) if instruments is not None else None, "include_drums": include_drums}
    tasks, refused = _tasks(paths)
    if workers <= 1 or len(tasks) <= 1:
        results: Iterable[tuple] = map(lambda t: _ingest_one(t, cache_arg, options, keep_notes), tasks)
        return _collect(results, tasks, refused, keep_notes, on_file, started)
    # Big chunks keep inter-process traffic low; small enough that every worker gets several.
    chunk = max(1, min(64, len(tasks) // (workers * 4)))
    with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
        results = pool.map(
            _ingest_one,
            tasks,
            [cache_arg] * len(tasks),
            [options] * len(tasks),
            [keep_notes] * len(tasks),
            chunksize=chunk,
        )
        return _collect(results, tasks, refused, keep_notes, on_file, started)


def _collect(results, tasks, refused, keep_notes, on_file, started) -> Ingested:
    corpus = Corpus() if keep_notes else None
    out = Ingested(corpus=corpus)
    pending = sorted(refused, key=lambda r: r[0])  # refusals keep their place among the parsed files
    for index, (name, error, notes, entry, arrays, parsed) in enumerate(results):
        while pending and pending[0][0] <= index:
            out.errors.append(pending.pop(0)[1:])
        out.parsed += parsed
        out.cached += not parsed
        if error is not None:
            out.errors.append((name, error))
        else:
            out.files.append(CachedFile(name, entry, notes))
            if corpus is not None:  # keep_notes
                corpus.add_file(name, arrays)
        if on_file:
            on_file(index + 1, len(tasks))
    out.errors.extend(r[1:] for r in pending)
    out.seconds = time.monotonic() - started
    return out


# --- streaming: windows straight from the cache ------------------------------------------------------------


def split_entries(
    files: Sequence[CachedFile], val_fraction: float, seed: int
) -> tuple[list[CachedFile], list[CachedFile]]:
    """A seeded file-level split (train, validation). Unlike `dataset.split_files` it does not group
    near-duplicates: that needs every file's notes in memory at once, which streaming exists to avoid."""
    if len(files) < 2:
        raise ValueError("need at least two files to hold some out for validation")
    order = np.random.default_rng(seed).permutation(len(files))
    n_val = min(len(files) - 1, max(1, round(val_fraction * len(files))))
    return [files[i] for i in sorted(order[n_val:])], [files[i] for i in sorted(order[:n_val])]


def count_windows(files: Sequence[CachedFile], cfg: Config) -> int:
    return len(config_window_starts([f.notes for f in files], cfg))


def file_windows(arrays: dict[str, np.ndarray], cfg: Config) -> tuple[dict, dict]:
    """All windows of one cached file, cut by `dataset.window_batch` (the in-memory pipeline's cutter)."""
    one = Corpus()
    one.add_file("file", arrays)
    flat = flatten(one, cfg)
    return window_batch(flat, flat.starts, cfg.seq_length)


def streamed_part_summary(files: Sequence[CachedFile]) -> dict[str, dict]:
    """Corpus.part_summary over cached files, reading only their pitch, part and program (3 bytes a note)."""
    summary = Corpus()
    for f in files:
        if f.path is not None:
            arrays = read_entry(f.path)
            summary.pitch.append(arrays["pitch"].astype(np.uint8))
            summary.part.append(arrays["part"])
            summary.program.append(arrays["program"])
    return summary.part_summary()


def stream_dataset(
    files: Sequence[CachedFile], cfg: Config, shuffle: bool, seed: int | None = None, buffer: int = 20_000
):
    """A tf.data pipeline reading windows file by file from the cache (TensorFlow needed).

    Memory is one shuffle buffer of windows (`buffer` × seq_length × features), not the corpus: files are
    visited in a new random order each epoch and windows are mixed within the buffer.
    Returns (dataset, number of windows).
    """
    import tensorflow as tf

    from .features import feature_count

    paths = [str(f.path) for f in files if f.notes >= cfg.seq_length + (0 if cfg.end_class else 1)]
    windows = count_windows(files, cfg)
    if windows == 0:
        raise ValueError(f"no file has more than {cfg.seq_length} notes; use shorter sequences or longer files")
    rng = np.random.default_rng(seed)

    def generate():
        order = rng.permutation(len(paths)) if shuffle else range(len(paths))
        for i in order:
            yield file_windows(read_entry(paths[i]), cfg)

    L, width = cfg.seq_length, feature_count(cfg)
    # Classes in beats mode ((B, L) integers); seconds as (B, L, 1), like the heads' outputs.
    time_spec = tf.TensorSpec((None, L), tf.int32) if cfg.beats else tf.TensorSpec((None, L, 1), tf.float32)
    classes = tf.TensorSpec((None, L), tf.int32)
    extra_inputs = {"key_input": classes} if cfg.key_input else {}
    extra_inputs |= {f"next_{name}": classes for name in cfg.given_inputs}
    signature = (
        {
            "pitch_input": tf.TensorSpec((None, L), tf.int32),
            "features": tf.TensorSpec((None, L, width), tf.float32),
            **extra_inputs,
        },
        {
            "pitch": tf.TensorSpec((None, L), tf.int32),
            "step": time_spec,
            "duration": time_spec,
            **({"part": tf.TensorSpec((None, L), tf.int32)} if cfg.parts else {}),
        },
    )
    data = tf.data.Dataset.from_generator(generate, output_signature=signature).unbatch()
    if shuffle:
        data = data.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    # The count is known from the cache index; declaring it lets Keras size epochs and progress bars.
    data = data.batch(cfg.batch_size).apply(tf.data.experimental.assert_cardinality(-(-windows // cfg.batch_size)))
    if shuffle and cfg.transpose > 0:  # the same augmentation, the same function, as dataset.make_tf_dataset
        data = augment(data, cfg, seed)
    options = tf.data.Options()
    # A generator has no files to shard: every worker reads the stream and keeps its share of batches.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options).prefetch(tf.data.AUTOTUNE), windows
