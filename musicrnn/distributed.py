"""tf.distribute: strategies by name, who writes files, and the multi-worker training loop.

Keras 3.15's `model.fit` fails under MultiWorkerMirroredStrategy inside its own code (it converts a dict of
per-replica inputs to a tensor, then reduces scalar losses along axis 0: keras-team/keras#20585, #20329). Multi-
worker training therefore runs the loop that TensorFlow's "custom training loop with MultiWorkerMirroredStrategy"
guide describes: `strategy.run` for each step, gradients all-reduced by the Keras optimizer. It drives the same
Keras callbacks as `fit` (progress, stop, BackupAndRestore), so the rest of the code sees no difference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .config import Config
from .model import head_loss_weights, head_losses

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(name: str = "default"):
    """A tf.distribute strategy by name.

    default: whatever TensorFlow uses without one (one device). mirrored: every GPU of this machine, or,
    without GPUs, every logical CPU device (tests split the CPU in two). multiworker: synchronous data
    parallelism across the machines that the `TF_CONFIG` environment variable lists.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--strategy multiworker needs the TF_CONFIG environment variable (cluster and this task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief() -> bool:
    """Whether this process writes the final model and the backups: yes, except on the non-chief workers of
    TF_CONFIG (the chief is task "chief", or worker 0 when the cluster names no chief)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if task.get("type") in (None, "chief"):
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config.get("cluster", {})


def needs_own_loop(strategy) -> bool:
    """Whether `model.fit` cannot train under this strategy (see the module's docstring)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


class RestoreOnlyBackup(keras.callbacks.BackupAndRestore):
    """A non-chief worker's BackupAndRestore: resumes from the chief's backup in the shared folder but never
    writes or deletes it (every worker holds the same weights; concurrent writers would corrupt the files)."""

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


def backup_callback(checkpoint_dir: str | Path) -> keras.callbacks.BackupAndRestore:
    """Saves weights, optimizer state and the epoch after every epoch (chief only); a restarted run resumes.
    The previous epoch's backup is kept too, so a machine lost in the middle of writing one resumes from the
    one before instead of failing on a half-written file."""
    kind = keras.callbacks.BackupAndRestore if is_chief() else RestoreOnlyBackup
    return kind(str(checkpoint_dir), save_freq="epoch", double_checkpoint=True)


def fit_with_strategy_run(
    model: keras.Model,
    cfg: Config,
    strategy,
    train_data,
    val_data,
    steps: int,
    callbacks: list[keras.callbacks.Callback],
) -> None:
    """`model.fit(train_data, validation_data=val_data, epochs=cfg.epochs, callbacks=callbacks)` for strategies
    that fit cannot handle. Logs carry fit's names (loss, pitch_loss, …, val_loss, …) as epoch means."""
    train_step, val_step = _step_functions(model, cfg, strategy)
    train_batches, val_batches = _distribute(strategy, train_data), _distribute(strategy, val_data)
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)  # its slots must be created under the strategy
    callback_list = keras.callbacks.CallbackList(callbacks, model=model, epochs=cfg.epochs, steps=steps, verbose=0)
    model.stop_training = False
    callback_list.on_train_begin()
    first_epoch = _agreed_initial_epoch(strategy, model._initial_epoch or 0)  # set by BackupAndRestore
    model._initial_epoch = None
    for epoch in range(first_epoch, cfg.epochs):
        callback_list.on_epoch_begin(epoch)
        logs = _train_epoch(model, train_step, train_batches, callback_list)
        if val_batches is not None and not model.stop_training:
            val_logs = _RunningMeans()
            for inputs in val_batches:
                val_logs.add(val_step(inputs))
            logs.update({f"val_{name}": value for name, value in val_logs.logs().items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()


def _distribute(strategy, data):
    """Each worker builds the whole pipeline and keeps its share of the batches; the pipeline's batch is the
    global batch, which experimental_distribute_dataset splits between the replicas."""
    if data is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(data.with_options(options))


def _train_epoch(model: keras.Model, train_step, batches, callback_list) -> dict:
    means = _RunningMeans()
    for batch, inputs in enumerate(batches):
        callback_list.on_train_batch_begin(batch)
        means.add(train_step(inputs))
        callback_list.on_train_batch_end(batch, means.logs())
        if model.stop_training:
            break
    return means.logs()


def _step_functions(model: keras.Model, cfg: Config, strategy):
    losses, weights = head_losses(cfg), head_loss_weights(cfg)
    replicas = strategy.num_replicas_in_sync

    def compute(targets, outputs) -> dict:
        per_head = {f"{name}_loss": fn(targets[name], outputs[name]) for name, fn in losses.items()}
        per_head["loss"] = tf.add_n([weights[name] * per_head[f"{name}_loss"] for name in losses])
        return per_head

    def train_replica(inputs, targets) -> dict:
        with tf.GradientTape() as tape:
            values = compute(targets, model(inputs, training=True))
            # The optimizer sums the replicas' gradients, so each contributes its mean loss / replicas.
            scaled = values["loss"] / replicas
        gradients = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return values

    def val_replica(inputs, targets) -> dict:
        return compute(targets, model(inputs, training=False))

    def across_replicas(per_replica: dict) -> dict:
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in per_replica.items()}

    @tf.function(reduce_retracing=True)  # the last batch of an epoch is smaller
    def train_step(batch):
        return across_replicas(strategy.run(train_replica, args=batch))

    @tf.function(reduce_retracing=True)
    def val_step(batch):
        return across_replicas(strategy.run(val_replica, args=batch))

    return train_step, val_step


def _agreed_initial_epoch(strategy, epoch: int) -> int:
    """The epoch every worker resumes from; workers that restored different backups would wait on each other
    forever, so they stop with a clear message instead."""

    @tf.function
    def gather_epochs():
        return strategy.gather(strategy.run(lambda: tf.constant([epoch], tf.int32)), axis=0)

    epochs = sorted(set(np.asarray(gather_epochs()).tolist()))
    if len(epochs) > 1:
        raise ValueError(
            f"the workers restored different epochs from --checkpoint-dir ({epochs}); every worker "
            "must see the same checkpoint folder (a shared file system)"
        )
    return epochs[0]


class _RunningMeans:
    """Epoch means of the per-batch losses, as Keras' progress logs show them."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict) -> None:
        for name, value in values.items():
            self.totals[name] = self.totals.get(name, 0.0) + float(value)
        self.count += 1

    def logs(self) -> dict:
        return {name: total / max(1, self.count) for name, total in self.totals.items()}
