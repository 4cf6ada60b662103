"""Held-out chorales of every kind: how a model scores on music it never saw, and what its music is like.

    .venv/bin/python bench/heldout.py [--model PATH] [--compare PATH] [--variations 4]

The default model's validation chorales (never trained on) in three forms:
- "4 voices, 120 bpm": the bundled files, as the model's corpus has them;
- "4 voices, re-timed": the same files written at 76, 96 and 108 bpm (as music21 prints many chorales);
- "with instruments": music21's full scores of those chorales whose instruments double the voices (5+ parts),
  at their printed tempo. Needs music21 (`pip install -r scripts/requirements-corpus.txt`); skipped without it.
For each: pitch cross-entropy, step and duration NLL (beats models) next to bigram baselines fitted on the
training chorales; the same held-out file at 96 vs 120 bpm; and for generated pieces (default settings, any
seed): onsets on the 1/12-beat grid read back from the written MIDI files, and rhythm metrics next to the
spread of the corpus' files. `--compare` scores a second model (e.g. the previous default) side by side.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np

from common import machine_line, print_json, table  # noqa: E402  (sets up the process)
from musicrnn.bundled import CHORALES, DEFAULT_MODEL, chorale_opening  # noqa: E402
from musicrnn.dataset import Corpus  # noqa: E402
from musicrnn.evaluation.scores import (  # noqa: E402
    baseline_cross_entropy,
    joint_baselines,
    model_scores,
    rhythm_baselines,
)
from musicrnn.infer import read_model_file  # noqa: E402
from musicrnn.midi import midi_bytes, notes_to_midi  # noqa: E402
from musicrnn.midi_load import load_one, load_paths  # noqa: E402

RETIMED_BPM = (76.0, 96.0, 108.0)


def corpus_of(files) -> Corpus:
    return Corpus.from_tables([(f.name, f.notes) for f in files if f.ok])


def retime(notes, bpm: float):
    """A note table written at `bpm` (seconds scaled) and read back as a file would be."""
    scale = float(notes["bpm"].iloc[0]) / bpm
    data = midi_bytes(notes_to_midi(notes.assign(start=notes["start"] * scale, end=notes["end"] * scale), bpm=bpm))
    return load_one("retimed.mid", data).notes


def instrument_versions(names: list[str]) -> list:
    """music21's full scores (all parts, printed tempo) of those held-out chorales that have 5+ parts."""
    try:
        from music21 import converter
    except ImportError:
        print("music21 is not installed: skipping chorales with instruments", file=sys.stderr)
        return []
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # a maintainer's script, not a package
    from build_corpus import chorale_sources, output_name
    from corpora import score_midi

    sources = {output_name(source): source for source in chorale_sources()[0]}
    loaded = []
    for name in names:
        source = sources.get(name)
        if source is None:
            continue
        score = converter.parse(source)
        if len(score.parts) <= 4:
            continue
        # As the bundled chorales are converted: repeats expanded (or played once through), the pickup padded.
        data = score_midi(score)[0].writestr()
        item = load_one(f"{name} (with instruments)", data)
        if item.ok:
            loaded.append(item)
    return loaded


def scores(model, evaluation: Corpus, training: Corpus) -> dict:
    result = model_scores(model, evaluation, training)
    row = {
        "pitch": result["pitch_cross_entropy"],
        "top1": result["pitch_top1"],
        "bigram": baseline_cross_entropy(training, evaluation)["bigram"],
        # A whole note (every field, and the end of the piece for models that predict it): the only figure
        # that compares models whose heads are conditioned on one another with those whose heads are not.
        "joint": result.get("joint_nll", float("nan")),
        "joint_bigram": joint_baselines(training, evaluation, model.cfg)["bigram"] if model.cfg.beats else float("nan"),
    }
    if model.cfg.beats:
        rhythm = rhythm_baselines(training, evaluation, model.cfg)
        row.update(
            step=result["step_nll"],
            step_bigram=rhythm["step"]["bigram_nll"],
            duration=result["duration_nll"],
            duration_bigram=rhythm["duration"]["bigram_nll"],
        )
    return row


def raw_onset_beats(data: bytes) -> np.ndarray:
    """Every onset of a written MIDI file in beats, straight from its ticks (not snapped)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    return np.array([pm.time_to_tick(n.start) / pm.resolution for inst in pm.instruments for n in inst.notes])


def generated_rhythm(model, corpus: Corpus, variations: int, seeds: int) -> dict:
    """Generated pieces (default settings): onsets on the grid from the written files, rhythm metrics vs the
    corpus files' 5th-95th percentile."""
    from musicrnn.evaluation.musical import metrics_of, on_grid
    from musicrnn.generate import Sampling, generate

    pieces = []
    for seed in range(seeds):
        pieces += generate(model, chorale_opening(), Sampling(n_notes=300, variations=variations, seed=seed))
    grid = [on_grid(raw_onset_beats(midi_bytes(notes_to_midi(p)))) for p in pieces]
    keys = ("on_beat", "ioi_entropy", "polyphony")
    files = [
        metrics_of(p[:300], s[:300], d[:300], bpm)
        for p, s, d, bpm in zip(corpus.pitch, corpus.step, corpus.duration, corpus.bpm)
    ]
    generated = [metrics_of(p["pitch"], p["step"], p["duration"], float(p["bpm"].iloc[0])) for p in pieces]
    spread = {k: [float(np.nanpercentile([f[k] for f in files], q)) for q in (5, 95)] for k in keys}
    return {
        "pieces": len(pieces),
        "on_grid_min": float(min(grid)),
        "on_grid_mean": float(np.mean(grid)),
        "metrics": {
            k: {
                "generated": [float(g[k]) for g in generated],
                "corpus_5_95": spread[k],
                "inside": int(sum(spread[k][0] <= g[k] <= spread[k][1] for g in generated)),
            }
            for k in keys
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--compare", help="a second .keras file scored side by side (e.g. the previous default)")
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    started = time.time()
    model = read_model_file(args.model)
    models = {"model": model}
    if args.compare:
        models["compare"] = read_model_file(args.compare)
    # Side by side, only files that neither model trained on count, and neither model's training files are
    # in the baselines' counts.
    held_out = set.intersection(*(set(m.info.get("val_files", [])) for m in models.values()))
    if not held_out:
        raise SystemExit("the models record no validation file in common")
    trained_on = set().union(*(set(m.info.get("train_files", [])) for m in models.values()))
    files = [f for f in load_paths(sorted(CHORALES.glob("*.mid"))) if f.ok]
    training = corpus_of([f for f in files if f.name not in held_out and (not trained_on or f.name in trained_on)])
    four = [f for f in files if f.name in held_out]
    kinds = {"4 voices, 120 bpm": corpus_of(four)}
    retimed = Corpus.from_tables(
        [
            (f"{f.name} at {bpm:g}", retime(f.notes, bpm))
            for i, f in enumerate(four)
            for bpm in [RETIMED_BPM[i % len(RETIMED_BPM)]]
        ]
    )
    kinds["4 voices, re-timed 76-108 bpm"] = retimed
    with_instruments = instrument_versions(sorted(held_out))
    if with_instruments:
        kinds[f"with instruments ({len(with_instruments)} files, printed tempo)"] = corpus_of(with_instruments)
    kinds["all of the above"] = _joined(list(kinds.values()))
    report = {"machine": machine_line(), "model": args.model, "kinds": {}}
    rows = []
    for kind, corpus in kinds.items():
        report["kinds"][kind] = {"files": len(corpus), "notes": corpus.note_count}
        for label, m in models.items():
            row = scores(m, corpus, training)
            report["kinds"][kind][label] = row
            rows.append(
                [
                    kind,
                    label,
                    len(corpus),
                    f"{row['pitch']:.3f}",
                    f"{row['top1']:.0%}",
                    f"{row['bigram']:.3f}",
                    f"{row['joint']:.3f} / {row['joint_bigram']:.3f}",
                    f"{row.get('step', float('nan')):.3f} / {row.get('step_bigram', float('nan')):.3f}",
                    f"{row.get('duration', float('nan')):.3f} / {row.get('duration_bigram', float('nan')):.3f}",
                ]
            )
    print(
        table(
            rows,
            [
                "held-out kind",
                "model",
                "files",
                "pitch CE",
                "top-1",
                "bigram",
                "whole note NLL / bigram",
                "step NLL / bigram",
                "duration NLL / bigram",
            ],
        )
    )
    tempo = {}
    for label, m in models.items():
        at = {
            bpm: model_scores(m, Corpus.from_tables([(f.name, retime(f.notes, bpm)) for f in four]))[
                "pitch_cross_entropy"
            ]
            for bpm in (96.0, 120.0)
        }
        tempo[label] = {"96": at[96.0], "120": at[120.0], "difference": abs(at[96.0] - at[120.0])}
        print(f"{label}: the same held-out files at 96 vs 120 bpm: {at[96.0]:.3f} vs {at[120.0]:.3f} nats")
    report["tempo"] = tempo
    for label, m in models.items():
        rhythm = generated_rhythm(m, training, args.variations, args.seeds)
        report[f"generated_{label}"] = rhythm
        inside = ", ".join(f"{k} {v['inside']}/{rhythm['pieces']}" for k, v in rhythm["metrics"].items())
        print(
            f"{label}: {rhythm['pieces']} generated pieces, onsets on the 1/12-beat grid (from the MIDI files): "
            f"min {rhythm['on_grid_min']:.1%}, mean {rhythm['on_grid_mean']:.1%}; inside the corpus' 5-95% spread: {inside}"
        )
    report["seconds"] = round(time.time() - started, 1)
    print_json(report)


def _joined(corpora: list[Corpus]) -> Corpus:
    joined = Corpus()
    for corpus in corpora:
        for field in joined.__dataclass_fields__:
            getattr(joined, field).extend(getattr(corpus, field))
    return joined


if __name__ == "__main__":
    main()
