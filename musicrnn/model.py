"""The Keras model: note inputs -> stacked LSTMs -> named heads (pitch, step, duration, and part for a parts model).

TensorFlow/Keras is imported here and in train.py only; generation runs on musicrnn.infer (numpy).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from .config import CONFIG_MEMBER, Config
from .features import feature_count
from .parts import PART_CLASSES
from .theory import PITCH_CLASSES


def _mean(values):
    """The mean, or 0 (not NaN) for no values: with several replicas, one can get none of an epoch's last
    few windows, and a NaN there would turn the epoch's reported loss into NaN."""
    count = ops.maximum(ops.cast(ops.size(values), values.dtype), 1.0)
    return ops.sum(values) / count


def class_cross_entropy(y_true, y_pred):
    """Mean cross-entropy (nats) of a head's logits against the next note's class (pitch, or rhythm class)."""
    return _mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True))


@keras.saving.register_keras_serializable(package="musicrnn")
def mse_with_positive_pressure(y_true, y_pred):
    """Mean squared error plus a penalty on negative predictions (times cannot be negative)."""
    mse = _mean((y_true - y_pred) ** 2)
    positive_pressure = 10.0 * _mean(ops.maximum(-y_pred, 0.0))
    return mse + positive_pressure


def build_model(cfg: Config) -> keras.Model:
    """Functional model; inputs of any length, an output at every position (next-note prediction)."""
    pitch = keras.Input((None,), dtype="int32", name="pitch_input")
    numeric = keras.Input((None, feature_count(cfg)), dtype="float32", name="features")
    if cfg.pitch_input == "embedding":
        pitch_vectors = keras.layers.Embedding(PITCH_CLASSES, cfg.embedding_dim, name="pitch_embedding")(pitch)
    else:  # the tutorial: pitch / 128 as one number
        pitch_vectors = keras.layers.Reshape((-1, 1), name="pitch_reshape")(pitch)
        pitch_vectors = keras.layers.Rescaling(1.0 / PITCH_CLASSES, name="pitch_scale")(pitch_vectors)
    x = keras.layers.Concatenate(name="concat")([pitch_vectors, numeric])
    for layer in range(1, cfg.layers + 1):
        x = keras.layers.LSTM(cfg.units, return_sequences=True, name=f"lstm_{layer}")(x)
        if cfg.dropout > 0:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{layer}")(x)
    # Beats mode: step and duration are logits over the beat grid's classes; seconds: one regressed number.
    time_width = cfg.time_head_width
    outputs = {
        "pitch": keras.layers.Dense(PITCH_CLASSES, name="pitch")(x),
        "step": keras.layers.Dense(time_width, name="step")(x),
        "duration": keras.layers.Dense(time_width, name="duration")(x),
    }
    if cfg.parts:  # which part plays the next note: a class over musicrnn.parts' vocabulary
        outputs["part"] = keras.layers.Dense(PART_CLASSES, name="part")(x)
    return keras.Model([pitch, numeric], outputs, name=f"musicrnn_{cfg.preset}")


def head_losses(cfg: Config) -> dict:
    """Each head's loss as a plain function returning this batch's mean: what the multi-worker loop
    (musicrnn.distributed) computes. Keras' Loss objects divide by the replica count when called under a
    tf.distribute strategy, part of fit's own bookkeeping, so a loop of our own must not use them."""
    time_loss = class_cross_entropy if cfg.beats else mse_with_positive_pressure
    losses = {"pitch": class_cross_entropy, "step": time_loss, "duration": time_loss}
    return {**losses, "part": class_cross_entropy} if cfg.parts else losses


def head_loss_weights(cfg: Config) -> dict:
    weights = {"pitch": cfg.pitch_loss_weight, "step": cfg.step_loss_weight, "duration": cfg.duration_loss_weight}
    return {**weights, "part": cfg.part_loss_weight} if cfg.parts else weights


def compile_model(model: keras.Model, cfg: Config) -> keras.Model:
    # The same maths as head_losses(), but the pitch loss as Keras' own class: fit's bookkeeping under a
    # strategy expects it (with the plain function, fit under MirroredStrategy reported doubled losses).
    def time_loss():
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True) if cfg.beats else mse_with_positive_pressure

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.learning_rate),
        loss={
            "pitch": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "step": time_loss(),
            "duration": time_loss(),
            **({"part": keras.losses.SparseCategoricalCrossentropy(from_logits=True)} if cfg.parts else {}),
        },
        loss_weights=head_loss_weights(cfg),
    )
    return model


def save_model(model: keras.Model, cfg: Config, path: str | Path, extra: Mapping[str, Any] | None = None) -> Path:
    """Save as .keras with our Config inside, plus a JSON sidecar (config, corpus summary, metrics)."""
    path = Path(path)
    # Graph and weights only: the optimizer's state would double the file and generation never needs it.
    optimizer = getattr(model, "optimizer", None)
    model.optimizer = None
    try:
        model.save(path)
    finally:
        model.optimizer = optimizer
    info = {"config": cfg.to_dict(), **(extra or {})}
    text = json.dumps(info, indent=2, default=float)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(CONFIG_MEMBER, text)
    path.with_suffix(".json").write_text(text)
    return path


def load_keras_model(path: str | Path) -> keras.Model:
    """Load a .keras file with Keras' safe mode on: files that carry code (Lambda layers) are refused."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def model_bytes(model: keras.Model, cfg: Config, extra: dict | None = None) -> bytes:
    """The .keras file of a model as bytes (for downloads); written in a temporary folder, then removed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="musicrnn-") as folder:
        path = save_model(model, cfg, Path(folder) / "model.keras", extra)
        return path.read_bytes()


class KerasStepper:
    """Runs a Keras model one note at a time by re-reading the whole history (slow; for tests/reference)."""

    def __init__(self, model: keras.Model, cfg: Config):
        self.model, self.cfg = model, cfg

    def start(self, batch: int) -> dict:
        import numpy as np

        return {
            "pitch": np.zeros((batch, 0), np.int32),
            "features": np.zeros((batch, 0, feature_count(self.cfg)), np.float32),
        }

    def step(self, pitch, numeric, state):
        import numpy as np

        state = {
            "pitch": np.concatenate([state["pitch"], pitch[:, None].astype(np.int32)], axis=1),
            "features": np.concatenate([state["features"], numeric[:, None, :]], axis=1),
        }
        out = self.model([state["pitch"], state["features"]], training=False)
        # Like NumpyModel.step: rhythm logits (B, classes) in beats mode, one number per stream in seconds.
        times = [np.asarray(out[head])[:, -1].astype(np.float64) for head in ("step", "duration")]
        if not self.cfg.beats:
            times = [t[:, 0] for t in times]
        return np.asarray(out["pitch"])[:, -1].astype(np.float64), times[0], times[1], state

    @property
    def has_parts(self) -> bool:
        return self.cfg.parts

    def part_logits(self, state) -> np.ndarray:
        """The part head's logits after the history in `state` (like NumpyModel.part_logits)."""
        import numpy as np

        out = self.model([state["pitch"], state["features"]], training=False)
        return np.asarray(out["part"])[:, -1].astype(np.float64)
