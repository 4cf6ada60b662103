"""Novelty: the longest run a piece copies from its corpus, on random corpora with planted quotes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from musicrnn.dataset import Corpus
from musicrnn.evaluation.novelty import CorpusIndex, longest_copied_run
from test_musical import corpus_of, table  # the note-table helpers of the musical metrics' tests


@pytest.fixture(scope="module")
def random_corpus() -> Corpus:
    rng = np.random.default_rng(0)
    return corpus_of(*(table(rng.integers(40, 90, 300)) for _ in range(5)))


def test_longest_copied_run_finds_a_30_note_quote_and_its_source(random_corpus):
    rng = np.random.default_rng(1)
    quote = random_corpus.pitch[3][50:80]
    # Filler above the corpus's range, so the run cannot extend by accident.
    piece = np.concatenate([rng.integers(100, 120, 100), quote, rng.integers(100, 120, 70)])
    run = longest_copied_run(piece, random_corpus)
    assert (run.length, run.file, run.file_position, run.piece_position, run.transposition) == (
        30,
        "f3.mid",
        50,
        100,
        0,
    )


def test_transposed_quotes_match_by_intervals_only_when_asked(random_corpus):
    rng = np.random.default_rng(2)
    quote = random_corpus.pitch[1][200:230] + 5
    piece = np.concatenate([rng.integers(100, 120, 40), quote, rng.integers(100, 120, 40)])
    assert longest_copied_run(piece, random_corpus).length < 10
    run = longest_copied_run(table(piece), random_corpus, transposed=True)  # a note table works too
    assert (run.length, run.file, run.file_position, run.piece_position, run.transposition) == (
        30,
        "f1.mid",
        200,
        40,
        -5,
    )


def test_runs_never_cross_from_one_file_into_the_next(random_corpus):
    joined = np.concatenate([random_corpus.pitch[0][-10:], random_corpus.pitch[1][:10]])
    run = longest_copied_run(joined, random_corpus)
    assert run.length == 10 and run.file in ("f0.mid", "f1.mid")


def test_a_piece_sharing_no_pitch_with_the_corpus_copies_nothing(random_corpus):
    run = longest_copied_run([120, 121, 122], random_corpus)
    assert run.length == 0 and run.file is None


def test_longest_copied_run_is_fast_on_a_chorale_sized_corpus():
    rng = np.random.default_rng(3)
    corpus = Corpus(
        names=[f"f{i}" for i in range(400)],
        pitch=[rng.integers(40, 80, 250) for _ in range(400)],  # 100k notes
        step=[np.zeros(250)] * 400,
        duration=[np.ones(250)] * 400,
    )
    piece = np.concatenate([rng.integers(40, 80, 300), corpus.pitch[123][:60], rng.integers(40, 80, 140)])
    started = time.perf_counter()
    run = longest_copied_run(piece, corpus)
    elapsed = time.perf_counter() - started
    assert run.length >= 60 and run.file == "f123"
    assert elapsed < 2.0  # ~0.1 s on an idle 2-core machine; margin for shared machines


def test_a_corpus_index_is_reusable_and_checks_its_mode(random_corpus):
    index = CorpusIndex(random_corpus)
    assert longest_copied_run(random_corpus.pitch[2][:40], index).length == 40
    with pytest.raises(ValueError):
        longest_copied_run([60, 62], index, transposed=True)
