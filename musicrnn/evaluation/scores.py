"""How good is a model? Per-note pitch cross-entropy against honest baselines, plus rhythm.

All cross-entropies are in nats per predicted note, over the same notes: every note of every evaluation
file except its first (the first has no previous pitch for the bigram to use). Beats models predict rhythm
as classes, so their step and duration get the same treatment (negative log-likelihood and top-1 next to a
unigram and a bigram over the same classes); seconds models keep their squared errors. Parts models' part
head likewise, next to a unigram and a bigram (previous note's part) over parts.
"""

from __future__ import annotations

import numpy as np

from ..config import Config
from ..dataset import Corpus
from ..features import clip_times, encode_timed, file_key, next_note_targets, note_classes, rhythm_class
from ..parts import PART_CLASSES
from ..theory import PITCH_CLASSES


class TooFewNotes(ValueError):
    """No file has the two notes a score needs (a corpus of one-note files, or none)."""


def _unigram(sequences: list[np.ndarray], classes: int, alpha: float = 1.0) -> np.ndarray:
    counts = np.bincount(np.concatenate(sequences), minlength=classes).astype(np.float64) + alpha
    return counts / counts.sum()


def _bigram(sequences: list[np.ndarray], classes: int, alpha: float = 0.1) -> np.ndarray:
    counts = np.zeros((classes, classes))
    for values in sequences:
        np.add.at(counts, (values[:-1], values[1:]), 1.0)
    smoothed = counts + alpha * classes * _unigram(sequences, classes)[None, :]
    return smoothed / smoothed.sum(axis=1, keepdims=True)


def unigram_probs(train: Corpus, alpha: float = 1.0) -> np.ndarray:
    """Pitch frequencies of the training notes, add-alpha smoothed."""
    return _unigram(train.pitch, PITCH_CLASSES, alpha)


def bigram_probs(train: Corpus, alpha: float = 0.1) -> np.ndarray:
    """P(pitch | previous pitch) from training files, smoothed towards the unigram. Shape (128, 128)."""
    return _bigram(train.pitch, PITCH_CLASSES, alpha)


def rhythm_sequences(corpus: Corpus, cfg: Config, head: str) -> list[np.ndarray]:
    """Each file's step or duration classes on the model's beat grid."""
    values = corpus.step_beats if head == "step" else corpus.duration_beats
    return [rhythm_class(v, cfg) for v in values]


def rhythm_baselines(train: Corpus, evaluation: Corpus, cfg: Config) -> dict[str, dict[str, float]]:
    """For step and duration classes: uniform, unigram and bigram (previous class) NLL and top-1 on
    `evaluation`, fitted on `train`, over the notes model_scores scores."""
    report = {}
    for head in ("step", "duration"):
        fitted, scored = rhythm_sequences(train, cfg, head), rhythm_sequences(evaluation, cfg, head)
        unigram, bigram = _unigram(fitted, cfg.rhythm_classes), _bigram(fitted, cfg.rhythm_classes)
        previous = np.concatenate([v[:-1] for v in scored])
        target = np.concatenate([v[1:] for v in scored])
        report[head] = {
            "uniform_nll": float(np.log(cfg.rhythm_classes)),
            "unigram_nll": float(-np.log(unigram[target]).mean()),
            "bigram_nll": float(-np.log(bigram[previous, target]).mean()),
            "unigram_top1": float((target == unigram.argmax()).mean()),
            "bigram_top1": float((target == bigram.argmax(axis=1)[previous]).mean()),
        }
    return report


def part_baselines(train: Corpus, evaluation: Corpus) -> dict[str, float]:
    """Unigram and bigram (previous note's part) NLL and top-1 of the next note's part on `evaluation`,
    fitted on `train`, over the notes model_scores scores."""
    fitted, scored = train.part, evaluation.part
    unigram, bigram = _unigram(fitted, PART_CLASSES), _bigram(fitted, PART_CLASSES)
    previous = np.concatenate([v[:-1] for v in scored])
    target = np.concatenate([v[1:] for v in scored])
    return {
        "uniform_nll": float(np.log(PART_CLASSES)),
        "unigram_nll": float(-np.log(unigram[target]).mean()),
        "bigram_nll": float(-np.log(bigram[previous, target]).mean()),
        "unigram_top1": float((target == unigram.argmax()).mean()),
        "bigram_top1": float((target == bigram.argmax(axis=1)[previous]).mean()),
    }


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


def field_log_probs(
    model, pitch: np.ndarray, numeric: np.ndarray, key: np.ndarray | None, targets: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per field, (B, T) the log-probability the model gives each position's target class (the next note's
    field; 0 where the target is -1, nothing), reading the inputs of (B, T) pitches and (B, T, F) features
    from a fresh state. An ordered model's later heads are given the true earlier fields (teacher forcing),
    so the fields' sum is the note's joint log-likelihood. Beats models only."""
    return target_log_probs(model.forward(pitch, numeric, key, given=targets), targets)


def target_log_probs(out: dict[str, np.ndarray], targets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per field, the log-probability of each position's target class in a forward pass's logits `out`
    (0 where the target is -1)."""
    logp = {}
    for field, logits in out.items():
        target = targets[field]
        scored = log_softmax(logits.astype(np.float64))
        taken = np.take_along_axis(scored, np.maximum(target, 0)[..., None], axis=-1)[..., 0]
        logp[field] = np.where(target >= 0, taken, 0.0)
    return logp


def model_scores(model, evaluation: Corpus, train: Corpus | None = None) -> dict[str, float]:
    """Pitch cross-entropy, perplexity and top-1 accuracy of a (numpy) model over whole files; for a beats
    model its step and duration NLL and top-1 and the joint NLL of whole notes (every field's, summed: what
    an ordered model's fields, each knowing the ones before, are scored on), for a seconds model the squared
    errors of its times next to that of always predicting the training mean."""
    cfg = model.cfg
    if not cfg.beats:
        return _seconds_scores(model, evaluation, train)
    evaluation = evaluation.in_chord_order(cfg.chord_order)
    nll: dict[str, list] = {}
    hits: dict[str, list] = {}
    ends: list[float] = []
    for index, pitch in enumerate(evaluation.pitch):
        if len(pitch) < 2:
            continue
        timing = evaluation.timing(index, cfg)
        key = file_key(pitch, evaluation.duration_beats[index]) if cfg.key_input else None
        numeric = encode_timed(pitch, timing, cfg, evaluation.part[index], key)
        targets = next_note_targets(note_classes(pitch, timing, evaluation.part[index], cfg), cfg)
        # Every note is read but the last, which predicts nothing, unless the model learned endings.
        read = len(pitch) if cfg.end_class else len(pitch) - 1
        batch = {field: values[None, :read] for field, values in targets.items()}
        out = model.forward(pitch[None, :read], numeric[None, :read], key, given=batch)
        logp = target_log_probs(out, batch)
        notes = len(pitch) - 1  # every note after the first is scored (the end of the piece on its own)
        for field in out:
            nll.setdefault(field, []).append(-logp[field][0, :notes])
            hits.setdefault(field, []).append(out[field][0, :notes].argmax(axis=-1) == targets[field][:notes])
        if cfg.end_class:
            ends.append(float(-logp["step"][0, -1]))
    if not nll:
        raise TooFewNotes("no evaluation file has two or more notes")
    loss = float(np.concatenate(nll["pitch"]).mean())
    scores = {
        "pitch_cross_entropy": loss,
        "pitch_perplexity": float(np.exp(loss)),
        "pitch_top1": float(np.concatenate(hits["pitch"]).mean()),
        "notes": int(sum(len(values) for values in nll["pitch"])),
        "files": int(len(nll["pitch"])),
    }
    for field in ("step", "duration", "part"):
        if field in nll:
            scores[f"{field}_nll"] = float(np.concatenate(nll[field]).mean())
            scores[f"{field}_top1"] = float(np.concatenate(hits[field]).mean())
    scores["joint_nll"] = float(np.sum([np.concatenate(values) for values in nll.values()], axis=0).mean())
    if ends:  # how surprised the model is that each file ends where it does (nats per file)
        scores["end_nll"] = float(np.mean(ends))
    return scores


def _seconds_scores(model, evaluation: Corpus, train: Corpus | None) -> dict[str, float]:
    """model_scores for a seconds model: pitch cross-entropy and top-1, and its times' squared errors."""
    cfg = model.cfg
    losses, hits = [], []
    rhythm: dict[str, list] = {"step": [], "duration": []}
    part_losses, part_hits = [], []
    for index, pitch in enumerate(evaluation.pitch):
        if len(pitch) < 2:
            continue
        timing = evaluation.timing(index, cfg)
        numeric = encode_timed(pitch, timing, cfg, evaluation.part[index])
        out = model.forward(pitch[None, :-1], numeric[None, :-1])
        logp = log_softmax(out["pitch"][0].astype(np.float64))
        target = pitch[1:]
        losses.append(-logp[np.arange(len(target)), target])
        hits.append(logp.argmax(axis=1) == target)
        for head, values in (("step", timing.step), ("duration", timing.duration)):
            rhythm[head].append(_time_error(out[head][0], values[1:], cfg))
        if "part" in out:
            part_logp, part_target = log_softmax(out["part"][0].astype(np.float64)), evaluation.part[index][1:]
            part_losses.append(-part_logp[np.arange(len(part_target)), part_target])
            part_hits.append(part_logp.argmax(axis=1) == part_target)
    if not losses:
        raise TooFewNotes("no evaluation file has two or more notes")
    loss = float(np.concatenate(losses).mean())
    scores = {
        "pitch_cross_entropy": loss,
        "pitch_perplexity": float(np.exp(loss)),
        "pitch_top1": float(np.concatenate(hits).mean()),
        "notes": int(sum(len(l) for l in losses)),
        "files": int(len(losses)),
    }
    if part_losses:
        scores["part_nll"] = float(np.concatenate(part_losses).mean())
        scores["part_top1"] = float(np.concatenate(part_hits).mean())
    reference = train if train is not None and len(train) else evaluation
    for head in ("step", "duration"):
        errors, truth = (np.concatenate([part[i] for part in rhythm[head]]) for i in (0, 1))
        mean = float(clip_times(np.concatenate(getattr(reference, head)), cfg).mean())
        scores[f"{head}_mse"] = float((errors**2).mean())
        scores[f"{head}_mse_predicting_mean"] = float(((truth - mean) ** 2).mean())
    return scores


def pitch_losses(model, evaluation: Corpus, max_notes: int | None = None) -> np.ndarray:
    """Per-note pitch negative log-likelihood (nats) over the notes model_scores scores, or each file's first
    `max_notes` of them: every file in one batch (padded at the end, which an LSTM reading forwards never sees),
    so scoring many short files costs one pass of the longest. An ordered model's pitch head is given the true
    earlier fields, as in model_scores."""
    cfg = model.cfg
    evaluation = evaluation.in_chord_order(cfg.chord_order)
    rows = []  # per file: (pitch inputs, feature inputs, key, next-note targets), cut to the notes scored
    for index, pitch in enumerate(evaluation.pitch):
        if len(pitch) < 2:
            continue
        timing = evaluation.timing(index, cfg)
        key = file_key(pitch, evaluation.duration_beats[index]) if cfg.beats and cfg.key_input else None
        numeric = encode_timed(pitch, timing, cfg, evaluation.part[index], key)
        if cfg.beats:
            targets = next_note_targets(note_classes(pitch, timing, evaluation.part[index], cfg), cfg)
        else:
            targets = {"pitch": np.r_[pitch[1:], -1]}
        scored = min(len(pitch) - 1, max_notes or len(pitch))
        rows.append((pitch[:scored], numeric[:scored], key, {f: v[:scored] for f, v in targets.items()}))
    if not rows:
        raise TooFewNotes("no file has two or more notes")
    steps = max(len(row[0]) for row in rows)
    pitch_in = np.zeros((len(rows), steps), np.int64)
    numeric_in = np.zeros((len(rows), steps, rows[0][1].shape[1]), np.float32)
    given = {field: np.full((len(rows), steps), -1, np.int64) for field in rows[0][3]}
    for r, (pitch, numeric, _, targets) in enumerate(rows):
        pitch_in[r, : len(pitch)], numeric_in[r, : len(pitch)] = pitch, numeric
        for field, values in targets.items():
            given[field][r, : len(pitch)] = values
    keys = np.array([row[2] for row in rows], np.int64) if rows[0][2] is not None else None
    if cfg.beats:
        logp = field_log_probs(model, pitch_in, numeric_in, keys, given)["pitch"]
    else:
        logp = target_log_probs({"pitch": model.forward(pitch_in, numeric_in)["pitch"]}, {"pitch": given["pitch"]})[
            "pitch"
        ]
    return np.concatenate([-logp[r, : len(row[0])] for r, row in enumerate(rows)])


def joint_baselines(train: Corpus, evaluation: Corpus, cfg: Config) -> dict[str, float]:
    """What counting gives for a whole note (nats, the fields' NLLs summed, over the notes model_scores
    scores): every field by its unigram, and every field by its bigram (the same field of the previous note)."""
    rhythm = rhythm_baselines(train, evaluation, cfg)
    pitch = baseline_cross_entropy(train, evaluation)
    parts = part_baselines(train, evaluation) if cfg.parts else {}
    return {
        kind: pitch[kind]
        + rhythm["step"][f"{kind}_nll"]
        + rhythm["duration"][f"{kind}_nll"]
        + (parts[f"{kind}_nll"] if parts else 0.0)
        for kind in ("unigram", "bigram")
    }


def _time_error(predicted: np.ndarray, true: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Beats: per-note (negative log-likelihood of the true class, hit of the likeliest). Seconds: per-note
    (prediction error, true value), both clipped as in training."""
    if cfg.beats:
        logp = log_softmax(predicted.astype(np.float64))
        classes = rhythm_class(true, cfg)
        return -logp[np.arange(len(classes)), classes], logp.argmax(axis=1) == classes
    truth = clip_times(true, cfg)
    return predicted[:, 0] - truth, truth


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
