"""Smoke test of the benchmarks: with tiny sizes they run, exit 0 and end with their JSON line.

Benchmarks are not tests: no timing is asserted here (figures come from `make bench`). Both benchmarks start
together (each is mostly TensorFlow start-up) so the test takes as long as the slower one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("generation", "training")


@pytest.fixture(scope="module")
def quick_runs():
    """Both benchmarks with --quick, started at once; tests collect their results."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # musicrnn importable without `pip install -e .`
        )
        for name in SCRIPTS
    }
    yield processes
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def finished(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.timeout(360)
def test_generation_benchmark_runs_and_reports_every_engine(quick_runs):
    result = finished(quick_runs["generation"])
    assert result["benchmark"] == "generation" and result["machine"]["cores"] >= 1
    figures = result["presets"]["tutorial"]
    for engine in ("predict", "tf_window", "tf_step", "numpy"):
        for batch in (1, 8):
            assert figures[f"{engine}_ms_per_note_{batch}"] > 0
    assert {"speedup_predict_over_numpy_1", "numpy_ratio_8_over_1", "keras_vs_numpy_max_diff"} <= set(figures)
    assert figures["keras_vs_numpy_max_diff"] < 1e-4  # the engines really share the weights


@pytest.mark.timeout(360)
def test_training_benchmark_runs_both_pipelines_in_their_own_processes(quick_runs):
    result = finished(quick_runs["training"])
    assert result["benchmark"] == "training"
    assert {"speedup_target_notes", "window_rate_ratio", "val_no_worse"} <= set(result)
    for variant in ("tutorial", "musicrnn"):
        figures = result["variants"][variant]
        for key in ("epoch_s", "windows_per_s", "target_notes_per_s", "val_pitch_ce", "peak_rss_mb"):
            assert figures[key] > 0, key
    assert result["variants"]["musicrnn"]["targets_per_window"] == result["variants"]["musicrnn"]["seq_length"]


@pytest.mark.parametrize("script", sorted(path.name for path in (ROOT / "bench").glob("*.py")))
def test_every_benchmark_script_compiles(script):
    # The slow ones (memory, fine-tuning, held-out) are not run here; a syntax error must still show.
    source = (ROOT / "bench" / script).read_text()
    compile(source, script, "exec")


@pytest.mark.timeout(300)
def test_musicality_benchmark_scores_a_model_and_a_comparison_against_bach(tmp_path, monkeypatch):
    # In this process (the bench's functions are what the lead calls), at tiny sizes: 3 held-out chorales.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import musicality
    from musicrnn.bundled import DEFAULT_MODEL
    from musicrnn.evaluation.fourpart import HEADLINE

    out = tmp_path / "musicality.json"
    args = ["--quick", "--pieces", "3", "--compare", str(DEFAULT_MODEL), "--out", str(out)]
    musicality.main(args)
    saved = json.loads(out.read_text())
    assert saved["settings"]["held_out_chorales"] == 3 and saved["settings"]["melodies"] == 2
    for label in ("model", "compare"):
        result = saved[label]
        assert result["pieces"] == 3 and set(HEADLINE) <= set(result["statistics"])
        assert 0 <= result["statistics"]["in_key"]["inside"] <= 1
        assert 0 <= result["classifier"]["model_vs_bach"]["auc"] <= 1
        assert len(result["harmonisation"]["harmonisations"]) == 2
        assert result["harmonisation"]["summary"]["melodies"] == 2
        assert result["endings"]["ended_by_model"] in (0, 1 / 3, 2 / 3, 1)
    # the same model, the same seeds: the comparison column repeats the model's figures exactly
    assert saved["model"]["statistics"] == saved["compare"]["statistics"]
    assert 0 <= saved["bach"]["bach_vs_bach"]["auc"] <= 1 and saved["bach"]["harmony"]["clashes"] < 0.2


def test_the_musicality_melodies_are_twenty_diatonic_tunes(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import musicality
    from musicrnn.notation import parse_melody
    from musicrnn.theory import find_key, key_pitch_classes

    assert len(musicality.MELODIES) == 20
    for name, (key, bar_beats, text) in musicality.MELODIES.items():
        melody = parse_melody(text)
        outside = sorted({int(p) % 12 for p in melody.pitch} - key_pitch_classes(key))
        assert not outside, f"{name} in {key} has notes outside it: {outside}"
        assert bar_beats in (3, 4) and len(melody) >= 15, name
    # The key finder mistakes two C major tunes that dwell on E for E minor (so the bench gives each tune's key).
    misread = {name for name, (key, _, text) in musicality.MELODIES.items() if find_key(*_notes(text)) != key}
    assert misread == {"Mary Had a Little Lamb", "Jingle Bells"}


def _notes(text: str):
    from musicrnn.notation import parse_melody

    melody = parse_melody(text)
    return melody.pitch, melody.duration


def test_musicality_reads_a_continuations_key_with_its_primer_unless_it_carries_one(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import pandas as pd

    from musicality import with_key

    def table(pitches):
        return pd.DataFrame({"pitch": pitches, "duration_beats": 1.0})

    primer = table([67, 71, 74, 72, 71, 69, 67, 66, 67])  # G major: G B D C B A G F# G
    continuation = table([64, 62, 64, 66, 67])  # E D E F# G: on its own it could be E minor
    assert with_key(continuation, primer).attrs["key"] == "G:major"
    known = table([64, 62, 64])
    known.attrs["key"] = "E:minor"
    assert with_key(known, primer).attrs["key"] == "E:minor"


def test_time_to_quality_trains_both_recipes_and_reports_when_each_reached_its_best():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "time_to_quality.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result["figures"]) == {"before", "now"}
    for name, figures in result["figures"].items():
        rows = result["runs"][name]["epochs"]
        assert len(rows) == 2 and figures["best_joint_nll"] == min(row["joint_nll"] for row in rows)
        assert 0 < figures["seconds_to_quality"] <= rows[-1]["seconds"]
    assert result["speedup"] > 0
