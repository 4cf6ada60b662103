"""Train the bundled models (musicrnn/assets/models.json) with the project's default preset and record their
held-out figures next to the chorale model's and the bigram's.

    make style-models                     # folk, renaissance, quartets, then general (all styles together)
    .venv/bin/python scripts/train_style_models.py --style folk [--minutes 5] [--epochs N] [--out FILE]
    .venv/bin/python scripts/train_style_models.py --style chorales   # the default model (make default-model:
        # 90 epochs at stride 16, then --further the result for 30 epochs at stride 8 and learning rate 0.0007)

Each style's corpus comes from the cache `scripts/build_corpus.py --style NAME` builds (scripts/corpora.py says
what is in it); the chorales are the bundled ones. The general model learns every style's corpus, the chorales
included. The model is written where the registry says (unless --out), with its JSON sidecar: config, split,
history and "evaluation": the model on its held-out files, the uniform/unigram/bigram baselines fitted on its
training files, and (other styles) the chorale model on the same held-out files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
# This checkout's package (not another one installed editable) and corpora.py, beside this script.
sys.path[:0] = [str(SCRIPTS.parent), str(SCRIPTS)]

from corpora import STYLES, cache_dir  # noqa: E402

from musicrnn.config import DEFAULT_PRESET, preset  # noqa: E402
from musicrnn.dataset import Corpus  # noqa: E402
from musicrnn.midi_load import load_paths  # noqa: E402
from musicrnn.styles import registry  # noqa: E402

GENERAL = "general"
CHORALES = "chorales"
ORDER = (*STYLES, GENERAL)  # what `make style-models` trains, one after another


def style_files(style: str, cache: Path) -> list[tuple[str, Path]]:
    """(name in the corpus, path) of every file a style's model learns from; the general model's names carry
    their style, so two styles' files never share a name."""
    if style == GENERAL:
        return [(f"{name}/{file}", path) for name in (CHORALES, *STYLES) for file, path in style_files(name, cache)]
    if style == CHORALES:
        from musicrnn.bundled import chorale_files

        return [(path.name, path) for path in chorale_files()]
    folder = cache / style
    files = sorted(folder.glob("*.mid"))
    if not files:
        raise SystemExit(
            f"no corpus for {style} in {folder}: run `python scripts/build_corpus.py --style {style}` first"
        )
    return [(path.name, path) for path in files]


def load_corpus(style: str, cache: Path) -> Corpus:
    named = style_files(style, cache)
    loaded = load_paths([path for _, path in named])
    bad = [(name, item.error) for (name, _), item in zip(named, loaded) if not item.ok]
    for name, error in bad:
        print(f"skipping {name}: {error}", file=sys.stderr)
    return Corpus.from_tables([(name, item.notes) for (name, _), item in zip(named, loaded) if item.ok])


def train_model(
    corpus: Corpus,
    out: Path,
    epochs: int | None,
    minutes: float | None,
    further: Path | None = None,
    stride: int | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
) -> Path:
    """Train the default preset on `corpus` (the best epoch is kept) and save it to `out`; with `further`, that
    model's network and weights are trained on (its own config, with `stride` and `learning_rate`). The saved
    model stores the rate it was trained at, and a visitor's fine-tuning from it starts at a tenth of that
    (finetune.FINE_TUNE_LR_FACTOR): a style model trained on at a low rate needs its recipe's rate stored again
    (calibrate_endings.write_info), or visitors' runs crawl (bench/RESULTS.md, "Pickups")."""
    # Early stopping off under a cosine schedule: its last, slow epochs are where it gains most; the best
    # epoch is kept all the same.
    overrides: dict = {"patience": 5 if preset(DEFAULT_PRESET).lr_schedule == "constant" else 0}
    overrides |= {"epochs": epochs} if epochs else {}
    overrides |= {"window_stride": stride} if stride else {}
    overrides |= {"learning_rate": learning_rate} if learning_rate else {}
    overrides |= {"batch_size": batch_size} if batch_size else {}
    if minutes:
        overrides["time_limit_minutes"] = minutes
    model = None
    if further is not None:
        from musicrnn.finetune import init_model
        from musicrnn.infer import read_model_file

        cfg = read_model_file(further).cfg.replace(**overrides)
        model = init_model(further, cfg)
    else:
        cfg = preset(DEFAULT_PRESET, **overrides)
    print(f"{len(corpus)} files, {corpus.note_count} notes; config:\n{cfg.to_json()}", flush=True)

    import keras

    from musicrnn.cli import _print_progress
    from musicrnn.train import train

    # A constant learning rate slows down once the validation loss stops improving; the cosine schedule (the
    # default preset's) decays on its own over the epochs.
    callbacks = (
        [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="min", factor=0.5, patience=2, min_lr=1e-4)]
        if cfg.lr_schedule == "constant"
        else []
    )
    started = time.time()
    result = train(corpus, cfg, on_progress=_print_progress, callbacks=callbacks, model=model)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = result.save(out)
    print(f"\ntrained in {time.time() - started:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return path


def evaluate(path: Path, corpus: Corpus, style: str, note: str = "") -> dict:
    """The model on its held-out files next to the baselines (fitted on its training files) and, for a style
    other than the chorales, the chorale model on the same files; stored in the sidecar's "evaluation"."""
    from musicrnn.evaluation.scores import (
        baseline_cross_entropy,
        baseline_top1,
        model_scores,
        part_baselines,
        rhythm_baselines,
    )
    from musicrnn.infer import read_model_file

    model = read_model_file(path)
    train_part, held_out = corpus.split_held_out(model.info)
    report = {
        "model": model_scores(model, held_out, train_part),
        "baselines": baseline_cross_entropy(train_part, held_out),
        "baselines_top1": baseline_top1(train_part, held_out),
    }
    if model.cfg.beats:
        report["rhythm_baselines"] = rhythm_baselines(train_part, held_out, model.cfg)
    if model.cfg.parts:
        report["part_baselines"] = part_baselines(train_part, held_out)
    chorale_model = registry().get(CHORALES)
    if style != CHORALES and chorale_model.present:
        report["chorale_model"] = model_scores(read_model_file(chorale_model.file), held_out, train_part)
    if note:
        report["note"] = note
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    info["evaluation"] = report
    sidecar.write_text(json.dumps(info, indent=2))
    return report


def summary_line(style: str, report: dict) -> str:
    """One line: the model against the chorale model and the bigram, and whether it beats both."""
    ours, bigram = report["model"]["pitch_cross_entropy"], report["baselines"]["bigram"]
    line = (
        f"{style}: held-out pitch cross-entropy {ours:.3f} nats ({report['model']['files']} files), bigram {bigram:.3f}"
    )
    chorale = report.get("chorale_model", {}).get("pitch_cross_entropy")
    if chorale is not None:
        line += f", chorale model {chorale:.3f}"
    beaten = ours < bigram and (chorale is None or ours < chorale)
    return line + f" — beats {'both' if chorale is not None else 'the bigram'}: {'yes' if beaten else 'NO'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", action="append", choices=(CHORALES, *ORDER), help="repeatable (default: all styles)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the preset's); the best epoch is kept")
    parser.add_argument("--minutes", type=float, help="stop each model's training after this many minutes")
    parser.add_argument("--cache", type=Path, help="the style corpora (default: corpora.cache_dir())")
    parser.add_argument(
        "--out", type=Path, help="where to write the model (one --style only; default: the registry's file)"
    )
    parser.add_argument("--note", default="", help="stored with the figures, e.g. 'interim: 4 minutes'")
    parser.add_argument("--further", type=Path, help="train this .keras model on instead of a new network")
    parser.add_argument("--stride", type=int, help="window stride (default: the preset's)")
    parser.add_argument("--learning-rate", type=float, help="peak learning rate (default: the preset's)")
    parser.add_argument("--batch-size", type=int, help="windows per batch (default: the preset's)")
    args = parser.parse_args(argv)
    styles = args.style or list(ORDER)
    if args.out and len(styles) != 1:
        parser.error("--out needs exactly one --style")
    lines = []
    for style in styles:
        corpus = load_corpus(style, cache_dir(args.cache))
        out = args.out or registry().get(style).file
        path = train_model(
            corpus, out, args.epochs, args.minutes, args.further, args.stride, args.learning_rate, args.batch_size
        )
        report = evaluate(path, corpus, style, args.note)
        print(json.dumps(report, indent=2))
        lines.append(summary_line(style, report))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
