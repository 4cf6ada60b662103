"""Each page of the Streamlit app, run headless with AppTest, asserting on what a visitor sees."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from musicrnn import bundled
from musicrnn.midi_load import load_paths
from ui.state import DATASET, DEFAULT_MODEL_LABEL, JOB, TRAINED_MODEL, Dataset

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120  # the first run of a page may read the whole bundled corpus on a busy 2-core machine

needs_default_model = pytest.mark.skipif(
    not bundled.DEFAULT_MODEL.exists(), reason="the bundled model is not built yet"
)


def open_page(page: str, dataset: Dataset | None = None, **state: object) -> AppTest:
    """A fresh visitor on `page` (run once), optionally with a small dataset and other state already set."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if dataset is not None:
        at.session_state[DATASET] = dataset
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    assert_no_exception(at)
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [item.value for item in at.exception]


def small_dataset(count: int = 6) -> Dataset:
    return Dataset("uploaded", load_paths(bundled.chorale_files()[:count]))


def click(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click().run()
    assert_no_exception(at)
    return at


def download_labels(at: AppTest) -> list[str]:
    return [button.label for button in at.get("download_button")]


@needs_default_model
def test_home_button_plays_the_default_model():
    at = open_page("home")
    assert not at.get("audio")
    click(at, "Play a new piece")
    assert len(at.get("audio")) == 1
    assert len(at.get("plotly_chart")) == 1
    assert not at.error


def test_home_is_drawn_without_importing_the_core_and_warms_it_up_afterwards(tmp_path):
    """A fresh server's first page must not wait for pandas and musicrnn (about 1 s of imports)."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from streamlit.testing.v1 import AppTest
        sys.path.insert(0, {str(ROOT)!r})
        import ui.boot
        warm_up = ui.boot.warm_up
        ui.boot.warm_up = lambda: None  # hold the warm-up back to see what Home itself imported
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()
        assert not at.exception and at.button[0].label == "Play a new piece"
        heavy = sorted(m for m in ("pandas", "pretty_midi", "h5py") if m in sys.modules)
        assert not heavy, heavy
        # Of the core, only the list of bundled styles (a small JSON file, no pandas; its UnknownModel is an
        # errors.SettingsError, a module with no imports) is read for the style choice, and the process settings
        # (standard library only: malloc gives large blocks back) are applied.
        core = sorted(m for m in sys.modules if m.split(".")[0] == "musicrnn")
        assert set(core) <= {{"musicrnn", "musicrnn.styles", "musicrnn.errors", "musicrnn.runtime"}}, core
        warm_up()
        deadline = time.monotonic() + 120
        while "ui.widgets" not in sys.modules and time.monotonic() < deadline:
            time.sleep(0.05)
        from musicrnn import bundled
        assert bundled._background_read is not None  # the chorales are being read in a child process
        assert len(bundled.load_chorales()) == len(bundled.chorale_files())
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok" in done.stdout


def test_dataset_shows_the_bundled_corpus_table():
    at = open_page("dataset")
    table = at.dataframe[0].value
    assert len(table) == len(bundled.chorale_files())
    assert set(table["status"]) == {"OK"}
    assert list(table.columns) == ["file", "status", "notes", "seconds", "tempo", "timing", "instruments"]
    assert set(table["tempo"]) == {"120 BPM, 4/4", "120 BPM, 3/4", "120 BPM, 3/2", "120 BPM, 12/8"}
    assert table["timing"].str.startswith("on the beat grid").all()


def test_dataset_upload_lists_a_bad_file_next_to_a_good_one(midi_factory):
    # Choosing uploads before the first run keeps this test from reading the whole bundled corpus.
    at = open_page("dataset", small_dataset(2), keep_dataset_source="My own MIDI files")
    at.file_uploader[0].set_value(
        [("good.mid", midi_factory(), "audio/midi"), ("broken.mid", b"this is not music", "audio/midi")]
    ).run()
    assert_no_exception(at)
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["good.mid", "status"] == "OK"
    assert table.loc["good.mid", "notes"] == 8
    assert "not a MIDI file" in table.loc["broken.mid", "status"]
    # The good file alone is the visitor's dataset now.
    assert [item.name for item in at.session_state[DATASET].ok_files] == ["good.mid"]


def test_explore_draws_the_piano_roll_and_histograms():
    at = open_page("explore", small_dataset(3))
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(titles) == 2
    assert len(at.get("audio")) == 1
    notes = at.dataframe[0].value
    # Note names label the roll: each note's hover names it (the table's names, exactly those of the file).
    assert all(f'"{name}"' in titles[0] for name in set(notes["note"]))
    assert {"note", "pitch", "step", "duration"} <= set(notes.columns)


def new_network(at: AppTest) -> AppTest:
    """Choose "A new network" (with uploads the first choice is fine-tuning a bundled model)."""
    at.radio(key="keep_train_start_from_uploaded").set_value("A new network").run()
    assert_no_exception(at)
    return at


def train_once(at: AppTest, epochs: int = 1, **knobs) -> object:
    at.number_input(key="keep_train_epochs").set_value(epochs).run()
    for name, value in knobs.items():
        at.number_input(key=f"keep_train_{name}").set_value(value).run()
    click(at, "Start training")
    job = at.session_state[JOB]
    assert job.wait(timeout=300), "tiny training did not finish"
    at.run()
    assert_no_exception(at)
    return job


def test_train_tiny_model_completes_and_offers_the_model():
    at = new_network(open_page("train", small_dataset(4)))
    at.number_input(key="keep_train_epochs").set_value(1).run()  # no form: a value alone (Enter) starts nothing
    assert JOB not in at.session_state
    click(at, "Start training")
    job = at.session_state[JOB]
    # Switching pages and back keeps the same job.
    at.switch_page("pages/generate.py").run()
    at.switch_page("pages/train.py").run()
    assert at.session_state[JOB] is job
    assert job.wait(timeout=300), "tiny training did not finish"
    at.run()
    assert_no_exception(at)
    assert job.status == "finished", job.error
    assert any(
        "1 pass through your music" in item.value and "the one after pass 1" in item.value for item in at.success
    )
    # A teacher reads it without a glossary: no epochs, nats or loss outside the Details.
    from test_pages_teacher import main_path_text

    words = re.compile(r"\bepochs?\b|\bnats?\b|\bloss\b|cross-entropy|perplexity", re.I)
    assert [text for text in main_path_text(at._tree) if words.search(text)] == []
    assert len(at.get("plotly_chart")) == 1
    assert "Download the model (.keras)" in download_labels(at)
    entry = at.session_state[TRAINED_MODEL]
    assert entry.model.cfg.preset == "tiny" and entry.name == "tiny on 4 files #1"
    assert entry.file_name == "tiny-on-4-files-1.keras"
    # One verdict in words, the figures under Details.
    verdict = next(item.value for item in [*at.success, *at.warning] if "simple counting" in item.value)
    assert "Guesses your next note" in verdict and "nats" not in verdict
    details = next(box for box in at.expander if box.label == "Details: the figures behind these words")
    assert any("nats per note" in c.value for c in details.caption)
    scores = next(frame.value for frame in at.dataframe if "perplexity" in frame.value.columns)
    assert list(scores.index) == ["model", "uniform", "unigram", "bigram"]
    # The trained model is offered on the Generate page under its name.
    click(at, "Use this model on the Generate page")
    assert at.radio(key="keep_generate_model").value == "tiny on 4 files #1"
    assert "tiny on 4 files #1" in at.caption[0].value


def test_a_finished_run_is_the_generate_pages_model_from_the_visitors_own_files_even_renamed():
    # A visitor who chose the default model on Generate, trains, and opens Generate from the menu hears their run.
    at = open_page("generate", small_dataset(4))
    at.radio(key="keep_generate_model").set_value(DEFAULT_MODEL_LABEL).run()
    at.switch_page("pages/train.py").run()
    new_network(at)
    train_once(at, 1)
    at.switch_page("pages/generate.py").run()
    assert_no_exception(at)
    assert at.radio(key="keep_generate_model").value == "tiny on 4 files #1"
    # It starts from one of the visitor's own files, the music it learnt; the chorale model from a chorale again.
    assert at.radio(key="keep_generate_primer_source").value == "A file from my dataset"
    at.radio(key="keep_generate_model").set_value(DEFAULT_MODEL_LABEL).run()
    assert at.radio(key="keep_generate_primer_source").value == "A bundled piece"
    # A dataset file the visitor chose themselves stays their primer whichever model they pick.
    at.radio(key="keep_generate_primer_source").set_value("A file from my dataset").run()
    at.radio(key="keep_generate_model").set_value("Folk tunes (bundled)").run()
    assert at.radio(key="keep_generate_primer_source").value == "A file from my dataset"
    at.radio(key="keep_generate_model").set_value("tiny on 4 files #1").run()
    # Renamed on the Train page, it stays the chosen model under its new name.
    at.switch_page("pages/train.py").run()
    run = at.session_state["trained_runs"][0]
    at.text_input(key="train_rename_" + run.facts["job"]).set_value("my hymns").run()
    at.switch_page("pages/generate.py").run()
    assert at.radio(key="keep_generate_model").value == "my hymns"


def test_a_second_run_is_listed_next_to_the_first_and_both_can_be_used():
    at = new_network(open_page("train", small_dataset(4)))
    first = train_once(at, 1)
    second = train_once(at, 6, patience=1, learning_rate=0.3)  # overfits / diverges: stops early, keeps its best
    assert first.status == second.status == "finished", (first.error, second.error)
    runs = at.session_state["trained_runs"]
    assert [run.name for run in runs] == ["tiny on 4 files #1", "tiny on 4 files #2"]
    table = next(frame.value for frame in at.dataframe if "next note, against simple counting" in frame.value.columns)
    assert list(table["name"]) == ["tiny on 4 files #2", "tiny on 4 files #1"]
    assert runs[1].facts["best_epoch"] == second.best_epoch
    losses = [row["val_loss"] for row in second.epochs]
    assert second.best_epoch == 1 + losses.index(min(losses))
    # Rename, then both are choices on Generate and How it works.
    at.selectbox(key="train_manage_run").set_value("tiny on 4 files #2").run()
    at.text_input(key="train_rename_" + runs[1].facts["job"]).set_value("my wild one").run()
    assert_no_exception(at)
    at.switch_page("pages/generate.py").run()
    assert {"my wild one", "tiny on 4 files #1"} <= set(at.radio(key="keep_generate_model").options)
    at.switch_page("pages/how_it_works.py").run()
    assert {"my wild one", "tiny on 4 files #1"} <= set(at.radio(key="keep_explain_model").options)
    # Forget one.
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train_manage_run").set_value("tiny on 4 files #1").run()
    click(at, "Forget")
    assert [run.name for run in at.session_state["trained_runs"]] == ["my wild one"]


def test_fine_tuning_the_default_model_from_the_train_page():
    at = open_page("train", small_dataset(4))
    assert at.radio(key="keep_train_start_from_uploaded").value == "A bundled model"  # the first choice with uploads
    next(s for s in at.selectbox if s.label == "Bundled model").set_value("chorales").run()
    assert_no_exception(at)
    assert any("Fine-tuning keeps the Bach chorales model's network" in c.value for c in at.caption)
    at.number_input(key="keep_train_tune_epochs").set_value(1).run()
    click(at, "Start training")
    job = at.session_state[JOB]
    assert job.wait(timeout=300), "fine-tuning did not finish"
    at.run()
    assert job.status == "finished", job.error
    entry = at.session_state[TRAINED_MODEL]
    assert entry.name == "the Bach chorales model on 4 files #1"
    assert entry.facts["before"] is not None and entry.facts["score"] is not None


def test_train_refuses_a_broken_model_upload_with_a_message():
    at = open_page("train", small_dataset(2))
    at.file_uploader(key="train_model_upload").set_value(
        ("model.keras", b"not a zip", "application/octet-stream")
    ).run()
    assert_no_exception(at)
    assert any("not a .keras model file" in item.value for item in at.error)


@needs_default_model
def test_generate_two_variations_with_audio_and_downloads_and_same_seed_same_notes():
    at = open_page("generate", small_dataset(2))
    at.slider(key="keep_generate_variations").set_value(2)
    at.number_input(key="keep_generate_notes").set_value(40)
    at.number_input(key="keep_generate_seed").set_value(7).run()
    click(at, "Generate")
    first = at.session_state["generated"][0]
    assert len(first) == 2 and all(len(notes) == 40 for notes in first)
    assert len(at.get("audio")) == 2
    assert download_labels(at).count("Download MIDI") == 2
    assert download_labels(at).count("Download WAV") == 2
    click(at, "Generate")
    again = at.session_state["generated"][0]
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0]["pitch"].equals(first[1]["pitch"])  # the variations differ from each other


def test_app_runs_from_another_working_directory(tmp_path):
    """Paths are relative to the repository, not to where the server was started."""
    script = textwrap.dedent(
        f"""
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()
        assert not at.exception, [e.value for e in at.exception]
        at.switch_page("pages/explore.py")
        import sys
        sys.path.insert(0, {str(ROOT)!r})  # for this script's own imports below (AppTest restores sys.path after a run)
        import ui.state as state
        from musicrnn.midi_load import load_paths
        from musicrnn import bundled
        at.session_state["dataset"] = state.Dataset("uploaded", load_paths(bundled.chorale_files()[:1]))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.get("plotly_chart")
        print("ok")
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no PYTHONPATH: the app must find its own modules
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok" in done.stdout


def test_stop_button_ends_a_running_job_and_keeps_the_model():
    at = new_network(open_page("train", small_dataset(4)))
    at.number_input(key="keep_train_epochs").set_value(200).run()
    at.number_input(key="keep_train_patience").set_value(0).run()
    click(at, "Start training")
    job = at.session_state[JOB]
    click(at, "Stop training")
    assert job.wait(timeout=300), "the stopped job did not end"
    at.run()
    assert_no_exception(at)
    assert job.status == "stopped", job.error
    assert any("Stopped after" in item.value for item in at.warning)
    assert "Download the model (.keras)" in download_labels(at)


@needs_default_model
def test_an_uploaded_model_can_be_chosen_on_the_generate_page():
    at = open_page("train", small_dataset(2))
    at.file_uploader(key="train_model_upload").set_value(
        ("mine.keras", bundled.DEFAULT_MODEL.read_bytes(), "application/octet-stream")
    ).run()
    assert_no_exception(at)
    assert any("Loaded **mine.keras**" in item.value for item in at.success)
    at.switch_page("pages/generate.py").run()
    assert "Uploaded model" in at.radio(key="keep_generate_model").options


def test_training_progress_measures_pace_after_the_first_report():
    from ui.widgets import training_progress

    snapshot = {
        "total_epochs": 2,
        "batches": [
            {"kind": "batch", "epoch": 0, "batch": b, "batches": 10, "elapsed": 100.0 + 2 * (b - 1)}
            for b in range(1, 11)
        ],
        "epochs": [{"kind": "epoch", "epoch": 1, "elapsed": 118.0}],  # 100 s of start-up, then 2 s a batch
    }
    done, caption = training_progress(snapshot)
    assert done == 0.5
    assert caption == "Pass 2 of 2 through your music · about 20 s left"  # 0.45 of the work took 18 s


def test_training_estimate_does_not_jump_with_a_burst_and_says_it_is_uncertain():
    from ui.widgets import training_progress

    steady = [{"kind": "batch", "epoch": 0, "batch": b, "batches": 100, "elapsed": 10.0 + b} for b in range(1, 61)]
    _, calm = training_progress({"total_epochs": 1, "batches": steady, "epochs": []})
    assert calm == "Pass 1 of 1 through your music · about 40 s left"
    # Other visitors slow it down 5x for the last 20 s: no figure eight times larger, but a range and a warning.
    burst = steady + [
        {"kind": "batch", "epoch": 0, "batch": 60 + b, "batches": 100, "elapsed": 70.0 + 5 * b} for b in range(1, 5)
    ]
    _, busy = training_progress({"total_epochs": 1, "batches": burst, "epochs": []})
    assert "roughly" in busy and "the pace is still changing" in busy
    low = busy.split("roughly ")[1].split(" to ")[0]
    assert low == "45 s"  # the whole run's pace still anchors the estimate


def test_an_uncertain_estimate_whose_ends_round_alike_gives_one_figure():
    from ui.widgets import training_progress

    # 2 reports over 2 s (too few to call the pace steady): both ends of the range (10 s, 12.5 s) round to 10 s.
    few = [{"kind": "batch", "epoch": 0, "batch": b, "batches": 100, "elapsed": 10.0 + b} for b in (88, 90)]
    _, caption = training_progress({"total_epochs": 1, "batches": few, "epochs": []})
    assert caption == "Pass 1 of 1 through your music · about 10 s left (the pace is still changing)"
    assert "to" not in caption.split("·")[1]


def test_training_estimate_is_capped_by_the_time_limit():
    from ui.widgets import training_progress

    slow = [{"kind": "batch", "epoch": 0, "batch": b, "batches": 1000, "elapsed": 10.0 + b} for b in range(1, 31)]
    _, caption = training_progress({"total_epochs": 1, "batches": slow, "epochs": [], "time_limit_s": 60.0})
    assert caption == "Pass 1 of 1 through your music · about 20 s left"


@pytest.mark.parametrize("page", ["dataset", "explore", "train", "generate", "how_it_works"])
def test_a_deep_link_on_a_fresh_server_runs_the_common_set_up(page):
    """Streamlit runs pages/<page>.py directly here (no st.navigation yet in this 'server'); the page must
    still get app.py's set-up and navigation."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state[DATASET] = small_dataset(2)
    at.switch_page(f"pages/{page}.py").run()
    assert_no_exception(at)
    assert "kept_widget_values" in at.session_state  # set by app.py on every run
    assert at.title[0].value == page.replace("_", " ").capitalize()
    assert len(at.title) == 1  # drawn once, through app.py's navigation


def test_the_dataset_cache_key_changes_with_the_metre_not_only_the_notes(midi_factory):
    from musicrnn.midi_load import LoadedFile, midi_to_notes
    from ui.state import dataset_key

    notes = midi_to_notes(midi_factory())
    in_three = notes.assign(bar_beats=3.0, bar_beat=notes["beat"] % 3)  # the same notes, bars of 3/4
    key = dataset_key(Dataset("uploaded", [LoadedFile("a.mid", notes=notes)]))
    assert key == dataset_key(Dataset("uploaded", [LoadedFile("a.mid", notes=notes.copy())]))
    assert key != dataset_key(Dataset("uploaded", [LoadedFile("a.mid", notes=in_three)]))
