"""The figures and tables comparing a model's music and scores with the corpus and with baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musicrnn.evaluation.musical import (
    METRIC_LABELS,
    corpus_metrics,
    corpus_time_histogram,
    piece_metrics,
    pitch_class_histogram,
    time_bin_labels,
)
from musicrnn.plots.metrics import (
    PERPLEXITY_EXPLANATION,
    duration_overlay,
    evaluation_table,
    metrics_table,
    pitch_class_overlay,
    time_overlay,
)
from test_musical import C_SCALE, corpus_of, table, triads  # the note-table helpers of the musical metrics' tests


def test_pitch_class_overlay_draws_the_corpus_and_each_variation():
    pieces = [table(C_SCALE), table([60, 60, 67])]
    figure = pitch_class_overlay(pieces, pitch_class_histogram(np.array(C_SCALE)))
    assert [t.name for t in figure.data] == ["corpus", "variation 1", "variation 2"]
    assert list(figure.data[0].x) == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    np.testing.assert_allclose(figure.data[2].y, pitch_class_histogram(np.array([60, 60, 67])))


def test_duration_and_step_overlays_use_the_shared_bins():
    corpus = corpus_of(table(C_SCALE))
    figure = duration_overlay(table([60, 62], duration=0.5), corpus_time_histogram(corpus, "duration"))
    assert [t.name for t in figure.data] == ["corpus", "generated"]
    assert list(figure.data[1].x) == time_bin_labels()
    assert figure.data[1].y[time_bin_labels().index("0.5 s")] == 1.0
    steps = time_overlay([table(C_SCALE)], corpus_time_histogram(corpus, "step"), "step", names=["mine"])
    assert steps.data[1].name == "mine" and steps.data[1].y[time_bin_labels().index("0.25 s")] == 1.0


def test_evaluation_table_lists_model_and_baselines():
    scores = {"pitch_cross_entropy": 1.0, "pitch_top1": 0.5}
    baselines = {"uniform": math.log(128), "unigram": 3.0, "bigram": 2.0}
    result = evaluation_table(scores, baselines, {"uniform": 1 / 128, "unigram": 0.1, "bigram": 0.3})
    assert list(result.index) == ["model", "uniform", "unigram", "bigram"]
    assert list(result.columns) == ["cross-entropy (nats)", "perplexity", "top-1"]
    assert result.loc["uniform", "perplexity"] == pytest.approx(128)
    assert result.loc["model", "perplexity"] == pytest.approx(math.e)
    assert result.loc["bigram", "top-1"] == 0.3
    assert evaluation_table(scores, baselines)["top-1"].isna().sum() == 3
    assert "perplexity" in PERPLEXITY_EXPLANATION.lower()


def test_metrics_table_has_a_row_per_metric_and_the_corpus_last():
    pieces = [piece_metrics(table(C_SCALE)), piece_metrics(triads())]
    result = metrics_table(pieces, corpus_metrics(corpus_of(table(C_SCALE))))
    assert list(result.columns) == ["variation 1", "variation 2", "corpus"]
    assert len(result) == len(METRIC_LABELS)
    assert result.loc["notes per onset", "variation 2"] == 3.0
