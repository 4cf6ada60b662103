"""tf.distribute training: MirroredStrategy on two logical CPU devices (in a subprocess, because the devices
must be configured before TensorFlow starts), resuming from a checkpoint, and streaming from the cache."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

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
    args = [
        "train",
        "--data",
        str(data),
        "--preset",
        "tiny",
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--strategy",
        "mirrored",
        "--cache",
        str(tmp_path / "cache"),
        "--workers",
        "1",
        "--checkpoint-dir",
        str(tmp_path / "ckpt"),
        "--out",
        str(out),
    ]
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


TWO_REPLICAS_COMPARED = textwrap.dedent(
    """
    import json, math, sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import musicrnn.train as training
    from helpers_models import synthetic_corpus
    from musicrnn.config import preset
    from musicrnn.dataset import flatten, split_files
    from musicrnn.distributed import make_strategy

    cfg = preset("tiny", epochs=2, batch_size=16, window_stride=1)
    for notes in range(160, 260):  # a corpus whose last global batch (32) holds 1 window: one replica gets none
        corpus = synthetic_corpus(files=6, notes=notes)
        if len(flatten(corpus.subset(split_files(corpus, cfg.val_fraction, cfg.seed)[0]), cfg).starts) % 32 == 1:
            break
    strategy = make_strategy("mirrored")
    results = {}
    for name, own_loop, used, batch in (("fit", False, strategy, 16), ("loop", True, strategy, 16), ("one", False, None, 32)):
        training.needs_own_loop = lambda s, own_loop=own_loop: own_loop and s is not None
        results[name] = training.train(corpus, cfg.replace(batch_size=batch), strategy=used).history
    print(json.dumps(results))
    """
)


def test_two_replicas_report_the_losses_of_one_device_even_when_a_replica_gets_no_window(tmp_path):
    """Regression: Keras' Loss objects divide by the replica count under a strategy (our loop reported half
    the loss), and a replica given no window of the last batch made the step loss NaN."""
    run = subprocess.run(
        [PYTHON, "-c", TWO_REPLICAS_COMPARED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests")},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    histories = json.loads(run.stdout.strip().splitlines()[-1])
    for name, history in histories.items():
        assert all(math.isfinite(value) for row in history for value in row.values()), (name, history)
    one = histories["one"][0]
    # 2 replicas × 16 = one device × 32: the same losses over the first epoch, up to float noise (a halved
    # loss is 50% off). Later epochs are not compared: with rhythm classes the pitch loss leaves its early
    # plateau a little sooner or later with float noise, and the runs part by up to ~20% by epoch 2.
    for name in ("fit", "loop"):
        first = histories[name][0]
        for key in ("loss", "pitch_loss", "step_loss"):
            assert first[key] == pytest.approx(one[key], rel=0.05), (key, histories)
        # The validation loss comes after a whole epoch of updates, so float noise has had time to grow (17% seen
        # with ordered heads); a halved loss would still be 50% off.
        assert first["val_pitch_loss"] == pytest.approx(one["val_pitch_loss"], rel=0.3), histories


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


def test_a_backup_cut_off_while_being_written_resumes_from_the_one_before(tmp_path):
    corpus = synthetic_corpus(files=4, notes=120)
    cfg = preset("tiny", epochs=4, batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        train(corpus, cfg, callbacks=[_Interrupt(at_epoch=2)], checkpoint_dir=tmp_path / "ckpt")
    latest = tmp_path / "ckpt" / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[:1000])  # the machine died half-way through writing epoch 2's backup
    seen = _Epochs()
    result = train(corpus, cfg, callbacks=[seen], checkpoint_dir=tmp_path / "ckpt")
    assert seen.seen == [1, 2, 3]  # epoch 1's backup was complete: only epoch 2 is trained again
    assert [row["epoch"] for row in result.history] == [2, 3, 4]


def test_training_streamed_from_the_cache_lowers_the_loss(tmp_path):
    data = write_midi_folder(tmp_path / "midi", files=6, notes=200)
    found = ingest([data], cache_dir=tmp_path / "cache", workers=1, keep_notes=False)
    cfg = preset("tiny", epochs=3, batch_size=16)
    result = train_streaming(found.files, cfg, buffer=500)
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert result.corpus["streamed"] and result.corpus["notes"] == 1200


# --- MultiWorkerMirroredStrategy: real worker processes talking over localhost, as on a cluster ---------------


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start_workers(tmp_path: Path, data: Path, epochs: int, run: str) -> list[tuple[subprocess.Popen, Path, Path]]:
    """Two `python -m musicrnn train --strategy multiworker` processes with their own TF_CONFIG."""
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        out, err = tmp_path / f"{run}-{index}.out", tmp_path / f"{run}-{index}.err"
        args = [
            PYTHON,
            "-m",
            "musicrnn",
            "train",
            "--data",
            str(data),
            "--preset",
            "tiny",
            "--epochs",
            str(epochs),
            "--batch-size",
            "16",
            "--strategy",
            "multiworker",
            "--cache",
            str(tmp_path / "cache"),
            "--workers",
            "1",
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--out",
            str(tmp_path / f"model-{index}.keras"),
        ]
        with out.open("w") as stdout, err.open("w") as stderr:
            workers.append((subprocess.Popen(args, cwd=ROOT, env=env, stdout=stdout, stderr=stderr), out, err))
    return workers


def _finish(workers, timeout: float = 300) -> list[dict]:
    reports = []
    for process, out, err in workers:
        assert process.wait(timeout=timeout) == 0, err.read_text()[-3000:]
        reports.append(json.loads(out.read_text()))
    return reports


def test_two_workers_train_one_model_together_and_only_the_chief_writes_it(tmp_path):
    data = write_midi_folder(tmp_path / "midi", files=6, notes=200)
    chief, worker = _finish(_start_workers(tmp_path, data, epochs=3, run="train"))
    assert "multiworker: 2 replicas, global batch 32" in (tmp_path / "train-0.err").read_text()
    assert chief["model"] == str(tmp_path / "model-0.keras") and worker["model"] is None
    assert not (tmp_path / "model-1.keras").exists()  # the other worker's copy went to a deleted scratch folder
    assert chief["final"] == worker["final"]  # synchronous training: both saw the same all-reduced losses
    info = json.loads((tmp_path / "model-0.json").read_text())
    assert info["corpus"]["replicas"] == 2 and info["corpus"]["global_batch_size"] == 32
    losses = [row["loss"] for row in info["history"]]
    assert len(losses) == 3 and losses[-1] < 0.8 * losses[0]
    assert {"pitch_loss", "step_loss", "duration_loss", "val_loss", "val_pitch_loss"} <= set(info["final"])
    assert read_model_file(tmp_path / "model-0.keras").cfg.preset == "tiny"
    assert not (tmp_path / "ckpt").exists()  # the backup is deleted once training finishes
    # Two workers × 16 is one process × 32: the same data and seed give nearly the same losses. Not exactly: each
    # replica averages its own scored targets (a window that reaches a file's end scores one target less, the
    # end of the piece, on the pitch), and small differences grow over three epochs at the tiny preset's rate.
    alone = subprocess.run(
        [
            PYTHON,
            "-m",
            "musicrnn",
            "train",
            "--data",
            str(data),
            "--preset",
            "tiny",
            "--epochs",
            "3",
            "--batch-size",
            "32",
            "--cache",
            str(tmp_path / "cache"),
            "--workers",
            "1",
            "--out",
            str(tmp_path / "alone.keras"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    alone_history = json.loads((tmp_path / "alone.json").read_text())["history"]
    for together_row, alone_row in zip(info["history"], alone_history):
        for key in ("pitch_loss", "val_pitch_loss"):
            assert together_row[key] == pytest.approx(alone_row[key], rel=0.1), (info["history"], alone_history)


def test_a_killed_multiworker_run_resumes_from_the_chiefs_backup(tmp_path):
    data = write_midi_folder(tmp_path / "midi", files=6, notes=200)
    workers = _start_workers(tmp_path, data, epochs=12, run="first")
    metadata = tmp_path / "ckpt" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while not metadata.exists() and time.monotonic() < deadline and workers[0][0].poll() is None:
        time.sleep(0.05)
    for process, _, _ in workers:  # a lost machine takes the whole synchronous job down
        process.kill()
        process.wait()
    assert metadata.exists(), (tmp_path / "first-0.err").read_text()[-3000:]
    backed_up = json.loads(metadata.read_text())["epoch"]
    assert 1 <= backed_up < 12
    chief, worker = _finish(_start_workers(tmp_path, data, epochs=12, run="again"))
    history = json.loads((tmp_path / "model-0.json").read_text())["history"]
    assert [row["epoch"] for row in history] == list(range(backed_up + 1, 13))  # nothing retrained
    assert chief["final"] == worker["final"]
    assert not (tmp_path / "ckpt").exists()


# --- the multi-worker loop itself, in this process on the default strategy -----------------------------------


@pytest.fixture
def own_loop(monkeypatch):
    """Makes train() take the multi-worker loop on this process's default strategy (one replica)."""
    import tensorflow as tf

    import musicrnn.train

    monkeypatch.setattr(musicrnn.train, "needs_own_loop", lambda strategy: strategy is not None)
    return tf.distribute.get_strategy()


def test_the_strategy_run_loop_reports_what_fit_reports_and_learns(own_loop):
    corpus = synthetic_corpus(files=4, notes=160)
    cfg = preset("tiny", epochs=3, batch_size=32)
    with_loop = train(corpus, cfg, strategy=own_loop)
    with_fit = train(corpus, cfg)
    assert set(with_loop.final) == set(with_fit.final)
    losses = [row["loss"] for row in with_loop.history]
    assert losses[-1] < 0.8 * losses[0]
    # Same seed, same data, same maths: the two loops agree closely (not bit for bit: float summation order).
    assert with_loop.final["val_loss"] == pytest.approx(with_fit.final["val_loss"], rel=0.05)


def test_the_strategy_run_loop_stops_where_fit_stops(own_loop):
    import threading

    def batches_until_stopped(strategy) -> list[int]:
        stop, batches = threading.Event(), []

        def on_progress(event):
            if event["kind"] == "batch":
                batches.append(event["batch"])
                stop.set()

        result = train(
            synthetic_corpus(files=4, notes=160),
            preset("tiny", epochs=5, batch_size=8),
            on_progress=on_progress,
            stop=stop,
            report_every=1,
            strategy=strategy,
        )
        assert result.stopped and len(result.history) <= 1
        return batches

    # The flag set during batch 1's report is read at the end of batch 2, by fit and by the loop alike.
    assert batches_until_stopped(own_loop) == batches_until_stopped(None) == [1, 2]


def test_the_strategy_run_loop_resumes_from_a_backup(tmp_path, own_loop):
    corpus = synthetic_corpus(files=4, notes=120)
    cfg = preset("tiny", epochs=3, batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        train(corpus, cfg, callbacks=[_Interrupt(at_epoch=2)], checkpoint_dir=tmp_path / "ckpt", strategy=own_loop)
    seen = _Epochs()
    result = train(corpus, cfg, callbacks=[seen], checkpoint_dir=tmp_path / "ckpt", strategy=own_loop)
    assert seen.seen == [2]
    assert [row["epoch"] for row in result.history] == [3]


def test_a_non_chief_worker_restores_the_chiefs_backup_but_never_writes_or_deletes_it(tmp_path, monkeypatch):
    corpus = synthetic_corpus(files=4, notes=120)
    cfg = preset("tiny", epochs=2, batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        train(corpus, cfg, callbacks=[_Interrupt(at_epoch=1)], checkpoint_dir=tmp_path / "ckpt")
    saved = {path.name: path.read_bytes() for path in (tmp_path / "ckpt").iterdir()}
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    seen = _Epochs()
    train(corpus, cfg, callbacks=[seen], checkpoint_dir=tmp_path / "ckpt")
    assert seen.seen == [1]  # resumed from the chief's epoch
    assert {path.name: path.read_bytes() for path in (tmp_path / "ckpt").iterdir()} == saved
