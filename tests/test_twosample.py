"""The classifier two-sample test: ROC AUC, folds, the penalised logistic regression, and its two answers."""

from __future__ import annotations

import numpy as np
import pytest

from musicrnn.evaluation.twosample import classifier_auc, fit_logistic, roc_auc, stratified_folds


def test_roc_auc_of_perfect_reversed_and_tied_scores():
    labels = np.array([0, 0, 1, 1], bool)
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert roc_auc(np.zeros(4), labels) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.zeros(3), np.ones(3, bool))


def test_roc_auc_is_the_share_of_positive_negative_pairs_ranked_right():
    rng = np.random.default_rng(0)
    scores, labels = np.round(rng.normal(size=60), 1), rng.random(60) < 0.4  # rounding makes ties
    pairs = [(p > n) + 0.5 * (p == n) for p in scores[labels] for n in scores[~labels]]
    assert roc_auc(scores, labels) == pytest.approx(np.mean(pairs))


def test_stratified_folds_share_each_class_out_evenly():
    labels = np.array([0] * 23 + [1] * 11)
    fold = stratified_folds(labels, 5, np.random.default_rng(1))
    for value in (0, 1):
        counts = np.bincount(fold[labels == value], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_logistic_fit_sets_the_penalised_gradient_to_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 6))
    y = (x[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(float)
    weights, intercept = fit_logistic(x, y, l2=1.0)
    p = 1 / (1 + np.exp(-(x @ weights + intercept)))
    assert np.allclose(x.T @ (p - y) + weights, 0, atol=1e-6) and abs((p - y).sum()) < 1e-6
    assert weights[0] > 1 and np.abs(weights[1:]).max() < weights[0] / 2  # it found the informative column


def test_classifier_tells_separable_sets_apart():
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=(40, 30)), rng.normal(size=(40, 30))
    second[:, :3] += 3.0  # three statistics differ by three standard deviations
    assert classifier_auc(first, second, seed=0)["auc"] > 0.95


def test_classifier_finds_nothing_between_two_samples_of_one_distribution():
    rng = np.random.default_rng(4)
    result = classifier_auc(rng.normal(size=(60, 10)), rng.normal(size=(60, 10)), seed=0)
    assert 0.35 < result["auc"] < 0.65 and result["pieces"] == [60, 60]


def test_missing_and_constant_statistics_do_not_break_the_test():
    rng = np.random.default_rng(5)
    first, second = rng.normal(size=(20, 4)), rng.normal(size=(20, 4)) + [4, 0, 0, 0]
    first[:, 1], second[:, 1] = np.nan, np.nan  # a statistic no piece has
    first[:, 2] = second[:, 2] = 7.0  # a statistic every piece has alike
    first[::3, 3] = np.nan
    assert classifier_auc(first, second, repeats=2)["auc"] > 0.95
    with pytest.raises(ValueError, match="two pieces"):
        classifier_auc(first[:1], second)
