"""The registry of bundled models (musicrnn.styles): names, files, samples and their licences (no TensorFlow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from musicrnn import styles
from musicrnn.bundled import DEFAULT_MODEL

SAMPLE_LIMIT = 1_000_000  # each style's bundled sample stays well under 1 MB


def write_registry(folder: Path, models: dict, default: str = "chorales") -> Path:
    path = folder / "models.json"
    path.write_text(json.dumps({"default": default, "models": models}))
    return path


@pytest.fixture
def two_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry holding the committed default model twice: as "chorales" and as "second" (with a sample)."""
    shutil.copy(DEFAULT_MODEL, tmp_path / "second.keras")
    (tmp_path / "second.json").write_text(
        json.dumps(
            {
                "evaluation": {
                    "model": {"pitch_cross_entropy": 1.5, "files": 3, "notes": 300},
                    "baselines": {"bigram": 2.5},
                    "chorale_model": {"pitch_cross_entropy": 3.0},
                }
            }
        )
    )
    sample = tmp_path / "second-sample"
    sample.mkdir()
    for name in ("bwv269.mid", "bwv250.mid"):
        shutil.copy(styles.ASSETS / "chorales" / name, sample / name)
    path = write_registry(
        tmp_path,
        {
            "chorales": {
                "title": "Bach chorales",
                "file": str(DEFAULT_MODEL),
                "sample": str(styles.ASSETS / "chorales"),
                "primer": "bwv269.mid",
                "data": "chorales",
                "licence": "public domain",
            },
            "second": {
                "title": "Second style",
                "file": "second.keras",
                "sample": "second-sample",
                "primer": "bwv250.mid",
                "data": "two chorales",
                "licence": "public domain",
            },
            "missing": {"title": "Not trained yet", "file": "missing.keras", "sample": None, "home": False},
        },
    )
    monkeypatch.setenv(styles.REGISTRY_VARIABLE, str(path))
    return path


def test_the_committed_registry_names_every_style_and_the_chorales_are_its_default():
    models = styles.registry(styles.REGISTRY)
    assert models.default == "chorales" and models.get("default").file == DEFAULT_MODEL
    assert {"chorales", "folk", "renaissance", "quartets", "general"} <= set(models.models)
    assert all(m.title and m.data and m.licence for m in models.models.values())
    assert not models.get("general").home  # a start for fine-tuning, not a style offered on Home


def test_every_bundled_model_records_its_held_out_figures_beating_the_bigram():
    """What `models` lists and the README quotes: each bundled model's sidecar keeps its evaluation."""
    for model in styles.registry(styles.REGISTRY).present():
        figures = styles.model_figures(model)
        assert figures.get("files", 0) >= 2 and figures["model"] < figures["bigram"], model.name


def test_each_bundled_sample_has_its_licence_and_stays_small():
    for model in styles.registry(styles.REGISTRY).models.values():
        if model.sample is None or model.name == "chorales":  # the chorales are the whole bundled corpus
            continue
        files = model.sample_files()
        assert files, f"{model.name}: no sample in {model.sample}"
        assert (model.sample / "LICENSE.md").is_file()
        assert sum(f.stat().st_size for f in files) < SAMPLE_LIMIT
        assert model.primer_path() in files


def test_a_second_name_in_another_registry_is_a_bundled_model(two_models):
    models = styles.registry()
    assert [m.name for m in models.present()] == ["chorales", "second"]
    assert styles.model_path("second") == two_models.parent / "second.keras"
    assert styles.model_path("default") == DEFAULT_MODEL
    assert styles.name_of(two_models.parent / "second.keras") == "second"
    assert models.get("second").primer_path().name == "bwv250.mid"


def test_an_unknown_name_is_a_path_and_a_missing_file_says_how_to_make_it(two_models):
    assert styles.model_path("elsewhere/mine.keras") == Path("elsewhere/mine.keras")
    with pytest.raises(styles.UnknownModel, match="'missing' .*is not in this copy.*make style-models"):
        styles.model_path("missing")
    with pytest.raises(styles.UnknownModel, match="bundled models are chorales, second, missing"):
        styles.registry().get("nope")


def test_sample_files_are_found_by_recipe_name_and_never_outside_a_sample(two_models):
    assert styles.sample_file("bwv269.mid").parent == styles.ASSETS / "chorales"
    assert styles.sample_file("second/bwv250.mid") == two_models.parent / "second-sample" / "bwv250.mid"
    for bad in ("../models.json", "second/../second.keras", "second/nope.mid", "nope/bwv250.mid", "missing/x.mid"):
        with pytest.raises(ValueError):
            styles.sample_file(bad)
    second = styles.registry().get("second")
    assert styles.sample_name(second, second.primer_path()) == "second/bwv250.mid"


def test_held_out_figures_are_read_from_the_sidecar(two_models):
    figures = styles.model_figures(styles.registry().get("second"))
    assert figures == {"files": 3, "notes": 300, "model": 1.5, "top1": None, "bigram": 2.5, "chorales": 3.0}
    assert styles.model_figures(styles.registry().get("missing")) == {}


def test_a_damaged_registry_says_which_file(tmp_path, monkeypatch):
    (tmp_path / "models.json").write_text("{not json")
    monkeypatch.setenv(styles.REGISTRY_VARIABLE, str(tmp_path / "models.json"))
    with pytest.raises(styles.UnknownModel, match="models.json is damaged"):
        styles.registry()
