"""`python -m musicrnn` as a user runs it: inspect, train, generate (without TensorFlow), evaluate."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import wave
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from helpers_models import PYTHON, ROOT, write_midi_folder
from musicrnn.midi import midi_bytes

OK_LINE = re.compile(r"^OK (\S+) notes=(\d+) seconds=(\d+\.\d)$")
ERROR_LINE = re.compile(r"^ERROR (\S+): (.+)$")

# Runs the CLI in-process, then reports which heavy frameworks ended up imported.
NO_TF_WRAPPER = textwrap.dedent(
    """
    import json, sys
    from musicrnn.runtime import set_up_process
    set_up_process()  # as musicrnn/__main__.py does
    from musicrnn.cli import main
    code = main(sys.argv[1:])
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
    print("HEAVY " + json.dumps(heavy))
    sys.exit(code)
    """
)


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "musicrnn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def cli_without_tensorflow(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI and assert it never imported TensorFlow or Keras."""
    done = subprocess.run(
        [PYTHON, "-c", NO_TF_WRAPPER, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    heavy = [line for line in done.stdout.splitlines() if line.startswith("HEAVY ")]
    assert heavy, done.stderr
    assert json.loads(heavy[-1][6:]) == []
    return done


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_midi_folder(tmp_path_factory.mktemp("midi"), files=6, notes=160)


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("model") / "m.keras"
    return out, cli("train", "--data", data_dir, "--preset", "tiny", "--epochs", "1", "--out", out)


def test_inspect_reports_each_file_and_fails_on_a_bad_one(data_dir, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "good.mid").write_bytes((data_dir / "piece0.mid").read_bytes())
    (mixed / "bad.mid").write_bytes(b"this is not music")
    done = cli("inspect", mixed)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    ok = [OK_LINE.match(line) for line in lines if line.startswith("OK ")]
    errors = [ERROR_LINE.match(line) for line in lines if line.startswith("ERROR ")]
    assert len(ok) == 1 and ok[0] and ok[0].group(1) == "good.mid" and ok[0].group(2) == "160"
    assert float(ok[0].group(3)) == pytest.approx(39.9, abs=0.2)  # 160 notes, a quarter second apart
    assert len(errors) == 1 and errors[0] and errors[0].group(1) == "bad.mid"
    assert "not a MIDI file" in errors[0].group(2)


def test_inspect_exits_zero_when_every_file_is_good(data_dir):
    done = cli("inspect", data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 6 and all(OK_LINE.match(line) for line in lines)


def test_train_writes_a_model_and_its_sidecar(trained):
    out, done = trained
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.exists() and out.with_suffix(".json").exists()
    report = json.loads(done.stdout)
    assert report["model"] == str(out)
    assert "val_pitch_loss" in report["final"]
    assert report["best_epoch"] == 1 and report["epochs_run"] == 1
    assert "epoch 1/1" in done.stderr  # per-epoch progress
    assert "kept epoch 1 of 1" in done.stderr
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["config"]["preset"] == "tiny" and sidecar["config"]["epochs"] == 1
    assert sidecar["val_files"]


def test_train_without_usable_files_says_so(tmp_path):
    (tmp_path / "bad.mid").write_bytes(b"nope")
    done = cli("train", "--data", tmp_path, "--preset", "tiny", "--out", tmp_path / "m.keras")
    assert done.returncode == 2
    assert "no usable MIDI files" in done.stderr and "Traceback" not in done.stderr


def test_generate_writes_variations_as_midi_and_wav_without_tensorflow(trained, tmp_path):
    model, _ = trained
    done = cli_without_tensorflow(
        "generate",
        "--model",
        model,
        "--notes",
        "50",
        "--out",
        tmp_path / "x.mid",
        "--wav",
        tmp_path / "x.wav",
        "--variations",
        "2",
        "--seed",
        "3",
    )
    assert done.returncode == 0, done.stderr
    pitches = []
    for index in (1, 2):
        midi = pretty_midi.PrettyMIDI(str(tmp_path / f"x-{index}.mid"))
        notes = [note for inst in midi.instruments for note in inst.notes]
        assert 0 < len(notes) <= 50  # the model may end a piece before the cap
        pitches.append(sorted(note.pitch for note in notes))
        with wave.open(str(tmp_path / f"x-{index}.wav")) as audio:
            assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
            assert audio.getframerate() == 16000
            assert audio.getnframes() > 16000 * 0.5
    assert pitches[0] != pitches[1]
    assert not (tmp_path / "x.mid").exists()


def test_generate_uses_the_default_model_and_never_imports_tensorflow(tmp_path):
    from musicrnn.bundled import chorale_opening, default_model
    from musicrnn.generate import Sampling, generate

    out = tmp_path / "d.mid"
    # The real entry point, with Python's import log: no TensorFlow/Keras module may appear in it.
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "musicrnn", "generate", "--notes", "30", "--seed", "4", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "musicrnn.infer" in imported  # the log is really there
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
    midi = pretty_midi.PrettyMIDI(str(out))
    written = sorted(note.pitch for inst in midi.instruments for note in inst.notes)
    expected = generate(default_model(), chorale_opening(16), Sampling(n_notes=30, seed=4))[0]
    assert written == sorted(expected["pitch"].tolist())


def test_generate_with_a_bad_model_file_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"definitely not a model")
    done = cli("generate", "--model", bad, "--notes", "5", "--out", tmp_path / "x.mid")
    assert done.returncode == 2
    assert "bad.keras: not a .keras model file" in done.stderr and "Traceback" not in done.stderr


def test_evaluate_prints_model_and_baseline_scores(trained, data_dir):
    model, _ = trained
    # Baselines fitted on the same folder (the bundled corpus, the default, takes longer to load).
    done = cli_without_tensorflow("evaluate", "--model", model, "--data", data_dir, "--baseline-data", data_dir)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout[: done.stdout.rindex("HEAVY ")])
    assert report["files"] == 6
    scores = report["model"]
    assert 0 < scores["pitch_cross_entropy"] < 10
    assert scores["pitch_perplexity"] == pytest.approx(2.718281828 ** scores["pitch_cross_entropy"], rel=1e-6)
    baselines = report["baselines"]
    assert set(baselines) == {"uniform", "unigram", "bigram"}
    assert baselines["uniform"] == pytest.approx(4.852, abs=1e-3)
    assert 0 < baselines["bigram"] < baselines["unigram"] < baselines["uniform"]  # scale walks: the last pitch helps


def test_generate_writes_the_tempo_and_beats_and_the_recipe_reproduces_them(trained, tmp_path):
    model, _ = trained
    base = ("generate", "--model", model, "--notes", "40", "--seed", "5", "--rhythm-temperature", "0.5")
    assert cli_without_tensorflow(*base, "--bpm", "90", "--out", tmp_path / "a.mid").returncode == 0
    assert cli_without_tensorflow(*base, "--bpm", "150", "--out", tmp_path / "b.mid").returncode == 0
    slow, fast = (pretty_midi.PrettyMIDI(str(tmp_path / name)) for name in ("a.mid", "b.mid"))
    assert slow.get_tempo_changes()[1][0] == pytest.approx(90, rel=1e-4)
    assert fast.get_tempo_changes()[1][0] == pytest.approx(150, rel=1e-4)
    for midi in (slow, fast):  # every onset on the 1/12-beat grid of the written file
        ticks = [midi.time_to_tick(n.start) for inst in midi.instruments for n in inst.notes]
        assert all(abs(t / midi.resolution * 12 - round(t / midi.resolution * 12)) < 0.02 for t in ticks)
    assert slow.get_end_time() == pytest.approx(fast.get_end_time() * 150 / 90, rel=1e-3)
    again = cli_without_tensorflow(
        "generate", "--model", model, "--recipe", tmp_path / "b.mid", "--out", tmp_path / "c.mid"
    )
    assert again.returncode == 0, again.stderr
    copy = pretty_midi.PrettyMIDI(str(tmp_path / "c.mid"))
    assert [(n.pitch, n.start) for n in copy.instruments[0].notes] == [
        (n.pitch, n.start) for n in fast.instruments[0].notes
    ]
    assert "--bpm" in cli("generate", "--help").stdout


def test_train_keeps_the_best_epoch_and_stops_early(data_dir, tmp_path):
    out = tmp_path / "m.keras"
    done = cli(
        "train",
        "--data",
        data_dir,
        "--preset",
        "tiny",
        "--epochs",
        "40",
        "--patience",
        "1",
        "--learning-rate",
        "0.3",
        "--out",
        out,
    )  # far too high a rate: it stops improving quickly
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    history = json.loads(out.with_suffix(".json").read_text())["history"]
    losses = [row["val_loss"] for row in history]
    assert report["early_stopped"] and report["epochs_run"] < 40
    assert report["best_epoch"] == 1 + losses.index(min(losses))
    assert report["final"]["val_loss"] == min(losses)


def test_train_init_from_default_fine_tunes_the_bundled_model(data_dir, tmp_path):
    from musicrnn.bundled import DEFAULT_MODEL
    from musicrnn.infer import read_model_file

    out = tmp_path / "tuned.keras"
    done = cli("train", "--data", data_dir, "--init-from", "default", "--epochs", "1", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    start, tuned = read_model_file(DEFAULT_MODEL), read_model_file(out)
    assert tuned.cfg.units == start.cfg.units and tuned.cfg.layers == start.cfg.layers
    assert tuned.cfg.learning_rate == pytest.approx(start.cfg.learning_rate / 10)


def test_train_init_from_with_another_shape_says_why(data_dir, tmp_path):
    done = cli("train", "--data", data_dir, "--init-from", "default", "--units", "8", "--out", tmp_path / "m.keras")
    assert done.returncode == 2
    assert "different network shape" in done.stderr and "units" in done.stderr


def test_train_with_a_chord_order_trains_a_new_network_that_reads_chords_so(data_dir, tmp_path):
    """--chord-order names a new network (as --units does): not the visitor's fine-tuned start, which learnt to
    read chords from the bass."""
    from musicrnn.config import DEFAULT_PRESET
    from musicrnn.infer import read_model_file

    out = tmp_path / "down.keras"
    done = cli("train", "--data", data_dir, "--chord-order", "down", "--epochs", "1", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    model = read_model_file(out)
    assert model.cfg.chord_order == "down" and model.cfg.preset == DEFAULT_PRESET
    assert model.info.get("start_loss") is None  # a new network: no start it had to beat


def test_train_init_from_with_stream_is_refused_before_reading_data_or_tensorflow(data_dir, tmp_path):
    done = cli_without_tensorflow(
        "train", "--data", data_dir, "--init-from", "default", "--stream", "--out", tmp_path / "m.keras"
    )
    assert done.returncode == 2
    assert "--init-from works with the default strategy, without --stream" in done.stderr
    assert "files," not in done.stderr  # refused before the data was read


def test_train_init_from_a_file_that_is_no_model_says_so(data_dir, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    done = cli("train", "--data", data_dir, "--init-from", bad, "--out", tmp_path / "m.keras")
    assert done.returncode == 2
    assert "cannot fine-tune" in done.stderr and "not a .keras model file" in done.stderr


def test_harmonize_keeps_the_melody_as_its_own_instrument_without_tensorflow(tmp_path):
    out = tmp_path / "h.mid"
    done = cli_without_tensorflow(
        "harmonize",
        "--melody",
        "C4/1 D4/1 E4/1 F4/1 G4/2",
        "--variations",
        "2",
        "--melody-instrument",
        "Flute",
        "--instrument",
        "Cello",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    for index in (1, 2):
        midi = pretty_midi.PrettyMIDI(str(tmp_path / f"h-{index}.mid"))
        # The default model knows the chorales' voices: the melody is the Soprano, the harmony alto, tenor, bass.
        melody = next(inst for inst in midi.instruments if inst.name == "Soprano")
        assert [n.pitch for n in melody.notes] == [60, 62, 64, 65, 67]
        assert [round(n.start, 3) for n in melody.notes] == [0.0, 0.5, 1.0, 1.5, 2.0]  # 120 bpm
        assert melody.program == 73  # flute
        harmony = [inst for inst in midi.instruments if inst is not melody]
        assert {inst.name for inst in harmony} <= {"Alto", "Tenor", "Bass voice"} and "Bass voice" in {
            i.name for i in harmony
        }
        assert {inst.program for inst in harmony} == {42}  # cello
        assert max(n.pitch for inst in harmony for n in inst.notes) < 67
    assert "parallel_fifths_per_100=" in done.stdout


def test_harmonize_keeps_the_bass_in_the_range_it_is_given(tmp_path):
    out = tmp_path / "h.mid"
    done = cli(
        "harmonize",
        "--melody",
        "G4/1 A4/1 B4/1 C5/2",
        "--part-range",
        "Bass voice=40-47",
        "--variations",
        "3",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    for index in (1, 2, 3):
        bass = next(
            i for i in pretty_midi.PrettyMIDI(str(tmp_path / f"h-{index}.mid")).instruments if i.name == "Bass voice"
        )
        assert bass.notes and all(40 <= n.pitch <= 47 for n in bass.notes)


def test_generate_keeps_each_part_in_the_range_and_key_it_is_given(tmp_path):
    out = tmp_path / "p.mid"
    done = cli_without_tensorflow(
        "generate",
        "--notes",
        "120",
        "--seed",
        "3",
        "--part-range",
        "Soprano=72-79,Bass voice=36-50",
        "--part-key",
        "Tenor=D:minor pentatonic",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    tracks = {inst.name: [n.pitch for n in inst.notes] for inst in pretty_midi.PrettyMIDI(str(out)).instruments}
    assert all(72 <= p <= 79 for p in tracks["Soprano"]) and all(36 <= p <= 50 for p in tracks["Bass voice"])
    assert {p % 12 for p in tracks["Tenor"]} <= {2, 5, 7, 9, 0}
    again = tmp_path / "again.mid"  # the file's recipe carries the per-part steering
    assert cli_without_tensorflow("generate", "--recipe", str(out), "--out", str(again)).returncode == 0
    assert {i.name: [n.pitch for n in i.notes] for i in pretty_midi.PrettyMIDI(str(again)).instruments} == tracks


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--part-range", "Sopran=60-70", "unknown part 'Sopran'"),
        ("--part-range", "Bass voice=60", "the range of Bass voice, '60'"),
        ("--part-key", "Alto=H:major", "the key of Alto"),
        ("--part-range", "Brass=50-60", "never played Brass"),
    ],
)
def test_a_bad_part_range_or_key_is_one_line_naming_it(tmp_path, flag, value, message):
    done = cli("generate", "--notes", "10", flag, value, "--out", str(tmp_path / "x.mid"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr and "Traceback" not in done.stderr


def test_generate_with_chords_writes_only_chord_tones(tmp_path):
    out = tmp_path / "c.mid"
    done = cli_without_tensorflow(
        "generate", "--chords", "C:4 F:4", "--chord-strength", "1", "--notes", "60", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    notes = [n for inst in pretty_midi.PrettyMIDI(str(out)).instruments for n in inst.notes]
    assert {n.pitch % 12 for n in notes} <= {0, 4, 7, 5, 9}
    assert len(notes) == 60


def test_generate_warns_of_a_key_that_drops_a_chords_root_and_still_writes_the_piece(tmp_path):
    from musicrnn.guide import DEFAULT_CHORD_STRENGTH
    from musicrnn.recipe import load

    out = tmp_path / "c.mid"
    done = cli("generate", "--chords", "C G Am F", "--key", "G:major", "--notes", "40", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "warning: G major has no F: the F chord will sound without its root F." in done.stderr
    notes = [n for inst in pretty_midi.PrettyMIDI(str(out)).instruments for n in inst.notes]
    assert len(notes) == 40 and 5 not in {n.pitch % 12 for n in notes}
    assert load(out).chord_strength == DEFAULT_CHORD_STRENGTH  # the default strength, as the pages'
    assert "(stopped at 40 notes, the most allowed)" in done.stdout  # the bundled model has not learned endings


def test_generate_no_voice_leading_reaches_the_recipe_and_the_default_keeps_it(tmp_path):
    from musicrnn.recipe import load

    plain, free = tmp_path / "on.mid", tmp_path / "off.mid"
    assert cli("generate", "--notes", "20", "--out", str(plain)).returncode == 0
    done = cli("generate", "--notes", "20", "--no-voice-leading", "--out", str(free))
    assert done.returncode == 0, done.stderr
    assert load(plain).sampling.voice_leading and not load(free).sampling.voice_leading


def test_harmonize_chromatic_and_no_voice_leading_reach_the_harmonisation(monkeypatch, tmp_path, capsys):
    import musicrnn.harmony
    from musicrnn.cli import main

    seen = []
    real = musicrnn.harmony.harmonize

    def spy(model, melody, settings=None, **kwargs):
        seen.append(settings)
        return real(model, melody, settings, **kwargs)

    monkeypatch.setattr(musicrnn.harmony, "harmonize", spy)
    melody = ["--melody", "C4/1 D4/1 E4/1 F4/1 E4/1 D4/1 C4/2"]
    assert main(["harmonize", *melody, "--out", str(tmp_path / "a.mid")]) == 0
    assert "Harmonised in C major (read from the melody); the harmony keeps to its notes." in capsys.readouterr().err
    flags = ["--chromatic", "--no-voice-leading"]
    assert main(["harmonize", *melody, *flags, "--out", str(tmp_path / "b.mid")]) == 0
    assert "chromatic colour" in capsys.readouterr().err
    assert (seen[0].chromatic, seen[0].voice_leading) == (False, True)
    assert (seen[1].chromatic, seen[1].voice_leading) == (True, False)


def test_harmonize_takes_a_major_or_minor_key_as_the_steer_page_does(tmp_path, capsys):
    from musicrnn.cli import main

    melody = ["--melody", "3/4 G4/2 B4/0.5 G4/0.5 B4/2 A4/1 D5/5"]  # ends on its dominant, sings G major's triad
    assert main(["harmonize", *melody, "--out", str(tmp_path / "a.mid")]) == 0
    assert "Harmonised in G major (read from the melody)" in capsys.readouterr().err
    assert main(["harmonize", *melody, "--key", "G:major", "--out", str(tmp_path / "b.mid")]) == 0
    assert "Harmonised in G major." in capsys.readouterr().err
    refused = cli("harmonize", *melody, "--key", "G:dorian", "--out", str(tmp_path / "c.mid"))
    assert refused.returncode == 2 and "a major or minor key" in refused.stderr


def test_generate_with_an_unknown_chord_names_it(tmp_path):
    done = cli("generate", "--chords", "C Qm", "--out", str(tmp_path / "x.mid"))
    assert done.returncode == 2 and "unknown chord 'Qm'" in done.stderr


def test_generate_rewrite_keeps_the_piece_outside_the_span(tmp_path):
    from musicrnn.bundled import CHORALES, DEFAULT_PRIMER
    from musicrnn.midi_load import midi_to_notes

    out = tmp_path / "r.mid"
    source = CHORALES / DEFAULT_PRIMER
    done = cli_without_tensorflow(
        "generate", "--primer", str(source), "--rewrite", "8-12", "--candidates", "3", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("candidate ") == 3
    original, rewritten = midi_to_notes(source), midi_to_notes(out)
    for keep in (lambda n: n["beat"] < 8, lambda n: n["beat"] >= 12):
        a, b = original[keep(original)], rewritten[keep(rewritten)]
        assert a["pitch"].tolist() == b["pitch"].tolist() and a["beat"].tolist() == b["beat"].tolist()


def test_generate_rewrite_reads_a_span_in_bars(tmp_path):
    from musicrnn.bundled import CHORALES, DEFAULT_PRIMER
    from musicrnn.midi_load import midi_to_notes

    out, source = tmp_path / "r.mid", CHORALES / DEFAULT_PRIMER
    original = midi_to_notes(source)
    bar, pickup = float(original["bar_beats"].iloc[0]), float(original["bar_beat"].iloc[0])
    start, end = 2 * bar - pickup, 4 * bar - pickup  # bars 2-4 counted from the first bar line
    done = cli_without_tensorflow(
        "generate",
        "--primer",
        str(source),
        "--rewrite",
        "2-4",
        "--rewrite-unit",
        "bars",
        "--candidates",
        "2",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    rewritten = midi_to_notes(out)
    for keep in (lambda n: n["beat"] < start, lambda n: n["beat"] >= end):
        a, b = original[keep(original)], rewritten[keep(rewritten)]
        assert a["pitch"].tolist() == b["pitch"].tolist() and a["beat"].tolist() == b["beat"].tolist()
    inside = lambda n: (n["beat"] >= start) & (n["beat"] < end)  # noqa: E731
    assert original[inside(original)]["pitch"].tolist() != rewritten[inside(rewritten)]["pitch"].tolist()


def test_a_chord_piece_regenerates_from_its_own_recipe(tmp_path):
    first, again = tmp_path / "c.mid", tmp_path / "again.mid"
    assert (
        cli_without_tensorflow(
            "generate",
            "--chords",
            "Am Dm E7",
            "--chord-strength",
            "0.8",
            "--notes",
            "40",
            "--seed",
            "3",
            "--out",
            str(first),
        ).returncode
        == 0
    )
    done = cli_without_tensorflow("generate", "--recipe", str(first), "--out", str(again))
    assert done.returncode == 0, done.stderr
    read = [
        sorted((n.start, n.pitch) for i in pretty_midi.PrettyMIDI(str(p)).instruments for n in i.notes)
        for p in (first, again)
    ]
    assert read[0] == read[1]


# --- parts: a band with drums in, one track per part out ----------------------------------------------------


def band_file(seed: int, bars: int = 24) -> bytes:
    """A flute melody over a bass line and a drum kit (kick, snare, hi-hat), in memory."""
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    flute, bass = pretty_midi.Instrument(73, name="Flute"), pretty_midi.Instrument(33, name="Bass")
    kit = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    melody, low = 76, 40
    for beat in range(bars * 4):
        t = beat * 0.5
        melody = int(np.clip(melody + rng.choice([-2, -1, 1, 2]), 72, 88))
        flute.notes.append(pretty_midi.Note(90, melody, t, t + 0.45))
        if beat % 2 == 0:
            low = int(np.clip(low + rng.choice([-5, 0, 5, 7]), 33, 50))
            bass.notes.append(pretty_midi.Note(90, low, t, t + 0.9))
        kit.notes.append(pretty_midi.Note(90, 36 if beat % 2 == 0 else 38, t, t + 0.1))
        kit.notes.append(pretty_midi.Note(70, 42, t + 0.25, t + 0.3))
    pm.instruments += [flute, bass, kit]
    return midi_bytes(pm)


@pytest.fixture(scope="module")
def band_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("band")
    for seed in range(6):
        (folder / f"band{seed}.mid").write_bytes(band_file(seed))
    out = tmp_path_factory.mktemp("band-model") / "band.keras"
    done = cli("train", "--data", folder, "--preset", "tiny", "--epochs", "6", "--include-drums", "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def test_a_band_model_writes_each_part_on_its_own_track_with_the_chosen_instruments(band_model, tmp_path):
    done = cli_without_tensorflow(
        "generate",
        "--model",
        band_model,
        "--notes",
        "150",
        "--seed",
        "1",
        "--instruments",
        "Pipe=Piccolo,Bass=Fretless Bass",
        "--out",
        tmp_path / "band.mid",
    )
    assert done.returncode == 0, done.stderr
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "band.mid"))
    tracks = {inst.name: inst for inst in midi.instruments}
    assert {"Pipe", "Bass", "Drums"} <= set(tracks)
    assert tracks["Pipe"].program == 72 and tracks["Bass"].program == 35 and tracks["Drums"].is_drum
    # Each part keeps the range it learned: the bass line below the melody.
    assert np.median([n.pitch for n in tracks["Bass"].notes]) < np.median([n.pitch for n in tracks["Pipe"].notes])
    assert max(n.pitch for n in tracks["Bass"].notes) <= 50 and min(n.pitch for n in tracks["Pipe"].notes) >= 72


def test_a_band_model_without_instruments_plays_the_training_datas_own(band_model, tmp_path):
    done = cli_without_tensorflow("generate", "--model", band_model, "--notes", "80", "--out", tmp_path / "own.mid")
    assert done.returncode == 0, done.stderr
    programs = {inst.name: inst.program for inst in pretty_midi.PrettyMIDI(str(tmp_path / "own.mid")).instruments}
    assert programs.get("Pipe") == 73 and programs.get("Bass") == 33


def test_evaluate_reports_the_part_head_next_to_its_baselines(band_model, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "band9.mid").write_bytes(band_file(9))
    done = cli_without_tensorflow("evaluate", "--model", band_model, "--data", folder, "--baseline-data", folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout[: done.stdout.rindex("HEAVY ")])
    assert 0 <= report["model"]["part_top1"] <= 1 and report["model"]["part_nll"] > 0
    assert {"unigram_nll", "bigram_nll", "unigram_top1", "bigram_top1"} <= set(report["part_baselines"])
    assert set(report["musical"]["parts"]["generated"]) <= {"Pipe", "Bass", "Drums"}


def test_generate_refuses_a_harmonisations_recipe_and_says_where_it_is_made(tmp_path):
    from musicrnn.recipe import Recipe, default_model_id

    path = tmp_path / "h.json"
    path.write_text(Recipe(model=default_model_id(), kind="harmonize", melody="C4/1 D4/1").to_json())
    done = cli("generate", "--recipe", str(path), "--out", str(tmp_path / "x.mid"))
    assert done.returncode == 2 and "harmonize piece" in done.stderr and "Steer page" in done.stderr


def test_the_generate_and_harmonize_flags_default_to_samplings_own_settings():
    from musicrnn.cli import build_parser
    from musicrnn.generate import Sampling

    usual, parser = Sampling(), build_parser()
    gen = parser.parse_args(["generate", "--out", "x.mid"])
    assert (gen.notes, gen.temperature, gen.top_k, gen.top_p, gen.seed, gen.variations, gen.key, gen.bpm) == (
        usual.n_notes,
        usual.temperature,
        usual.top_k,
        usual.top_p,
        usual.seed,
        usual.variations,
        usual.key,
        usual.bpm,
    )
    assert (gen.chord_snap, gen.grid, gen.rhythm_temperature, gen.part_temperature) == (
        usual.chord_snap,
        usual.step_grid,
        usual.rhythm_temperature,
        usual.part_temperature,
    )
    assert gen.pitch_range == f"{usual.pitch_low}-{usual.pitch_high}"
    assert gen.voice_leading == usual.voice_leading
    from musicrnn.guide import DEFAULT_CHORD_STRENGTH
    from musicrnn.harmony import follow_chords

    assert gen.chord_strength == DEFAULT_CHORD_STRENGTH == follow_chords.__defaults__[0]
    harm = parser.parse_args(["harmonize", "--out", "x.mid"])
    assert (harm.voice_leading, harm.chromatic) == (usual.voice_leading, usual.chromatic)
    assert (harm.variations, harm.seed, harm.temperature, harm.rhythm_temperature, harm.bpm) == (
        usual.variations,
        usual.seed,
        usual.temperature,
        usual.rhythm_temperature,
        usual.bpm,
    )


def score_notes(path: Path) -> list[tuple[float, float, int]]:
    """(onset, length, pitch) of every note of a MusicXML file as music21 reads it, ties joined."""
    from music21 import converter

    score = converter.parse(path.read_bytes(), format="musicxml")
    found = sorted(  # each voice on its own before ties are joined (stripTies can join across voices)
        (float(n.getOffsetInHierarchy(line)), float(n.quarterLength), p.midi)
        for part in score.parts
        for line in part.voicesToParts().parts
        for n in line.stripTies().flatten().notes
        for p in n.pitches
    )
    return [(round(o - found[0][0], 4), round(d, 4), p) for o, d, p in found]


def midi_notes(path: Path) -> list[tuple[float, float, int]]:
    from musicrnn.midi_load import midi_to_notes

    notes = midi_to_notes(path)
    first = float(notes["beat"].min())
    return sorted(
        (round(float(b) - first, 4), round(float(d), 4), int(p))
        for b, d, p in zip(notes["beat"], notes["duration_beats"], notes["pitch"])
    )


def test_generate_and_harmonize_write_each_variations_score_as_musicxml_with_the_midis_notes(tmp_path):
    done = cli_without_tensorflow(
        "generate", "--notes", "60", "--variations", "2", "--out", tmp_path / "g.mid", "--musicxml", tmp_path / "g.xml"
    )
    assert done.returncode == 0, done.stderr
    onsets = lambda notes: sorted((onset, pitch) for onset, _, pitch in notes)
    for index in (1, 2):  # onsets and pitches (lengths: tests/test_score.py, against the note table)
        assert onsets(score_notes(tmp_path / f"g-{index}.xml")) == onsets(midi_notes(tmp_path / f"g-{index}.mid"))
    assert not (tmp_path / "g.xml").exists()
    done = cli("harmonize", "--melody", "G4/1 A4/1 B4/2", "--out", tmp_path / "h.mid", "--musicxml", tmp_path / "h")
    assert done.returncode == 0, done.stderr
    assert onsets(score_notes(tmp_path / "h.musicxml")) == onsets(midi_notes(tmp_path / "h.mid"))
    assert f"musicxml={tmp_path / 'h.musicxml'}" in done.stdout


def test_generate_with_a_seconds_model_says_it_cannot_write_a_score_and_why(tmp_path):
    from helpers_models import save_random_model

    model = save_random_model(tmp_path / "seconds.keras", "tutorial")
    done = cli("generate", "--model", model, "--notes", "5", "--out", tmp_path / "x.mid", "--musicxml", tmp_path / "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--musicxml: this model counts time in seconds" in done.stderr
    assert not (tmp_path / "x.mid").exists()


# ---- bundled models by name (a temporary registry: musicrnn.styles) --------------------------------------------


@pytest.fixture(scope="module")
def style_registry(tmp_path_factory) -> Path:
    """The committed chorale model as "chorales" and again as "second" (with a sample and figures)."""
    import shutil

    from musicrnn import bundled

    folder = tmp_path_factory.mktemp("registry")
    shutil.copy(bundled.DEFAULT_MODEL, folder / "second.keras")
    (folder / "second.json").write_text(
        json.dumps(
            {
                "evaluation": {
                    "model": {"pitch_cross_entropy": 1.25, "files": 4, "notes": 900},
                    "baselines": {"bigram": 2.5},
                }
            }
        )
    )
    (folder / "sample").mkdir()
    shutil.copy(bundled.CHORALES / "bwv250.mid", folder / "sample" / "bwv250.mid")
    models = {
        "chorales": {
            "title": "Bach chorales",
            "file": str(bundled.DEFAULT_MODEL),
            "sample": str(bundled.CHORALES),
            "primer": "bwv269.mid",
        },
        "second": {
            "title": "Second style",
            "file": "second.keras",
            "sample": "sample",
            "primer": "bwv250.mid",
            "data": "two chorales",
            "licence": "public domain",
        },
    }
    path = folder / "models.json"
    path.write_text(json.dumps({"default": "chorales", "models": models}))
    return path


def cli_with(registry: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "MUSICRNN_MODELS": str(registry)}
    return subprocess.run(
        [PYTHON, "-m", "musicrnn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


def test_models_lists_each_bundled_model_with_its_data_licence_and_figures(style_registry):
    done = cli_with(style_registry, "models")
    assert done.returncode == 0, done.stderr
    assert "chorales (default): Bach chorales" in done.stdout and "second: Second style" in done.stdout
    assert "pitch cross-entropy 1.25 nats, bigram 2.50" in done.stdout and "public domain" in done.stdout
    rows = json.loads(cli_with(style_registry, "models", "--json").stdout)
    assert [row["name"] for row in rows] == ["chorales", "second"] and all(row["present"] for row in rows)


def test_generate_with_a_bundled_models_name_starts_from_its_own_piece_and_its_recipe_finds_it(
    style_registry, tmp_path
):
    out = tmp_path / "p.mid"
    done = cli_with(style_registry, "generate", "--model", "second", "--notes", "20", "--out", out)
    assert done.returncode == 0, done.stderr
    from musicrnn.recipe import load

    recipe = load(out)
    assert recipe.model_kind == "bundled" and recipe.primer == "bundled:second/bwv250.mid"
    again = tmp_path / "again.mid"
    done = cli_with(style_registry, "generate", "--recipe", out, "--out", again)  # no --model: found by its hash
    assert done.returncode == 0, done.stderr

    def notes(path):
        return [(n.start, n.end, n.pitch) for i in pretty_midi.PrettyMIDI(str(path)).instruments for n in i.notes]

    assert notes(again) == notes(out)


def test_an_unknown_model_name_is_one_line(style_registry, tmp_path):
    done = cli_with(style_registry, "generate", "--model", "nope", "--out", tmp_path / "x.mid")
    assert done.returncode == 2 and done.stderr.startswith("error: nope")


def test_train_with_only_data_and_out_fine_tunes_the_bundled_model_that_fits_best(data_dir, tmp_path):
    from helpers_models import save_random_model
    from musicrnn.infer import read_model_file

    folder = tmp_path / "registry"
    folder.mkdir()
    for name, seed in (("one", 1), ("two", 2)):  # tiny models, so the run is quick
        save_random_model(folder / f"{name}.keras", "tiny", seed=seed)
    models = {name: {"title": name.title(), "file": f"{name}.keras"} for name in ("one", "two")}
    (folder / "models.json").write_text(json.dumps({"default": "one", "models": models}))
    out = tmp_path / "mine.keras"
    done = cli_with(folder / "models.json", "train", "--data", data_dir, "--epochs", "2", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"fine-tuning the bundled model '(one|two)'\. (One|Two) knows your music best", done.stderr)
    held_out = re.search(r"held out to score the model: (.+)", done.stderr).group(1).split(", ")
    assert held_out  # six equal files: one is 17 % of the notes, enough (dataset.split_files)
    cfg = read_model_file(out).cfg
    assert cfg.time_limit_minutes == 2.0 and cfg.units == 32  # the tiny start's shape, the visitor's time limit
    assert set(read_model_file(out).info["val_files"]) == set(held_out)


def test_train_init_from_a_bundled_name(style_registry, data_dir, tmp_path):
    out = tmp_path / "tuned.keras"
    done = cli_with(style_registry, "train", "--data", data_dir, "--init-from", "second", "--epochs", "1", "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fine-tuning the bundled model" not in done.stderr  # the named start, not the best fit
