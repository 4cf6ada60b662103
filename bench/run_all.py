"""Every benchmark, one after another, each in its own process; then one summary table and a JSON line.

    python bench/run_all.py            # full sizes (what `make bench` runs; ~15-25 minutes on 2 cores)
    python bench/run_all.py --quick    # tiny sizes, to check that everything runs
    python bench/run_all.py --only generation,training

Each benchmark's own output (its detailed tables) is shown as it runs and kept in bench/results/<name>.log.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time

from common import ROOT, last_json_line, machine, machine_line, print_json, table

RESULTS = ROOT / "bench" / "results"
QUICK_ARGS = {
    "generation": ["--quick"],
    "training": ["--quick"],
    "startup": ["--quick"],
    "memory": ["--quick"],
    "ingest": ["--files", "200", "--dataset-notes", "50000", "100000"],
    "musicality": ["--quick"],
    "score": ["--quick"],
}
ORDER = ("generation", "training", "startup", "memory", "ingest", "musicality", "score")


def run(name: str, quick: bool) -> dict | None:
    """Run bench/<name>.py, echoing its output; its final JSON line, or None if it failed."""
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *(QUICK_ARGS[name] if quick else [])]
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    (RESULTS / f"{name}.log").write_text("".join(lines))
    if process.returncode != 0:
        print(f"!!! {name} failed (exit {process.returncode}); see bench/results/{name}.log", flush=True)
        return None
    try:
        return last_json_line("".join(lines))
    except (ValueError, IndexError):
        print(f"!!! {name} printed no final JSON line", flush=True)
        return None


def summary_rows(results: dict) -> list[list[str]]:
    """The headline figures of each benchmark with its target."""
    rows = []
    g = (results.get("generation") or {}).get("presets", {}).get("tutorial")
    if g:
        rows += [
            ["generation (tutorial net)", "(a) model.predict loop, ms/note", f"{g['predict_ms_per_note_1']:.1f}", ""],
            ["", "(b1) windowed tf.function, ms/note", f"{g['tf_window_ms_per_note_1']:.2f}", ""],
            ["", "(b2) stateful tf.function step, ms/note", f"{g['tf_step_ms_per_note_1']:.3f}", ""],
            ["", "(c) musicrnn numpy, ms/note (1 stream)", f"{g['numpy_ms_per_note_1']:.3f}", "< 0.1"],
            ["", "(c) speed-up over (a)", f"{g['speedup_predict_over_numpy_1']:.0f}×", "≥ 300×"],
            ["", "(c) 8 variations ÷ 1, time", f"{g['numpy_ratio_8_over_1']:.2f}×", "< 2×"],
        ]
    c = (results.get("generation") or {}).get("presets", {}).get("chorale")
    if c:
        rows += [
            [
                "generation (chorale net)",
                "(a) / (c) ms/note (1 stream)",
                f"{c['predict_ms_per_note_1']:.1f} / {c['numpy_ms_per_note_1']:.3f}",
                "",
            ],
            [
                "",
                "(c) speed-up over (a); 8÷1 time",
                f"{c['speedup_predict_over_numpy_1']:.0f}×; {c['numpy_ratio_8_over_1']:.2f}×",
                "",
            ],
        ]
    t = results.get("training")
    if t:
        a, b = t["variants"]["tutorial"], t["variants"]["musicrnn"]
        rows += [
            ["training (tutorial net)", "s/epoch (a) / (b)", f"{a['epoch_s']:.2f} / {b['epoch_s']:.2f}", ""],
            ["", "target notes/s (a) / (b)", f"{a['target_notes_per_s']:,.0f} / {b['target_notes_per_s']:,.0f}", ""],
            ["", "(b) throughput ÷ (a)", f"{t['speedup_target_notes']:.1f}×", "≥ 2×"],
            [
                "",
                "held-out pitch CE (a) / (b), nats",
                f"{a['val_pitch_ce']:.3f} / {b['val_pitch_ce']:.3f}",
                "(b) ≤ (a)",
            ],
            ["", "peak RSS (a) / (b), MB", f"{a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f}", ""],
        ]
    s = results.get("startup")
    if s:
        rows += [
            ["start-up (fresh server)", "Home served and finished, s", f"{s['home_s']:.2f}", "< 3"],
            ["", "first generation click → audio, s", f"{s['first_generation_s']:.2f}", "< 2"],
        ]
    m = results.get("memory")
    if m:
        rows += [
            [
                "memory (server VmHWM)",
                "Home + default-model generation, MB",
                f"{m['generate_peak_mb']:.0f}"
                + (" (TensorFlow loaded!)" if m["generate_tensorflow_loaded"] else " (no TensorFlow)"),
                "< 300",
            ],
            ["", "… + its score opened (music21, Verovio), MB", f"{m.get('score_peak_mb', 0):.0f}", "< 690"],
            [
                "",
                "… + tiny model trained on the Train page, MB",
                f"{m['train_peak_mb']:.0f}" + ("" if m.get("train_finished", True) else " (training unfinished)"),
                "< 1024",
            ],
            [
                "",
                f"after {m.get('visitors', 10)} more visitors came and went, over one visitor's, MB",
                f"{m['rss_after_visitors_mb'] - m['rss_one_visitor_mb']:+.0f}" if "rss_one_visitor_mb" in m else "–",
                "≤ 50",
            ],
        ]
    sc = results.get("score")
    if sc:
        rows += [
            ["score (engraving)", "first score of a process (imports included), s", f"{sc['first_s']:.2f}", ""],
            ["", "a chorale-length piece, slowest layout, s", f"{sc['worst_again_s']:.2f}", "< 1"],
        ]
    i = results.get("ingest")
    if i and i.get("ingest"):
        largest = max(r["files"] for r in i["ingest"])
        for r in i["ingest"]:
            if r["files"] == largest:
                rows.append(
                    [
                        "ingest" if r["run"] == "first parse" else "",
                        f"{largest:,} files, {r['run']}, files/s",
                        f"{r['files'] / r['seconds']:,.0f}",
                        "",
                    ]
                )
    u = results.get("musicality")
    if u and u.get("model"):
        rows += [
            ["musicality (held-out chorales)", "classifier AUC, model vs Bach", f"{u['model']['auc']:.2f}", "≤ 0.75"],
            ["", "… control: Bach vs other chorales", f"{u['bach_vs_bach_auc']:.2f}", "near 0.5"],
            ["", "pieces inside Bach's spread on every statistic", f"{u['model']['inside_every_headline']:.0%}", ""],
            [
                "",
                "outer parallels per 100 moves (Bach)",
                f"{u['model']['parallels_outer_per_100']:.2f} ({u['bach_parallels_outer_per_100']:.2f})",
                "≤ 2× Bach",
            ],
            ["", "end on the tonic, ended by the model", f"{u['model']['on_tonic_and_ended']:.0%}", "≥ 50%"],
            [
                "",
                "melodies harmonised to every target",
                f"{u['model']['melodies_meeting_all']} of {u['melodies']}",
                "all",
            ],
        ]
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that everything runs")
    parser.add_argument("--only", help="comma-separated subset of " + ",".join(ORDER))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(ORDER)
    started = time.perf_counter()
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"musicrnn benchmarks, {date} — {machine_line()}", flush=True)
    results = {name: run(name, args.quick) for name in names}

    print(f"\n=== Summary ({'quick sizes' if args.quick else 'full sizes'}), {date}")
    print(machine_line())
    print(table(summary_rows(results), ["benchmark", "figure", "measured", "target"]))
    failed = [name for name, result in results.items() if result is None]
    if failed:
        print("Failed: " + ", ".join(failed))
    summary = {
        "benchmark": "all",
        "date": date,
        "machine": machine(),
        "quick": args.quick,
        "seconds": time.perf_counter() - started,
        "failed": failed,
        "results": results,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    print_json(summary)
    if failed:
        raise SystemExit(1)
    return summary


if __name__ == "__main__":
    main()
