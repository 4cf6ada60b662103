"""How good is a model? Per-note pitch cross-entropy against honest baselines, plus timing errors.

All cross-entropies are in nats per predicted note, over the same notes: every note of every evaluation
file except its first (the first has no previous pitch for the bigram to use).
"""
from __future__ import annotations

import numpy as np

from .config import PITCH_CLASSES
from .dataset import Corpus
from .features import clip_times, encode_sequence


def unigram_probs(train: Corpus, alpha: float = 1.0) -> np.ndarray:
    """Pitch frequencies of the training notes, add-alpha smoothed."""
    counts = np.bincount(np.concatenate(train.pitch), minlength=PITCH_CLASSES).astype(np.float64) + alpha
    return counts / counts.sum()


def bigram_probs(train: Corpus, alpha: float = 0.1) -> np.ndarray:
    """P(pitch | previous pitch) from training files, smoothed towards the unigram. Shape (128, 128)."""
    counts = np.zeros((PITCH_CLASSES, PITCH_CLASSES))
    for pitch in train.pitch:
        np.add.at(counts, (pitch[:-1], pitch[1:]), 1.0)
    unigram = unigram_probs(train)
    smoothed = counts + alpha * PITCH_CLASSES * unigram[None, :]
    return smoothed / smoothed.sum(axis=1, keepdims=True)


def baseline_cross_entropy(train: Corpus, evaluation: Corpus) -> dict[str, float]:
    """Uniform, unigram and bigram pitch cross-entropy (nats/note) on `evaluation`, fitted on `train`."""
    unigram, bigram = unigram_probs(train), bigram_probs(train)
    previous = np.concatenate([p[:-1] for p in evaluation.pitch])
    target = np.concatenate([p[1:] for p in evaluation.pitch])
    return {
        "uniform": float(np.log(PITCH_CLASSES)),
        "unigram": float(-np.log(unigram[target]).mean()),
        "bigram": float(-np.log(bigram[previous, target]).mean()),
    }


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def model_scores(model, evaluation: Corpus, train: Corpus | None = None) -> dict[str, float]:
    """Pitch cross-entropy, perplexity and top-1 accuracy of a (numpy) model over whole files, and its
    step/duration mean squared error next to that of always predicting the training mean."""
    cfg = model.cfg
    losses, hits, step_err, dur_err, step_true, dur_true = [], [], [], [], [], []
    for pitch, step, duration in zip(evaluation.pitch, evaluation.step, evaluation.duration):
        if len(pitch) < 2:
            continue
        numeric = encode_sequence(pitch, step, duration, cfg)
        out = model.forward(pitch[None, :-1], numeric[None, :-1])
        logp = log_softmax(out["pitch"][0].astype(np.float64))
        target = pitch[1:]
        losses.append(-logp[np.arange(len(target)), target])
        hits.append(logp.argmax(axis=1) == target)
        step_true.append(clip_times(step[1:], cfg))
        dur_true.append(clip_times(duration[1:], cfg))
        step_err.append(out["step"][0, :, 0] - step_true[-1])
        dur_err.append(out["duration"][0, :, 0] - dur_true[-1])
    if not losses:
        raise ValueError("no evaluation file has two or more notes")
    loss = float(np.concatenate(losses).mean())
    reference = train if train is not None and len(train) else evaluation
    step_mean = float(clip_times(np.concatenate(reference.step), cfg).mean())
    dur_mean = float(clip_times(np.concatenate(reference.duration), cfg).mean())
    steps, durs = np.concatenate(step_true), np.concatenate(dur_true)
    return {
        "pitch_cross_entropy": loss,
        "pitch_perplexity": float(np.exp(loss)),
        "pitch_top1": float(np.concatenate(hits).mean()),
        "step_mse": float((np.concatenate(step_err) ** 2).mean()),
        "step_mse_predicting_mean": float(((steps - step_mean) ** 2).mean()),
        "duration_mse": float((np.concatenate(dur_err) ** 2).mean()),
        "duration_mse_predicting_mean": float(((durs - dur_mean) ** 2).mean()),
        "notes": int(sum(len(l) for l in losses)),
        "files": int(len(losses)),
    }


def baseline_top1(train: Corpus, evaluation: Corpus) -> dict[str, float]:
    """How often each baseline's most likely pitch is the next note, over the notes `baseline_cross_entropy`
    scores (uniform: the chance of a blind guess, 1/128)."""
    unigram, bigram = unigram_probs(train), bigram_probs(train)
    previous = np.concatenate([p[:-1] for p in evaluation.pitch])
    target = np.concatenate([p[1:] for p in evaluation.pitch])
    return {
        "uniform": 1.0 / PITCH_CLASSES,
        "unigram": float((target == unigram.argmax()).mean()),
        "bigram": float((target == bigram.argmax(axis=1)[previous]).mean()),
    }
