"""The one verdict a visitor reads about a trained model."""

from musicrnn.verdict import verdict


def test_a_model_that_beats_the_bigram_says_so_with_both_figures():
    v = verdict(2.87, 3.23)
    assert v.level == "success" and not v.warnings
    assert v.text == "Predicts your next note better than simple guessing: 2.87 vs 3.23 nats; lower is better."


def test_a_model_level_with_the_bigram_is_a_warning():
    v = verdict(3.23, 3.23)
    assert v.level == "warning" and "no better" in v.text and v.warnings


def test_a_run_worse_than_an_earlier_one_warns_and_names_it():
    v = verdict(3.0, 3.23, earlier_best=("tiny on 6 files #1", 2.87))
    assert v.level == "warning"
    assert any("tiny on 6 files #1" in line and "2.87" in line for line in v.warnings)


def test_fine_tuning_reports_the_score_before():
    assert "scored 2.50" in verdict(2.1, 3.2, before=2.5).text
    worse = verdict(2.6, 3.2, before=2.5)
    assert worse.level == "warning" and any("2.50" in line for line in worse.warnings)


def test_compare_calls_scores_within_the_tolerance_the_same():
    from musicrnn.verdict import SAME, compare

    assert compare(3.0, 3.0 + SAME / 2) == compare(3.0 + SAME / 2, 3.0) == "same"
    assert compare(2.9, 3.0) == "better" and compare(3.1, 3.0) == "worse"
