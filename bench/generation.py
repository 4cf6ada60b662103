"""Generation speed, side by side: the same network and weights, the same number of notes, three engines.

(a) the TensorFlow tutorial's loop: a sliding window of L notes, `model.predict` on the window for every
    note (the last position's output), `np.delete`/`np.append` to slide the window;
(b) compiled TensorFlow: (b1) the same windowed loop with the network and sampling in one `tf.function`,
    (b2) a stateful `tf.function` single step (the LSTM cells' own weights) driven by musicrnn's sampling loop;
(c) musicrnn: `generate()` on the numpy model read straight from the `.keras` file (what the app uses).

Each for 1 stream and for 8 variations (8 streams batched), for the tutorial preset's network and the
default "chorale" preset's. Weights are random with a fixed seed (speed does not depend on their values).
`model.predict` is slow, so (a) generates fewer notes (`--predict-notes`); every figure is per note.

    python bench/generation.py [--notes 500] [--predict-notes 100] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from common import machine, machine_line, median_seconds, print_json, table  # noqa: E402  (sets up the process)
from musicrnn.bundled import CHORALES, DEFAULT_PRIMER  # noqa: E402
from musicrnn.config import preset  # noqa: E402
from musicrnn.features import encode_sequence, feature_count  # noqa: E402
from musicrnn.generate import Sampling, generate  # noqa: E402
from musicrnn.infer import read_model_file  # noqa: E402
from musicrnn.midi_load import midi_to_notes  # noqa: E402

PRESETS = ("tutorial", "chorale")
VARIATIONS = (1, 8)
TARGET_SPEEDUP = 300  # (c) vs (a), per note
TARGET_BATCH_RATIO = 2.0  # 8 variations vs 1, same notes per stream
TARGET_MS_PER_NOTE = 0.1  # (c), single stream


# ---- (a) the tutorial's loop ----------------------------------------------------------------------------------


def model_inputs(cfg, pitch, features) -> dict:
    """The Keras model's inputs for these windows. A key-aware or ordered model also reads the key and the
    next note's earlier fields: C major and zeros here (a loop like the tutorial's predicts whole notes at once,
    so these loops time the network, not an ordered model's draws)."""
    import tensorflow as tf

    inputs = {"pitch_input": pitch, "features": features}
    zeros = tf.zeros_like(pitch) if tf.is_tensor(pitch) else np.zeros_like(pitch)  # Keras refuses a mix
    if cfg.key_input:
        inputs["key_input"] = zeros
    for name in cfg.given_inputs:
        inputs[f"next_{name}"] = zeros
    return inputs


def tutorial_loop(model, cfg, window: np.ndarray, n_notes: int, batch: int, temperature: float = 1.0) -> np.ndarray:
    """The tutorial's `predict_next_note` loop, batched over `batch` streams (one `predict` call per note).

    `window` is (L, 3) raw notes (pitch, step, duration); our model takes pitch and encoded features as two
    inputs and predicts at every position, so we encode the window and read the last position.
    """
    import tensorflow as tf

    windows = np.repeat(window[None], batch, axis=0)  # (B, L, 3)
    generated = []
    for _ in range(n_notes):
        pitch_in = windows[:, :, 0].astype(np.int32)
        features = np.stack([encode_sequence(w[:, 0], w[:, 1], w[:, 2], cfg) for w in windows])
        predictions = model.predict(model_inputs(cfg, pitch_in, features), verbose=0)
        pitch_logits = predictions["pitch"][:, -1] / temperature
        pitch = tf.squeeze(tf.random.categorical(pitch_logits, num_samples=1), axis=-1)
        step = tf.maximum(0.0, predictions["step"][:, -1, 0])
        duration = tf.maximum(0.0, predictions["duration"][:, -1, 0])
        notes = np.stack([pitch.numpy(), step.numpy(), duration.numpy()], axis=1).astype(np.float32)
        generated.append(notes)
        windows = np.delete(windows, 0, axis=1)
        windows = np.append(windows, notes[:, None, :], axis=1)
    return np.stack(generated, axis=1)


# ---- (b1) the same loop, compiled ------------------------------------------------------------------------------


def compiled_window_fn(model, cfg, batch: int):
    """Network on the window + the tutorial's sampling, as one `tf.function` with a fixed signature."""
    import tensorflow as tf

    signature = [
        tf.TensorSpec((batch, cfg.seq_length), tf.int32),
        tf.TensorSpec((batch, cfg.seq_length, feature_count(cfg)), tf.float32),
    ]

    @tf.function(input_signature=signature)
    def next_notes(pitch_in, features):
        out = model(model_inputs(cfg, pitch_in, features), training=False)
        pitch = tf.squeeze(tf.random.categorical(out["pitch"][:, -1], num_samples=1), axis=-1)
        return pitch, tf.maximum(0.0, out["step"][:, -1, 0]), tf.maximum(0.0, out["duration"][:, -1, 0])

    return next_notes


def compiled_window_loop(fn, cfg, window: np.ndarray, n_notes: int, batch: int) -> np.ndarray:
    windows = np.repeat(window[None], batch, axis=0)
    generated = []
    for _ in range(n_notes):
        features = np.stack([encode_sequence(w[:, 0], w[:, 1], w[:, 2], cfg) for w in windows])
        pitch, step, duration = fn(windows[:, :, 0].astype(np.int32), features)
        notes = np.stack([pitch.numpy(), step.numpy(), duration.numpy()], axis=1).astype(np.float32)
        generated.append(notes)
        windows = np.delete(windows, 0, axis=1)
        windows = np.append(windows, notes[:, None, :], axis=1)
    return np.stack(generated, axis=1)


# ---- (b2) a compiled stateful step, driven by musicrnn's sampling loop ----------------------------------------


class CompiledStepper:
    """One note per stream through the Keras layers' own weights (LSTM cells), compiled with `tf.function`;
    the heads are the numpy model's (they are a small part of the work per note).

    Same interface as musicrnn.infer.NumpyModel (`start`, `advance`, `field_logits`), so `generate()` drives it.
    """

    def __init__(self, model, cfg, numpy_model):
        import tensorflow as tf

        self.cfg, self.info, self.tf, self.heads = cfg, numpy_model.info, tf, numpy_model
        self.fields, self.has_parts = numpy_model.fields, numpy_model.has_parts
        layer_names = {layer.name for layer in model.layers}
        embed = model.get_layer("pitch_embedding") if "pitch_embedding" in layer_names else None
        key_embed = model.get_layer("key_embedding") if cfg.key_input else None
        cells = [model.get_layer(f"lstm_{i}").cell for i in range(1, cfg.layers + 1)]
        self.units = [cell.units for cell in cells]

        @tf.function(reduce_retracing=True)
        def advance(pitch, numeric, key, state):
            x = embed(pitch) if embed is not None else tf.cast(pitch, tf.float32)[:, None] / 128.0
            x = tf.concat([x, numeric] + ([key_embed(key)] if key_embed is not None else []), axis=-1)
            new_state = []
            for cell, (h, c) in zip(cells, state):
                x, (h, c) = cell(x, [h, c], training=False)
                new_state.append((h, c))
            return new_state

        self._advance = advance

    def start(self, batch: int, key=None):
        zeros = lambda u: self.tf.zeros((batch, u), self.tf.float32)  # noqa: E731
        keys = np.broadcast_to(np.asarray(0 if key is None else key, np.int32), (batch,)).copy()
        return CompiledState([(zeros(u), zeros(u)) for u in self.units], keys)

    def advance(self, state, pitch, numeric):
        tf = self.tf
        layers = self._advance(
            tf.constant(pitch, tf.int32), tf.constant(numeric, tf.float32), tf.constant(state.keys), state.layers
        )
        return CompiledState(layers, state.keys)

    def field_logits(self, field, state, given=None):
        from musicrnn.infer import StreamState

        numpy_state = StreamState([(h.numpy(), c.numpy()) for h, c in state.layers], state.keys)
        return self.heads.field_logits(field, numpy_state, given)


class CompiledState:
    """CompiledStepper's state: each layer's (h, c) tensors and the streams' keys."""

    def __init__(self, layers, keys: np.ndarray):
        self.layers, self.keys = layers, keys

    def take(self, rows: np.ndarray) -> CompiledState:
        import tensorflow as tf

        return CompiledState([(tf.gather(h, rows), tf.gather(c, rows)) for h, c in self.layers], self.keys[rows])


# ---- the benchmark ---------------------------------------------------------------------------------------------


def build(name: str, folder: Path):
    """The Keras model of a preset (seeded random weights) and the numpy model read from its saved file."""
    import keras

    from musicrnn.model import build_model, save_model

    cfg = preset(name)
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg)
    path = save_model(model, cfg, folder / f"{name}.keras")
    numpy_model = read_model_file(path)
    if cfg.end_class:
        # Random weights end a piece every ~200 notes; speed is measured over pieces of the full length, so
        # this model never ends one (the heads are numpy's in every engine that draws notes with generate()).
        numpy_model.heads["step"].out_bias[cfg.end_step] = -1e9
    return cfg, model, numpy_model


def check_same_weights(cfg, model, numpy_model, primer) -> float:
    """Largest difference between Keras and numpy pitch logits over the primer (should be ~1e-6)."""
    pitch = primer["pitch"].to_numpy(np.int32)[None]
    numeric = encode_sequence(pitch[0], primer["step"].to_numpy(), primer["duration"].to_numpy(), cfg)[None]
    keras_out = model(model_inputs(cfg, pitch, numeric), training=False)["pitch"].numpy()
    numpy_out = numpy_model.forward(pitch, numeric)["pitch"]
    return float(np.abs(keras_out - numpy_out).max())


def bench_preset(name: str, folder: Path, args, primer_notes) -> dict:
    cfg, model, numpy_model = build(name, folder)
    primer = primer_notes.head(cfg.seq_length).reset_index(drop=True)
    window = primer[["pitch", "step", "duration"]].to_numpy(np.float32)
    difference = check_same_weights(cfg, model, numpy_model, primer)
    stepper = CompiledStepper(model, cfg, numpy_model)
    result: dict = {
        "seq_length": cfg.seq_length,
        "units": cfg.units,
        "layers": cfg.layers,
        "keras_vs_numpy_max_diff": difference,
    }

    for batch in VARIATIONS:
        settings = Sampling(n_notes=args.notes, variations=batch, seed=1)
        window_fn = compiled_window_fn(model, cfg, batch)
        runs = {
            # Defaults bind this iteration's batch, window_fn and settings (the lambdas run within it anyway).
            "predict": (
                args.predict_notes,
                lambda batch=batch: tutorial_loop(model, cfg, window, args.predict_notes, batch),
            ),
            "tf_window": (
                args.notes,
                lambda f=window_fn, batch=batch: compiled_window_loop(f, cfg, window, args.notes, batch),
            ),
            "tf_step": (args.notes, lambda s=settings: generate(stepper, primer, s)),
            "numpy": (args.notes, lambda s=settings: generate(numpy_model, primer, s)),
        }
        for engine, (n_notes, run) in runs.items():
            # Warm-up: traces tf.functions, builds predict's function, fills caches. Not timed.
            warm = min(n_notes, 5)
            if engine == "predict":
                tutorial_loop(model, cfg, window, warm, batch)
            elif engine == "tf_window":
                compiled_window_loop(window_fn, cfg, window, warm, batch)
            else:
                generate(
                    stepper if engine == "tf_step" else numpy_model, primer, Sampling(n_notes=warm, variations=batch)
                )
            if engine in ("tf_step", "numpy"):
                assert all(len(piece) == n_notes for piece in run()), "a piece ended early: per-note figures would lie"
            cpu_started = time.process_time()
            seconds, _ = median_seconds(run, args.repeats)
            cpu = (time.process_time() - cpu_started) / args.repeats  # all threads; mean, not median
            result[f"{engine}_ms_per_note_{batch}"] = 1000 * seconds / n_notes
            result[f"{engine}_cpu_ms_per_note_{batch}"] = 1000 * cpu / n_notes
            result[f"{engine}_notes_{batch}"] = n_notes
            print(
                f"  {name:8s} {engine:9s} ×{batch}: {1000 * seconds / n_notes:9.4f} ms/note ({n_notes} notes/stream)",
                flush=True,
            )

    for engine in ("predict", "tf_window", "tf_step", "numpy"):
        result[f"{engine}_ratio_8_over_1"] = result[f"{engine}_ms_per_note_8"] / result[f"{engine}_ms_per_note_1"]
    for batch in VARIATIONS:
        result[f"speedup_predict_over_numpy_{batch}"] = (
            result[f"predict_ms_per_note_{batch}"] / result[f"numpy_ms_per_note_{batch}"]
        )
        result[f"speedup_tf_step_over_numpy_{batch}"] = (
            result[f"tf_step_ms_per_note_{batch}"] / result[f"numpy_ms_per_note_{batch}"]
        )
    return result


LABELS = {
    "predict": "(a) tutorial loop: model.predict per note",
    "tf_window": "(b1) windowed tf.function per note",
    "tf_step": "(b2) stateful tf.function step",
    "numpy": "(c) musicrnn generate() (numpy)",
}


def report(results: dict, args) -> None:
    for name, r in results.items():
        print(
            f"\n{name} preset: LSTM {r['layers']}×{r['units']}, window L={r['seq_length']} "
            f"(Keras vs numpy logits max diff {r['keras_vs_numpy_max_diff']:.1e})"
        )
        rows = []
        for engine, label in LABELS.items():
            one, eight = r[f"{engine}_ms_per_note_1"], r[f"{engine}_ms_per_note_8"]
            rows.append(
                [
                    label,
                    r[f"{engine}_notes_1"],
                    f"{one:.4f}",
                    f"{r[f'{engine}_cpu_ms_per_note_1']:.4f}",
                    f"{eight:.4f}",
                    f"{eight / 8:.4f}",
                    f"{r[f'{engine}_ratio_8_over_1']:.2f}",
                    f"{r['predict_ms_per_note_1'] / one:.0f}×",
                ]
            )
        print(
            table(
                rows,
                [
                    "engine",
                    "notes/stream",
                    "1 stream ms/note",
                    "(CPU ms/note)",
                    "8 streams ms/step",
                    "8 streams ms/note",
                    "8÷1 time",
                    "speed-up vs (a), 1 stream",
                ],
            )
        )
    print(
        f"\n(a) generated {args.predict_notes} notes per run (model.predict is slow); the others {args.notes}. "
        "All figures are per note (medians of "
        f"{args.repeats} runs); 'ms/step' is one step of all 8 streams, 'ms/note' that divided by 8. "
        "(b2) and (c) include feeding the primer (L notes) through the network. CPU ms/note is process CPU time "
        "(all threads) per note: on a shared machine it shows the work done, wall time what a user waits."
    )
    r = results.get("tutorial", next(iter(results.values())))
    checks = [
        (
            f"(c) ≥ {TARGET_SPEEDUP}× faster per note than (a), 1 stream",
            r["speedup_predict_over_numpy_1"] >= TARGET_SPEEDUP,
            f"{r['speedup_predict_over_numpy_1']:.0f}×",
        ),
        (
            f"(c) 8 variations < {TARGET_BATCH_RATIO}× the time of 1",
            r["numpy_ratio_8_over_1"] < TARGET_BATCH_RATIO,
            f"{r['numpy_ratio_8_over_1']:.2f}×",
        ),
        (
            f"(c) < {TARGET_MS_PER_NOTE} ms/note, 1 stream",
            r["numpy_ms_per_note_1"] < TARGET_MS_PER_NOTE,
            f"{r['numpy_ms_per_note_1']:.4f} ms",
        ),
    ]
    print("\nTargets (tutorial preset):")
    print(table([[goal, value, "met" if ok else "NOT met"] for goal, ok, value in checks], ["target", "measured", ""]))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=500, help="notes per stream for the fast engines")
    parser.add_argument("--predict-notes", type=int, default=100, help="notes per stream for model.predict (slow)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the benchmark runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.notes, args.predict_notes, args.repeats, args.presets = 20, 3, 1, "tutorial"

    print("Generation benchmark —", machine_line(), flush=True)
    started = time.perf_counter()
    primer_notes = midi_to_notes(CHORALES / DEFAULT_PRIMER)
    results = {}
    with tempfile.TemporaryDirectory(prefix="musicrnn-bench-") as folder:
        for name in args.presets.split(","):
            results[name] = bench_preset(name, Path(folder), args, primer_notes)
    report(results, args)
    summary = {
        "benchmark": "generation",
        "machine": machine(),
        "notes": args.notes,
        "predict_notes": args.predict_notes,
        "repeats": args.repeats,
        "quick": args.quick,
        "seconds": time.perf_counter() - started,
        "presets": results,
    }
    print_json(summary)
    return summary


if __name__ == "__main__":
    main()
