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

from .config import CONFIG_MEMBER, FIELDS, Config
from .features import VOICE_CLASSES, extra_feature_count, feature_count
from .parts import PART_CLASSES
from .safezip import ZipRefused, member_problem, open_zip, read_member
from .theory import KEY_COUNT, PITCH_CLASSES

KEY_DIM = 8  # = musicrnn.model.KEY_DIM (not imported: that module needs TensorFlow)

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


def _gates(weights: np.ndarray) -> np.ndarray:
    """Gate columns from Keras' order (i, f, c, o) to (i, f, o, c), the three sigmoid gates side by side and
    halved: sigmoid(z) = (tanh(z / 2) + 1) / 2, and halving a weight halves its products exactly (a power of
    two), so the step skips one multiplication per layer and computes the same numbers."""
    i, f, c, o = np.split(weights, 4, axis=-1)
    return np.ascontiguousarray(np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, c], axis=-1))


def _snake_case(name: str) -> str:
    """Keras' own class-name-to-path rule (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class LinearHead:
    """A head that is one Dense layer over the last LSTM output (models from before ordered fields)."""

    kernel: np.ndarray  # (u, classes)
    bias: np.ndarray

    def size(self) -> int:
        return int(self.kernel.size + self.bias.size)


@dataclass
class OrderedHead:
    """An ordered model's head: relu(h W + key row + the earlier fields' rows + b) W_out + b_out. The rows are
    each input's learned vector already multiplied by its part of W, so a field's value costs one lookup."""

    hidden_kernel: np.ndarray  # (u, H): the part of W that reads the LSTM output
    hidden_bias: np.ndarray  # (H,)
    key_rows: np.ndarray | None  # (24, H): key_embedding @ its part of W (key_input models)
    given_rows: dict[str, np.ndarray]  # earlier field -> (its classes, H)
    out_kernel: np.ndarray  # (H, classes)
    out_bias: np.ndarray
    parameters: int  # as Keras counts them (embeddings and kernels before folding)

    def size(self) -> int:
        return self.parameters


@dataclass
class StreamState:
    """Each layer's (h, c) for a batch of streams, and the key each stream is in (key_input models).

    NumpyModel.advance also leaves here what the next step and the heads multiply the new outputs by anyway
    (each output is multiplied once by all the matrices that read it; see NumpyModel.advance): `recurrent`,
    each layer's h @ its recurrent kernel, and `hidden`, the heads' first layer before the earlier fields'
    rows. A state built from (h, c) alone (a Keras stepper's) has neither; they are then computed when needed."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    key: np.ndarray | None = None
    recurrent: list[np.ndarray] | None = None
    hidden: np.ndarray | None = None  # (B, every ordered head's width): top @ W + b (+ key row)

    def take(self, rows: np.ndarray) -> StreamState:
        """The states of the streams `rows` (decoding: a candidate carried on in its siblings' places)."""
        return StreamState(
            [(h[rows], c[rows]) for h, c in self.layers],
            None if self.key is None else self.key[rows],
            None if self.recurrent is None else [r[rows] for r in self.recurrent],
            None if self.hidden is None else self.hidden[rows],
        )

    @property
    def top(self) -> np.ndarray:
        """The last layer's output: what the heads read."""
        return self.layers[-1][0]


class NumpyModel:
    """A musicrnn model as numpy arrays; steps many streams at once.

    The sampling loop's contract: `start(batch, key)` gives a fresh state, `advance(state, pitch, numeric)`
    reads one note per stream, and `field_logits(field, state, given)` gives the logits of the next note's
    `field` given the fields already drawn for it (`given`: field -> (B,) values), in the order `fields`.
    Models from before ordered fields ignore `given` (their heads are independent given the state)."""

    def __init__(
        self,
        cfg: Config,
        pitch_table: np.ndarray,
        lstms: list[LSTMWeights],
        heads: dict[str, LinearHead] | dict[str, OrderedHead],
        info: dict | None = None,
        key_table: np.ndarray | None = None,
        embedding_parameters: int = 0,
    ):
        self.cfg = cfg
        self.info = info or {}  # what training recorded: corpus summary, split, history, final losses
        self.lstms = lstms
        self.heads = heads
        # The first layer's input product splits into a per-pitch lookup (and a per-key one) plus the numeric
        # features' part, so an embedding (or pitch/128) never needs its own matmul at run time.
        self.pitch_table = pitch_table  # (128, 4u) = pitch vector @ kernel rows for pitch
        self.key_table = key_table  # (24, 4u) = key vector @ kernel rows for the key
        self.numeric_kernel = lstms[0].kernel[_numeric_rows(cfg, lstms[0].kernel.shape[0])]
        self.embedding_parameters = embedding_parameters
        self._fields: tuple[str, ...] | None = None
        # Beats models: classes per rhythm head; seconds models regress one number (width 1).
        duration = heads["duration"]
        self.time_width = (duration.out_kernel if isinstance(duration, OrderedHead) else duration.kernel).shape[1]
        # What advance() multiplies with: gates reordered to (i, f, o, c), the sigmoid gates' columns halved (see
        # _gates), and the first layer's bias folded into the pitch lookup.
        self._pitch_gates = _gates(pitch_table + lstms[0].bias)
        self._key_gates = None if key_table is None else _gates(key_table)
        self._numeric_gates = _gates(self.numeric_kernel)
        self._layers = [tuple(_gates(w) for w in (l.kernel, l.recurrent, l.bias)) for l in lstms]
        # Each layer's new output is multiplied once by every matrix that reads it, side by side: the next
        # layer's input kernel and its own recurrent kernel (for the next step); the top layer's, its recurrent
        # kernel and every head's first kernel. Columns side by side give the same numbers as separate products
        # (checked bit for bit) in 2 products per step instead of 7: the four heads of the default model took
        # 25 us per note instead of 45 (one stream).
        # Only ordered heads: a linear head's one-column product (a seconds model's step) comes out of BLAS
        # rounded differently in a wider product, and its value is the note's time.
        ordered = [(field, head) for field, head in heads.items() if isinstance(head, OrderedHead)]
        self._head_slices: dict[str, slice] = {}
        kernels: list[np.ndarray] = []
        biases: list[np.ndarray] = []
        key_rows: list[np.ndarray] = []
        for field, head in ordered:
            start = sum(k.shape[1] for k in kernels)
            self._head_slices[field] = slice(start, start + head.hidden_kernel.shape[1])
            kernels.append(head.hidden_kernel)
            biases.append(head.hidden_bias)
            if head.key_rows is not None:
                key_rows.append(head.key_rows)
        self._head_bias = np.concatenate(biases) if biases else np.zeros(0, np.float32)
        self._head_key_rows = np.concatenate(key_rows, axis=1) if key_rows else None
        units = lstms[-1].recurrent.shape[0]
        readers = [self._layers[i + 1][0] for i in range(len(lstms) - 1)]
        readers.append(np.concatenate(kernels, axis=1) if kernels else np.zeros((units, 0), np.float32))
        self._out_kernels = [
            np.ascontiguousarray(np.concatenate([reader, recurrent], axis=1))
            for reader, (_, recurrent, _) in zip(readers, self._layers)
        ]

    @property
    def fields(self) -> tuple[str, ...]:
        """The order generation draws a note's fields in. Ordered models: their own. Older beats models:
        rhythm, part, pitch (their heads are independent; drawing the onset first lets a chord's pitches
        differ, and the part first keeps the pitch in that part's range). Seconds models: part, pitch, then
        their regressed times."""
        if self._fields is None:  # asked once per note: Config.fields parses its text
            part = ("part",) if self.has_parts else ()
            if self.cfg.ordered:
                self._fields = self.cfg.fields
            elif self.cfg.beats:
                self._fields = ("step", "duration", *part, "pitch")
            else:
                self._fields = (*part, "pitch", "step", "duration")
        return self._fields

    @property
    def units(self) -> list[int]:
        return [w.recurrent.shape[0] for w in self.lstms]

    @property
    def has_parts(self) -> bool:
        return "part" in self.heads

    def parameter_count(self) -> int:
        lstm = sum(w.kernel.size + w.recurrent.size + w.bias.size for w in self.lstms)
        return int(lstm + self.embedding_parameters + sum(head.size() for head in self.heads.values()))

    def start(self, batch: int, key: np.ndarray | int | None = None) -> StreamState:
        """Zero (h, c) for every layer; `key` (a key index, or one per stream) for key_input models."""
        layers = [(np.zeros((batch, u), np.float32), np.zeros((batch, u), np.float32)) for u in self.units]
        keys = None if key is None else np.broadcast_to(np.asarray(key, np.int64), (batch,)).copy()
        recurrent = [np.zeros((batch, 4 * u), np.float32) for u in self.units]  # h = 0
        return StreamState(layers, keys, recurrent)

    def advance(self, state: StreamState, pitch: np.ndarray, numeric: np.ndarray) -> StreamState:
        """Read one note per stream: its pitch (B,) and numeric features (B, F); returns the new state."""
        batch = len(pitch)
        recurrent = state.recurrent or [h @ layer[1] for layer, (h, _) in zip(self._layers, state.layers)]
        new_layers: list[tuple[np.ndarray, np.ndarray]] = []
        new_recurrent: list[np.ndarray] = []
        read_by_next = np.zeros(0, np.float32)  # each layer's output @ what reads it (the layer above, the heads)
        # The first layer's input: a row lookup for the pitch (bias included) plus the few numeric features.
        z = self._pitch_gates[pitch] + numeric @ self._numeric_gates
        if self._key_gates is not None:
            z += self._key_gates[_keys(state, batch)]
        for (_, _, bias), (h, c), h_product, out_kernel in zip(
            self._layers, state.layers, recurrent, self._out_kernels
        ):
            if new_layers:  # a later layer: the output below it @ its input kernel, computed with that output
                z = read_by_next + bias
            z += h_product
            units = h.shape[-1]
            # One tanh for all four gates, in place: the sigmoid gates' columns are halved (see _gates), so
            # sigmoid = (tanh + 1) / 2 there; the cell's candidate is tanh itself.
            gates = np.tanh(z, out=z)
            sigmoid = gates[:, : 3 * units]  # input, forget, output
            sigmoid += 1.0
            sigmoid *= 0.5
            c = gates[:, units : 2 * units] * c + gates[:, :units] * gates[:, 3 * units :]
            h = np.tanh(c)
            h *= gates[:, 2 * units : 3 * units]
            new_layers.append((h, c))
            product = _product(h, out_kernel)  # what reads h: the next layer (or the heads), and its next step
            read_by_next, own = product[:, : -4 * units], product[:, -4 * units :]
            new_recurrent.append(own)
        hidden = self._hidden(read_by_next, state) if self._head_slices else None
        return StreamState(new_layers, state.key, new_recurrent, hidden)

    def _hidden(self, product: np.ndarray, state: StreamState) -> np.ndarray:
        """(B, every ordered head's width) each head's first layer before the earlier fields' rows, from the top
        output @ the heads' kernels side by side."""
        hidden = product + self._head_bias
        if self._head_key_rows is not None:
            hidden += self._head_key_rows[_keys(state, len(product))]
        return hidden

    def field_logits(self, field: str, state: StreamState, given: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """(B, classes) logits of the next note's `field` after the notes `state` has read, given the values
        already drawn for it (ordered models; others ignore them). A seconds model's step and duration are
        one regressed number per stream, (B,)."""
        head = self.heads[field]
        if isinstance(head, LinearHead):
            out = state.top @ head.kernel + head.bias
            return out[:, 0] if out.shape[1] == 1 and field in ("step", "duration") else out
        if state.hidden is None:  # a state built from (h, c) alone: the heads' kernels lead the top's out kernel
            state.hidden = self._hidden(state.top @ self._out_kernels[-1][:, : len(self._head_bias)], state)
        z = state.hidden[:, self._head_slices[field]]
        for name, rows in head.given_rows.items():  # a field not given reads as class 0 (as forward pads)
            z = z + (rows[np.asarray(given[name], np.int64)] if given and name in given else rows[0])
        logits = np.maximum(z, 0.0) @ head.out_kernel
        logits += head.out_bias  # in place: one array less per head and note
        return logits

    def forward(
        self,
        pitch: np.ndarray,
        numeric: np.ndarray,
        key: np.ndarray | int | None = None,
        given: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Outputs at every position of (B, T) pitches and (B, T, F) features, like the Keras model. An
        ordered model's later heads read `given` (field -> (B, T) values of the next notes, as in training;
        0 where absent)."""
        pitch = np.asarray(pitch, dtype=np.int64)
        batch, length = pitch.shape
        state = self.start(batch, key)
        given = given or {}
        out: dict[str, list] = {field: [] for field in self.heads}
        for t in range(length):
            state = self.advance(state, pitch[:, t], numeric[:, t].astype(np.float32))
            at_t = {name: np.maximum(np.asarray(values)[:, t], 0) for name, values in given.items()}
            drawn: dict[str, np.ndarray] = {}
            for field in self.heads:
                out[field].append(self.field_logits(field, state, drawn | at_t))
        stacked = {field: np.stack(values, 1) for field, values in out.items()}
        if self.time_width == 1:  # (B, T, 1) like the Keras heads
            stacked["step"], stacked["duration"] = stacked["step"][..., None], stacked["duration"][..., None]
        return stacked


# OpenBLAS multiplies small products (rows x columns x inner up to 100^3 on this machine's AVX-512 kernels) without
# first copying the weights into its own layout; above that, the copy dominates for a few rows. So a product of a
# few streams is taken in column blocks below that size: the same numbers (checked bit for bit), and for 8 streams
# an LSTM step's two products took 53 + 40 us instead of 106 + 74.
SMALL_PRODUCT = 1_000_000
MIN_BLOCK = 128  # narrower blocks cost more in calls than they save (64 streams: no gain)


def _product(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """x @ weights, in column blocks OpenBLAS multiplies without repacking (see SMALL_PRODUCT) where that helps."""
    rows, inner = x.shape
    width = weights.shape[1]
    block = SMALL_PRODUCT // (rows * inner) // 16 * 16
    if rows == 1 or block >= width or block < MIN_BLOCK:  # one stream: a matrix-vector product already
        return x @ weights
    return np.concatenate([x @ weights[:, start : start + block] for start in range(0, width, block)], axis=1)


def _keys(state: StreamState, batch: int) -> np.ndarray:
    """The streams' key indices (C major for a key_input model started without one)."""
    return state.key if state.key is not None else np.zeros(batch, np.int64)


def _numeric_rows(cfg: Config, inputs: int) -> slice:
    """The first LSTM kernel's rows that read the numeric features: after the pitch vector's, before the key's."""
    width = feature_count(cfg)
    first = inputs - width - (KEY_DIM if cfg.key_input else 0)
    return slice(first, first + width)


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


def _output_names(graph: dict) -> list[str]:
    layers = graph["config"]["output_layers"]
    return sorted(entry[0] for entry in (layers.values() if isinstance(layers, dict) else layers))


def _build(graph: dict, stored: dict, weights_bytes: bytes) -> NumpyModel:
    layers = _layers(graph)
    by_name = {layer["name"]: layer for layer in layers}
    input_names = sorted(layer["name"] for layer in layers if layer["class_name"] == "InputLayer")
    given_inputs = [name for name in input_names if name.startswith("next_")]
    known_inputs = {"features", "pitch_input", "key_input", "next_voice"} | {f"next_{field}" for field in FIELDS}
    if not {"features", "pitch_input"} <= set(input_names) or not set(input_names) <= known_inputs:
        raise ModelFileError(f"not a musicrnn model (inputs are {input_names}, expected pitch_input and features)")
    feature_width = by_name["features"]["config"]["batch_shape"][-1]
    outputs = _output_names(graph)
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
    ordered = "step_hidden" in by_name
    # The output layer's width says how the model reads time: 1 = seconds (files from before beats, the
    # tutorial preset), more = classes on the beat grid the stored config describes.
    time_width = by_name["duration"]["config"]["units"] if "duration" in by_name else 1
    step_width = by_name["step"]["config"]["units"] if "step" in by_name else 1
    cfg = cfg.replace(
        pitch_input="embedding" if embedding else "scaled",
        embedding_dim=embedding["config"]["output_dim"] if embedding else cfg.embedding_dim,
        parts=parts,
        time_unit="beats" if time_width != 1 else "seconds",
        layers=len(lstm_layers),
        units=lstm_layers[0]["config"]["units"],
        ordered=ordered,
        key_input="key_input" in input_names,
        end_class=time_width != 1 and step_width == time_width + 1,
        head_units=by_name["step_hidden"]["config"]["units"] if ordered else cfg.head_units,
        voice_memory="next_voice" in input_names,
    )
    cfg = cfg.replace(rich_features=feature_width - (PART_CLASSES if parts else 0) - extra_feature_count(cfg) in (5, 9))
    try:
        cfg.validate()
    except ValueError as exc:
        raise ModelFileError(f"not a musicrnn model ({exc})") from None
    if cfg.beats and time_width != cfg.rhythm_classes:
        raise ModelFileError(
            f"not a musicrnn model (its duration head has {time_width} classes, but its settings "
            f"describe {cfg.rhythm_classes})"
        )
    if feature_width != feature_count(cfg):
        raise ModelFileError(f"not a musicrnn model (features input has width {feature_width})")
    if ordered and sorted(given_inputs) != sorted(f"next_{name}" for name in cfg.given_inputs):
        raise ModelFileError(f"not a musicrnn model (its inputs {given_inputs} do not match its field order)")
    _check_wiring(by_name, lstm_layers, embedding, cfg)

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
        if embedding:
            pitch_vectors = var("pitch_embedding", 0)
        else:
            scale = by_name["pitch_scale"]["config"]
            pitch_vectors = (np.arange(PITCH_CLASSES, dtype=np.float32) * scale["scale"] + scale["offset"])[:, None]
        key_vectors = var("key_embedding", 0) if cfg.key_input else None
        _check_shapes(cfg, lstms, pitch_vectors, key_vectors, feature_width)
        if ordered:
            heads: dict = _ordered_heads(cfg, var, key_vectors, lstms[-1].recurrent.shape[0])
        else:
            heads = {name: LinearHead(var(name, 0), var(name, 1)) for name in outputs}
            _check_linear_heads(cfg, heads, lstms[-1].recurrent.shape[0])
    pitch_table = pitch_vectors @ lstms[0].kernel[: pitch_vectors.shape[1]]
    key_table = None if key_vectors is None else key_vectors @ lstms[0].kernel[-KEY_DIM:]
    embedding_parameters = (pitch_vectors.size if embedding else 0) + (0 if key_vectors is None else key_vectors.size)
    return NumpyModel(cfg, pitch_table.astype(np.float32), lstms, heads, stored, key_table, int(embedding_parameters))


def _ordered_heads(cfg: Config, var, key_vectors: np.ndarray | None, units: int) -> dict[str, OrderedHead]:
    """Each ordered head with its inputs' rows folded (see OrderedHead), its shapes checked."""
    classes = {"step": cfg.step_classes, "duration": cfg.rhythm_classes, "pitch": PITCH_CLASSES, "part": PART_CLASSES}
    classes["voice"] = VOICE_CLASSES
    given_vectors = {name: var(f"{name}_given", 0) for name in cfg.given_inputs}
    heads = {}
    for field in cfg.fields:
        kernel, bias = var(f"{field}_hidden", 0), var(f"{field}_hidden", 1)
        out_kernel, out_bias = var(field, 0), var(field, 1)
        earlier = cfg.given_names(field)
        # The head's input, in the order the model concatenates it: LSTM output, key vector, earlier fields.
        widths = [units, *([KEY_DIM] if key_vectors is not None else []), *(given_vectors[f].shape[1] for f in earlier)]
        hidden = kernel.shape[1]
        if kernel.shape[0] != sum(widths) or bias.shape != (hidden,) or out_kernel.shape != (hidden, classes[field]):
            raise ModelFileError(f"not a musicrnn model (the {field} head has unexpected shapes)")
        if out_bias.shape != (classes[field],):
            raise ModelFileError(f"not a musicrnn model (the {field} head has unexpected shapes)")
        row = units
        key_rows = None
        if key_vectors is not None:
            key_rows = key_vectors @ kernel[row : row + KEY_DIM]
            row += KEY_DIM
        given_rows = {}
        for name in earlier:
            vectors = given_vectors[name]
            if vectors.shape[0] != classes[name]:
                raise ModelFileError(f"not a musicrnn model (the {name} values read by later heads have bad shapes)")
            given_rows[name] = vectors @ kernel[row : row + vectors.shape[1]]
            row += vectors.shape[1]
        # The vectors of what this field makes known (the part's: the voice's last pitch too), as Keras counts.
        made_known = (field, "voice") if field == "part" else (field,)
        own_given = sum(given_vectors[name].size for name in made_known if name in given_vectors)
        parameters = kernel.size + bias.size + out_kernel.size + out_bias.size + own_given
        heads[field] = OrderedHead(kernel[:units], bias, key_rows, given_rows, out_kernel, out_bias, int(parameters))
    return heads


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


def _check_wiring(by_name: dict, lstm_layers: list[dict], embedding: dict | None, cfg: Config) -> None:
    """The graph must be pitch path + features (+ key) -> concat -> LSTM stack -> heads, nothing else."""

    def expect(layer: str, sources: list[str]) -> None:
        if layer not in by_name or _inbound(by_name[layer]) != sources:
            raise ModelFileError(f"not a musicrnn model (layer {layer!r} is not wired as expected)")

    key = ["key_embedding"] if cfg.key_input else []
    if cfg.key_input:
        expect("key_embedding", ["key_input"])
    if embedding:
        expect("pitch_embedding", ["pitch_input"])
        expect("concat", ["pitch_embedding", "features", *key])
    else:
        expect("pitch_reshape", ["pitch_input"])
        expect("pitch_scale", ["pitch_reshape"])
        expect("concat", ["pitch_scale", "features", *key])
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
    if not cfg.ordered:
        for head in ("pitch", "step", "duration") + (("part",) if cfg.parts else ()):
            expect(head, [previous])
            _linear(by_name, head)
        return
    for name in cfg.given_inputs:
        expect(f"{name}_given", [f"next_{name}"])
    for field in cfg.fields:
        earlier = [f"{name}_given" for name in cfg.given_names(field)]
        head_in = [previous, *key, *earlier]
        if len(head_in) > 1:
            expect(f"{field}_in", head_in)
            expect(f"{field}_hidden", [f"{field}_in"])
        else:
            expect(f"{field}_hidden", [previous])
        if by_name[f"{field}_hidden"]["config"].get("activation") != "relu":
            raise ModelFileError(f"not a musicrnn model (head {field!r} has an unexpected activation)")
        expect(field, [f"{field}_hidden"])
        _linear(by_name, field)


def _linear(by_name: dict, head: str) -> None:
    if by_name[head]["config"].get("activation") not in ("linear", None):
        raise ModelFileError(f"not a musicrnn model (head {head!r} has an activation)")


def _check_shapes(
    cfg: Config, lstms: list[LSTMWeights], pitch_vectors: np.ndarray, key_vectors: np.ndarray | None, width: int
) -> None:
    if pitch_vectors.shape[0] != PITCH_CLASSES:
        raise ModelFileError("not a musicrnn model (pitch input is not over 128 pitches)")
    if key_vectors is not None and key_vectors.shape != (KEY_COUNT, KEY_DIM):
        raise ModelFileError("not a musicrnn model (the key input has unexpected shapes)")
    expected_in = pitch_vectors.shape[1] + width + (0 if key_vectors is None else KEY_DIM)
    for w in lstms:
        units = w.recurrent.shape[0]
        if (
            w.kernel.shape != (expected_in, 4 * units)
            or w.recurrent.shape != (units, 4 * units)
            or w.bias.shape != (4 * units,)
        ):
            raise ModelFileError("not a musicrnn model (LSTM weights have unexpected shapes)")
        expected_in = units


def _check_linear_heads(cfg: Config, heads: dict[str, LinearHead], units: int) -> None:
    time_width = cfg.time_head_width
    sizes = {"pitch": PITCH_CLASSES, "step": cfg.step_classes if cfg.beats else 1, "duration": time_width}
    for name, head in heads.items():
        size = sizes.get(name, PART_CLASSES)
        if head.kernel.shape != (units, size) or head.bias.shape != (size,):
            raise ModelFileError("not a musicrnn model (output heads have unexpected shapes)")
