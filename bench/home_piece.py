"""What Home's button costs per click, by the piece's length cap, side by side in one process: generate the
piece (the style's opening, the default model, as pages/home.py does) and render its audio, alternating the
caps so that a busy machine slows each alike. CPU seconds of this process are reported beside wall seconds:
on a shared machine they say what the click would cost on a quiet one. How many notes the piece got says
whether the model ended it before the cap (a model that has not learned endings always runs to it).

    python bench/home_piece.py [--caps 80 400] [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, machine_line, print_json, table  # noqa: E402  (sets up the process)
from musicrnn.audio import render  # noqa: E402
from musicrnn.bundled import DEFAULT_PRIMER, PRIMER_NOTES, default_model  # noqa: E402
from musicrnn.generate import Sampling, generate  # noqa: E402
from musicrnn.parts import own_programs  # noqa: E402
from musicrnn.recipe import bundled_primer_notes  # noqa: E402


def one_click(model, primer, cap: int, seed: int) -> dict:
    """Home's work for one click: the piece and its audio, timed (wall and CPU seconds)."""
    corpus = model.info.get("corpus", {})
    settings = Sampling(
        n_notes=cap, seed=seed, pitch_low=corpus.get("pitch_min") or 36, pitch_high=corpus.get("pitch_max") or 84
    )
    wall, cpu = time.perf_counter(), time.process_time()
    notes = generate(model, primer, settings)[0]
    generated = time.perf_counter() - wall, time.process_time() - cpu
    audio = render(notes, programs=own_programs(model) if "part" in notes else None)
    return {
        "generate_s": generated[0],
        "generate_cpu_s": generated[1],
        "click_s": time.perf_counter() - wall,
        "click_cpu_s": time.process_time() - cpu,
        "notes": len(notes),
        "ended": bool(notes.attrs.get("ended")),
        "audio_s": audio.seconds,
        "wav_mb": len(audio.wav) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--caps", type=int, nargs="+", default=[80, 400])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    model = default_model()
    primer = bundled_primer_notes(DEFAULT_PRIMER, PRIMER_NOTES)
    one_click(model, primer, 16, 0)  # first-call costs (the synthesizer, numpy) out of the way
    runs: dict[int, list[dict]] = {cap: [] for cap in args.caps}
    for seed in range(repeats):
        for cap in args.caps:
            runs[cap].append(one_click(model, primer, cap, seed))
    figures = {
        cap: {key: statistics.median(float(r[key]) for r in rows) for key in rows[0]} for cap, rows in runs.items()
    }
    for cap, rows in runs.items():
        figures[cap]["ended_share"] = sum(r["ended"] for r in rows) / len(rows)
    print(machine_line())
    print(
        f"default model, the opening of {DEFAULT_PRIMER}, medians of {repeats} clicks per cap (seeds 0-{repeats - 1})"
    )
    rows = [
        [
            cap,
            f"{f['notes']:.0f}",
            f"{f['ended_share']:.0%}",
            f"{f['audio_s']:.0f}",
            f"{f['generate_s']:.3f} / {f['generate_cpu_s']:.3f}",
            f"{f['click_s']:.3f} / {f['click_cpu_s']:.3f}",
            f"{f['wav_mb']:.1f}",
        ]
        for cap, f in figures.items()
    ]
    headers = ["cap", "notes", "ended by the model", "audio s", "generate s (wall / CPU)", "+ audio s", "WAV MB"]
    print(table(rows, headers))
    print_json({"benchmark": "home_piece", "machine": machine(), "repeats": repeats, "caps": figures})


if __name__ == "__main__":
    main()
