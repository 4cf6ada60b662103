"""Numpy inference read straight from `.keras` files: no TensorFlow, no Keras deserialisation.

A `.keras` file is a zip holding `config.json` (the layer graph) and `model.weights.h5`. We check that the
graph is exactly a musicrnn model, read the weights with h5py, and step the LSTMs in numpy with Keras'
formulas (gate order i, f, c, o). Nothing in a file can run code here: we only read numbers.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .config import CONFIG_MEMBER, Config
from .features import feature_count
from .parts import PART_CLASSES
from .safezip import ZipRefused, member_problem, open_zip, read_member
from .theory import PITCH_CLASSES

MAX_MODEL_BYTES = 64 * 1024 * 1024
# A .keras file holds 3-4 members; its JSON is kilobytes (config.json ~10 KB, musicrnn.json grows with the
# training history). Limits are checked from the zip's declared sizes before anything is inflated.
MAX_MODEL_MEMBERS = 16
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_MODEL_RATIO = 100  # Keras stores members uncompressed; weights never compress 100x, bombs do
ALLOWED_LAYERS = {"InputLayer", "Embedding", "Reshape", "Rescaling", "Concatenate", "LSTM", "Dropout", "Dense"}


class ModelFileError(ValueError):
    """A model file that is not a usable musicrnn model, with the reason."""


@dataclass
class LSTMWeights:
    kernel: np.ndarray  # (inputs, 4u)
    recurrent: np.ndarray  # (u, 4u)
    bias: np.ndarray  # (4u,)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # equal to 1/(1+e^-x), without overflow warnings


def _sigmoid_gates_first(weights: np.ndarray) -> np.ndarray:
    """Gate columns from Keras' order (i, f, c, o) to (i, f, o, c): the three sigmoid gates side by side."""
    i, f, c, o = np.split(weights, 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([i, f, o, c], axis=-1))


def _snake_case(name: str) -> str:
    """Keras' own class-name-to-path rule (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class NumpyModel:
    """A musicrnn model as numpy arrays; steps many streams at once."""

    def __init__(
        self,
        cfg: Config,
        pitch_table: np.ndarray,
        lstms: list[LSTMWeights],
        heads: tuple[np.ndarray, np.ndarray],
        info: dict | None = None,
        part_head: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.cfg = cfg
        self.info = info or {}  # what training recorded: corpus summary, split, history, final losses
        self.lstms = lstms
        # The first layer's input product splits into a per-pitch lookup plus the numeric features' part,
        # so an embedding (or pitch/128) never needs its own matmul at run time.
        self.pitch_table = pitch_table  # (128, 4u) = pitch vector @ kernel rows for pitch
        self.numeric_kernel = lstms[0].kernel[-feature_count(cfg) :]
        self.head_kernel, self.head_bias = heads  # (u, 128 + 2w): pitch logits, then step and duration
        # w = 1 (seconds, regressed) or the beat grid's classes (beats mode: logits per class).
        self.time_width = (self.head_kernel.shape[1] - PITCH_CLASSES) // 2
        # Parts models: the fourth head, read from the last layer's state by part_logits (kept out of step(),
        # whose four outputs every caller unpacks).
        self.part_kernel: np.ndarray | None
        self.part_bias: np.ndarray | None
        self.part_kernel, self.part_bias = part_head if part_head is not None else (None, None)
        # What step() multiplies with: gates reordered to (i, f, o, c) so each layer takes one sigmoid and
        # one tanh per step, and the first layer's bias folded into the pitch lookup.
        self._pitch_gates = _sigmoid_gates_first(pitch_table + lstms[0].bias)
        self._numeric_gates = _sigmoid_gates_first(self.numeric_kernel)
        self._layers = [tuple(_sigmoid_gates_first(w) for w in (l.kernel, l.recurrent, l.bias)) for l in lstms]

    @property
    def units(self) -> list[int]:
        return [w.recurrent.shape[0] for w in self.lstms]

    def parameter_count(self) -> int:
        lstm = sum(w.kernel.size + w.recurrent.size + w.bias.size for w in self.lstms)
        embed = PITCH_CLASSES * self.cfg.embedding_dim if self.cfg.pitch_input == "embedding" else 0
        part = (
            self.part_kernel.size + self.part_bias.size
            if self.part_kernel is not None and self.part_bias is not None
            else 0
        )
        return int(lstm + embed + self.head_kernel.size + self.head_bias.size + part)

    def start(self, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Zero (h, c) for every layer."""
        return [(np.zeros((batch, u), np.float32), np.zeros((batch, u), np.float32)) for u in self.units]

    def step(
        self, pitch: np.ndarray, numeric: np.ndarray, state: list
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """One note per stream in, the next note's (pitch logits, step, duration) out, plus the new state.
        Step and duration are (B,) seconds, or (B, classes) logits for a beats model."""
        new_state = []
        x = None
        for layer, ((kernel, recurrent, bias), (h, c)) in enumerate(zip(self._layers, state)):
            if layer == 0:  # a row lookup for the pitch (bias included) plus the few numeric features
                z = self._pitch_gates[pitch] + numeric @ self._numeric_gates
            else:
                z = x @ kernel + bias
            z += h @ recurrent
            units = h.shape[-1]
            gates = _sigmoid(z[:, : 3 * units])  # input, forget, output
            c = gates[:, units : 2 * units] * c + gates[:, :units] * np.tanh(z[:, 3 * units :])
            h = gates[:, 2 * units :] * np.tanh(c)
            new_state.append((h, c))
            x = h
        out = x @ self.head_kernel + self.head_bias
        width, split = self.time_width, PITCH_CLASSES + self.time_width
        if width == 1:
            return out[:, :PITCH_CLASSES], out[:, PITCH_CLASSES], out[:, PITCH_CLASSES + 1], new_state
        return out[:, :PITCH_CLASSES], out[:, PITCH_CLASSES:split], out[:, split:], new_state

    @property
    def has_parts(self) -> bool:
        return self.part_kernel is not None

    def part_logits(self, state: list) -> np.ndarray:
        """(B, PART_CLASSES) logits of the next note's part, from the state step() returned (parts models)."""
        if self.part_kernel is None:
            raise ValueError("this model has no part head")
        return state[-1][0] @ self.part_kernel + self.part_bias

    def forward(self, pitch: np.ndarray, numeric: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs at every position of (B, T) pitches and (B, T, F) features, like the Keras model."""
        pitch = np.asarray(pitch, dtype=np.int64)
        state = self.start(pitch.shape[0])
        logits, steps, durations, parts = [], [], [], []
        for t in range(pitch.shape[1]):
            lg, st, du, state = self.step(pitch[:, t], numeric[:, t].astype(np.float32), state)
            logits.append(lg)
            steps.append(st)
            durations.append(du)
            if self.has_parts:
                parts.append(self.part_logits(state))
        if self.time_width == 1:  # (B, T, 1) like the Keras heads
            out = {
                "pitch": np.stack(logits, 1),
                "step": np.stack(steps, 1)[..., None],
                "duration": np.stack(durations, 1)[..., None],
            }
        else:
            out = {"pitch": np.stack(logits, 1), "step": np.stack(steps, 1), "duration": np.stack(durations, 1)}
        return {**out, "part": np.stack(parts, 1)} if self.has_parts else out


def read_model_file(source: str | Path | bytes, name: str | None = None) -> NumpyModel:
    """Load a `.keras` file (path or bytes) as a NumpyModel, or raise ModelFileError saying why not."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "model file")
    try:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    except OSError as exc:
        raise ModelFileError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(
            f"{label}: the file is too large ({len(data) / 1e6:.0f} MB; limit {MAX_MODEL_BYTES / 1e6:.0f} MB)"
        )
    try:
        archive = open_zip(data, MAX_MODEL_MEMBERS, 2 * MAX_MODEL_BYTES)
    except ZipRefused as exc:
        if str(exc) == "it is not a zip archive":
            raise ModelFileError(f"{label}: not a .keras model file (it is not a zip archive)") from None
        raise ModelFileError(f"{label}: not a usable .keras model file ({exc})") from None
    members = {info.filename: info for info in archive.infolist()}
    for needed in ("config.json", "model.weights.h5"):
        if needed not in members:
            raise ModelFileError(f"{label}: not a .keras model file ({needed} is missing)")
    wanted = [member for member in ("config.json", CONFIG_MEMBER, "model.weights.h5") if member in members]
    for member in wanted:  # every member is checked before any is unpacked
        limit = MAX_MODEL_BYTES if member.endswith(".h5") else MAX_JSON_BYTES
        problem = member_problem(members[member], limit, MAX_MODEL_RATIO)
        if problem:
            raise ModelFileError(f"{label}: {member} cannot be used ({problem})")
    contents = {}
    for member in wanted:
        try:
            contents[member] = read_member(archive, members[member])
        except ZipRefused as exc:
            raise ModelFileError(f"{label}: the file is damaged ({member}: {exc})") from None
    try:
        graph = json.loads(contents["config.json"])
        stored = json.loads(contents[CONFIG_MEMBER]) if CONFIG_MEMBER in contents else {}
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, absurd nesting
        raise ModelFileError(f"{label}: the file is damaged (its JSON cannot be read: {type(exc).__name__})") from None
    if not isinstance(graph, dict):
        raise ModelFileError(f"{label}: not a musicrnn model (config.json does not describe a Keras model)")
    weights_bytes = contents["model.weights.h5"]
    try:
        return _build(graph, stored, weights_bytes)
    except ModelFileError as exc:
        raise ModelFileError(f"{label}: {exc}") from None
    except (KeyError, TypeError, ValueError, OSError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{label}: not a musicrnn model ({type(exc).__name__}: {exc})") from None


def _stored_config(values: dict) -> Config:
    """The training settings recorded in musicrnn.json, each of the type Config expects (a file could
    hold a string where generation will do arithmetic)."""
    defaults = Config()
    for key, value in values.items():
        if not hasattr(defaults, key):
            continue
        expected = type(getattr(defaults, key))
        fits = isinstance(value, expected) and (expected is bool or not isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            fits = True
        if not fits:
            raise ModelFileError(f"{CONFIG_MEMBER} is damaged (setting {key!r} has the wrong type)")
    try:
        return Config.from_dict(values).validate()
    except ValueError as exc:
        raise ModelFileError(f"{CONFIG_MEMBER} is damaged ({exc})") from None


def _layers(graph: dict) -> list[dict]:
    if graph.get("class_name") != "Functional":
        raise ModelFileError("not a musicrnn model (expected a Keras functional model)")
    layers = graph["config"]["layers"]
    for layer in layers:
        if layer.get("class_name") not in ALLOWED_LAYERS or layer.get("registered_name") not in (
            None,
            layer.get("class_name"),
        ):
            raise ModelFileError(
                f"not a musicrnn model (unexpected layer {layer.get('class_name')!r} named {layer.get('name')!r})"
            )
    return layers


def _inbound(layer: dict) -> list[str]:
    """Names of the layers feeding `layer`."""
    names = []
    for node in layer.get("inbound_nodes", []):
        args = node.get("args", [])
        flat = args[0] if args and isinstance(args[0], list) else args
        for arg in flat:
            if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                names.append(arg["config"]["keras_history"][0])
    return names


def _build(graph: dict, stored: dict, weights_bytes: bytes) -> NumpyModel:
    layers = _layers(graph)
    by_name = {layer["name"]: layer for layer in layers}
    inputs = [layer for layer in layers if layer["class_name"] == "InputLayer"]
    input_names = sorted(layer["name"] for layer in inputs)
    if input_names != ["features", "pitch_input"]:
        raise ModelFileError(f"not a musicrnn model (inputs are {input_names}, expected pitch_input and features)")
    feature_width = by_name["features"]["config"]["batch_shape"][-1]
    outputs = (
        sorted(entry[0] for entry in graph["config"]["output_layers"].values())
        if isinstance(graph["config"]["output_layers"], dict)
        else sorted(entry[0] for entry in graph["config"]["output_layers"])
    )
    if outputs not in (["duration", "pitch", "step"], ["duration", "part", "pitch", "step"]):
        raise ModelFileError(
            f"not a musicrnn model (outputs are {outputs}, expected pitch, step, duration and perhaps part)"
        )
    parts = "part" in outputs  # models from before parts have three heads and write one track

    if not isinstance(stored, dict) or not isinstance(stored.get("config", {}), dict):
        raise ModelFileError(f"{CONFIG_MEMBER} is damaged")
    cfg = _stored_config(stored.get("config", {}))
    lstm_layers = [layer for layer in layers if layer["class_name"] == "LSTM"]
    if not lstm_layers:
        raise ModelFileError("not a musicrnn model (no LSTM layer)")
    embedding = by_name.get("pitch_embedding")
    # The step head's width says how the model reads time: 1 = seconds (files from before beats, the
    # tutorial preset), more = classes on the beat grid the stored config describes.
    time_width = by_name["step"]["config"]["units"] if "step" in by_name else 1
    cfg = cfg.replace(
        pitch_input="embedding" if embedding else "scaled",
        embedding_dim=embedding["config"]["output_dim"] if embedding else cfg.embedding_dim,
        rich_features=feature_width - (PART_CLASSES if parts else 0) in (5, 9),
        parts=parts,
        time_unit="beats" if time_width != 1 else "seconds",
        layers=len(lstm_layers),
        units=lstm_layers[0]["config"]["units"],
    )
    if cfg.beats and time_width != cfg.rhythm_classes:
        raise ModelFileError(
            f"not a musicrnn model (its step head has {time_width} classes, but its settings "
            f"describe {cfg.rhythm_classes})"
        )
    if feature_width != feature_count(cfg):
        raise ModelFileError(f"not a musicrnn model (features input has width {feature_width})")
    _check_wiring(by_name, lstm_layers, embedding, parts)

    # Keras names each layer's weights by its class (snake case) and a counter, in layer order.
    used: dict[str, int] = {}
    paths: dict[str, str] = {}
    for layer in layers:
        base = _snake_case(layer["class_name"])
        paths[layer["name"]] = base if base not in used else f"{base}_{used[base] + 1}"
        used[base] = used.get(base, -1) + 1
    with h5py.File(io.BytesIO(weights_bytes), "r") as h5:

        def var(layer_name: str, index: int, cell: bool = False) -> np.ndarray:
            group = f"layers/{paths[layer_name]}/" + ("cell/" if cell else "") + f"vars/{index}"
            return _read_weight(h5, group, len(weights_bytes))

        lstms = [
            LSTMWeights(var(l["name"], 0, True), var(l["name"], 1, True), var(l["name"], 2, True)) for l in lstm_layers
        ]
        heads = [(var(n, 0), var(n, 1)) for n in ("pitch", "step", "duration")]
        part_head = (var("part", 0), var("part", 1)) if parts else None
        if embedding:
            pitch_vectors = var("pitch_embedding", 0)
        else:
            scale = by_name["pitch_scale"]["config"]
            pitch_vectors = (np.arange(PITCH_CLASSES, dtype=np.float32) * scale["scale"] + scale["offset"])[:, None]
    _check_shapes(cfg, lstms, heads + ([part_head] if part_head else []), pitch_vectors, feature_width)
    pitch_table = pitch_vectors @ lstms[0].kernel[: pitch_vectors.shape[1]]
    head_kernel = np.concatenate([k for k, _ in heads], axis=1)
    head_bias = np.concatenate([b for _, b in heads])
    return NumpyModel(cfg, pitch_table.astype(np.float32), lstms, (head_kernel, head_bias), stored, part_head)


def _read_weight(h5: h5py.File, path: str, file_bytes: int) -> np.ndarray:
    """One weight array, refusing what Keras never writes but a hostile file could: links or storage that
    reach other files on the server, and compressed datasets that would inflate past the file's own size."""
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        link = h5.get("/".join(parts[:depth]), getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(f"model.weights.h5 is damaged ({path} is missing or links elsewhere)")
    dataset = h5[path]
    if not isinstance(dataset, h5py.Dataset) or dataset.dtype.kind != "f" or dataset.external or dataset.is_virtual:
        raise ModelFileError(f"model.weights.h5 is damaged ({path} is not a plain array of numbers)")
    if dataset.size * dataset.dtype.itemsize > file_bytes:
        raise ModelFileError(f"model.weights.h5 is damaged ({path} claims more data than the file holds)")
    return np.asarray(dataset, dtype=np.float32)


def _check_wiring(by_name: dict, lstm_layers: list[dict], embedding: dict | None, parts: bool = False) -> None:
    """The graph must be pitch path + features -> concat -> LSTM stack -> three heads, nothing else."""

    def expect(layer: str, sources: list[str]) -> None:
        if layer not in by_name or _inbound(by_name[layer]) != sources:
            raise ModelFileError(f"not a musicrnn model (layer {layer!r} is not wired as expected)")

    if embedding:
        expect("pitch_embedding", ["pitch_input"])
        expect("concat", ["pitch_embedding", "features"])
    else:
        expect("pitch_reshape", ["pitch_input"])
        expect("pitch_scale", ["pitch_reshape"])
        expect("concat", ["pitch_scale", "features"])
    previous = "concat"
    for index, layer in enumerate(lstm_layers, start=1):
        config = layer["config"]
        if layer["name"] != f"lstm_{index}" or not config.get("return_sequences") or config.get("go_backwards"):
            raise ModelFileError(f"not a musicrnn model (unexpected LSTM layer {layer['name']!r})")
        if (
            config.get("activation") != "tanh"
            or config.get("recurrent_activation") != "sigmoid"
            or not config.get("use_bias")
        ):
            raise ModelFileError(f"not a musicrnn model (LSTM {layer['name']!r} uses unsupported activations)")
        expect(layer["name"], [previous])
        previous = layer["name"]
        if f"dropout_{index}" in by_name:
            expect(f"dropout_{index}", [previous])
            previous = f"dropout_{index}"
    for head in ("pitch", "step", "duration") + (("part",) if parts else ()):
        expect(head, [previous])
        if by_name[head]["config"].get("activation") not in ("linear", None):
            raise ModelFileError(f"not a musicrnn model (head {head!r} has an activation)")


def _check_shapes(cfg: Config, lstms: list[LSTMWeights], heads: list, pitch_vectors: np.ndarray, width: int) -> None:
    if pitch_vectors.shape[0] != PITCH_CLASSES:
        raise ModelFileError("not a musicrnn model (pitch input is not over 128 pitches)")
    expected_in = pitch_vectors.shape[1] + width
    for w in lstms:
        units = w.recurrent.shape[0]
        if (
            w.kernel.shape != (expected_in, 4 * units)
            or w.recurrent.shape != (units, 4 * units)
            or w.bias.shape != (4 * units,)
        ):
            raise ModelFileError("not a musicrnn model (LSTM weights have unexpected shapes)")
        expected_in = units
    for (kernel, bias), size in zip(heads, (PITCH_CLASSES, cfg.time_head_width, cfg.time_head_width, PART_CLASSES)):
        if kernel.shape != (expected_in, size) or bias.shape != (size,):
            raise ModelFileError("not a musicrnn model (output heads have unexpected shapes)")
