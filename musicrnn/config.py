"""Every knob of musicrnn in one dataclass, plus named presets."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .errors import SettingsError
from .theory import BEAT_GRID

PitchInput = Literal["scaled", "embedding"]
TimeUnit = Literal["seconds", "beats"]
PITCH_INPUTS: tuple[str, ...] = get_args(PitchInput)
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)
FIELDS = ("step", "part", "pitch", "duration")  # what an ordered model predicts of each note
LR_SCHEDULES = ("constant", "cosine")
CHORD_ORDERS = ("up", "down")  # the notes that start together: from the bass, or from the top
CONFIG_MEMBER = "musicrnn.json"  # our Config and training facts, stored inside the .keras zip


@dataclass
class Config:
    """Model, training and audio settings. Defaults follow the TensorFlow tutorial."""

    preset: str = "custom"
    # How pitch enters the network: "scaled" (pitch/128, the tutorial) or "embedding" (learned vectors).
    pitch_input: PitchInput = "scaled"
    # Extra note features beyond pitch/step/duration (see musicrnn.features).
    rich_features: bool = False
    # How time enters the network. "seconds": the tutorial's step/duration in seconds, regressed with squared
    # error. "beats": quarter notes from the file's tempo map, and the step/duration heads predict classes on
    # a grid of 1/beat_grid beat up to max_beats (plus one class for longer), trained with cross-entropy, so
    # notes land on the beat and the same music at another tempo is the same input.
    time_unit: TimeUnit = "seconds"
    beat_grid: int = BEAT_GRID  # divisions of a beat: 12 holds sixteenths (3/12) and eighth-note triplets (4/12)
    max_beats: int = 16  # four bars of 4/4; longer steps and durations share the last class
    embedding_dim: int = 48
    seq_length: int = 25
    units: int = 128
    layers: int = 1
    dropout: float = 0.0
    learning_rate: float = 0.005
    batch_size: int = 64
    epochs: int = 10
    pitch_loss_weight: float = 0.05
    step_loss_weight: float = 1.0
    duration_loss_weight: float = 1.0
    # Parts (musicrnn.parts): each note's part is an input (one-hot) and a fourth head predicts the next
    # note's part with cross-entropy; generation writes one track per part. Off for the tutorial's network.
    parts: bool = False
    part_loss_weight: float = 0.1
    # Times above this are clipped (seconds): chorale bwv171.6 has a ~50 s gap in one part, which unclipped
    # would dominate the step MSE.
    max_time: float = 4.0
    val_fraction: float = 0.1
    # Windows per file start every `window_stride` notes (1 = every note, like the tutorial).
    window_stride: int = 1
    # Training windows are transposed by a random shift in [-transpose, +transpose] semitones (0 = off).
    transpose: int = 0
    seed: int = 42
    # Early stopping: stop when the validation loss has not improved for this many epochs (0 = off). The
    # kept model is always the epoch with the best validation loss, whether or not training stops early.
    patience: int = 3
    # Stop after this many minutes of training (0 = no limit); the best epoch within them is kept.
    time_limit_minutes: float = 0.0
    sample_rate: int = 16000
    # What a musician hears first (issue 24), beats models only. `ordered`: a note's fields are predicted one
    # after another in `field_order`, each head seeing the values chosen before it (the true ones in training,
    # the drawn ones in generation), instead of four heads side by side that cannot agree on one note.
    ordered: bool = False
    field_order: str = "step,part,pitch,duration"
    head_units: int = 128  # hidden units of each ordered head
    # `key_input`: the network reads each file's key (musicrnn.theory.find_key) and each note's degree in it.
    key_input: bool = False
    # `end_class`: the step head has one more class, "the piece ends here", learned from every file's end,
    # and the network reads how far into its piece each note is.
    end_class: bool = False
    # "constant" or "cosine": the learning rate decays to a tenth over the epochs (reaches its best sooner).
    lr_schedule: str = "constant"
    # `voice_memory` (ordered parts models): the heads after the part's also read the pitch that part sang
    # last (VOICE_NONE before its first note), so a voice's next note is chosen knowing where that voice is,
    # however many notes of other voices came between.
    voice_memory: bool = False
    # `end_odds` (end_class models): what generation's tonic ending multiplies the model's odds of ending by;
    # 0 = generate.END_ODDS. Calibrated on a style's pieces by scripts/calibrate_endings.py; a fine-tuned model
    # keeps its start's.
    end_odds: float = 0.0
    # `end_after` (end_class models): with the tonic ending, no piece ends before this many new notes; 0 =
    # generate.MIN_NOTES_BEFORE_END. Set from the shortest pieces a model learns from (their 5th percentile after
    # the opening: generate.shortest_continuation) by training and by scripts/calibrate_endings.py, so that a
    # chorale does not end at its first cadence; a fine-tuned model takes its own files', not its start's.
    end_after: int = 0
    # `close_after` (end_class models): with the tonic ending, after this many new notes a piece heads for its final
    # cadence (as it does near the length cap: generate.closing_start); 0 = only near the cap. Set from the median
    # length of the pieces a model learns from (generate.typical_continuation) by training and by
    # scripts/calibrate_endings.py, so a chorale closes about where chorales do.
    close_after: int = 0
    # `chord_order`: the order a model reads (and writes) the notes that start together: "up" from the bass, as
    # files are loaded, or "down" from the top, so a chorale's melody note is drawn first and the voices under it
    # after it, as a harmony student writes them (features.in_chord_order). Beats models only.
    chord_order: str = "up"
    # `melody_step_pull`, `melody_repeat_push` (parts models, with the voice-leading rule): how many nats the top
    # voice's next note leans towards a step (one or two semitones) from its last note, and away from repeating
    # it (generate._Rules._melodic_line). A model that reads a chord from the bass draws its melody last, to
    # complete the chord, so its melody moves less like its style's than the model alone would suggest: the
    # chorale model's soprano stepped on 45 % of its moves and repeated 30 % without a lean (Bach: 72 %, 14 %).
    # Set per model against its style's own melodies by scripts/calibrate_melody.py; 1 and 1 otherwise (a
    # fine-tuned model keeps its start's).
    melody_step_pull: float = 1.0
    melody_repeat_push: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Build a Config, ignoring unknown keys so older/newer files still load."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def beats(self) -> bool:
        return self.time_unit == "beats"

    @property
    def rhythm_classes(self) -> int:
        """Classes of the step and duration heads in beats mode: 0, 1/grid, …, max_beats - 1/grid, longer."""
        return self.beat_grid * self.max_beats + 1

    @property
    def time_head_width(self) -> int:
        """Outputs of the step and duration heads: a logit per rhythm class (beats), one number (seconds)."""
        return self.rhythm_classes if self.beats else 1

    @property
    def fields(self) -> tuple[str, ...]:
        """The note fields an ordered model predicts, in order (those of its heads: no part without parts)."""
        names = tuple(name.strip() for name in self.field_order.split(","))
        return tuple(name for name in names if name != "part" or self.parts)

    def given_names(self, field: str) -> tuple[str, ...]:
        """What an ordered model's `field` head reads besides the LSTM output and the key, in the order it
        reads them: the fields before it and, right after the part, that part's last pitch (voice_memory)."""
        names: list[str] = []
        for name in self.fields[: self.fields.index(field)]:
            names.append(name)
            if name == "part" and self.voice_memory:
                names.append("voice")
        return tuple(names)

    @property
    def given_inputs(self) -> tuple[str, ...]:
        """Every value some ordered head reads (each a `next_<name>` input of the Keras model)."""
        return self.given_names(self.fields[-1]) if self.ordered else ()

    @property
    def step_classes(self) -> int:
        """Classes of the step head: the rhythm classes, plus "the piece ends" for an end_class model."""
        return self.rhythm_classes + (1 if self.end_class else 0)

    @property
    def end_step(self) -> int:
        """The step class that ends a piece (end_class models)."""
        return self.rhythm_classes

    def validate(self) -> Config:
        """Raise ValueError with a readable message for settings that cannot work."""
        problems = []
        if self.pitch_input not in PITCH_INPUTS:
            problems.append(f"pitch_input must be 'scaled' or 'embedding', not {self.pitch_input!r}")
        if self.time_unit not in TIME_UNITS:
            problems.append(f"time_unit must be 'seconds' or 'beats', not {self.time_unit!r}")
        for name in (
            "seq_length",
            "units",
            "layers",
            "batch_size",
            "epochs",
            "window_stride",
            "embedding_dim",
            "beat_grid",
            "max_beats",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if not 0 <= self.transpose <= 12:
            problems.append("transpose must be between 0 and 12 semitones")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append("val_fraction must be between 0 and 1")
        if self.learning_rate <= 0:
            problems.append("learning_rate must be positive")
        if self.patience < 0:
            problems.append("patience must be 0 (off) or more epochs")
        if self.time_limit_minutes < 0:
            problems.append("time_limit_minutes must be 0 (no limit) or more")
        if (self.ordered or self.key_input or self.end_class) and not (self.beats and self.rich_features):
            problems.append("ordered fields, key input and the end class need time in beats and rich features")
        if self.ordered:
            names = [name.strip() for name in self.field_order.split(",")]
            if sorted(names) != sorted(FIELDS) or names[0] != "step":
                problems.append(f"field_order must list {', '.join(FIELDS)} once each, step first")
            if self.head_units < 1:
                problems.append("head_units must be at least 1")
        if self.voice_memory and not (self.ordered and self.parts):
            problems.append("voice_memory needs ordered fields and parts")
        if not (0.0 <= self.end_odds < math.inf):
            problems.append("end_odds must be 0 (the default) or a positive number")
        if self.chord_order not in CHORD_ORDERS:
            problems.append(f"chord_order must be one of {', '.join(CHORD_ORDERS)}")
        elif self.chord_order != "up" and not self.beats:
            problems.append("chord_order 'down' needs a beats model (time_unit 'beats')")
        for name in ("melody_step_pull", "melody_repeat_push"):
            if not (0.0 <= getattr(self, name) < math.inf):
                problems.append(f"{name} must be 0 (none) or a positive number of nats")
        for name in ("end_after", "close_after"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 0):
                problems.append(f"{name} must be 0 (the default) or a positive whole number of notes")
        if self.lr_schedule not in LR_SCHEDULES:
            problems.append(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}")
        if problems:
            raise SettingsError("; ".join(problems))
        return self


PRESETS: dict[str, Config] = {
    # The tutorial's network exactly: (pitch/128, step, duration) -> LSTM(128) -> three heads.
    "tutorial": Config(preset="tutorial"),
    # Our default: pitch embedding + musical features, time in beats, two LSTM layers, balanced loss weights.
    "chorale": Config(
        preset="chorale",
        pitch_input="embedding",
        rich_features=True,
        time_unit="beats",
        seq_length=64,
        units=192,
        layers=2,
        dropout=0.3,
        # Side by side on 120 chorales (bench/time_to_quality.py, 2026-12-06), 30 cosine epochs with batches of 32:
        # a peak rate of 0.005 ended at a held-out joint NLL of 2.80 nats (0.002 with batches of 64: 3.63), 0.008 at
        # 2.73, 0.012 at 2.65. But on a visitor's small collection (34 folk tunes, madrigals and quartets, 2 minutes
        # from scratch) 0.012 overfitted sooner: held-out loss 6.68 at best, against 6.43 at 0.008 and 6.44 at 0.005.
        learning_rate=0.008,
        batch_size=32,
        epochs=30,
        # An ordered model's loss with every weight 1 is the joint NLL of whole notes. Side by side on the
        # chorales (same 2,070 batches), weights 1 gave a held-out joint NLL of 2.93 nats against 3.15 with the
        # rhythm and part heads at 0.1 (their heads then barely learnt: step 0.39 vs 0.17 nats).
        pitch_loss_weight=1.0,
        step_loss_weight=1.0,
        duration_loss_weight=1.0,
        parts=True,
        part_loss_weight=1.0,
        window_stride=16,
        transpose=6,
        ordered=True,
        key_input=True,
        end_class=True,
        lr_schedule="cosine",
        # voice_memory stays off: on all 315 training chorales (30 + 20 epochs) it scored a held-out joint NLL of
        # 2.05 against this recipe's 2.15, but its continuations sat inside Bach's spread on every headline
        # statistic for 29 % of pieces against 51 % (more non-chord sonorities, a wider soprano):
        # bench/RESULTS.md, "Voice memory".
    ),
    # A quick model for trying things out in the browser (trains in well under a minute).
    "tiny": Config(
        preset="tiny",
        pitch_input="embedding",
        rich_features=True,
        time_unit="beats",
        embedding_dim=16,
        seq_length=16,
        units=32,
        layers=1,
        learning_rate=0.01,
        batch_size=64,
        epochs=3,
        pitch_loss_weight=1.0,
        step_loss_weight=1.0,
        duration_loss_weight=1.0,
        parts=True,
        part_loss_weight=1.0,
        window_stride=4,
        ordered=True,
        key_input=True,
        end_class=True,
        head_units=32,
    ),
}
DEFAULT_PRESET = "chorale"


def preset(name: str, **overrides: Any) -> Config:
    """A copy of a named preset with optional overrides. Ordered fields, key input and the end class need time
    in beats and rich features; a preset asked for seconds or plain inputs drops them."""
    if name not in PRESETS:
        raise SettingsError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name].replace(**overrides)
    if not (cfg.beats and cfg.rich_features):  # e.g. a preset asked to count time in seconds: none of them fit
        cfg = cfg.replace(ordered=False, key_input=False, end_class=False)
    return cfg.validate()
