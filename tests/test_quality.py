"""Does training learn? A tiny model on strongly structured music must beat the bigram baseline.

The corpus is built so that the previous pitch alone is ambiguous but the previous two notes decide the
next one: a scale "sequence" that climbs a third and falls a step (+2, -1 scale degrees) and, on the way
down, falls a third and climbs a step (-2, +1), in three keys. From any pitch a bigram sees four likely
continuations; a model that remembers the last interval sees one (except where the direction turns).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from musicrnn.config import preset
from musicrnn.dataset import Corpus
from musicrnn.evaluation.scores import baseline_cross_entropy, model_scores

MAJOR = [0, 2, 4, 5, 7, 9, 11]
KEYS = [0, 5, 7]  # C, F, G major


def sequence_piece(seed: int, notes: int = 120) -> pd.DataFrame:
    """The +2/-1 (rising) or -2/+1 (falling) scale sequence from a random key and degree, turning at the ends."""
    rng = np.random.default_rng(seed)
    key, degree, rising = int(rng.choice(KEYS)), int(rng.integers(0, 7)), bool(rng.integers(0, 2))
    pitch = []
    for i in range(notes):
        pitch.append(48 + key + 12 * (degree // 7) + MAJOR[degree % 7])
        move = 2 if i % 2 == 0 else -1
        degree += move if rising else -move
        if not 0 < degree < 14:  # turn round at the ends of two octaves
            degree, rising = min(max(degree, 0), 14), degree <= 0
    step = np.r_[0.0, np.full(notes - 1, 0.25)]
    start = np.cumsum(step)
    return pd.DataFrame(
        {
            "pitch": np.array(pitch, dtype=np.int64),
            "start": start,
            "end": start + 0.2,
            "step": step,
            "duration": np.full(notes, 0.2),
            "velocity": 80,
        }
    )


def corpus(seeds: range) -> Corpus:
    return Corpus.from_tables([(f"seq{s}.mid", sequence_piece(s)) for s in seeds])


TRAIN_SEEDS, HELD_OUT_SEEDS = range(16), range(1000, 1006)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained for a few seconds (fixed seed), saved and read back as the numpy model."""
    from musicrnn.infer import read_model_file
    from musicrnn.train import train

    # Short windows and stride 1: the structure needs only 2-3 notes of context, and many small batches
    # teach it in a few epochs (the first epoch is mostly graph building).
    cfg = preset("tiny", epochs=6, seq_length=8, window_stride=1, batch_size=32, seed=0)
    path = train(corpus(TRAIN_SEEDS), cfg).save(tmp_path_factory.mktemp("quality") / "seq.keras")
    return path, read_model_file(path)


def test_bigram_is_a_strong_baseline_on_this_corpus():
    scores = baseline_cross_entropy(corpus(TRAIN_SEEDS), corpus(HELD_OUT_SEEDS))
    assert scores["bigram"] < scores["unigram"] - 1.0  # the previous pitch already narrows things a lot
    assert scores["bigram"] > 1.2  # … but leaves several continuations


def test_tiny_model_beats_the_bigram_baseline_on_held_out_files(trained):
    _, model = trained
    train_set, held_out = corpus(TRAIN_SEEDS), corpus(HELD_OUT_SEEDS)
    bigram = baseline_cross_entropy(train_set, held_out)["bigram"]
    scores = model_scores(model, held_out, train_set)
    assert scores["pitch_cross_entropy"] < bigram - 0.3, (scores, bigram)


def test_evaluate_command_reports_musical_metrics_and_novelty(trained, tmp_path, capsys):
    from musicrnn.cli import main
    from musicrnn.midi import midi_bytes, notes_to_midi

    model_path, _ = trained
    folders = {}
    for kind, seeds in (("train", TRAIN_SEEDS), ("held", HELD_OUT_SEEDS)):
        folders[kind] = tmp_path / kind
        folders[kind].mkdir()
        for seed in seeds:
            (folders[kind] / f"seq{seed}.mid").write_bytes(midi_bytes(notes_to_midi(sequence_piece(seed))))
    code = main(
        [
            "evaluate",
            "--model",
            str(model_path),
            "--data",
            str(folders["held"]),
            "--baseline-data",
            str(folders["train"]),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    musical = report["musical"]
    from musicrnn.generate import MIN_NOTES_BEFORE_END, Sampling

    # The model may end a piece before the 200-note cap, never before the rules allow.
    assert len(musical["generated"]) == 3
    assert all(MIN_NOTES_BEFORE_END <= piece["notes"] <= 200 for piece in musical["generated"])
    assert musical["settings"]["temperature"] == Sampling().temperature
    assert set(musical["generated"][0]) == set(musical["evaluation_files"])
    runs = musical["novelty"]["longest_copied_run"]
    assert len(runs) == 3 and all(run["length"] >= 1 and run["file"].startswith("seq") for run in runs)
    assert set(report["baselines_top1"]) == {"uniform", "unigram", "bigram"}
