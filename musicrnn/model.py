"""The Keras model: note inputs -> stacked LSTMs -> named heads (pitch, step, duration, and part for a parts model).

An ordered model (Config.ordered) predicts a note's fields one after another: each head is a small network
reading the LSTM's output and the fields before it in Config.field_order (given as `next_<field>` inputs:
the true values in training, the drawn ones in generation), so a pitch is chosen knowing whether the note
joins the current chord and which voice sings it.

TensorFlow/Keras is imported here and in train.py only; generation runs on musicrnn.infer (numpy).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from .config import CONFIG_MEMBER, Config
from .features import VOICE_CLASSES, feature_count
from .parts import PART_CLASSES
from .theory import KEY_COUNT, PITCH_CLASSES

KEY_DIM = 8  # the key's learned vector (key_input models)
# Width of the learned vector each ordered head reads for an earlier field's value.
GIVEN_DIMS = {"step": 16, "part": 8, "pitch": 16, "duration": 8, "voice": 16}
IGNORED = -1  # a target that is not scored: the fields of the "note" after a piece's end


def _mean(values):
    """The mean, or 0 (not NaN) for no values: with several replicas, one can get none of an epoch's last
    few windows, and a NaN there would turn the epoch's reported loss into NaN."""
    count = ops.maximum(ops.cast(ops.size(values), values.dtype), 1.0)
    return ops.sum(values) / count


def class_cross_entropy(y_true, y_pred):
    """Mean cross-entropy (nats) of a head's logits against the next note's class (pitch, or rhythm class),
    over the targets that are scored (IGNORED ones are left out of the sum and the count)."""
    scored = ops.not_equal(y_true, IGNORED)
    losses = keras.losses.sparse_categorical_crossentropy(ops.maximum(y_true, 0), y_pred, from_logits=True)
    weights = ops.cast(scored, losses.dtype)
    return ops.sum(losses * weights) / ops.maximum(ops.sum(weights), 1.0)


def field_classes(cfg: Config) -> dict[str, int]:
    """How many classes each head of a beats model predicts."""
    classes = {"step": cfg.step_classes, "duration": cfg.rhythm_classes, "pitch": PITCH_CLASSES}
    return classes | ({"part": PART_CLASSES} if cfg.parts else {})


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
    inputs = [pitch, numeric]
    if cfg.pitch_input == "embedding":
        pitch_vectors = keras.layers.Embedding(PITCH_CLASSES, cfg.embedding_dim, name="pitch_embedding")(pitch)
    else:  # the tutorial: pitch / 128 as one number
        pitch_vectors = keras.layers.Reshape((-1, 1), name="pitch_reshape")(pitch)
        pitch_vectors = keras.layers.Rescaling(1.0 / PITCH_CLASSES, name="pitch_scale")(pitch_vectors)
    pieces = [pitch_vectors, numeric]
    key_vectors = None
    if cfg.key_input:
        key = keras.Input((None,), dtype="int32", name="key_input")
        inputs.append(key)
        key_vectors = keras.layers.Embedding(KEY_COUNT, KEY_DIM, name="key_embedding")(key)
        pieces.append(key_vectors)
    x = keras.layers.Concatenate(name="concat")(pieces)
    for layer in range(1, cfg.layers + 1):
        x = keras.layers.LSTM(cfg.units, return_sequences=True, name=f"lstm_{layer}")(x)
        if cfg.dropout > 0:
            x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{layer}")(x)
    if cfg.ordered:
        outputs, given_inputs = _ordered_heads(cfg, x, key_vectors)
        return keras.Model(inputs + given_inputs, outputs, name=f"musicrnn_{cfg.preset}")
    # Beats mode: step and duration are logits over the beat grid's classes; seconds: one regressed number.
    time_width = cfg.time_head_width
    outputs = {
        "pitch": keras.layers.Dense(PITCH_CLASSES, name="pitch")(x),
        "step": keras.layers.Dense(cfg.step_classes if cfg.beats else time_width, name="step")(x),
        "duration": keras.layers.Dense(time_width, name="duration")(x),
    }
    if cfg.parts:  # which part plays the next note: a class over musicrnn.parts' vocabulary
        outputs["part"] = keras.layers.Dense(PART_CLASSES, name="part")(x)
    return keras.Model(inputs, outputs, name=f"musicrnn_{cfg.preset}")


def _ordered_heads(cfg: Config, x, key_vectors) -> tuple[dict, list]:
    """One head per field in cfg.fields: Dense(head_units, relu) over the LSTM output, the key and the fields
    before it, then Dense(classes). Returns the outputs and the `next_<field>` inputs the later heads read."""
    classes = field_classes(cfg) | {"voice": VOICE_CLASSES}
    outputs: dict = {}
    vectors: dict = {}  # each value a later head reads -> its learned vector
    given_inputs: list = []
    for field in cfg.fields:
        given = [vectors[name] for name in cfg.given_names(field)]
        head_in = [x, *([key_vectors] if key_vectors is not None else []), *given]
        joined = keras.layers.Concatenate(name=f"{field}_in")(head_in) if len(head_in) > 1 else x
        hidden = keras.layers.Dense(cfg.head_units, activation="relu", name=f"{field}_hidden")(joined)
        outputs[field] = keras.layers.Dense(classes[field], name=field)(hidden)
        # The values this field's value makes known (itself; after the part, the voice's last pitch), built
        # after its head so that a model without voice_memory is built layer for layer as before.
        for name in (field, "voice") if field == "part" else (field,):
            if name in cfg.given_inputs:
                value = keras.Input((None,), dtype="int32", name=f"next_{name}")
                given_inputs.append(value)
                vectors[name] = keras.layers.Embedding(classes[name], GIVEN_DIMS[name], name=f"{name}_given")(value)
    return outputs, given_inputs


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


def compile_model(model: keras.Model, cfg: Config, steps_per_epoch: int | None = None) -> keras.Model:
    # The same maths as head_losses(), but the losses as Keras' own class: fit's bookkeeping under a strategy
    # expects it (with the plain function, fit under MirroredStrategy reported doubled losses). ignore_class
    # leaves IGNORED targets (after a piece's end) out of the mean, as class_cross_entropy does.
    def class_loss():
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORED)

    def time_loss():
        return class_loss() if cfg.beats else mse_with_positive_pressure

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate(cfg, steps_per_epoch)),
        loss={
            "pitch": class_loss(),
            "step": time_loss(),
            "duration": time_loss(),
            **({"part": class_loss()} if cfg.parts else {}),
        },
        loss_weights=head_loss_weights(cfg),
    )
    return model


def learning_rate(cfg: Config, steps_per_epoch: int | None):
    """cfg.learning_rate, or with the cosine schedule a rate that falls to a tenth of it over the run's epochs
    (needs the number of batches per epoch)."""
    if cfg.lr_schedule != "cosine" or not steps_per_epoch:
        return cfg.learning_rate
    return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, cfg.epochs * steps_per_epoch, alpha=0.1)


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


@dataclass
class KerasState:
    """What KerasStepper has read: each stream's pitches and features so far, and its key."""

    pitch: np.ndarray  # (B, T)
    features: np.ndarray  # (B, T, F)
    key: np.ndarray  # (B,)

    def take(self, rows: np.ndarray) -> KerasState:
        return KerasState(self.pitch[rows], self.features[rows], self.key[rows])


class KerasStepper:
    """Runs a Keras model one note at a time by re-reading the whole history (slow; for tests/reference). The
    same contract as musicrnn.infer.NumpyModel: start, advance, field_logits, fields."""

    def __init__(self, model: keras.Model, cfg: Config, info: dict | None = None):
        self.model, self.cfg, self.info = model, cfg, info or {}

    @property
    def has_parts(self) -> bool:
        return self.cfg.parts

    @property
    def fields(self) -> tuple[str, ...]:
        if self.cfg.ordered:
            return self.cfg.fields
        part = ("part",) if self.has_parts else ()
        return ("step", "duration", *part, "pitch") if self.cfg.beats else (*part, "pitch", "step", "duration")

    def start(self, batch: int, key=None) -> KerasState:
        keys = np.broadcast_to(np.asarray(0 if key is None else key, np.int32), (batch,)).copy()
        return KerasState(
            np.zeros((batch, 0), np.int32), np.zeros((batch, 0, feature_count(self.cfg)), np.float32), keys
        )

    def advance(self, state: KerasState, pitch, numeric) -> KerasState:
        return KerasState(
            np.concatenate([state.pitch, pitch[:, None].astype(np.int32)], axis=1),
            np.concatenate([state.features, numeric[:, None, :]], axis=1),
            state.key,
        )

    def field_logits(self, field: str, state: KerasState, given: dict | None = None) -> np.ndarray:
        batch, length = state.pitch.shape
        inputs = {"pitch_input": state.pitch, "features": state.features}
        if self.cfg.key_input:
            inputs["key_input"] = np.repeat(state.key[:, None], length, axis=1)
        for name in self.cfg.given_inputs:
            values = np.zeros((batch, length), np.int32)
            if given and name in given:
                values[:, -1] = given[name]
            inputs[f"next_{name}"] = values
        out = np.asarray(self.model(inputs, training=False)[field])[:, -1].astype(np.float64)
        return out[:, 0] if not self.cfg.beats and field in ("step", "duration") else out
