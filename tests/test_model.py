"""The Keras model: heads and shapes per preset, the tutorial architecture, saving/loading, the time loss."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest

from helpers_models import keras_outputs, random_extras, random_inputs, random_model
from musicrnn.config import CONFIG_MEMBER, PRESETS, Config, preset
from musicrnn.model import build_model, load_keras_model, mse_with_positive_pressure, save_model
from musicrnn.parts import PART_CLASSES


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_outputs_its_named_heads_at_every_position(name):
    cfg = preset(name)
    model = build_model(cfg)
    pitch, numeric = random_inputs(cfg, batch=2, length=7)
    out = keras_outputs(model, pitch, numeric, *random_extras(cfg, batch=2, length=7))
    # The tutorial keeps its three heads; the beats presets add the part head.
    assert set(out) == ({"pitch", "step", "duration"} | ({"part"} if name != "tutorial" else set()))
    if cfg.parts:
        assert out["part"].shape == (2, 7, PART_CLASSES)
    assert out["pitch"].shape == (2, 7, 128)
    # Beats presets: logits over the 1/12-beat classes; the tutorial: one regressed number in seconds.
    width = 193 if cfg.beats else 1
    assert cfg.beats == (name != "tutorial")
    assert out["step"].shape == (2, 7, width + (1 if cfg.end_class else 0))  # and "the piece ends here"
    assert out["duration"].shape == (2, 7, width)


def test_outputs_do_not_depend_on_later_notes():
    """Next-note prediction: position t sees notes 0..t only (the LSTM is not bidirectional)."""
    model, cfg = random_model("tiny")
    pitch, numeric = random_inputs(cfg, batch=1, length=10)
    changed_pitch, changed_numeric = pitch.copy(), numeric.copy()
    changed_pitch[:, 6:] = (changed_pitch[:, 6:] + 5) % 128
    changed_numeric[:, 6:] += 0.5
    key, given = random_extras(cfg, batch=1, length=10)
    changed_given = {field: values.copy() for field, values in given.items()}
    for values in changed_given.values():
        values[:, 6:] = (values[:, 6:] + 1) % 3
    a = keras_outputs(model, pitch, numeric, key, given)
    b = keras_outputs(model, changed_pitch, changed_numeric, key, changed_given)
    np.testing.assert_allclose(a["pitch"][:, :6], b["pitch"][:, :6], atol=1e-6)
    assert not np.allclose(a["pitch"][:, 6:], b["pitch"][:, 6:])


def test_tutorial_preset_is_one_lstm_128_on_scaled_pitch():
    model = build_model(preset("tutorial"))
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert len(lstms) == 1 and lstms[0].units == 128
    assert not any(isinstance(layer, keras.layers.Embedding) for layer in model.layers)
    scaling = [layer for layer in model.layers if isinstance(layer, keras.layers.Rescaling)]
    assert len(scaling) == 1 and scaling[0].scale == pytest.approx(1 / 128)
    # Input to the LSTM: pitch/128 plus step and duration.
    assert lstms[0].cell.kernel.shape == (3, 4 * 128)
    assert model.get_layer("features").batch_shape[-1] == 2


def test_chorale_preset_embeds_pitch_and_stacks_lstms():
    cfg = preset("chorale")
    model = build_model(cfg)
    assert model.get_layer("pitch_embedding").output_dim == cfg.embedding_dim
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [cfg.units] * cfg.layers
    assert cfg.layers >= 2


def test_save_then_safe_load_gives_the_same_outputs(tmp_path):
    model, cfg = random_model("tiny", seed=3)
    path = save_model(model, cfg, tmp_path / "m.keras", extra={"note": "hello"})
    loaded = load_keras_model(path)
    pitch, numeric = random_inputs(cfg, batch=2)
    key, given = random_extras(cfg, batch=2)
    before, after = keras_outputs(model, pitch, numeric, key, given), keras_outputs(loaded, pitch, numeric, key, given)
    for head in ("pitch", "step", "duration"):
        np.testing.assert_allclose(before[head], after[head], atol=1e-6)


def test_saved_file_holds_config_member_and_sidecar(tmp_path):
    model, cfg = random_model("tutorial", seed=1, epochs=7, learning_rate=0.001)
    path = save_model(model, cfg, tmp_path / "m.keras", extra={"final": {"val_pitch_loss": 2.5}})
    sidecar = tmp_path / "m.json"
    assert sidecar.exists()
    with zipfile.ZipFile(path) as archive:
        assert {"config.json", "model.weights.h5", CONFIG_MEMBER} <= set(archive.namelist())
        inside = json.loads(archive.read(CONFIG_MEMBER))
    beside = json.loads(sidecar.read_text())
    assert inside == beside
    assert Config.from_dict(inside["config"]) == cfg
    assert inside["final"] == {"val_pitch_loss": 2.5}


def test_positive_pressure_penalises_negative_predictions():
    zeros = np.zeros((4, 1), np.float32)
    below = float(mse_with_positive_pressure(zeros, np.full((4, 1), -0.1, np.float32)))
    above = float(mse_with_positive_pressure(zeros, np.full((4, 1), 0.1, np.float32)))
    assert above == pytest.approx(0.01, rel=1e-4)  # plain MSE when predictions are positive
    assert below > above + 0.5  # same squared error, plus the pressure term (10 × 0.1)
    assert float(mse_with_positive_pressure(zeros, zeros)) == pytest.approx(0.0, abs=1e-7)


def test_part_head_is_trained_with_cross_entropy_at_its_own_weight():
    from musicrnn.model import class_cross_entropy, head_loss_weights, head_losses

    cfg = preset("tiny", part_loss_weight=0.3)
    assert head_losses(cfg)["part"] is class_cross_entropy and head_loss_weights(cfg)["part"] == 0.3
    assert "part" not in head_losses(preset("tutorial")) and "part" not in head_loss_weights(preset("tutorial"))
