"""Baselines and model scores on examples small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers_models import OLDER
from musicrnn.config import preset
from musicrnn.dataset import Corpus
from musicrnn.evaluation.scores import (
    baseline_cross_entropy,
    baseline_top1,
    bigram_probs,
    model_scores,
    part_baselines,
    rhythm_baselines,
    unigram_probs,
)
from musicrnn.parts import PART_CLASSES


def corpus_of(*pitch_lists, step: float = 0.25) -> Corpus:
    return Corpus.from_tables(
        [(f"f{i}.mid", pd.DataFrame({"pitch": p, "step": step, "duration": 0.5})) for i, p in enumerate(pitch_lists)]
    )


# Training notes: 60 three times, 62 twice; transitions 60->62 once, 62->60 twice.
TRAIN = corpus_of([60, 62, 60], [62, 60])
# Evaluated transitions: 60->62 and 62->64 (64 never seen in training).
EVAL = corpus_of([60, 62, 64])


def test_unigram_is_add_one_smoothed_counts():
    probs = unigram_probs(TRAIN)
    assert probs[60] == pytest.approx(4 / 133)  # (3 + 1) / (5 + 128)
    assert probs[62] == pytest.approx(3 / 133)
    assert probs[0] == pytest.approx(1 / 133)
    assert probs.sum() == pytest.approx(1.0)


def test_bigram_rows_are_counts_smoothed_towards_the_unigram():
    probs = bigram_probs(TRAIN)  # row = counts + 0.1 * 128 * unigram, normalised
    assert probs[60, 62] == pytest.approx((1 + 12.8 * 3 / 133) / (1 + 12.8))
    assert probs[62, 60] == pytest.approx((2 + 12.8 * 4 / 133) / (2 + 12.8))
    assert probs[62, 64] == pytest.approx((12.8 / 133) / (2 + 12.8))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_baselines_on_a_hand_computed_example():
    scores = baseline_cross_entropy(TRAIN, EVAL)
    assert scores["uniform"] == pytest.approx(math.log(128))
    assert scores["unigram"] == pytest.approx(-(math.log(3 / 133) + math.log(1 / 133)) / 2)
    expected_bigram = -(math.log((1 + 12.8 * 3 / 133) / 13.8) + math.log((12.8 / 133) / 14.8)) / 2
    assert scores["bigram"] == pytest.approx(expected_bigram)


def test_baselines_skip_the_first_note_of_every_evaluation_file():
    # Two evaluation files: their first notes (64 and 62) have no previous pitch and are not scored.
    scores = baseline_cross_entropy(TRAIN, corpus_of([64, 60], [62, 60]))
    assert scores["unigram"] == pytest.approx(-math.log(4 / 133))


class NextPitchStub:
    """A fake model that gives probability P to "previous pitch + 1" and spreads the rest evenly,
    and always predicts step 0 and duration 1."""

    P = 0.6

    def __init__(self, time_unit: str = "seconds"):
        self.cfg = preset("tiny", time_unit=time_unit, parts=False, **OLDER)
        self.fed: list[tuple[np.ndarray, np.ndarray]] = []

    def forward(self, pitch: np.ndarray, numeric: np.ndarray, key=None, given=None) -> dict:
        self.fed.append((pitch, numeric))
        batch, steps = pitch.shape
        logits = np.zeros((batch, steps, 128))
        favourite = math.log(self.P * 127 / (1 - self.P))  # softmax gives P to this class
        np.put_along_axis(logits, (pitch + 1)[..., None], favourite, axis=2)
        if self.cfg.beats:  # rhythm logits: probability P on "one beat" (class 12) for step and duration
            rhythm = np.zeros((batch, steps, self.cfg.rhythm_classes))
            rhythm[..., 12] = math.log(self.P * (self.cfg.rhythm_classes - 1) / (1 - self.P))
            return {"pitch": logits, "step": rhythm, "duration": rhythm.copy()}
        return {"pitch": logits, "step": np.zeros((batch, steps, 1)), "duration": np.ones((batch, steps, 1))}


def test_model_scores_match_the_stub_model_probabilities():
    stub = NextPitchStub()
    evaluation = corpus_of([60, 61, 62, 70], [50, 51])  # hits: 61, 62, 51; miss: 70
    scores = model_scores(stub, evaluation, TRAIN)
    p, miss = stub.P, (1 - stub.P) / 127
    expected = -(3 * math.log(p) + math.log(miss)) / 4
    assert scores["notes"] == 4 and scores["files"] == 2
    assert scores["pitch_cross_entropy"] == pytest.approx(expected, rel=1e-6)
    assert scores["pitch_perplexity"] == pytest.approx(math.exp(expected), rel=1e-6)
    assert scores["pitch_top1"] == pytest.approx(3 / 4)


def test_model_scores_feed_all_but_the_last_note():
    stub = NextPitchStub()
    model_scores(stub, corpus_of([60, 61, 62, 70]), TRAIN)
    ((pitch, numeric),) = stub.fed
    assert pitch.tolist() == [[60, 61, 62]]
    assert numeric.shape == (1, 3, 5)


def test_model_scores_timing_errors_against_constant_predictions():
    scores = model_scores(NextPitchStub(), corpus_of([60, 61, 62], step=0.5), corpus_of([60, 61], step=0.5))
    assert scores["step_mse"] == pytest.approx(0.25)  # predicts 0 s, truth 0.5 s
    assert scores["duration_mse"] == pytest.approx(0.25)  # predicts 1 s, truth 0.5 s
    assert scores["step_mse_predicting_mean"] == pytest.approx(0.0, abs=1e-9)


def test_model_scores_refuse_files_too_short_to_score():
    with pytest.raises(ValueError):
        model_scores(NextPitchStub(), corpus_of([60]), TRAIN)


def test_beats_model_rhythm_nll_and_top1_follow_the_stub_probabilities():
    # Steps of 0.5 s and durations of 0.5 s at 120 bpm are one beat each: the stub's favourite class.
    stub = NextPitchStub("beats")
    scores = model_scores(stub, corpus_of([60, 61, 62, 70], step=0.5), TRAIN)
    assert scores["step_nll"] == pytest.approx(-math.log(stub.P), rel=1e-6)
    assert scores["duration_nll"] == pytest.approx(-math.log(stub.P), rel=1e-6)
    assert scores["step_top1"] == scores["duration_top1"] == 1.0
    assert "step_mse" not in scores
    miss = model_scores(stub, corpus_of([60, 61, 62], step=0.25), TRAIN)  # half a beat: not the favourite
    assert miss["step_nll"] == pytest.approx(-math.log((1 - stub.P) / 192), rel=1e-6)
    assert miss["step_top1"] == 0.0


def test_rhythm_baselines_count_classes_like_the_pitch_baselines():
    cfg = preset("tiny")
    train = corpus_of([60, 61, 62, 63], step=0.5)  # every step is one beat (class 12)
    report = rhythm_baselines(train, corpus_of([60, 61, 62], step=0.5), cfg)
    classes = cfg.rhythm_classes
    # unigram over 4 steps, all class 12, add-one smoothed
    assert report["step"]["unigram_nll"] == pytest.approx(-math.log(5 / (4 + classes)))
    assert report["step"]["uniform_nll"] == pytest.approx(math.log(classes))
    assert report["step"]["bigram_nll"] < report["step"]["unigram_nll"]  # 12 -> 12 was seen twice
    assert report["step"]["bigram_top1"] == 1.0


# --- parts: the part head's NLL and top-1 next to baselines over parts --------------------------------------


def parts_corpus(*files) -> Corpus:
    """Files of (pitch, part) notes."""
    return Corpus.from_tables(
        [
            (
                f"p{i}.mid",
                pd.DataFrame(
                    {"pitch": [p for p, _ in notes], "part": [q for _, q in notes], "step": 0.25, "duration": 0.5}
                ),
            )
            for i, notes in enumerate(files)
        ]
    )


class AlternatingPartStub(NextPitchStub):
    """A parts model whose part head gives probability P to "the part after the current note's"."""

    def __init__(self):
        super().__init__("beats")
        self.cfg = preset("tiny", **OLDER)

    def forward(self, pitch, numeric, key=None, given=None):
        out = super().forward(pitch, numeric)
        current = numeric[..., -PART_CLASSES:].argmax(axis=-1)  # the part is read from the input's one-hot
        logits = np.zeros(pitch.shape + (PART_CLASSES,))
        np.put_along_axis(
            logits,
            ((current + 1) % PART_CLASSES)[..., None],
            math.log(self.P * (PART_CLASSES - 1) / (1 - self.P)),
            axis=2,
        )
        return {**out, "part": logits}


def test_model_scores_report_part_nll_and_top1_from_the_part_head():
    stub = AlternatingPartStub()
    evaluation = parts_corpus([(60, 0), (62, 1), (64, 2), (65, 0)])  # next part = +1 twice, then a miss
    scores = model_scores(stub, evaluation, evaluation)
    p, miss = stub.P, (1 - stub.P) / (PART_CLASSES - 1)
    assert scores["part_nll"] == pytest.approx(-(2 * math.log(p) + math.log(miss)) / 3, rel=1e-6)
    assert scores["part_top1"] == pytest.approx(2 / 3)


def test_models_without_parts_report_no_part_scores():
    assert "part_nll" not in model_scores(NextPitchStub(), corpus_of([60, 61, 62]), TRAIN)


def test_part_baselines_count_parts_like_the_pitch_baselines():
    train = parts_corpus([(60, 3), (72, 0), (60, 3), (72, 0), (60, 3)])
    scores = part_baselines(train, parts_corpus([(60, 3), (72, 0), (60, 3)]))
    assert scores["uniform_nll"] == pytest.approx(math.log(PART_CLASSES))
    assert scores["bigram_top1"] == 1.0  # bass, soprano alternate: the previous part says the next
    assert scores["unigram_top1"] == pytest.approx(0.5)
    assert scores["bigram_nll"] < scores["unigram_nll"] < scores["uniform_nll"]


def test_baseline_top1_counts_the_most_likely_next_pitch():
    def c(*lists):
        return Corpus.from_tables(
            [(f"f{i}", pd.DataFrame({"pitch": p, "step": 0.25, "duration": 0.5})) for i, p in enumerate(lists)]
        )

    # Unigram always says 60; the bigram says 62 after 60 and 60 after 62.
    top1 = baseline_top1(c([60, 62, 60], [62, 60]), c([60, 62, 64]))
    assert top1 == {"uniform": 1 / 128, "unigram": 0.0, "bigram": 0.5}


def test_a_model_that_reads_chords_from_the_top_is_scored_on_chords_read_so():
    """model_scores gives a "down" model each chord top-down: the same figures as its network reading the
    top-down files as given; the control, reading the files from the bass, scores otherwise."""
    from helpers_models import random_model
    from musicrnn.bundled import CHORALES, DEFAULT_PRIMER
    from musicrnn.infer import read_model_file
    from musicrnn.midi_load import midi_to_notes
    from musicrnn.model import model_bytes

    corpus = Corpus.from_tables([("bwv269.mid", midi_to_notes(CHORALES / DEFAULT_PRIMER))])
    keras_model, cfg = random_model("tiny", seed=4, chord_order="down")
    down = read_model_file(model_bytes(keras_model, cfg))
    up = read_model_file(model_bytes(keras_model, cfg.replace(chord_order="up")))
    scored = model_scores(down, corpus)
    assert scored["joint_nll"] == pytest.approx(model_scores(up, corpus.in_chord_order("down"))["joint_nll"])
    assert scored["joint_nll"] != pytest.approx(model_scores(up, corpus)["joint_nll"])
