"""musicrnn.explain: windows, the model description, predictions and the reshaped distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers_models import OLDER, synthetic_tables, walk_notes
from musicrnn import explain
from musicrnn.config import preset
from musicrnn.dataset import Corpus, flatten, window_batch
from musicrnn.features import feature_count
from musicrnn.generate import Sampling, Uniforms, allowed_pitches, sample_pitches, sampling_distribution
from musicrnn.infer import LinearHead, LSTMWeights, NumpyModel
from musicrnn.parts import PART_CLASSES, PART_NAMES
from musicrnn.plots.explain import cross_entropy_chart, distribution_chart, window_roll
from musicrnn.plots.metrics import evaluation_table
from musicrnn.theory import note_name


def numpy_model(preset_name: str = "tiny", seed: int = 0, **overrides) -> NumpyModel:
    """A NumpyModel with random weights of the preset's shapes, as before ordered heads (no TensorFlow)."""
    cfg = preset(preset_name, **{**OLDER, **overrides})
    rng = np.random.default_rng(seed)
    width = (cfg.embedding_dim if cfg.pitch_input == "embedding" else 1) + feature_count(cfg)
    lstms = []
    for _ in range(cfg.layers):
        lstms.append(
            LSTMWeights(
                rng.normal(0, 0.2, (width, 4 * cfg.units)).astype(np.float32),
                rng.normal(0, 0.2, (cfg.units, 4 * cfg.units)).astype(np.float32),
                rng.normal(0, 0.2, 4 * cfg.units).astype(np.float32),
            )
        )
        width = cfg.units
    vectors = rng.normal(0, 0.5, (128, cfg.embedding_dim if cfg.pitch_input == "embedding" else 1)).astype(np.float32)
    table = vectors @ lstms[0].kernel[: vectors.shape[1]]
    time_width = cfg.rhythm_classes if cfg.beats else 1
    sizes = {"pitch": 128, "step": time_width, "duration": time_width} | ({"part": PART_CLASSES} if cfg.parts else {})
    heads = {
        name: LinearHead(
            rng.normal(0, 0.3, (cfg.units, size)).astype(np.float32), rng.normal(0, 0.1, size).astype(np.float32)
        )
        for name, size in sizes.items()
    }
    embedding = vectors.size if cfg.pitch_input == "embedding" else 0
    info = {"train_files": ["walk-1"], "val_files": ["walk-0"]}
    return NumpyModel(cfg, table, lstms, heads, info, embedding_parameters=embedding)


@pytest.fixture(scope="module")
def model() -> NumpyModel:
    return numpy_model(layers=2, dropout=0.2)


@pytest.fixture(scope="module")
def notes() -> pd.DataFrame:
    return walk_notes(seed=3, count=60)


def test_a_window_is_L_notes_and_the_next_one(model, notes):
    L = model.cfg.seq_length
    window = explain.training_window(notes, 5, model.cfg)
    assert window.length == L
    assert list(window.notes.index) == list(range(5, 5 + L))
    assert int(window.target["pitch"]) == int(notes["pitch"].iloc[5 + L])
    assert explain.window_count(notes, L) == len(notes) - L


def test_window_features_match_what_training_feeds(model, notes):
    """Features are encoded on the whole file, then cut, exactly as dataset.flatten/window_batch do."""
    corpus = Corpus.from_tables([("f", notes)])
    inputs, targets = window_batch(flatten(corpus, model.cfg), np.array([7]), model.cfg.seq_length)
    window = explain.training_window(notes, 7, model.cfg)
    np.testing.assert_array_equal(window.pitch, inputs["pitch_input"][0])
    np.testing.assert_array_equal(window.features, inputs["features"][0])
    assert int(window.target["pitch"]) == int(targets["pitch"][0, -1])


@pytest.mark.parametrize("start", [-1, 10_000])
def test_a_window_outside_the_file_is_refused(model, notes, start):
    with pytest.raises(ValueError, match="a window can start"):
        explain.training_window(notes, start, model.cfg)


def test_a_file_shorter_than_a_window_is_refused(model):
    with pytest.raises(ValueError, match="a window needs"):
        explain.training_window(walk_notes(seed=1, count=model.cfg.seq_length), 0, model.cfg)


def test_window_table_ends_with_the_target(model, notes):
    table = explain.window_table(explain.training_window(notes, 0, model.cfg), model.cfg)
    assert len(table) == model.cfg.seq_length + 1
    assert table["role"].iloc[-1].startswith("target")
    features = list(explain.RICH_FEATURES + explain.BEAT_FEATURES)
    assert list(table.columns[3 : 3 + len(features)]) == features
    assert list(table.columns[-PART_CLASSES:]) == [f"part: {name}" for name in PART_NAMES]  # its part, one-hot


@pytest.mark.parametrize("name, overrides", [("tiny", {"layers": 2, "dropout": 0.2}), ("tutorial", {"units": 16})])
def test_layer_parameter_counts_add_up_to_the_model(name, overrides):
    model = numpy_model(name, **overrides)
    layers = explain.model_layers(model)
    assert sum(layer.parameters for layer in layers) == model.parameter_count()
    heads = ["pitch head", "step head", "duration head"] + (["part head"] if model.cfg.parts else [])
    assert [layer.name for layer in layers if layer.kind == "head"] == heads
    assert sum(layer.name.startswith("LSTM") for layer in layers) == model.cfg.layers
    assert ("pitch embedding" in [layer.name for layer in layers]) == (model.cfg.pitch_input == "embedding")


def test_model_dot_draws_inputs_to_lstms_to_heads(model):
    dot = explain.model_dot(model)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for edge in (
        '"concatenate" -> "LSTM 1"',
        '"LSTM 1" -> "LSTM 2"',
        '"LSTM 2" -> "pitch head"',
        '"LSTM 2" -> "duration head"',
    ):
        assert edge in dot
    assert "dropout 20%" in dot
    assert f"{model.parameter_count():,} parameters in all" in dot


def test_prediction_is_the_softmax_of_the_last_position(model, notes):
    window = explain.training_window(notes, 3, model.cfg)
    prediction = explain.predict(model, window)
    out = model.forward(window.pitch[None], window.features[None])
    logits = out["pitch"][0, -1].astype(np.float64)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(prediction.probs, expected, rtol=1e-12)
    assert prediction.probs.sum() == pytest.approx(1.0)
    # A beats model's predicted step is its likeliest class, in beats.
    assert prediction.unit == "beats"
    assert prediction.step == pytest.approx(out["step"][0, -1].argmax() / 12)
    assert prediction.true_pitch == int(window.target["pitch"])
    assert prediction.loss == pytest.approx(-np.log(prediction.probs[prediction.true_pitch]))
    assert prediction.true_rank == 1 + int((prediction.probs > prediction.probs[prediction.true_pitch]).sum())


def test_reshaped_distribution_follows_the_controls(model, notes):
    prediction = explain.predict(model, explain.training_window(notes, 0, model.cfg))
    plain = explain.reshaped(prediction, Sampling(temperature=1.0))
    np.testing.assert_allclose(plain, prediction.probs, atol=1e-12)  # temperature 1, no limits: unchanged
    assert explain.candidates(explain.reshaped(prediction, Sampling(top_k=3))) == 3
    greedy = explain.reshaped(prediction, Sampling(temperature=0))
    assert greedy.argmax() == prediction.probs.argmax() and greedy.max() == 1.0
    cold = explain.reshaped(prediction, Sampling(temperature=0.5))
    assert cold.max() > plain.max()
    assert explain.distribution_entropy(cold) < explain.distribution_entropy(plain)
    nucleus = explain.reshaped(prediction, Sampling(top_p=0.5, temperature=1.0))
    kept = nucleus > 0
    assert prediction.probs[kept].sum() >= 0.5 and nucleus.sum() == pytest.approx(1.0)
    keyed = explain.reshaped(prediction, Sampling(key="C:major", pitch_low=48, pitch_high=72))
    assert not keyed[~allowed_pitches(Sampling(key="C:major", pitch_low=48, pitch_high=72))].any()


def test_sampling_draws_from_the_distribution_the_page_shows():
    """sample_pitches and the chart share sampling_distribution: draw frequencies match it."""
    logits = np.random.default_rng(0).normal(0, 2, (1, 128))
    settings = Sampling(temperature=0.8, top_k=6, top_p=0.9)
    mask = np.ones(128, bool)
    probs = sampling_distribution(logits, settings, mask)[0]
    rngs = Uniforms([np.random.default_rng(1)])
    draws = (
        np.bincount([int(sample_pitches(logits, settings, mask, rngs)[0]) for _ in range(4000)], minlength=128) / 4000
    )
    assert set(np.flatnonzero(draws)) <= set(np.flatnonzero(probs))
    np.testing.assert_allclose(draws, probs, atol=0.03)


def test_top_notes_are_named_and_sorted():
    probs = np.zeros(128)
    probs[[60, 64, 67]] = [0.2, 0.5, 0.3]
    top = explain.top_notes(probs, 5)
    assert list(top["note"]) == ["E4", "G4", "C4"]  # zero-probability pitches are left out


def test_loss_numbers_fit_baselines_without_the_file(model):
    tables = synthetic_tables(files=4, notes=80)
    corpus = Corpus.from_tables(tables)
    name, notes = tables[1]
    numbers = explain.loss_numbers(model, name, notes, corpus)
    assert numbers.reference_files == 3
    assert numbers.baselines["uniform"] == pytest.approx(np.log(128))
    assert numbers.model["notes"] == len(notes) - 1
    assert numbers.seen_in_training is (name in model.info["train_files"])
    table = evaluation_table(numbers.model, numbers.baselines, numbers.baselines_top1)
    assert list(table.index) == ["model", "uniform", "unigram", "bigram"]


def test_figures_build(model, notes):
    window = explain.training_window(notes, 4, model.cfg)
    prediction = explain.predict(model, window)
    roll = window_roll(notes, 4, model.cfg.seq_length)
    assert [trace.name.split(" ")[0] for trace in roll.data] == ["other", "window", "target"]
    assert len(roll.data[1].y) == model.cfg.seq_length and len(roll.data[2].y) == 1
    sampled = explain.reshaped(prediction, Sampling(top_k=3))
    chart = distribution_chart(prediction.probs, sampled, prediction.true_pitch)
    labels = [annotation.text for annotation in chart.layout.annotations]
    assert sum(label.startswith("true next note") for label in labels) == 1
    named = set(explain.top_notes(sampled, 3)["note"]) - {note_name(prediction.true_pitch)}
    assert {label.split(" ")[0] for label in labels if not label.startswith("true")} == named
    numbers = explain.loss_numbers(model, "walk", notes, Corpus.from_tables(synthetic_tables(3, 60)))
    assert len(cross_entropy_chart(evaluation_table(numbers.model, numbers.baselines)).data[0].y) == 4


def test_the_guessing_chart_names_each_guesser_in_words_and_counts_pitches_not_nats():
    import math

    import pandas as pd

    from musicrnn.plots.explain import guessing_chart
    from musicrnn.verdict import GUESSERS

    rows = pd.DataFrame(
        {"cross-entropy (nats)": [math.log(4), math.log(128), math.log(16)]}, index=["model", "uniform", "bigram"]
    )
    (bars,) = guessing_chart(rows, GUESSERS).data
    assert list(bars.y) == ["the network", "a blind guess", "counting which note follows which"]
    assert [round(x) for x in bars.x] == [4, 128, 16] and list(bars.text) == ["4 pitches", "128 pitches", "16 pitches"]


def test_a_window_of_a_model_that_reads_chords_from_the_top_is_read_so():
    """The "How it works" page's window is what the model reads: each chord top-down for a "down" model."""
    from musicrnn.bundled import CHORALES, DEFAULT_PRIMER
    from musicrnn.features import in_chord_order
    from musicrnn.midi_load import midi_to_notes

    notes = midi_to_notes(CHORALES / DEFAULT_PRIMER)
    cfg = preset("tiny", chord_order="down")
    window = explain.training_window(notes, 5, cfg)
    top_down = in_chord_order(notes, "down")["pitch"].to_numpy()
    np.testing.assert_array_equal(window.pitch, top_down[5 : 5 + cfg.seq_length])
    assert not np.array_equal(window.pitch, notes["pitch"].to_numpy()[5 : 5 + cfg.seq_length])
