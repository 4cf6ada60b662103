"""Training throughput, side by side: the same network, data, batch size and epochs, two input pipelines.

(a) the TensorFlow tutorial's pipeline: every window materialised as an (N, L, 3) array (pitch/128, step,
    duration) with the note after it as the only target, `tf.data.Dataset.from_tensor_slices`, shuffle,
    batch, `model.fit` on a model whose LSTM returns only its last position (as in the tutorial);
(b) musicrnn's `train()`: windows cut by index from per-file arrays inside tf.data, and the model predicts
    the next note at every position of the window (seq2seq), so one window of L notes trains L targets.

Both use the tutorial preset's architecture (pitch/128, step, duration -> LSTM(128) -> pitch/step/duration
heads; loss weights 0.05/1/1; Adam 0.005; batch 64), the same bundled chorales, the same file split (the
held-out files of musicrnn's seeded split), and times clipped at 4 s. Each variant runs in its own
subprocess, so its peak memory is its own. The validation score is the same for both: per-note pitch
cross-entropy (nats) of the note after every window of L notes in the held-out files.

    python bench/training.py [--files 100] [--epochs 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from common import machine, machine_line, peak_rss_mb, print_json, table  # noqa: E402  (sets up the process)

VARIANTS = ("tutorial", "musicrnn")
LABELS = {
    "tutorial": "(a) tutorial: materialised windows, last-note target",
    "musicrnn": "(b) musicrnn train(): windows by index, every position a target",
}
TARGET_SPEEDUP = 2.0


def chorale_corpus(files: int):
    """The first `files` bundled chorales (sorted by name) as a Corpus."""
    from musicrnn.bundled import chorale_files
    from musicrnn.dataset import Corpus
    from musicrnn.midi_load import load_paths

    loaded = [item for item in load_paths(chorale_files()[:files]) if item.ok]
    return Corpus.from_tables([(item.name, item.notes) for item in loaded])


def materialise(corpus, cfg) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The tutorial's training arrays: (N, L, 3) windows with pitch scaled by 1/128, next-note targets."""
    from musicrnn.dataset import tutorial_windows
    from musicrnn.features import clip_times

    inputs, targets = [], {"pitch": [], "step": [], "duration": []}
    for pitch, step, duration in zip(corpus.pitch, corpus.step, corpus.duration):
        x, y = tutorial_windows(pitch, clip_times(step, cfg), clip_times(duration, cfg), cfg.seq_length)
        inputs.append(x)
        for key in targets:
            targets[key].append(y[key])
    x = np.concatenate(inputs)
    x[:, :, 0] /= 128.0  # the tutorial feeds pitch / vocabulary size
    return x, {key: np.concatenate(value) for key, value in targets.items()}


def tutorial_model(cfg):
    """The tutorial's network: one LSTM returning its last output, three heads, the same losses as ours."""
    import keras

    from musicrnn.model import compile_model

    inputs = keras.Input((cfg.seq_length, 3))
    x = keras.layers.LSTM(cfg.units)(inputs)
    outputs = {
        "pitch": keras.layers.Dense(128, name="pitch")(x),
        "step": keras.layers.Dense(1, name="step")(x),
        "duration": keras.layers.Dense(1, name="duration")(x),
    }
    # Same optimizer, losses and loss weights as musicrnn's own model.
    return compile_model(keras.Model(inputs, outputs), cfg)


def epoch_timer():
    """A Keras callback recording each epoch's training time (first to last batch; validation excluded)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.began = self.last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.last = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(self.last - self.began)

    return EpochTimer()


def held_out_cross_entropy(predict_last_logits, val, cfg) -> tuple[float, int]:
    """Pitch cross-entropy (nats/note) of the note after every window of L notes in the held-out files."""
    from musicrnn.dataset import tutorial_windows
    from musicrnn.evaluation.scores import log_softmax

    losses = []
    for pitch, step, duration in zip(val.pitch, val.step, val.duration):
        windows, targets = tutorial_windows(pitch, step, duration, cfg.seq_length)
        if len(windows):
            logp = log_softmax(predict_last_logits(windows).astype(np.float64))
            losses.append(-logp[np.arange(len(windows)), targets["pitch"]])
    losses = np.concatenate(losses)
    return float(losses.mean()), len(losses)


def run_variant(variant: str, files: int, epochs: int) -> dict:
    """Train one variant in this process and return its figures (called in a subprocess)."""
    import keras
    import tensorflow as tf

    from musicrnn.config import preset
    from musicrnn.dataset import split_files
    from musicrnn.features import encode_sequence

    cfg = preset("tutorial", epochs=epochs)
    corpus = chorale_corpus(files)
    train_idx, val_idx = split_files(corpus, cfg.val_fraction, cfg.seed)  # the split train() makes
    train_set, val_set = corpus.subset(train_idx), corpus.subset(val_idx)
    rss_before_data = peak_rss_mb()
    timer = epoch_timer()
    started = time.perf_counter()

    if variant == "tutorial":
        keras.utils.set_random_seed(cfg.seed)
        x, y = materialise(train_set, cfg)
        windows = len(x)
        data = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(windows, seed=cfg.seed)
            .batch(cfg.batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        model = tutorial_model(cfg)
        model.fit(data, epochs=epochs, verbose=0, callbacks=[timer])

        def last_logits(w):
            scaled = w.astype(np.float32).copy()
            scaled[:, :, 0] /= 128.0
            scaled[:, :, 1:] = np.clip(scaled[:, :, 1:], 0.0, cfg.max_time)
            return np.asarray(model.predict(scaled, batch_size=256, verbose=0)["pitch"])

        targets_per_window = 1
    else:
        from musicrnn.dataset import window_starts
        from musicrnn.train import train

        windows = len(window_starts(train_set.lengths, cfg.seq_length, cfg.window_stride))
        result = train(corpus, cfg, callbacks=[timer])
        model = result.model

        def last_logits(w):
            pitch = w[:, :, 0].astype(np.int32)
            features = np.stack([encode_sequence(p[:, 0], p[:, 1], p[:, 2], cfg) for p in w])
            return np.asarray(model.predict([pitch, features], batch_size=256, verbose=0)["pitch"][:, -1])

        targets_per_window = cfg.seq_length

    total = time.perf_counter() - started
    cross_entropy, notes = held_out_cross_entropy(last_logits, val_set, cfg)
    steady = timer.seconds[1:] or timer.seconds  # the first epoch includes tracing
    epoch_seconds = float(np.median(steady))
    return {
        "variant": variant,
        "files": len(corpus),
        "train_files": len(train_set),
        "val_files": len(val_set),
        "epochs": epochs,
        "batch_size": cfg.batch_size,
        "seq_length": cfg.seq_length,
        "windows_per_epoch": windows,
        "targets_per_window": targets_per_window,
        "first_epoch_s": timer.seconds[0],
        "epoch_s": epoch_seconds,
        "windows_per_s": windows / epoch_seconds,
        "target_notes_per_s": windows * targets_per_window / epoch_seconds,
        "total_s": total,
        "val_pitch_ce": cross_entropy,
        "val_notes": notes,
        "rss_before_data_mb": rss_before_data,
        "peak_rss_mb": peak_rss_mb(),
    }


def spawn(variant: str, files: int, epochs: int) -> dict:
    """Run one variant in a fresh Python process; its last output line is its JSON."""
    command = [sys.executable, __file__, "--variant", variant, "--files", str(files), "--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"training variant {variant!r} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict) -> dict:
    a, b = results["tutorial"], results["musicrnn"]
    rows = []
    for name in VARIANTS:
        r = results[name]
        rows.append(
            [
                LABELS[name],
                r["windows_per_epoch"],
                f"{r['epoch_s']:.2f}",
                f"{r['first_epoch_s']:.2f}",
                f"{r['windows_per_s']:,.0f}",
                f"{r['target_notes_per_s']:,.0f}",
                f"{r['val_pitch_ce']:.3f}",
                f"{r['rss_before_data_mb']:.0f}",
                f"{r['peak_rss_mb']:.0f}",
            ]
        )
    print(
        table(
            rows,
            [
                "pipeline",
                "windows/epoch",
                "s/epoch",
                "1st epoch s",
                "windows/s",
                "target notes/s",
                "val pitch CE",
                "RSS before data MB",
                "peak RSS MB",
            ],
        )
    )
    speedup = b["target_notes_per_s"] / a["target_notes_per_s"]
    window_ratio = b["windows_per_s"] / a["windows_per_s"]
    print(
        f"\n{a['files']} chorales ({a['train_files']} train / {a['val_files']} held out), {a['epochs']} epochs, batch "
        f"{a['batch_size']}, L={a['seq_length']}; s/epoch is the median of epochs 2+ (training batches only)."
        f"\nTarget notes/s counts the notes the loss is computed on: (a) one per window, (b) every position, "
        f"L={b['seq_length']} per window. (b) processes windows at {window_ratio:.2f}× the rate of (a) (it computes "
        f"all {b['seq_length']} positions' heads and losses) and so trains {speedup:.1f}× the target notes per second."
        f"\nValidation: pitch cross-entropy of the note after each window of L notes in the same "
        f"{a['val_notes']} held-out positions, for both (uniform = 4.852 nats)."
    )
    no_worse = b["val_pitch_ce"] <= a["val_pitch_ce"]
    checks = [
        [
            f"(b) ≥ {TARGET_SPEEDUP:.0f}× the target-note throughput of (a)",
            f"{speedup:.1f}×",
            "met" if speedup >= TARGET_SPEEDUP else "NOT met",
        ],
        [
            "(b) validation loss no worse than (a)",
            f"{b['val_pitch_ce']:.3f} vs {a['val_pitch_ce']:.3f}",
            "met" if no_worse else "NOT met",
        ],
    ]
    print("\nTargets:")
    print(table(checks, ["target", "measured", ""]))
    return {"speedup_target_notes": speedup, "window_rate_ratio": window_ratio, "val_no_worse": no_worse}


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="how many bundled chorales (first N by name)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    parser.add_argument("--variant", choices=VARIANTS, help="run one variant in this process (internal)")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.epochs = 6, 1
    if args.variant:
        print_json(run_variant(args.variant, args.files, args.epochs))
        return None

    print("Training benchmark —", machine_line(), flush=True)
    started = time.perf_counter()
    results = {}
    for variant in VARIANTS:
        print(f"  running {LABELS[variant]} …", flush=True)
        results[variant] = spawn(variant, args.files, args.epochs)
    print()
    ratios = report(results)
    summary = {
        "benchmark": "training",
        "machine": machine(),
        "quick": args.quick,
        "files": args.files,
        "epochs": args.epochs,
        "seconds": time.perf_counter() - started,
        **ratios,
        "variants": results,
    }
    print_json(summary)
    return summary


if __name__ == "__main__":
    main()
