"""Fine-tuning: start training from an existing model (the bundled one, one of the visitor's, or a file).

The network keeps the starting model's shape (its architecture settings); only training settings change,
and the learning rate starts lower so the first epochs refine what it knows instead of overwriting it.
Choosing the settings needs no TensorFlow (`fine_tune_config`); copying the weights does (`init_model`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import Config
from .infer import ModelFileError, read_model_file

if TYPE_CHECKING:
    from .dataset import Corpus

# Settings that decide the shape of the weights (the rhythm heads too); a fine-tuned model must keep them.
ARCHITECTURE = (
    "pitch_input",
    "rich_features",
    "embedding_dim",
    "units",
    "layers",
    "time_unit",
    "beat_grid",
    "max_beats",
    "parts",
)
# A tenth of the start model's rate, so the first epochs refine rather than overwrite. With it bench/finetune.py
# measured fine-tuning ahead of a tiny model from scratch and the bigram (bench/RESULTS.md); other factors were
# not compared.
FINE_TUNE_LR_FACTOR = 0.1


class IncompatibleModel(ValueError):
    """The starting model cannot be trained further with these settings; the message says why."""


# The visitor's default run (the Train page's first choice with uploads, and `train --data DIR --out M`):
# fine-tune the bundled model that fits the music best, for at most this many minutes, keeping the best epoch.
# bench/finetune.py measures it on four kinds of small collection (bench/RESULTS.md).
VISITOR_MINUTES = 2.0
VISITOR_EPOCHS = 200  # the time limit decides; this only caps tiny collections that run many epochs a minute
VISITOR_PATIENCE = 10
# Scoring each bundled model on the uploads reads at most this many notes of each file, all files in one batch:
# a fraction of a second per model (numpy, no TensorFlow).
FIT_NOTES_PER_FILE = 200
FIT_FILES = 40  # and at most this many files, spread over the collection
# Windows shorter than the files: a file with no window of seq_length notes adds nothing to training, and held-out
# files with none leave the run without a validation loss. Folk tunes are often shorter than 64 notes.
MIN_SEQ_LENGTH = 16
# The visitor's runs split their files with Config's own defaults, whichever model they start from.
VISITOR_SPLIT: dict[str, Any] = {"val_fraction": Config.val_fraction, "seed": Config.seed}


def source_path(source: str | Path) -> Path:
    """A bundled model's file by name ('default', 'folk', …: musicrnn.styles), else a path to a .keras file."""
    from .styles import model_path

    return model_path(str(source))


def fine_tune_config(source: str | Path | bytes, name: str | None = None, **overrides: Any) -> Config:
    """The starting model's own settings with a lower learning rate and the given training overrides;
    IncompatibleModel when the file is unusable or an override would change the network's shape."""
    data = source if isinstance(source, bytes) else source_path(source)
    label = name or (str(source) if not isinstance(source, bytes) else "the model")
    try:
        start = read_model_file(data, name=label).cfg
    except ModelFileError as exc:
        raise IncompatibleModel(f"cannot fine-tune {label}: {exc}") from None
    changed = [
        f"{key} {getattr(start, key)!r} → {overrides[key]!r}"
        for key in ARCHITECTURE
        if key in overrides and overrides[key] != getattr(start, key)
    ]
    if changed:
        raise IncompatibleModel(
            f"cannot fine-tune {label} with a different network shape ({', '.join(changed)}); "
            "fine-tuning keeps the starting model's shape: drop these settings or start a new network"
        )
    if overrides.get("chord_order", start.chord_order) != start.chord_order:
        raise IncompatibleModel(
            f"cannot fine-tune {label} to read chords {overrides['chord_order']}: it learnt to read them "
            f"{start.chord_order} (chord_order); drop the setting or start a new network"
        )
    overrides = {k: v for k, v in overrides.items() if k not in ARCHITECTURE}
    overrides.setdefault("learning_rate", start.learning_rate * FINE_TUNE_LR_FACTOR)
    return start.replace(**overrides).validate()


def init_model(source: str | Path | bytes, cfg: Config, name: str | None = None):
    """A compiled Keras model for `cfg` holding the starting model's weights, layer by layer (loaded in safe
    mode: nothing in the file runs). IncompatibleModel names the first layer whose weights do not fit."""
    import tempfile

    from .model import build_model, compile_model, load_keras_model

    label = name or ("the uploaded model" if isinstance(source, bytes) else str(source))
    with tempfile.TemporaryDirectory(prefix="musicrnn-init-") as folder:
        path = source_path(source) if not isinstance(source, bytes) else Path(folder) / "start.keras"
        if isinstance(source, bytes):
            path.write_bytes(source)
        try:
            start = load_keras_model(path)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; the visitor needs one sentence
            raise IncompatibleModel(
                f"cannot fine-tune {label}: Keras cannot load it ({type(exc).__name__}: {exc})"
            ) from None
    model = build_model(cfg)
    start_layers = {layer.name: layer for layer in start.layers}
    for layer in model.layers:
        wanted = [tuple(w.shape) for w in layer.get_weights()]
        if not wanted:
            continue
        found = start_layers.get(layer.name)
        shapes = [tuple(w.shape) for w in found.get_weights()] if found is not None else None
        if shapes != wanted:
            have = "has no such layer" if found is None else f"has weights {shapes}"
            raise IncompatibleModel(
                f"cannot fine-tune {label}: its layer {layer.name!r} {have}, a {cfg.preset} network with these settings "
                f"needs {wanted}; fine-tuning needs a model of the same shape, e.g. one trained by this version of musicrnn"
            )
        assert found is not None  # a missing layer has no shapes: refused above
        layer.set_weights(found.get_weights())
    return compile_model(model, cfg)


@dataclass(frozen=True)
class Fit:
    """How well a bundled model knows a collection: its mean pitch surprise (nats per note) on the files."""

    name: str
    title: str
    nll: float
    notes: int


def fit_scores(corpus: Corpus, exclude: Collection[str] = (), names: Collection[str] | None = None) -> list[Fit]:
    """Every bundled model present (or those in `names`) scored on `corpus`' files but `exclude` (the files held
    out to judge the run, which must not choose its start either), best fit first. Numpy only."""
    from .evaluation.scores import pitch_losses
    from .styles import registry

    scored = corpus.split_by_name(exclude)[0] if exclude else corpus
    if not len(scored):
        scored = corpus
    if len(scored) > FIT_FILES:
        scored = scored.subset(np.linspace(0, len(scored) - 1, FIT_FILES).round().astype(int).tolist())
    fits = []
    for model in registry().present():
        if names is not None and model.name not in names:
            continue
        try:
            losses = pitch_losses(_read_bundled(model.file), scored, FIT_NOTES_PER_FILE)
        except (ModelFileError, ValueError):
            continue  # an unreadable file or files too short to score: not a candidate
        fits.append(Fit(model.name, model.title, float(np.mean(losses)), int(len(losses))))
    return sorted(fits, key=lambda fit: fit.nll)


def _read_bundled(path: Path):
    from .bundled import read_bundled_model

    return read_bundled_model(path)


def fit_reason(fits: list[Fit]) -> str:
    """Why the first of `fits` is the start, in words, with the figures behind it (nats: lower is better)."""
    if not fits:
        return fit_words(fits)
    return f"{fit_words(fits)[:-1]} ({fit_figures(fits)})."


def fit_words(fits: list[Fit]) -> str:
    """Why the first of `fits` is the start, in words alone (the app's main path; fit_figures: the numbers)."""
    if not fits:
        return "No bundled model could score your files."
    if len(fits) == 1:
        return f"{fits[0].title} is the only bundled model here."
    return f"{fits[0].title} knows your music best: of the bundled models it is the least surprised by your notes."


def fit_figures(fits: list[Fit]) -> str:
    """The figures behind fit_words: each bundled model's pitch cross-entropy on the files, in nats."""
    if len(fits) == 1:
        return f"{fits[0].nll:.2f} nats a note on your files"
    others = ", ".join(f"{fit.title} {fit.nll:.2f}" for fit in fits[1:])
    return f"{fits[0].nll:.2f} nats a note; {others}; lower is better"


def visitor_config(
    source: str | Path | bytes, corpus: Corpus | None = None, name: str | None = None, **overrides: Any
) -> Config:
    """The visitor's default run from `source`: fine_tune_config with the default time limit, epochs and patience,
    and windows no longer than the collection's files allow (see fit_windows); `overrides` win."""
    wanted = {
        "time_limit_minutes": VISITOR_MINUTES,
        "epochs": VISITOR_EPOCHS,
        "patience": VISITOR_PATIENCE,
        **overrides,
    }
    cfg = fine_tune_config(source, name=name, **wanted)
    if corpus is not None and "seq_length" not in overrides:
        cfg = fit_windows(cfg, corpus)
    return cfg


def fit_windows(cfg: Config, corpus: Corpus) -> Config:
    """`cfg` with windows short enough that three files in four give at least one (at least MIN_SEQ_LENGTH)."""
    if not len(corpus):
        return cfg
    quarter = int(np.percentile(corpus.lengths, 25)) - 1
    seq_length = max(MIN_SEQ_LENGTH, min(cfg.seq_length, quarter))
    return cfg if seq_length == cfg.seq_length else cfg.replace(seq_length=seq_length).validate()


def held_out_names(corpus: Corpus, val_fraction: float = Config.val_fraction, seed: int = Config.seed) -> list[str]:
    """The files a run with this split holds out to score its model (dataset.split_files), by name."""
    from .dataset import split_files

    if len(corpus) < 2:
        return []
    return [corpus.names[i] for i in split_files(corpus, val_fraction, seed)[1]]


def best_start(corpus: Corpus) -> list[Fit]:
    """The bundled models ranked by how well they know `corpus`' training files (the visitor's split), best first."""
    return fit_scores(corpus, exclude=held_out_names(corpus, VISITOR_SPLIT["val_fraction"], VISITOR_SPLIT["seed"]))


def visitor_start(corpus: Corpus, **overrides: Any) -> tuple[list[Fit], Config | None]:
    """The visitor's default run (the Train page's first choice with uploads, `train --data DIR --out M`): the bundled
    models ranked by fit, and the settings for fine-tuning the first (None when no bundled model could score)."""
    fits = best_start(corpus)
    return fits, visitor_config(fits[0].name, corpus, **overrides) if fits else None
