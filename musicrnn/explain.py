"""What the "How it works" page shows, computed from the real data and model (no Streamlit here).

The page walks through the pipeline on one file: its notes, one training window and the note after it,
the network's layers with their parameter counts, what it predicts for that window (and how the sampling
controls reshape that prediction), and what its loss numbers mean next to simple baselines.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config
from .dataset import Corpus, flatten
from .evaluation.scores import baseline_cross_entropy, baseline_top1, log_softmax, model_scores
from .features import class_beats, clip_times, in_chord_order, rhythm_class, timing_of
from .generate import Sampling, allowed_pitches, sampling_distribution
from .infer import KEY_DIM
from .parts import PART_NAMES
from .theory import KEY_COUNT, PITCH_CLASSES, note_name

RICH_FEATURES = ("log(1 + step)", "log(1 + duration)", "same chord?", "interval / 12", "chord size / 4")
BEAT_FEATURES = ("place in beat (sin)", "place in beat (cos)", "place in bar (sin)", "place in bar (cos)")
PLAIN_FEATURES = ("step (s)", "duration (s)")
DEGREE_NAMES = ("1", "♭2", "2", "♭3", "3", "4", "♯4", "5", "♭6", "6", "♭7", "7")  # semitones above the tonic


# ---- 1-2. a file and one training window --------------------------------------------------------------------


@dataclass
class Window:
    """L consecutive notes of a file (what the network reads) and the note after them (what it must predict)."""

    notes: pd.DataFrame  # the L input notes, with the file's row numbers as index
    target: pd.Series  # the next note
    start: int  # row of the first input note in the file
    pitch: np.ndarray  # (L,) pitches fed to the network
    features: np.ndarray  # (L, F) numeric features, encoded on the whole file exactly as in training
    key: int | None = None  # the file's key index (key-aware models)
    # What each position is trained to predict (field -> (L,) classes of the next note): an ordered model's
    # later heads are given the earlier fields of the note they predict, as in training.
    targets: dict[str, np.ndarray] | None = None

    @property
    def length(self) -> int:
        return len(self.notes)

    @property
    def target_index(self) -> int:
        return self.start + self.length


def window_count(notes: pd.DataFrame, seq_length: int) -> int:
    """How many training windows a file of these notes gives (one per start; 0 when it is too short)."""
    return max(0, len(notes) - seq_length)


def training_window(notes: pd.DataFrame, start: int, cfg: Config) -> Window:
    """The training window starting at note `start`: notes start … start+L-1 and target note start+L."""
    count = window_count(notes, cfg.seq_length)
    if count == 0:
        raise ValueError(
            f"the file has {len(notes)} notes: a window needs {cfg.seq_length + 1} (L = {cfg.seq_length} plus the target)"
        )
    if not 0 <= start < count:
        raise ValueError(f"a window can start at note 0 to {count - 1}, not {start}")
    notes = in_chord_order(notes.reset_index(drop=True), cfg.chord_order)  # as the model reads a chord
    pitch = notes["pitch"].to_numpy(np.int64)
    # Features are computed over the whole file and then cut, as training does (dataset.flatten): the first
    # note's interval is from the note before the window.
    flat = flatten(Corpus.from_tables([("file", notes)]), cfg)
    end = start + cfg.seq_length
    key = int(flat.key[start]) if flat.key is not None else None
    targets = None
    if cfg.beats and flat.pitch_target is not None:
        targets = {
            "step": flat.step_target[start:end],
            "duration": flat.duration_target[start:end],
            "pitch": flat.pitch_target[start:end],
        } | ({"part": flat.part[start:end]} if flat.part is not None else {})
        if flat.voice is not None:
            targets["voice"] = flat.voice[start:end]
    return Window(
        notes.iloc[start:end], notes.iloc[end], start, pitch[start:end], flat.numeric[start:end], key, targets
    )


def feature_names(cfg: Config) -> tuple[str, ...]:
    """The numeric input's columns; a parts model's one-hot part columns are named "part: Soprano" etc."""
    names: tuple[str, ...]
    if not cfg.rich_features:
        names = ("step (beats)", "duration (beats)") if cfg.beats else PLAIN_FEATURES
    else:
        names = RICH_FEATURES + BEAT_FEATURES if cfg.beats else RICH_FEATURES
    if cfg.end_class:
        names += ("bars into the piece (log)",)
    if cfg.key_input:
        names += tuple(f"degree {degree} in the key" for degree in DEGREE_NAMES)
    return names + tuple(f"part: {name}" for name in PART_NAMES) if cfg.parts else names


def window_table(window: Window, cfg: Config) -> pd.DataFrame:
    """The window as the network sees it: one row per note, pitch and the numeric features, then the target."""
    table = pd.DataFrame(window.features, columns=list(feature_names(cfg)), index=window.notes.index).round(3)
    table.insert(0, "note", [note_name(p) for p in window.pitch])
    table.insert(1, "pitch", window.pitch)
    table.insert(0, "role", ["input"] * window.length)
    target = window.target
    row = {"role": "target (to predict)", "note": note_name(int(target["pitch"])), "pitch": int(target["pitch"])}
    return pd.concat([table, pd.DataFrame([row], index=[window.target_index])])


# ---- 3. the model ------------------------------------------------------------------------------------------------


@dataclass
class Layer:
    name: str
    kind: str  # input, layer, head
    detail: str
    parameters: int


def model_layers(model) -> list[Layer]:
    """Inputs → LSTM layers → heads (pitch, step, duration; part too for a parts model), with the parameter
    count of each, read from the real weights."""
    cfg = model.cfg
    names = feature_names(cfg)
    layers = [Layer("pitch", "input", "one MIDI pitch (0-127) per note", 0)]
    if cfg.pitch_input == "embedding":
        layers.append(
            Layer(
                "pitch embedding",
                "layer",
                f"{cfg.embedding_dim} learned numbers per pitch",
                PITCH_CLASSES * cfg.embedding_dim,
            )
        )
        width = cfg.embedding_dim
    else:
        layers.append(Layer("pitch / 128", "layer", "pitch scaled to 0-1 (the tutorial's input)", 0))
        width = 1
    shown = [n for n in names if not n.startswith("part: ")] + (
        ["its part (one of 21, as 21 zeros and ones)"] if cfg.parts else []
    )
    layers.append(Layer("features", "input", f"{len(names)} numbers per note: " + ", ".join(shown), 0))
    if cfg.key_input:
        layers.append(Layer("key", "input", "the piece's key: one of 24 (12 major, 12 minor)", 0))
        layers.append(Layer("key embedding", "layer", f"{KEY_DIM} learned numbers per key", KEY_COUNT * KEY_DIM))
        width += KEY_DIM
    layers.append(Layer("concatenate", "layer", f"{width + len(names)} numbers per note", 0))
    for index, weights in enumerate(model.lstms, start=1):
        units = weights.recurrent.shape[0]
        size = weights.kernel.size + weights.recurrent.size + weights.bias.size
        dropout = f"; dropout {cfg.dropout:.0%} in training" if cfg.dropout > 0 else ""
        layers.append(Layer(f"LSTM {index}", "layer", f"{units} units with memory{dropout}", int(size)))
    for field in head_order(model):
        layers.append(Layer(f"{field} head", "head", head_detail(model, field), int(model.heads[field].size())))
    return layers


def head_order(model) -> tuple[str, ...]:
    """The heads in the order they are shown: an ordered model's in the order it draws a note's fields,
    others as they were introduced (pitch, step, duration, part)."""
    if model.cfg.ordered:
        return model.fields
    return ("pitch", "step", "duration") + (("part",) if model.has_parts else ())


def head_detail(model, field: str) -> str:
    """What a head predicts, in words, and (ordered models) which of the note's fields it already knows."""
    cfg = model.cfg
    grid = f"a score per 1/{cfg.beat_grid} beat up to {cfg.max_beats} beats"
    details = {
        "pitch": "a score per pitch → probabilities",
        "step": f"beats to the next note: {grid}" if cfg.beats else "seconds to the next note",
        "duration": f"length of the next note: {grid}" if cfg.beats else "length of the next note (s)",
        "part": "which part plays the next note: a score per part",
    }
    detail = details[field]
    if cfg.end_class and field == "step":
        detail += ", or “the piece ends here”"
    if cfg.ordered:
        earlier = model.fields[: model.fields.index(field)]
        detail += f"; knows the {', '.join(earlier)} chosen before it" if earlier else "; chosen first"
    return detail


def layers_table(model) -> pd.DataFrame:
    layers = model_layers(model)
    return pd.DataFrame(
        {
            "layer": [l.name for l in layers],
            "what it does": [l.detail for l in layers],
            "parameters": [l.parameters for l in layers],
        }
    )


def model_dot(model) -> str:
    """The network as a Graphviz DOT graph (left to right), for `st.graphviz_chart`."""
    layers = model_layers(model)
    colors = {"input": "#ede9fe", "layer": "#f3f4f6", "head": "#fef3c7"}

    def node(layer: Layer) -> str:
        count = f"\\n{layer.parameters:,} parameters" if layer.parameters else ""
        detail = "\\n".join(textwrap.wrap(layer.detail, 26))
        label = f"{layer.name}\\n{detail}{count}".replace('"', "'")
        return f'  "{layer.name}" [label="{label}", fillcolor="{colors[layer.kind]}"];'

    lines = [
        "digraph model {",
        '  rankdir=LR; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#6b7280"];',
        '  edge [color="#6b7280"];',
        *(node(layer) for layer in layers),
    ]
    pitch_path = layers[1].name
    lines.append(f'  "pitch" -> "{pitch_path}"; "{pitch_path}" -> "concatenate"; "features" -> "concatenate";')
    previous = "concatenate"
    for layer in layers:
        if layer.kind == "layer" and layer.name.startswith("LSTM"):
            lines.append(f'  "{previous}" -> "{layer.name}";')
            previous = layer.name
    for layer in layers:
        if layer.kind == "head":
            lines.append(f'  "{previous}" -> "{layer.name}";')
    total = model.parameter_count()
    lines.append(f'  label="{total:,} parameters in all"; labelloc=b; fontname="Helvetica"; fontsize=12;')
    lines.append("}")
    return "\n".join(lines)


# ---- 4. a prediction ------------------------------------------------------------------------------------------


@dataclass
class Prediction:
    """What the network predicts after reading a window, next to what really came."""

    logits: np.ndarray  # (128,) the pitch head's scores
    probs: np.ndarray  # (128,) softmax of the scores
    step: float  # predicted time to the next note (the likeliest class of a beats model)
    duration: float  # predicted length of the next note
    true_pitch: int
    true_step: float  # as the network is trained on it (clipped at cfg.max_time, or on the beat grid)
    true_duration: float
    unit: str = "s"  # "s" or "beats"

    @property
    def true_probability(self) -> float:
        return float(self.probs[self.true_pitch])

    @property
    def true_rank(self) -> int:
        """1 when the true pitch is the network's favourite."""
        return int((self.probs > self.probs[self.true_pitch]).sum()) + 1

    @property
    def loss(self) -> float:
        """Cross-entropy of this one prediction (nats): -ln P(true pitch)."""
        return float(-log_softmax(self.logits)[self.true_pitch])


def predict(model, window: Window) -> Prediction:
    """Run the network over the window (from a fresh state, as in training) and read its last output."""
    given = None if window.targets is None else {field: values[None, :] for field, values in window.targets.items()}
    out = model.forward(window.pitch[None, :], window.features[None, :], window.key, given=given)
    logits = out["pitch"][0, -1].astype(np.float64)
    cfg = model.cfg
    target = timing_of(window.target.to_frame().T, cfg)
    if cfg.beats:

        def likeliest(head: str) -> float:
            return float(class_beats(out[head][0, -1].argmax(), cfg))

        def snapped(values: np.ndarray) -> float:
            return float(class_beats(rhythm_class(values, cfg), cfg)[0])

        times = likeliest("step"), likeliest("duration"), snapped(target.step), snapped(target.duration)
    else:
        times = (
            float(out["step"][0, -1, 0]),
            float(out["duration"][0, -1, 0]),
            float(clip_times(target.step, cfg)[0]),
            float(clip_times(target.duration, cfg)[0]),
        )
    return Prediction(
        logits=logits,
        probs=np.exp(log_softmax(logits)),
        step=times[0],
        duration=times[1],
        true_pitch=int(window.target["pitch"]),
        true_step=times[2],
        true_duration=times[3],
        unit="beats" if cfg.beats else "s",
    )


def reshaped(prediction: Prediction, settings: Sampling) -> np.ndarray:
    """The distribution generation would draw the next pitch from with these settings (the very function
    the sampling loop uses)."""
    return sampling_distribution(prediction.logits[None, :], settings, allowed_pitches(settings))[0]


def top_notes(probs: np.ndarray, count: int = 5) -> pd.DataFrame:
    """The `count` likeliest pitches with their names and probabilities (zero-probability pitches left out)."""
    order = np.argsort(-probs, kind="stable")[:count]
    order = order[probs[order] > 0]
    return pd.DataFrame({"note": [note_name(p) for p in order], "pitch": order, "probability": probs[order]})


def candidates(probs: np.ndarray) -> int:
    """How many pitches the sampler could still pick."""
    return int((probs > 0).sum())


def distribution_entropy(probs: np.ndarray) -> float:
    """Entropy in nats; e**entropy is the number of equally likely pitches it is as uncertain as."""
    p = probs[probs > 0]
    return float(-(p * np.log(p)).sum()) + 0.0


# ---- 5. what the loss means -----------------------------------------------------------------------------------


@dataclass
class LossNumbers:
    model: dict  # evaluation.scores.model_scores on the file
    baselines: dict  # uniform / unigram / bigram cross-entropy on the file
    baselines_top1: dict
    seen_in_training: bool | None  # None when the model does not say which files it trained on
    reference_files: int  # how many files the baselines were fitted on


def loss_numbers(model, name: str, notes: pd.DataFrame, reference: Corpus) -> LossNumbers:
    """The model's pitch cross-entropy on one file next to uniform, unigram and bigram guessing, the
    baselines fitted on `reference` without that file (a baseline must not have seen what it predicts)."""
    evaluation = Corpus.from_tables([(name, notes)])
    others = (
        reference.subset([i for i, other in enumerate(reference.names) if other != name])
        if len(reference)
        else reference
    )
    if len(others) == 0:
        others = evaluation  # only this file: the baselines see it too (said on the page via reference_files)
    trained_on = model.info.get("train_files")
    return LossNumbers(
        model=model_scores(model, evaluation, others),
        baselines=baseline_cross_entropy(others, evaluation),
        baselines_top1=baseline_top1(others, evaluation),
        seen_in_training=None if trained_on is None else name in set(trained_on),
        reference_files=len(others) if others is not evaluation else 0,
    )
