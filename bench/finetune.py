"""Fine-tuning the default model on a few folk tunes vs a `tiny` model from scratch vs the bigram (issue 16).

Ten German folk songs from music21's Essen collection (`pip install music21` into the venv; not a
requirement of the app) train; five other songs of the same collection are held out and scored: per-note
pitch cross-entropy in nats over whole files (lower is better), next to the bigram fitted on the ten.
Both models get the same wall-clock budget (default 1 minute; each keeps its best epoch within it, judged on
one of its ten training songs held out for validation, as the app does).

    python bench/finetune.py [--minutes 1] [--collection altdeu10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, machine_line, print_json, table

TRAIN_TUNES, HELD_OUT_TUNES = 10, 5


def folk_tunes(collection: str, count: int) -> list[tuple[str, bytes]]:
    """The first `count` songs of an Essen collection with at least 24 notes, as MIDI bytes."""
    from music21 import corpus

    opus = corpus.parse(f"essenFolksong/{collection}")
    tunes = []
    with tempfile.TemporaryDirectory(prefix="musicrnn-folk-") as folder:
        for index, score in enumerate(opus.scores):
            if len(score.flatten().notes) < 24:
                continue
            path = Path(folder) / f"{collection}-{index:03d}.mid"
            try:
                score.write("midi", fp=str(path))
            except Exception:  # noqa: BLE001 - a few Essen scores trip music21's MIDI writer (a doubled time signature)
                continue
            tunes.append((path.name, path.read_bytes()))
            if len(tunes) == count:
                break
    return tunes


def corpus_of(items: list[tuple[str, bytes]]):
    from musicrnn.dataset import Corpus
    from musicrnn.midi import load_uploads

    loaded = [item for item in load_uploads(tuple(items)) if item.ok]
    return Corpus.from_tables([(item.name, item.notes) for item in loaded])


def score(model_file: bytes, held_out, training) -> float:
    from musicrnn.evaluation.scores import model_scores
    from musicrnn.infer import read_model_file

    return model_scores(read_model_file(model_file), held_out, training)["pitch_cross_entropy"]


def run(label: str, training, cfg, model=None) -> dict:
    from musicrnn.model import model_bytes
    from musicrnn.train import train

    started = time.perf_counter()
    result = train(training, cfg, model=model)
    return {
        "label": label,
        "file": model_bytes(result.model, result.cfg, result.facts()),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="training budget of each model")
    parser.add_argument("--collection", default="altdeu10", help="Essen collection (music21 corpus essenFolksong/…)")
    args = parser.parse_args(argv)
    print("Fine-tuning benchmark —", machine_line(), flush=True)
    from musicrnn.bundled import DEFAULT_MODEL
    from musicrnn.config import preset
    from musicrnn.evaluation.scores import baseline_cross_entropy
    from musicrnn.finetune import fine_tune_config, init_model

    tunes = folk_tunes(args.collection, TRAIN_TUNES + HELD_OUT_TUNES)
    training, held_out = corpus_of(tunes[:TRAIN_TUNES]), corpus_of(tunes[TRAIN_TUNES:])
    budget = dict(epochs=200, time_limit_minutes=args.minutes, patience=0)  # the time limit decides; best epoch kept
    scratch = run("tiny from scratch", training, preset("tiny", val_fraction=0.1, **budget))
    tuned_cfg = fine_tune_config("default", val_fraction=0.1, **budget)
    tuned = run("default model fine-tuned", training, tuned_cfg, init_model("default", tuned_cfg))
    scores = {
        "bigram (fitted on the ten)": baseline_cross_entropy(training, held_out)["bigram"],
        "default model, not fine-tuned": score(DEFAULT_MODEL.read_bytes(), held_out, training),
        scratch["label"]: score(scratch["file"], held_out, training),
        tuned["label"]: score(tuned["file"], held_out, training),
    }
    trained = {scratch["label"]: scratch, tuned["label"]: tuned}
    rows = [[name, f"{value:.3f}", *_run_columns(trained.get(name))] for name, value in scores.items()]
    print()
    print(
        f"{len(training)} training tunes ({training.note_count} notes), {len(held_out)} held-out tunes "
        f"({held_out.note_count} notes), {args.minutes:g} min each; fine-tuning learning rate {tuned_cfg.learning_rate:g}"
    )
    print(table(rows, ["model", "held-out pitch CE (nats)", "kept epoch", "seconds"]))
    target = scores[tuned["label"]] < min(scores["bigram (fitted on the ten)"], scores[scratch["label"]])
    print(f"target (fine-tuned beats both the bigram and tiny from scratch): {'met' if target else 'NOT met'}")
    summary = {
        "benchmark": "finetune",
        "machine": machine(),
        "minutes": args.minutes,
        "scores": scores,
        "scratch_epochs": scratch["epochs"],
        "finetune_epochs": tuned["epochs"],
        "target_met": target,
    }
    print_json(summary)
    return summary


def _run_columns(run: dict | None) -> tuple[str, str]:
    """The kept epoch and the seconds of a trained model's row ("–" for the rows that did not train)."""
    return (f"{run['best_epoch']} of {run['epochs']}", f"{run['seconds']:.0f}") if run else ("–", "–")


if __name__ == "__main__":
    main()
