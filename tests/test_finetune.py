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
