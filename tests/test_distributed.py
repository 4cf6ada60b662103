"""tf.distribute training: MirroredStrategy on two logical CPU devices (in a subprocess, because the devices
must be configured before TensorFlow starts), resuming from a checkpoint, and streaming from the cache."""
from __future__ import annotations

import json
import subprocess
import textwrap

import keras
import pytest

from helpers_models import PYTHON, ROOT, synthetic_corpus, write_midi_folder
from musicrnn.config import preset
from musicrnn.infer import read_model_file
from musicrnn.ingest import ingest
from musicrnn.train import train, train_streaming

MIRRORED_RUN = textwrap.dedent(
    """
    import sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from musicrnn.cli import main

    sys.exit(main(sys.argv[1:]))
    """
)


def test_mirrored_strategy_on_two_cpu_devices_trains_and_the_model_loads(tmp_path):
    data = write_midi_folder(tmp_path / "midi", files=6, notes=200)
    out = tmp_path / "mirrored.keras"
    args = ["train", "--data", str(data), "--preset", "tiny", "--epochs", "4", "--batch-size", "16",
            "--strategy", "mirrored", "--cache", str(tmp_path / "cache"), "--workers", "1",
            "--checkpoint-dir", str(tmp_path / "ckpt"), "--out", str(out)]
    run = subprocess.run([PYTHON, "-c", MIRRORED_RUN, *args], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "mirrored: 2 replicas, global batch 32" in run.stderr
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["corpus"]["replicas"] == 2 and info["corpus"]["global_batch_size"] == 32
    losses = [row["loss"] for row in info["history"]]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0]
    model = read_model_file(out)
    assert model.cfg.preset == "tiny"
    assert not (tmp_path / "ckpt").exists() or not any((tmp_path / "ckpt").iterdir())  # deleted once finished


class _Interrupt(keras.callbacks.Callback):
    """Kills training at the start of an epoch, the way a lost machine would."""

    def __init__(self, at_epoch: int):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def test_an_interrupted_run_resumes_from_its_last_checkpointed_epoch(tmp_path):
    corpus = synthetic_corpus(files=4, notes=120)
    cfg = preset("tiny", epochs=3, batch_size=32)
    first = _Epochs()
    with pytest.raises(KeyboardInterrupt):
        train(corpus, cfg, callbacks=[first, _Interrupt(at_epoch=1)], checkpoint_dir=tmp_path / "ckpt")
    assert first.seen == [0, 1]
    second = _Epochs()
    result = train(corpus, cfg, callbacks=[second], checkpoint_dir=tmp_path / "ckpt")
    assert second.seen == [1, 2]  # epoch 1 was restored, not retrained
    assert [row["epoch"] for row in result.history] == [2, 3]


def test_training_streamed_from_the_cache_lowers_the_loss(tmp_path):
    data = write_midi_folder(tmp_path / "midi", files=6, notes=200)
    found = ingest([data], cache_dir=tmp_path / "cache", workers=1, keep_notes=False)
    cfg = preset("tiny", epochs=3, batch_size=16)
    result = train_streaming(found.files, cfg, buffer=500)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert result.corpus["streamed"] and result.corpus["notes"] == 1200
