"""Ingestion at scale: files/second for a first parse and a cached re-run, and peak memory of building the
training dataset against the number of notes.

    python bench/ingest.py                      # 1,000 and 10,000 synthetic files
    python bench/ingest.py --files 1000 --dataset-notes 100000 200000

Every measurement runs in a fresh subprocess so its peak memory (VmHWM / ru_maxrss) is its own.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, machine, machine_line, print_json, proc_status_mb, table

TICKS = 480  # per quarter note; at the default 120 bpm one tick is 1/960 s


def _vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def synthetic_midi(rng: np.random.Generator, notes: int) -> bytes:
    """A one-track MIDI file of `notes` notes (a scale-ish random walk, some chords), written byte by byte:
    pretty_midi would take ~100x longer to write 10,000 files than we take to parse them."""
    pitch = np.clip(60 + np.cumsum(rng.choice([-2, -1, 1, 2], notes)), 36, 96)
    gap = rng.choice([0, 120, 240, 240, 480], notes)  # ticks from the previous note's start; 0 = chord
    length = rng.choice([120, 240, 480], notes)
    events = []  # (tick, order, bytes): note-offs sort before note-ons at the same tick
    tick = 0
    for p, g, d in zip(pitch.tolist(), gap.tolist(), length.tolist()):
        tick += g
        events.append((tick, 1, bytes([0x90, p, 80])))
        events.append((tick + d, 0, bytes([0x80, p, 0])))
    events.sort()
    body, last = bytearray(), 0
    for tick, _, message in events:
        body += _vlq(tick - last) + message
        last = tick
    body += b"\x00\xff\x2f\x00"  # end of track
    return (
        b"MThd"
        + (6).to_bytes(4, "big")
        + (0).to_bytes(2, "big")
        + (1).to_bytes(2, "big")
        + TICKS.to_bytes(2, "big")
        + b"MTrk"
        + len(body).to_bytes(4, "big")
        + bytes(body)
    )


def write_corpus(folder: Path, files: int, notes_per_file: int, seed: int = 0, bad_every: int = 500) -> int:
    """Write `files` MIDI files (every `bad_every`-th one corrupt) into 100-file subfolders; total notes."""
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(files):
        sub = folder / f"{i // 100:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        if bad_every and i % bad_every == bad_every - 1:
            (sub / f"bad{i:06d}.mid").write_bytes(b"MThd\x00\x00\x00\x06 truncated")
            continue
        n = int(rng.integers(notes_per_file // 2, notes_per_file * 3 // 2 + 1))
        (sub / f"song{i:06d}.mid").write_bytes(synthetic_midi(rng, n))
        total += n
    return total


# --- measurements, each in its own process -----------------------------------------------------------------


def _phase_ingest(args) -> dict:
    from musicrnn.ingest import ingest

    found = ingest([args.data], cache_dir=args.cache, workers=args.workers, keep_notes=not args.no_notes)
    return {
        "files": len(found.files),
        "errors": len(found.errors),
        "notes": found.note_count,
        "parsed": found.parsed,
        "cached": found.cached,
        "seconds": found.seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _phase_dataset(args) -> dict:
    """Peak memory added by building the in-memory tf.data pipeline (or the streaming one) for N notes."""
    import tensorflow as tf  # noqa: F401  (imported first so its ~600 MB are the baseline, not the measurement)

    from musicrnn.config import preset
    from musicrnn.dataset import Corpus, make_tf_dataset
    from musicrnn.features import feature_count

    cfg = preset("tiny", window_stride=1, batch_size=64)  # stride 1: the most windows a corpus can give
    before = proc_status_mb(os.getpid(), "VmRSS")
    rng = np.random.default_rng(0)
    per_file = 100
    files = args.notes // per_file
    if args.stream:
        from musicrnn.ingest import CachedFile, _entry_path, _write_entry, stream_dataset

        entries = []
        for i in range(files):
            path = _entry_path(Path(args.cache), f"{i:064x}")
            _write_entry(
                path,
                pitch=rng.integers(36, 96, per_file).astype(np.uint8),
                step=rng.random(per_file, np.float32),
                duration=rng.random(per_file, np.float32),
            )
            entries.append(CachedFile(f"f{i}", path, per_file))
        data, windows = stream_dataset(entries, cfg, shuffle=True, seed=0)
    else:
        corpus = Corpus(
            [f"f{i}" for i in range(files)],
            [rng.integers(36, 96, per_file) for _ in range(files)],
            [rng.random(per_file, np.float32) for _ in range(files)],
            [rng.random(per_file, np.float32) for _ in range(files)],
        )
        data, windows = make_tf_dataset(corpus, cfg, shuffle=True, seed=0)
    for _ in data.take(400):  # enough batches to fill the shuffle buffer
        pass
    peak = proc_status_mb(os.getpid(), "VmHWM")
    materialised = windows * cfg.seq_length * (feature_count(cfg) + 1 + 3) * 4 / 2**20
    return {
        "notes": files * per_file,
        "windows": windows,
        "added_mb": peak - before,
        "peak_mb": peak,
        "materialised_windows_mb": materialised,
    }


def _run_phase(*argv: str) -> dict:
    run = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--notes-per-file", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dataset-notes", type=int, nargs="+", default=[125_000, 250_000, 500_000, 1_000_000])
    parser.add_argument("--keep", help="write the largest corpus here and keep it (and its cache in KEEP/cache)")
    parser.add_argument("--phase", choices=("ingest", "dataset"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--notes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-notes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "ingest":
        print(json.dumps(_phase_ingest(args)))
        return
    if args.phase == "dataset":
        print(json.dumps(_phase_dataset(args)))
        return

    print(machine_line())
    scratch = Path(tempfile.mkdtemp(prefix="musicrnn-bench-ingest-"))
    workers = ["--workers", str(args.workers)] if args.workers else []
    ingest_rows, ingest_results = [], []
    try:
        for n in sorted(args.files):
            keep = args.keep and n == max(args.files)
            base = Path(args.keep) if keep else scratch / f"n{n}"
            data, cache = base / "midi", base / "cache"
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
            started = time.perf_counter()
            notes = write_corpus(data, n, args.notes_per_file)
            written = time.perf_counter() - started
            for label in ("first parse", "cached re-run"):
                r = _run_phase("--phase", "ingest", "--data", str(data), "--cache", str(cache), *workers)
                ingest_results.append({"files": n, "run": label, "write_seconds": written, **r})
                ingest_rows.append(
                    [
                        n,
                        f"{notes:,}",
                        label,
                        r["parsed"],
                        r["cached"],
                        r["errors"],
                        f"{r['seconds']:.1f}",
                        f"{n / r['seconds']:,.0f}",
                        f"{r['peak_mb']:.0f}",
                        f"{r['worker_peak_mb']:.0f}",
                    ]
                )
            if not keep:
                shutil.rmtree(base, ignore_errors=True)
        print("\nIngestion (per-file .npz cache; peak = resident memory high-water mark)")
        print(
            table(
                ingest_rows,
                [
                    "files",
                    "notes",
                    "run",
                    "parsed",
                    "from cache",
                    "bad",
                    "s",
                    "files/s",
                    "main peak MB",
                    "worker peak MB",
                ],
            )
        )

        dataset_rows, dataset_results = [], []
        for notes in sorted(args.dataset_notes):
            for stream in (False, True):
                cache = scratch / f"stream{notes}"
                r = _run_phase(
                    "--phase",
                    "dataset",
                    "--notes",
                    str(notes),
                    "--cache",
                    str(cache),
                    *(["--stream"] if stream else []),
                )
                shutil.rmtree(cache, ignore_errors=True)
                r["pipeline"] = "streamed from cache" if stream else "in memory (index)"
                dataset_results.append(r)
                previous = next((p for p in reversed(dataset_results[:-1]) if p["pipeline"] == r["pipeline"]), None)
                # The slope between sizes cancels the fixed cost of a tf.data pipeline: bytes per extra note.
                slope = (
                    (r["added_mb"] - previous["added_mb"]) * 2**20 / (notes - previous["notes"]) if previous else None
                )
                dataset_rows.append(
                    [
                        f"{notes:,}",
                        f"{r['windows']:,}",
                        r["pipeline"],
                        f"{r['added_mb']:.0f}",
                        "-" if slope is None else f"{slope:.0f}",
                        f"{r['materialised_windows_mb']:.0f}",
                    ]
                )
        print("\nTraining dataset (tiny preset, seq 16, stride 1; memory added after importing TensorFlow)")
        print(
            table(
                dataset_rows,
                ["notes", "windows", "pipeline", "added MB", "bytes per extra note", "MB if windows were materialised"],
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_json({"benchmark": "ingest", "machine": machine(), "ingest": ingest_results, "dataset": dataset_results})


if __name__ == "__main__":
    main()
