"""Steering costs, side by side, for a chorale-length piece with the default model: plain generation of the
same number of notes, harmonising the chorale's soprano, following a chord progression, rewriting 4 beats
(K candidates sampled and ranked). Each figure is the median of a few runs, in seconds; the target is well
under a second each.

Then how well chords are heard: the share of notes on their chord's tones (musicrnn.harmony.chord_tone_share: a
tone of the chord at its onset and of every chord it is held into) at each chord strength, over several seeds,
for two progressions continuing the bundled primer (as the CLI and the Generate page do).

    python bench/guide.py [--variations 4] [--repeats 3] [--seeds 5] [--quick]
"""

from __future__ import annotations

import argparse

from common import machine, machine_line, median_seconds, print_json, table  # noqa: E402  (sets up the process)
from musicrnn.bundled import CHORALES, DEFAULT_PRIMER, PRIMER_NOTES, chorale_files, default_model  # noqa: E402
from musicrnn.evaluation.musical import corpus_harmony_report, harmony_report  # noqa: E402
from musicrnn.generate import Sampling, generate  # noqa: E402
from musicrnn.guide import DEFAULT_CHORD_STRENGTH  # noqa: E402
from musicrnn.harmony import chord_tone_share, follow_chords, harmonize  # noqa: E402
from musicrnn.midi_load import midi_to_notes  # noqa: E402
from musicrnn.notation import parse_chords, top_voice  # noqa: E402
from musicrnn.recipe import bundled_primer_notes  # noqa: E402
from musicrnn.rewrite import rewrite  # noqa: E402

TARGET_SECONDS = 1.0
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
PROGRESSIONS = ("G D Em C G D G G", "C G Am F C F G C")
TARGET_DEFAULT_SHARE = 0.8  # issue 24: at the default strength at least 80 % of notes on chord tones


def chord_tone_figures(model, seeds: int, variations: int, n_notes: int) -> dict:
    """For each progression and strength: the share of notes on chord tones over `seeds` x `variations` pieces
    (mean over all their notes, and the lowest piece's)."""
    primer = bundled_primer_notes(DEFAULT_PRIMER, PRIMER_NOTES)
    figures: dict = {}
    for text in PROGRESSIONS:
        chords = parse_chords(text)
        for strength in STRENGTHS:
            on, notes, lowest = 0.0, 0, 1.0
            for seed in range(seeds):
                settings = Sampling(n_notes=n_notes, seed=seed, variations=variations)
                for piece in follow_chords(model, chords, strength, primer, settings):
                    share = chord_tone_share(piece, chords)
                    on, notes, lowest = on + share * len(piece), notes + len(piece), min(lowest, share)
            figures.setdefault(text, {})[str(strength)] = {"share": on / notes, "lowest_piece": lowest, "notes": notes}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per strength for the chord-tone figures")
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
    seeds = 1 if args.quick else args.seeds
    chord_notes = 40 if args.quick else 120
    chord_figures = chord_tone_figures(model, seeds, args.variations, chord_notes)
    print(
        f"notes on their chord's tones (at its onset and through every chord it is held into), {seeds} seeds x "
        f"{args.variations} variations x {chord_notes} notes after the bundled primer; default strength "
        f"{DEFAULT_CHORD_STRENGTH:g}, target at least {TARGET_DEFAULT_SHARE:.0%} there and 100 % at 1"
    )
    chord_rows = [
        [text, f"{float(strength):g}", f"{f['share']:.1%}", f"{f['lowest_piece']:.1%}", f["notes"]]
        for text, by_strength in chord_figures.items()
        for strength, f in by_strength.items()
    ]
    print(table(chord_rows, ["chords", "strength", "on chord tones", "lowest piece", "notes"]))
    print_json(
        {
            "benchmark": "guide",
            "machine": machine(),
            "seconds": results,
            "harmony": {"model": harmonised, "bach": original, "bundled_chorales": corpus},
            "chord_tones": chord_figures,
        }
    )


if __name__ == "__main__":
    main()
