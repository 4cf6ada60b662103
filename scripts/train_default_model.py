"""Train the bundled default model on the bundled chorales and report it against baselines.

    make default-model        # or: .venv/bin/python scripts/train_default_model.py [--epochs N]

Writes musicrnn/assets/default_model.keras and its JSON sidecar (config, split, history, evaluation).
"""

from __future__ import annotations

import argparse
import json
import time

from musicrnn.bundled import DEFAULT_MODEL, load_chorales  # noqa: E402
from musicrnn.config import DEFAULT_PRESET, preset  # noqa: E402
from musicrnn.dataset import Corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=60, help="at most this many (early stopping keeps the best)")
    parser.add_argument("--out", default=str(DEFAULT_MODEL))
    args = parser.parse_args()
    # patience 5: train() keeps the best epoch and stops after 5 without a better validation loss (the
    # committed model never stopped early: all 60 epochs improved within 5)
    cfg = preset(DEFAULT_PRESET, patience=5, **({"epochs": args.epochs} if args.epochs else {}))
    files = [f for f in load_chorales() if f.ok]
    corpus = Corpus.from_tables([(f.name, f.notes) for f in files])
    print(f"{len(corpus)} chorales, {corpus.note_count} notes; config:\n{cfg.to_json()}", flush=True)

    import keras

    from musicrnn.cli import _print_progress
    from musicrnn.train import train

    # Slow down once the validation loss (pitch and rhythm) stops improving.
    callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="min", factor=0.5, patience=2, min_lr=1e-4)]
    started = time.time()
    result = train(corpus, cfg, on_progress=_print_progress, callbacks=callbacks)
    path = result.save(args.out)
    print(f"\ntrained in {time.time() - started:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} MB)")

    from musicrnn.evaluation.scores import baseline_cross_entropy, model_scores, part_baselines, rhythm_baselines
    from musicrnn.infer import read_model_file

    model = read_model_file(path)
    train_part, val = corpus.split_held_out(result.facts())
    report = {"model": model_scores(model, val, train_part), "baselines": baseline_cross_entropy(train_part, val)}
    if model.cfg.beats:
        report["rhythm_baselines"] = rhythm_baselines(train_part, val, model.cfg)
    if model.cfg.parts:
        report["part_baselines"] = part_baselines(train_part, val)
    print(json.dumps(report, indent=2))
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    info["evaluation"] = report
    sidecar.write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
