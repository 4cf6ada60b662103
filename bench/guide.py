"""Steering costs, side by side, for a chorale-length piece with the default model: plain generation of the
same number of notes, harmonising the chorale's soprano, following a chord progression, rewriting 4 beats
(K candidates sampled and ranked). Each figure is the median of a few runs, in seconds; the target is well
under a second each.

    python bench/guide.py [--variations 4] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse

from common import machine, machine_line, median_seconds, print_json, table  # noqa: E402  (sets up the process)
from musicrnn.bundled import CHORALES, DEFAULT_PRIMER, chorale_files, default_model  # noqa: E402
from musicrnn.evaluation.musical import corpus_harmony_report, harmony_report  # noqa: E402
from musicrnn.generate import Sampling, generate  # noqa: E402
from musicrnn.guide import follow_chords, harmonize, parse_chords, rewrite, top_voice  # noqa: E402
from musicrnn.midi import midi_to_notes  # noqa: E402

TARGET_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    model = default_model()
    chorale = midi_to_notes(CHORALES / DEFAULT_PRIMER)
    melody = top_voice(chorale)
    n_notes = len(chorale)
    settings = Sampling(n_notes=n_notes, variations=args.variations)
    chords = parse_chords("C G Am F C F G C")
    cases = {
        f"plain generate ({n_notes} notes)": lambda: generate(model, None, settings),
        f"harmonize ({len(melody)}-note soprano)": lambda: harmonize(model, melody, settings),
        f"chords, only chord tones ({n_notes} notes)": lambda: follow_chords(model, chords, 1.0, None, settings),
        f"chords, suggest 0.5 ({n_notes} notes)": lambda: follow_chords(model, chords, 0.5, None, settings),
        f"rewrite beats 8-12, K={args.variations}": lambda: rewrite(model, chorale, 8.0, 12.0, args.variations),
    }
    rows, results = [], {}
    for name, run in cases.items():
        seconds, _ = median_seconds(run, repeats)
        results[name] = seconds
        rows.append([name, f"{seconds:.3f}", "yes" if seconds < TARGET_SECONDS else "NO"])
    print(machine_line())
    print(f"default model, {args.variations} variations, bundled chorale {DEFAULT_PRIMER}")
    print(table(rows, ["feature", "seconds (median)", f"< {TARGET_SECONDS:g} s"]))
    harmonised = corpus_harmony_report(harmonize(model, melody, settings))
    original = harmony_report(chorale)
    files = chorale_files()[: 5 if args.quick else None]
    corpus = corpus_harmony_report([midi_to_notes(path) for path in files])
    report_rows = [[k, f"{harmonised[k]:.3g}", f"{original[k]:.3g}", f"{corpus[k]:.3g}"] for k in original]
    print(
        table(
            report_rows,
            [
                "harmony (this chorale's soprano)",
                f"model, mean of {args.variations}",
                "Bach (this one)",
                f"bundled chorales ({len(files)})",
            ],
        )
    )
    print_json(
        {
            "benchmark": "guide",
            "machine": machine(),
            "seconds": results,
            "harmony": {"model": harmonised, "bach": original, "bundled_chorales": corpus},
        }
    )


if __name__ == "__main__":
    main()
