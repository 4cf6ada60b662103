"""A visitor's small collection: the default Train path vs a `tiny` model from scratch vs the bigram (issue 25).

Four kinds of collection, drawn from music21's corpus where no bundled model learnt from (scripts/corpora.py,
BENCH_KINDS; music21 is installed with `pip install -r scripts/requirements-corpus.txt`): folk melodies (Essen),
fiddle tunes (Ryan's Mammoth tunes kept out of the folk corpus), Renaissance sacred polyphony (Palestrina's
Kyries) and piano pieces (8-bar sections; training and scored sections from different pieces). For each, `--train`
files train and `--score` other files of the same kind are scored: per-note pitch cross-entropy in nats over whole
files (lower is better), next to the bigram fitted on the training files.

- the default path: what `python -m musicrnn train --data DIR --out M` and the Train page do with uploads
  (musicrnn.finetune.visitor_start): fine-tune the bundled model that knows the files best, for at most
  `--minutes` (default: the visitor's 2), keeping the best epoch on the run's own held-out files;
- `tiny` from scratch with the same time limit (best epoch kept);
- the chosen bundled model before fine-tuning.

Targets: the default path beats the bigram by at least 0.3 nats and beats `tiny` from scratch, each run within
the time limit. The converted collections are kept in the corpus cache (scripts/corpora.py cache_dir).

    python bench/finetune.py [--minutes 2] [--kinds folk,fiddle,motets,piano] [--train 20] [--score 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import machine, machine_line, print_json, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # corpora.py
MARGIN = 0.3  # nats the default path must beat the bigram by


def corpus_of(items: list[tuple[str, bytes]]):
    from musicrnn.dataset import Corpus
    from musicrnn.midi_load import load_uploads

    loaded = [item for item in load_uploads(tuple(items)) if item.ok]
    return Corpus.from_tables([(item.name, item.notes) for item in loaded])


def score(model, held_out, training) -> float:
    from musicrnn.evaluation.scores import model_scores
    from musicrnn.infer import read_model_file

    model = read_model_file(model) if isinstance(model, bytes | Path) else model
    return model_scores(model, held_out, training)["pitch_cross_entropy"]


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
        "training_seconds": result.seconds,
    }


def one_kind(kind: str, args: argparse.Namespace) -> dict:
    from corpora import BENCH_KINDS, cached_bench_collection

    from musicrnn.config import preset
    from musicrnn.evaluation.scores import baseline_cross_entropy
    from musicrnn.finetune import init_model, source_path, visitor_start

    train_items, score_items = cached_bench_collection(kind, args.train, args.score)
    training, held_out = corpus_of(train_items), corpus_of(score_items)
    print(f"\n{kind}: {BENCH_KINDS[kind]}", flush=True)
    print(
        f"{len(training)} training files ({training.note_count} notes), {len(held_out)} scored ({held_out.note_count} notes)"
    )
    limit = {"time_limit_minutes": args.minutes} if args.minutes else {}
    started = time.perf_counter()
    fits, cfg = visitor_start(training, **limit)
    choosing = time.perf_counter() - started
    if cfg is None:
        raise SystemExit("no bundled model to fine-tune in this copy (make style-models)")
    start = fits[0].name
    tuned = run(f"default path: {start} fine-tuned", training, cfg, init_model(source_path(start), cfg))
    budget = cfg.time_limit_minutes
    scratch = run("tiny from scratch", training, preset("tiny", epochs=200, patience=0, time_limit_minutes=budget))
    from musicrnn.bundled import read_bundled_model

    scores = {
        "bigram (fitted on the training files)": baseline_cross_entropy(training, held_out)["bigram"],
        f"{start} (bundled), not fine-tuned": score(read_bundled_model(source_path(start)), held_out, training),
        scratch["label"]: score(scratch["file"], held_out, training),
        tuned["label"]: score(tuned["file"], held_out, training),
    }
    trained = {scratch["label"]: scratch, tuned["label"]: tuned}
    rows = [[name, f"{value:.3f}", *_run_columns(trained.get(name))] for name, value in scores.items()]
    print(f"start chosen in {choosing:.1f} s: " + ", ".join(f"{f.name} {f.nll:.2f}" for f in fits))
    print(table(rows, ["model", "held-out pitch CE (nats)", "kept epoch", "training s"]))
    bigram, ours, tiny = (
        scores["bigram (fitted on the training files)"],
        scores[tuned["label"]],
        scores[scratch["label"]],
    )
    met = ours <= bigram - MARGIN and ours < tiny and tuned["training_seconds"] <= budget * 60 + 5
    print(
        f"target (≥ {MARGIN} nats under the bigram: {bigram - ours:.2f}; under tiny: {tiny - ours:.2f}; "
        f"training {tuned['training_seconds']:.0f} s ≤ {budget * 60:.0f} s): {'met' if met else 'NOT met'}"
    )
    return {
        "kind": kind,
        "train_files": len(training),
        "scored_files": len(held_out),
        "start": start,
        "fits": {f.name: f.nll for f in fits},
        "choose_seconds": choosing,
        "scores": scores,
        "seconds": {"default path": tuned["training_seconds"], "tiny": scratch["training_seconds"]},
        "epochs": {
            "default path": f"{tuned['best_epoch']} of {tuned['epochs']}",
            "tiny": f"{scratch['best_epoch']} of {scratch['epochs']}",
        },
        "target_met": met,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=0.0, help="time limit of each run (default: the visitor's)")
    parser.add_argument(
        "--kinds", default="folk,fiddle,motets,piano", help="comma-separated: folk, fiddle, motets, piano"
    )
    parser.add_argument("--train", type=int, default=20, help="training files of each kind")
    parser.add_argument("--score", type=int, default=15, help="scored files of each kind")
    args = parser.parse_args(argv)
    print("Fine-tuning benchmark —", machine_line(), flush=True)
    results = [one_kind(kind.strip(), args) for kind in args.kinds.split(",") if kind.strip()]
    summary = {
        "benchmark": "finetune",
        "machine": machine(),
        "minutes": args.minutes,
        "kinds": results,
        "target_met": all(r["target_met"] for r in results),
    }
    print_json(summary)
    return summary


def _run_columns(run: dict | None) -> tuple[str, str]:
    """The kept epoch and the training seconds of a trained model's row ("–" for the rows that did not train)."""
    return (f"{run['best_epoch']} of {run['epochs']}", f"{run['training_seconds']:.0f}") if run else ("–", "–")


if __name__ == "__main__":
    main()
