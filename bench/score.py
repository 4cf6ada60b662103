"""Engraving speed: how long a piece takes to become sheet music on the page (issue 27), stage by stage.

For a chorale-length piece (a bundled chorale near the corpus' median length, and a harmonised hymn and a
generated piece of the default model), the Score tab's work, in the order it runs:
  plan     musicrnn.score.plan_score: staves, voices, bars, key (numpy and plain Python);
  music21  build_score + MusicXML export (the notation: measures, ties, beams, tuplets, accidentals);
  verovio  engraving the MusicXML as one SVG page.
"first" is the first score of a fresh process, in a child process: it also imports music21 and Verovio
(what a visitor's first Score tab costs); "again" is the median of later ones (another piece, another staff
layout: what every further score costs, before Streamlit's cache). Target: "again" under 1 s a chorale.

    python bench/score.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from common import ROOT, machine, machine_line, peak_rss_mb, print_json, table
from musicrnn.bundled import chorale_files, chorale_opening, default_model
from musicrnn.generate import Sampling, generate
from musicrnn.harmony import harmonize
from musicrnn.midi_load import midi_to_notes
from musicrnn.notation import parse_melody
from musicrnn.score import engrave, musicxml, pages, plan_score

TARGET_S = 1.0
HYMN = (
    "G4/1 G4/1 F#4/1 E4/1 D4/2 G4/1 A4/1 B4/1 B4/1 B4/1 A4/1 G4/2 C5/1 B4/1 A4/1 G4/1 A4/1 B4/1 A4/1 G4/1 "
    "E4/1 F#4/1 G4/4"
)
FIRST = """
import json, sys, time
sys.path.insert(0, {bench!r})
import common  # noqa: F401  (the process set-up every benchmark uses)
from musicrnn.bundled import chorale_files
from musicrnn.midi_load import midi_to_notes
from musicrnn.score import engrave, musicxml, pages, plan_score
notes = midi_to_notes(chorale_files()[{index}])
started = time.perf_counter()
plan = plan_score(notes, "two")
svg = engrave(musicxml(plan, pages(plan)[0]))
print(json.dumps({{"first_s": time.perf_counter() - started, "svg_kb": len(svg) / 1024}}))
"""


def pieces(quick: bool) -> dict:
    """Chorale-length pieces: a bundled chorale of about the median length, a hymn harmonisation, a generation."""
    files = chorale_files()
    sized = sorted((len(midi_to_notes(f)), i) for i, f in enumerate(files[: 12 if quick else 60]))
    median_notes, median_index = sized[len(sized) // 2]
    model = default_model()
    return {
        "chorale": (median_index, midi_to_notes(files[median_index])),
        "hymn harmonisation": (None, harmonize(model, parse_melody(HYMN), Sampling(seed=0))[0]),
        "generated (at most 250 notes)": (None, generate(model, chorale_opening(), Sampling(n_notes=250, seed=1))[0]),
    }


def stages(notes, staves: str) -> dict:
    """Seconds of each stage for the first page of one piece's score."""
    started = time.perf_counter()
    plan = plan_score(notes, staves)
    planned = time.perf_counter()
    xml = musicxml(plan, pages(plan)[0])
    exported = time.perf_counter()
    engrave(xml)
    engraved = time.perf_counter()
    return {
        "plan_s": planned - started,
        "music21_s": exported - planned,
        "verovio_s": engraved - exported,
        "total_s": engraved - started,
        "bars": pages(plan)[0].stop,
    }


def first_score(index: int) -> dict:
    """A fresh process's first score (imports included), of the chorale."""
    script = FIRST.format(bench=str(ROOT / "bench"), index=index)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="two repeats: to check that it runs")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    print("Score benchmark —", machine_line(), flush=True)
    chosen = pieces(args.quick)
    first = first_score(chosen["chorale"][0])
    stages(chosen["chorale"][1], "four")  # music21 and Verovio loaded here too: "again" is what follows
    rows, results = [], {}
    for name, (_, notes) in chosen.items():
        for staves in ("two", "four"):
            runs = [stages(notes, staves) for _ in range(repeats)]
            median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[f"{name}, {staves} staves"] = {**median, "notes": len(notes)}
            rows.append(
                [
                    name,
                    len(notes),
                    int(median["bars"]),
                    staves,
                    f"{median['plan_s'] * 1000:.0f}",
                    f"{median['music21_s'] * 1000:.0f}",
                    f"{median['verovio_s'] * 1000:.0f}",
                    f"{median['total_s']:.2f}",
                    "met" if median["total_s"] < TARGET_S else "NOT met",
                ]
            )
    print()
    print(
        table(
            rows,
            ["piece", "notes", "bars", "staves", "plan ms", "music21 ms", "Verovio ms", "again s", f"< {TARGET_S:g} s"],
        )
    )
    print(
        f"\nfirst score of a fresh process (imports of music21 and Verovio included): {first['first_s']:.2f} s; "
        f"SVG page {first['svg_kb']:.0f} KB; this process's peak RSS {peak_rss_mb():.0f} MB"
    )
    worst = max(r["total_s"] for r in results.values())
    summary = {
        "benchmark": "score",
        "machine": machine(),
        "repeats": repeats,
        "first_s": first["first_s"],
        "svg_kb": first["svg_kb"],
        "pieces": results,
        "worst_again_s": worst,
        "target_met": worst < TARGET_S,
    }
    print_json(summary)
    return summary


if __name__ == "__main__":
    main()
