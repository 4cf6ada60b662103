"""The one verdict a visitor reads about a trained model: words first, the figures in its details."""

import re

from musicrnn.verdict import surprise, unsure_among, verdict

JARGON = re.compile(r"nats|perplexity|bigram|unigram|top-1|cross-entropy", re.IGNORECASE)


def test_a_model_that_beats_the_bigram_says_so_in_words_with_the_figures_in_the_details():
    v = verdict(2.87, 3.23)
    assert v.level == "success" and not v.warnings
    assert v.text == "Guesses your next note better than simple counting does: 11 % less surprised."
    assert "2.87" in v.details and "3.23" in v.details and "nats" in v.details


def test_the_words_a_visitor_reads_have_no_jargon_whatever_the_outcome():
    for args in [
        (2.87, 3.23),
        (3.23, 3.23),
        (3.5, 3.0),
        (3.0, 3.23, ("tiny on 6 files #1", 2.87)),
        (2.6, 3.2, None, 2.5),
    ]:
        v = verdict(*args)
        for line in [v.text, *v.warnings]:
            assert not JARGON.search(line), line


def test_a_model_level_with_the_bigram_is_a_warning():
    v = verdict(3.23, 3.23)
    assert v.level == "warning" and "no better" in v.text and v.warnings


def test_a_model_worse_than_the_bigram_says_how_much_more_surprised():
    assert verdict(3.3, 3.0).text == "Guesses your next note worse than simple counting does: 10 % more surprised."


def test_a_run_worse_than_an_earlier_one_warns_and_names_it():
    v = verdict(3.0, 3.23, earlier_best=("tiny on 6 files #1", 2.87))
    assert v.level == "warning"
    assert any("tiny on 6 files #1" in line for line in v.warnings)
    assert "2.87" in v.details


def test_fine_tuning_compares_with_the_starting_model_before():
    better = verdict(2.1, 3.2, before=2.5)
    assert "better than the model it started from" in better.text and "16 % less surprised" in better.text
    assert "2.50" in better.details
    worse = verdict(2.6, 3.2, before=2.5)
    assert worse.level == "warning" and any("no better than the model it started from" in w for w in worse.warnings)


def test_surprise_and_unsureness_in_words():
    assert surprise(2.0, 2.5) == "20 % less surprised" and surprise(2.5, 2.5) == "about as surprised"
    assert surprise(3.0, 2.5) == "20 % more surprised"
    assert unsure_among(2.0) == "as unsure as choosing among 7 pitches"


def test_compare_calls_scores_within_the_tolerance_the_same():
    from musicrnn.verdict import SAME, compare

    assert compare(3.0, 3.0 + SAME / 2) == compare(3.0 + SAME / 2, 3.0) == "same"
    assert compare(2.9, 3.0) == "better" and compare(3.1, 3.0) == "worse"
