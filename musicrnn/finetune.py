"""Fine-tuning: start training from an existing model (the bundled one, one of the visitor's, or a file).

The network keeps the starting model's shape (its architecture settings); only training settings change,
and the learning rate starts lower so the first epochs refine what it knows instead of overwriting it.
Choosing the settings needs no TensorFlow (`fine_tune_config`); copying the weights does (`init_model`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import Config
from .infer import ModelFileError, read_model_file

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


def source_path(source: str | Path) -> Path:
    """'default' means the bundled model; anything else is a path to a .keras file."""
    from .bundled import DEFAULT_MODEL

    return DEFAULT_MODEL if str(source) == "default" else Path(source)


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
