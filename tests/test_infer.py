"""Numpy inference from .keras files: equal to Keras for every preset, and hostile files are refused."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers_models import (
    OLDER,
    keras_outputs,
    random_extras,
    random_inputs,
    random_model,
    randomize_weights,
    synthetic_corpus,
)
from musicrnn.config import CONFIG_MEMBER, PRESETS, preset
from musicrnn.features import feature_count
from musicrnn.infer import ModelFileError, read_model_file
from musicrnn.model import load_keras_model, model_bytes, save_model
from musicrnn.parts import PART_CLASSES
from musicrnn.theory import HEADS, PITCH_CLASSES


@pytest.fixture(scope="module")
def trained_models():
    """Each preset trained for one short epoch on the synthetic corpus (weights moved away from init)."""
    from musicrnn.train import train

    corpus = synthetic_corpus(files=4, notes=100)  # a few batches: enough to move every weight
    return {name: train(corpus, preset(name, epochs=1, window_stride=4)) for name in sorted(PRESETS)}


def assert_same_outputs(numpy_model, keras_model, cfg, seed=0):
    pitch, numeric = random_inputs(cfg, batch=3, seed=seed)
    key, given = random_extras(cfg, batch=3, seed=seed)
    expected = keras_outputs(keras_model, pitch, numeric, key, given)
    got = numpy_model.forward(pitch, numeric, key, given)
    heads = HEADS + ("part",) if cfg.parts else HEADS
    assert set(got) == set(heads)
    for head in heads:
        assert got[head].shape == expected[head].shape
        np.testing.assert_allclose(got[head], expected[head], atol=1e-5, rtol=0, err_msg=head)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_numpy_forward_equals_keras_with_random_weights(name, tmp_path):
    model, cfg = random_model(name, seed=11)
    path = save_model(model, cfg, tmp_path / "random.keras")
    numpy_model = read_model_file(path)
    assert numpy_model.cfg.preset == name
    assert numpy_model.parameter_count() == model.count_params()
    assert_same_outputs(numpy_model, model, cfg, seed=1)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_numpy_forward_equals_keras_with_trained_weights(name, trained_models):
    result = trained_models[name]
    numpy_model = read_model_file(model_bytes(result.model, result.cfg), name=f"{name}.keras")
    assert numpy_model.info["config"]["preset"] == name
    assert_same_outputs(numpy_model, result.model, result.cfg, seed=2)


def test_a_model_without_a_part_head_loads_as_one_without_parts(tmp_path):
    """Files from before parts (three heads, no part columns) load and say they have no parts."""
    model, cfg = random_model("tiny", seed=3, parts=False)
    numpy_model = read_model_file(save_model(model, cfg, tmp_path / "old.keras"))
    assert not numpy_model.cfg.parts and not numpy_model.has_parts
    assert "part" not in numpy_model.forward(*random_inputs(cfg, batch=2, seed=0))


@pytest.mark.parametrize("overrides", [{}, OLDER])
def test_a_parts_model_reads_its_part_head(tmp_path, overrides):
    model, cfg = random_model("tiny", seed=4, **overrides)
    numpy_model = read_model_file(save_model(model, cfg, tmp_path / "parts.keras"))
    assert numpy_model.cfg.parts and numpy_model.has_parts and "part" in numpy_model.fields
    state = numpy_model.start(2)
    pitch, numeric = random_inputs(cfg, batch=2, seed=1)
    state = numpy_model.advance(state, pitch[:, 0], numeric[:, 0])
    assert numpy_model.field_logits("part", state, {"step": np.array([0, 12])}).shape == (2, PART_CLASSES)


@pytest.mark.parametrize("overrides", [{}, OLDER, {"voice_memory": True}])
def test_numpy_step_by_step_equals_forward(overrides):
    """Stepping one note at a time (what generation does) carries the state exactly like a whole window,
    and each ordered head reads the earlier fields it is given."""
    model, cfg = random_model("tiny", seed=5, **overrides)
    numpy_model = read_model_file(model_bytes(model, cfg))
    pitch, numeric = random_inputs(cfg, batch=2, length=9)
    key, given = random_extras(cfg, batch=2, length=9)
    whole = numpy_model.forward(pitch, numeric, key, given)
    state = numpy_model.start(2, key)
    for t in range(9):
        state = numpy_model.advance(state, pitch[:, t], numeric[:, t])
        at_t = {field: values[:, t] for field, values in given.items()}
        for field in numpy_model.fields:
            np.testing.assert_allclose(numpy_model.field_logits(field, state, at_t), whole[field][:, t], atol=1e-6)


def test_a_voice_memory_model_reads_the_voices_last_pitch_after_the_part(tmp_path):
    """voice_memory: the heads after the part's read the pitch that part sang last; numpy equals Keras, step by
    step too, and the part's own head cannot see it (it is known only once the part is drawn)."""
    model, cfg = random_model("tiny", seed=8, voice_memory=True)
    numpy_model = read_model_file(save_model(model, cfg, tmp_path / "voices.keras"))
    assert numpy_model.cfg.voice_memory and numpy_model.cfg.given_inputs == ("step", "part", "voice", "pitch")
    assert numpy_model.parameter_count() == model.count_params()
    assert_same_outputs(numpy_model, model, cfg, seed=3)
    pitch, numeric = random_inputs(cfg, batch=2, length=3)
    state = numpy_model.start(2, key=np.array([0, 9]))
    for t in range(3):
        state = numpy_model.advance(state, pitch[:, t], numeric[:, t])
    low = {"step": np.array([0, 0]), "part": np.array([1, 1]), "voice": np.array([48, 48])}
    high = low | {"voice": np.array([72, 72])}
    for field in ("step", "part"):
        assert np.allclose(numpy_model.field_logits(field, state, low), numpy_model.field_logits(field, state, high))
    for field in ("pitch", "duration"):
        assert not np.allclose(
            numpy_model.field_logits(field, state, low), numpy_model.field_logits(field, state, high)
        )


def test_an_ordered_head_depends_on_the_fields_before_it_only():
    model, cfg = random_model("tiny", seed=6)
    numpy_model = read_model_file(model_bytes(model, cfg))
    assert numpy_model.fields == ("step", "part", "pitch", "duration")
    pitch, numeric = random_inputs(cfg, batch=2, length=3)
    state = numpy_model.start(2, key=np.array([0, 9]))
    for t in range(3):
        state = numpy_model.advance(state, pitch[:, t], numeric[:, t])
    one = {"step": np.array([0, 0]), "part": np.array([1, 1]), "pitch": np.array([60, 60])}
    other = {"step": np.array([12, 12]), "part": np.array([3, 3]), "pitch": np.array([48, 48])}
    assert np.allclose(numpy_model.field_logits("step", state, one), numpy_model.field_logits("step", state, other))
    for field in ("part", "pitch", "duration"):
        assert not np.allclose(
            numpy_model.field_logits(field, state, one), numpy_model.field_logits(field, state, other)
        )


def test_a_file_from_before_beats_loads_as_a_seconds_model(tmp_path):
    """Old files (the previous default model, users' downloads) have one-number step/duration heads and no
    time_unit in their settings: they load as seconds models and generate as before."""
    from musicrnn.generate import Sampling, generate

    model, cfg = random_model("tiny", seed=5, time_unit="seconds", **OLDER)
    data = model_bytes(model, cfg)

    def forget_time_unit(text: bytes) -> bytes:
        info = json.loads(text)
        for key in ("time_unit", "beat_grid", "max_beats"):
            info["config"].pop(key)
        return json.dumps(info).encode()

    old = read_model_file(rewrite_member(data, "musicrnn.json", forget_time_unit))
    assert old.cfg.time_unit == "seconds" and old.time_width == 1
    assert_same_outputs(old, model, cfg)
    notes = generate(old, None, Sampling(n_notes=20, seed=1))[0]
    assert len(notes) == 20 and (notes["duration"] > 0).all()


def test_a_step_head_that_disagrees_with_the_beat_grid_is_refused():
    model, cfg = random_model("tiny", seed=5)
    data = model_bytes(model, cfg)

    def other_grid(text: bytes) -> bytes:
        info = json.loads(text)
        info["config"]["beat_grid"] = 8
        return json.dumps(info).encode()

    with pytest.raises(ModelFileError, match="193 classes"):
        read_model_file(rewrite_member(data, "musicrnn.json", other_grid))


# --- hostile and foreign files -------------------------------------------------------------------------


def keras_file(model, tmp_path: Path, name: str = "foreign.keras") -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


def musicrnn_like(
    cfg,
    rnn=keras.layers.LSTM,
    head_names=HEADS,
    head_activation=None,
    step_from_concat=False,
    between=None,
):
    """build_model's graph with one thing changed (for files that must be refused)."""
    pitch = keras.Input((None,), dtype="int32", name="pitch_input")
    numeric = keras.Input((None, feature_count(cfg)), dtype="float32", name="features")
    vectors = keras.layers.Embedding(PITCH_CLASSES, cfg.embedding_dim, name="pitch_embedding")(pitch)
    concat = keras.layers.Concatenate(name="concat")([vectors, numeric])
    x = between(concat) if between is not None else concat
    x = rnn(cfg.units, return_sequences=True, name="lstm_1")(x)
    sources = {"pitch": x, "step": concat if step_from_concat else x, "duration": x}
    time_width = cfg.rhythm_classes if cfg.beats else 1
    outputs = {
        label: keras.layers.Dense(
            PITCH_CLASSES if head == "pitch" else time_width, activation=head_activation, name=label
        )(sources[head])
        for head, label in zip(HEADS, head_names)
    }
    return keras.Model([pitch, numeric], outputs)


def rewrite_member(data: bytes, member: str, change) -> bytes:
    """A copy of a zip with one member's bytes replaced by change(old_bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            content = old.read(info.filename)
            new.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


def edit_graph(data: bytes, edit) -> bytes:
    def change(content: bytes) -> bytes:
        graph = json.loads(content)
        edit({layer["name"]: layer for layer in graph["config"]["layers"]}, graph)
        return json.dumps(graph).encode()

    return rewrite_member(data, "config.json", change)


@pytest.fixture(scope="module")
def good_file() -> bytes:
    model, cfg = random_model("tiny", seed=2)
    return model_bytes(model, cfg)


def refused(data: bytes, pattern: str, name: str = "upload.keras") -> str:
    with pytest.raises(ModelFileError, match=pattern) as caught:
        read_model_file(data, name=name)
    message = str(caught.value)
    assert message.startswith(f"{name}: ")  # the message names the file
    assert "Traceback" not in message and len(message) < 300
    return message


def test_the_unchanged_file_loads(good_file):
    """Control for the tests below: each one changes this file (or its graph) in one way."""
    assert read_model_file(good_file).cfg.preset == "tiny"


def test_random_bytes_are_refused():
    refused(np.random.default_rng(0).bytes(5000), "not a .keras model file.*not a zip")


def test_empty_file_is_refused():
    refused(b"", "not a .keras model file")


def test_a_midi_file_uploaded_as_model_is_refused():
    refused(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x00", "not a zip")


def test_zip_without_config_json_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.weights.h5", b"")
        archive.writestr("readme.txt", "hello")
    refused(buffer.getvalue(), "config.json is missing")


def test_truncated_keras_file_is_refused(good_file):
    refused(good_file[: len(good_file) // 2], "not a .keras model file|damaged")


def test_file_with_truncated_weights_is_refused(good_file):
    refused(rewrite_member(good_file, "model.weights.h5", lambda b: b[: len(b) // 3]), "damaged|not a musicrnn model")


def test_config_json_that_is_not_json_is_refused(good_file):
    refused(rewrite_member(good_file, "config.json", lambda b: b"{not json"), "damaged")


def test_damaged_musicrnn_member_is_refused(good_file):
    refused(rewrite_member(good_file, CONFIG_MEMBER, lambda b: b"[1, 2, 3]"), "musicrnn.json is damaged")


def test_dense_only_model_is_refused(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    refused(keras_file(model, tmp_path), "not a musicrnn model.*inputs")


def test_sequential_model_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(8), keras.layers.Dense(128)])
    refused(keras_file(model, tmp_path), "not a musicrnn model")


def test_gru_model_is_refused(tmp_path):
    refused(
        keras_file(musicrnn_like(preset("tiny", parts=False, **OLDER), rnn=keras.layers.GRU), tmp_path),
        "unexpected layer 'GRU'",
    )


def test_wrong_head_names_are_refused(tmp_path):
    model = musicrnn_like(preset("tiny", parts=False, **OLDER), head_names=("notes", "step", "length"))
    refused(keras_file(model, tmp_path), "outputs are")


def test_head_with_an_activation_is_refused(tmp_path):
    model = musicrnn_like(preset("tiny", parts=False, **OLDER), head_activation="relu")
    refused(keras_file(model, tmp_path), "head 'pitch' has an activation")


def test_head_wired_to_another_layer_is_refused(tmp_path):
    model = musicrnn_like(preset("tiny", parts=False, **OLDER), step_from_concat=True)
    refused(keras_file(model, tmp_path), "'step' is not wired as expected")


def test_control_musicrnn_like_graph_loads(tmp_path):
    """The variant builder, unchanged, makes a file that loads: the refusals above are for their change."""
    cfg = preset("tiny", parts=False, **OLDER)
    model = randomize_weights(musicrnn_like(cfg))
    numpy_model = read_model_file(keras_file(model, tmp_path))
    assert_same_outputs(numpy_model, model, cfg)


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda layers, g: layers["pitch"]["config"].update(activation="softmax"), "head 'pitch' has an activation"),
        (lambda layers, g: layers["lstm_1"]["config"].update(go_backwards=True), "unexpected LSTM layer"),
        (lambda layers, g: layers["lstm_1"]["config"].update(activation="relu"), "unsupported activations"),
        (lambda layers, g: layers["lstm_1"]["config"].update(return_sequences=False), "unexpected LSTM layer"),
        (lambda layers, g: layers["step"].update(registered_name="evil>Dense"), "unexpected layer"),
        (lambda layers, g: layers["concat"].update(class_name="Add"), "unexpected layer 'Add'"),
        (lambda layers, g: g.update(class_name="Sequential"), "expected a Keras functional model"),
        (
            lambda layers, g: layers["duration"]["inbound_nodes"][0]["args"][0]["config"].update(
                keras_history=["concat", 0, 0]
            ),
            "'duration' is not wired as expected",
        ),
    ],
    ids=[
        "head-activation",
        "go-backwards",
        "lstm-activation",
        "no-sequences",
        "registered-name",
        "class",
        "sequential",
        "rewired",
    ],
)
def test_graph_edits_are_refused(good_file, edit, pattern):
    refused(edit_graph(good_file, edit), pattern)


# --- a Lambda layer carries code: it must be refused without running ----------------------------------


def lambda_model_file(tmp_path: Path) -> tuple[Path, Path]:
    """A musicrnn-shaped model with a Lambda whose code writes a marker file (the path travels in the
    layer's `arguments`, so the stored bytecode needs nothing from this test module)."""
    marker = tmp_path / "lambda-ran"
    sneaky = keras.layers.Lambda(
        lambda x, path: (__import__("pathlib").Path(path).write_text("the file's code ran"), x)[1],
        arguments={"path": str(marker)},
        name="sneaky",
    )
    path = tmp_path / "lambda.keras"
    save_model(musicrnn_like(preset("tiny", parts=False, **OLDER), between=sneaky), preset("tiny", **OLDER), path)
    assert marker.exists()  # building the model called the function once; only later runs count
    marker.unlink()
    return path, marker


def test_lambda_layer_is_refused_and_never_runs(tmp_path):
    path, marker = lambda_model_file(tmp_path)
    with pytest.raises(ModelFileError, match="unexpected layer 'Lambda'"):
        read_model_file(path)
    with pytest.raises(ValueError, match="(?i)lambda|unsafe|safe_mode"):
        load_keras_model(path)
    assert not marker.exists()


def test_lambda_control_unsafe_loading_would_run_the_code(tmp_path):
    """Proves the marker works: Keras without safe mode does run the file's code."""
    path, marker = lambda_model_file(tmp_path)
    try:
        keras.saving.load_model(path, safe_mode=False, compile=False)
    except Exception:  # noqa: BLE001  (what matters is whether the code ran, not whether loading finished)
        pass
    assert marker.exists()
