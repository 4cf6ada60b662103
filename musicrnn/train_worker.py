"""The training process: `python -m musicrnn.train_worker JOB_DIR`, started by musicrnn.jobs.

It reads JOB_DIR/request.pickle (note tables, settings, an optional starting model), trains at a lower CPU
priority and writes one JSON object per line on stdout: progress events, {"kind": "best"} after each new
best epoch is saved to JOB_DIR/best.keras (so a killed run keeps it), then {"kind": "done"} with the kept
model in JOB_DIR/model.keras, or {"kind": "error"}. A line "stop" on stdin stops training after the current
batch; end of stdin (the server went away) ends the process at once, so it never outlives its server.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BEST, MODEL, REQUEST = "best.keras", "model.keras", "request.pickle"


def main(job_dir: str) -> int:
    folder = Path(job_dir)
    # Progress goes to a private copy of stdout; anything a library prints lands on stderr (the job's log).
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    lock = threading.Lock()

    def send(event: Mapping[str, Any]) -> None:
        with lock:
            out.write(json.dumps(event, default=float) + "\n")

    if hasattr(os, "nice"):
        os.nice(10)  # visitors generating music meanwhile come first
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()
    try:
        request = pickle.loads((folder / REQUEST).read_bytes())  # written by our own server for this process
        from .config import Config

        cfg = Config.from_dict(request["cfg"])
        corpus = request["corpus"]
        send({"kind": "loading"})
        from .model import save_model
        from .train import train, with_piece_lengths

        cfg = with_piece_lengths(cfg, corpus.lengths)  # as train sets it, for the best epoch's file too
        model = None
        if request.get("init") is not None:
            from .finetune import init_model

            model = init_model(request["init"], cfg, name=request.get("init_name"))

        from .training_facts import EpochRow, ProgressEvent, epoch_row, record

        split: dict = {"corpus": {}, "train_files": [], "val_files": []}
        history: list[EpochRow] = []
        elapsed = [0.0]

        def progress(event: ProgressEvent) -> None:
            if event["kind"] == "split":
                split.update(corpus=event["corpus"], train_files=event["train_files"], val_files=event["val_files"])
            elif event["kind"] == "epoch":
                history.append(epoch_row(event))
                elapsed[0] = event["elapsed"]
            send(event)

        def keep(best_model, epoch: int) -> None:
            # If the run is stopped or killed from here on, this file is the model: it says so.
            facts = record(history, epoch, stopped=True, seconds=elapsed[0], **split)
            _save_atomically(best_model, cfg, folder / BEST, facts)
            send({"kind": "best", "epoch": epoch})

        result = train(corpus, cfg, on_progress=progress, stop=stop, model=model, on_best=keep)
        facts = result.facts()
        save_model(result.model, result.cfg, folder / MODEL, facts)
        send({"kind": "done", "model": MODEL, **facts})
        return 0
    except Exception as exc:  # noqa: BLE001 - the server shows this sentence to the visitor
        import traceback

        traceback.print_exc()
        send({"kind": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1


def _save_atomically(model, cfg, path: Path, extra: Mapping[str, Any]) -> None:
    from .model import save_model

    partial = path.with_name("writing-" + path.name)
    save_model(model, cfg, partial, extra)
    os.replace(partial, path)  # a reader (or a kill) never sees half a file


def _watch_stdin(stop: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "stop":
            stop.set()
    os._exit(3)  # stdin closed: the server is gone, nobody will read our results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
