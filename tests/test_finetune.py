"""Fine-tuning settings: the starting model's shape is kept, training settings may change (no TensorFlow)."""

import pytest

from musicrnn.bundled import DEFAULT_MODEL
from musicrnn.finetune import IncompatibleModel, fine_tune_config
from musicrnn.infer import read_model_file


def test_fine_tuning_keeps_the_shape_and_lowers_the_learning_rate():
    start = read_model_file(DEFAULT_MODEL).cfg
    cfg = fine_tune_config("default", epochs=2, batch_size=16)
    assert (cfg.units, cfg.layers, cfg.time_unit, cfg.beat_grid, cfg.max_beats) == (
        start.units,
        start.layers,
        start.time_unit,
        start.beat_grid,
        start.max_beats,
    )
    assert (cfg.epochs, cfg.batch_size) == (2, 16)
    assert cfg.learning_rate == pytest.approx(start.learning_rate * 0.1)


@pytest.mark.parametrize(
    "override", [{"units": 32}, {"time_unit": "seconds"}, {"beat_grid": 4}, {"max_beats": 8}, {"parts": False}]
)
def test_a_setting_that_reshapes_the_network_is_refused_with_its_name(override):
    ((key, value),) = override.items()
    with pytest.raises(IncompatibleModel, match=f"different network shape \\({key} "):
        fine_tune_config("default", **override)


def test_an_unreadable_start_says_so():
    with pytest.raises(IncompatibleModel, match="cannot fine-tune mine.keras"):
        fine_tune_config(b"not a model", name="mine.keras")


# ---- the visitor's default start: the bundled model that knows the music best ---------------------------------


@pytest.fixture
def chorales_and_noise(tmp_path, monkeypatch):
    """A registry with the committed chorale model and a random-weight `tiny` model ("noise")."""
    import json

    from helpers_models import save_random_model
    from musicrnn import styles

    save_random_model(tmp_path / "noise.keras", "tiny", seed=3)
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps(
            {
                "default": "chorales",
                "models": {
                    "chorales": {"title": "Bach chorales", "file": str(DEFAULT_MODEL)},
                    "noise": {"title": "Noise", "file": "noise.keras"},
                },
            }
        )
    )
    monkeypatch.setenv(styles.REGISTRY_VARIABLE, str(path))
    return path


def chorale_corpus(count: int):
    from musicrnn import bundled
    from musicrnn.dataset import Corpus
    from musicrnn.midi_load import load_paths

    return Corpus.from_tables([(f.name, f.notes) for f in load_paths(bundled.chorale_files()[:count])])


def test_the_model_that_knows_the_music_best_comes_first_with_the_reason(chorales_and_noise):
    from musicrnn.finetune import best_start, fit_reason

    fits = best_start(chorale_corpus(10))
    assert [fit.name for fit in fits] == ["chorales", "noise"]
    assert fits[0].nll < 2.0 < fits[1].nll
    assert fit_reason(fits).startswith("Bach chorales knows your music best") and "Noise" in fit_reason(fits)


def test_the_start_is_chosen_on_the_training_files_only(chorales_and_noise):
    from musicrnn.finetune import FIT_NOTES_PER_FILE, fit_scores, held_out_names

    corpus = chorale_corpus(10)
    held_out = held_out_names(corpus)
    assert len(held_out) >= 2  # ten files: two held out, not one
    scored = fit_scores(corpus, exclude=held_out)[0].notes
    training = corpus.split_by_name(held_out)[0]
    assert scored == sum(min(n - 1, FIT_NOTES_PER_FILE) for n in training.lengths)


def test_the_visitors_run_has_the_default_time_limit_and_windows_that_fit_short_files():
    from helpers_models import walk_notes
    from musicrnn.dataset import Corpus
    from musicrnn.finetune import MIN_SEQ_LENGTH, VISITOR_MINUTES, visitor_config

    start = read_model_file(DEFAULT_MODEL).cfg
    short_tunes = Corpus.from_tables([(f"tune{i}.mid", walk_notes(i, 40)) for i in range(8)])
    cfg = visitor_config("default", short_tunes)
    assert cfg.time_limit_minutes == VISITOR_MINUTES and (cfg.units, cfg.layers) == (start.units, start.layers)
    assert MIN_SEQ_LENGTH <= cfg.seq_length < 40 <= start.seq_length
    assert visitor_config("default", short_tunes, seq_length=20, time_limit_minutes=1).seq_length == 20
    assert visitor_config("default", chorale_corpus(4)).seq_length == start.seq_length  # long files: unchanged


def test_a_start_is_fine_tuned_reading_chords_as_it_learnt_to():
    assert fine_tune_config("default", chord_order="up").chord_order == "up"
    with pytest.raises(IncompatibleModel, match="to read chords down: it learnt to read them up"):
        fine_tune_config("default", chord_order="down")
