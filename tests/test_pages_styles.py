"""Bundled styles on the pages (AppTest): Home's style choice, Generate's bundled models and their primers, and
the Train page's first choice with uploads (the bundled model that knows them best). The registry is a temporary
one: the committed chorale model, the same file under a second name with a sample of its own, and a random
`tiny` model that knows nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from helpers_models import save_random_model
from musicrnn import bundled, styles
from musicrnn.midi_load import load_paths
from ui.state import DATASET, Dataset

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    shutil.copy(bundled.DEFAULT_MODEL, folder / "second.keras")
    save_random_model(folder / "noise.keras", "tiny", seed=3)
    sample = folder / "second-sample"
    sample.mkdir()
    for name in ("bwv250.mid", "bwv251.mid"):
        shutil.copy(bundled.CHORALES / name, sample / name)
    chorales = {"title": "Bach chorales", "file": str(bundled.DEFAULT_MODEL), "sample": str(bundled.CHORALES)}
    path = folder / "models.json"
    path.write_text(
        json.dumps(
            {
                "default": "chorales",
                "models": {
                    "chorales": {**chorales, "primer": "bwv269.mid"},
                    "second": {
                        "title": "Second style",
                        "file": "second.keras",
                        "sample": "second-sample",
                        "primer": "bwv251.mid",
                    },
                    "noise": {"title": "Noise", "file": "noise.keras", "home": False},
                },
            }
        )
    )
    return path


@pytest.fixture
def registry(registry_file, monkeypatch):
    monkeypatch.setenv(styles.REGISTRY_VARIABLE, str(registry_file))
    return registry_file


def open_page(page: str, files: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if files is not None:
        at.session_state[DATASET] = Dataset("uploaded", load_paths(bundled.chorale_files()[:files]))
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def outside(at: AppTest, kind: str) -> list:
    """The widgets of a kind that are not inside an expander (what a visitor sees without opening one)."""
    inside = {id(w) for expander in at.expander for w in getattr(expander, kind)}
    return [w for w in getattr(at, kind) if id(w) not in inside]


def test_home_offers_the_styles_on_home_and_plays_the_chosen_one(registry):
    at = open_page("home")
    choice = at.get("button_group")[0]
    assert choice.proto.label == "Style"
    assert [o.content for o in choice.proto.options] == ["Bach chorales", "Second style"]  # not the noise model
    at.session_state["keep_home_style"] = "Second style"
    at.run()
    next(b for b in at.button if b.label == "Play a new piece").click().run()
    assert not at.exception and len(at.get("audio")) == 1
    # Up to 400 notes: the model may end the piece sooner.
    assert re.match(r"Second style: \d+ new notes after the opening of bwv251", at.caption[0].value)


def test_generate_offers_the_bundled_models_and_starts_from_the_chosen_ones_own_piece(registry):
    at = open_page("generate")
    assert {"Default model (Bach chorales)", "Second style (bundled)", "Noise (bundled)"} <= set(
        at.radio(key="keep_generate_model").options
    )
    at.radio(key="keep_generate_model").set_value("Second style (bundled)").run()
    assert at.selectbox(key="keep_generate_primer_style").value == "Second style"
    assert at.selectbox(key="keep_generate_primer_bundled_second").value == "bwv251.mid"
    at.number_input(key="keep_generate_notes").set_value(20).run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    recipe = at.session_state["generated"].recipe
    assert recipe.model.startswith("bundled:") and recipe.primer == "bundled:second/bwv251.mid"


def test_with_uploads_the_first_start_is_the_bundled_model_that_knows_them_best(registry):
    at = open_page("train", files=6)
    assert at.radio(key="keep_train_start_from_uploaded").value == "A bundled model"
    chosen = next(s for s in at.selectbox if s.label == "Bundled model")
    assert chosen.value in ("chorales", "second")  # the chorale model (twice) knows chorales; the noise does not
    assert chosen.options[-1].startswith("Noise")
    # Words on the page; every bundled model's figure, the noise's too, on hover.
    assert any("knows your music best" in c.value and "Noise" in c.proto.help for c in at.caption)
    # Five settings or fewer in view: the start, the model, the time limit (2 minutes) and Start; the rest under Advanced.
    assert [w.label for w in outside(at, "number_input")] == ["Train for at most (minutes)"]
    assert outside(at, "number_input")[0].value == 2.0
    assert [w.label for w in outside(at, "selectbox")] == ["Bundled model"]
    assert {w.label for w in at.expander[0].number_input} >= {"Passes through the music (at most)", "Seed"}
    # "A new network" and the presets stay one click away.
    at.radio(key="keep_train_start_from_uploaded").set_value("A new network").run()
    assert [w.label for w in outside(at, "selectbox")] == ["Preset"]


def test_the_held_out_files_are_named_and_a_rough_score_is_said_so(registry):
    at = open_page("train", files=10)
    held = next(c.value for c in at.caption if c.value.startswith("Held out to score the model"))
    assert held.count(".mid") == 2
    at = open_page("train", files=2)
    assert any("the held-out score is rough" in c.value for c in at.caption)


def test_dataset_offers_another_styles_bundled_sample_as_training_data(registry):
    at = open_page("dataset")
    at.radio(key="keep_dataset_source").set_value("A bundled sample of another style").run()
    assert not at.exception
    assert at.selectbox(key="keep_dataset_sample_style").options == ["Second style"]
    assert at.metric[0].value == "2"  # the sample's two files
    at.switch_page("pages/train.py").run()
    assert "2 usable files (the bundled Second style sample)" in at.caption[0].value
