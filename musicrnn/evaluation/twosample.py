"""Can the statistics tell two sets of pieces apart? A classifier two-sample test (Lopez-Paz & Oquab, 2017).

A plain logistic regression with an L2 penalty is trained on the standardised statistics of both sets, with
stratified k-fold cross-validation: each piece is scored by a classifier that never saw it, and the ROC AUC of
those scores says how well the sets are told apart: 0.5 when they cannot be (two samples of one kind of
music), 1.0 when every piece of one set scores above every piece of the other. Repeating the folds with other
shuffles and averaging steadies the figure on small sets. Numpy only (Newton's method on the penalised
likelihood); a statistic missing in a piece (NaN) takes the training folds' mean.
"""

from __future__ import annotations

import numpy as np

L2 = 1.0  # penalty on the weights of standardised statistics (scikit-learn's default, C = 1)
FOLDS = 5
REPEATS = 5
NEWTON_STEPS = 50


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative (ties
    count half), from the ranks (Mann-Whitney U)."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        raise ValueError("the AUC needs scores of both classes")
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # tied scores share their mean rank
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def stratified_folds(labels: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Each sample's fold (0 … folds-1), the classes dealt out evenly over the folds in a shuffled order."""
    labels = np.asarray(labels)
    fold = np.empty(len(labels), np.int64)
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return fold


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """(weights, intercept) minimising the logistic loss summed over samples + l2/2 · |weights|² (the intercept
    is not penalised), by Newton's method."""
    n, features = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(features + 1)
    penalty = np.full(features + 1, l2)
    penalty[-1] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -500, 500)))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def _standardised(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets centred and scaled by the training set's mean and spread; NaN becomes the mean (0)."""
    known = ~np.isnan(train)
    mean = np.where(known, train, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
    train, test = np.where(np.isnan(train), mean, train), np.where(np.isnan(test), mean, test)
    spread = train.std(axis=0)
    spread[spread == 0] = 1.0  # a statistic constant in training tells nothing: it stays 0
    return (train - mean) / spread, (test - mean) / spread


def held_out_scores(x: np.ndarray, y: np.ndarray, fold: np.ndarray, l2: float = L2) -> np.ndarray:
    """Each sample's score from the classifier trained on the other folds."""
    scores = np.empty(len(y))
    for k in np.unique(fold):
        test = fold == k
        train_x, test_x = _standardised(x[~test], x[test])
        weights, intercept = fit_logistic(train_x, y[~test], l2)
        scores[test] = test_x @ weights + intercept
    return scores


def classifier_auc(
    first: np.ndarray, second: np.ndarray, folds: int = FOLDS, repeats: int = REPEATS, seed: int = 0, l2: float = L2
) -> dict[str, float | int | list[int]]:
    """How well a cross-validated logistic regression tells `second` (rows: pieces, columns: statistics) from
    `first`: the ROC AUC of the held-out scores, mean and spread over `repeats` shuffles of the folds, and the
    smallest and largest."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    x = np.vstack([first, second])
    y = np.concatenate([np.zeros(len(first)), np.ones(len(second))])
    folds = min(folds, len(first), len(second))
    if folds < 2:
        raise ValueError("the classifier test needs at least two pieces in each set")
    rng = np.random.default_rng(seed)
    aucs = [roc_auc(held_out_scores(x, y, stratified_folds(y, folds, rng), l2), y.astype(bool)) for _ in range(repeats)]
    return {
        "auc": float(np.mean(aucs)),
        "auc_std": float(np.std(aucs)),
        "auc_min": float(np.min(aucs)),
        "auc_max": float(np.max(aucs)),
        "folds": folds,
        "repeats": repeats,
        "pieces": [len(first), len(second)],
    }
