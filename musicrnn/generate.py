"""The sampling loop: prime the network with some notes, then sample one note at a time.

Works with any model that meets `Stepper` (cfg, info, fields, has_parts, start, advance, field_logits): the
numpy model (musicrnn.infer.NumpyModel, used by the app and CLI) or the Keras reference
(musicrnn.model.KerasStepper).
All variations run as one batch, so 8 cost little more than 1.

A beats model's rhythm is drawn like its pitch, from classes on the beat grid (with its own temperature),
so every onset lands on the grid; its beats become seconds only at the end, at the piece's tempo.

A parts model (one with a part head) also draws which part plays each note, before its pitch, and the pitch
is then kept within that part's range in the training corpus (the heads are independent given the state, so
without it a bass could draw a soprano's note). Its pieces carry a `part` column: one track per part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from .config import Config
from .errors import SettingsError
from .features import (
    VOICE_NONE,
    StepEncoder,
    Timing,
    chord_count,
    class_beats,
    clip_times,
    encode_timed,
    in_chord_order,
    table_key,
    timing_of,
)
from .part_writing import key_chords_with_applied_dominants
from .parts import DRUMS_PART, PART_CLASSES, PIANO_PART, part_id, part_name, trained_parts
from .theory import (
    BAR_BEATS,
    DEFAULT_BPM,
    PITCH_CLASSES,
    key_index,
    key_name,
    key_pitch_classes,
    scale_pitch_classes,
    tonic_triad,
)
from .voicing import VoiceLeading

MAX_NOTES = 2000
CHOICE_NOTES = 16  # decoding with candidates: how many notes each candidate writes before the likeliest is kept
MAX_CANDIDATES = 8
MAX_VARIATIONS = 8
MIN_DURATION = 0.05  # seconds
NO_PITCH = np.float64(-np.inf)  # the logit of a pitch the key or range rules out


class Stepper(Protocol):
    """What the sampling loop needs of a model (see musicrnn.infer.NumpyModel). Its states offer `take(rows)`:
    the states of the streams `rows` (one primed stream made many; decoding with candidates)."""

    cfg: Config
    info: dict
    fields: tuple[str, ...]  # the order a note's fields are drawn in
    has_parts: bool

    def start(self, batch: int, key: np.ndarray | int | None = None): ...

    def advance(self, state, pitch: np.ndarray, numeric: np.ndarray): ...

    def field_logits(self, field: str, state, given: dict[str, np.ndarray] | None = None) -> np.ndarray: ...


@dataclass
class Sampling:
    """Every control of the sampling loop (with `seed`, enough to reproduce a piece)."""

    n_notes: int = 200
    # 0.8, not 1: the default model's continuations of held-out chorales at 1 had fewer triads and seventh
    # chords than Bach's in 4 of 5 pieces, at 0.8 in half of them, and ended on the tonic more often
    # (bench/musicality.py; bench/RESULTS.md, 2026-12-05).
    temperature: float = 0.8
    top_k: int = 0  # 0 = no limit
    top_p: float = 1.0  # 1 = no limit
    key: str | None = None  # e.g. "C:major", "A:minor"; None = all pitches
    pitch_low: int = 0
    pitch_high: int = 127
    seed: int = 0
    variations: int = 1
    velocity: int = 90
    # Beats models: how freely step and duration classes are drawn (0 = likeliest). 1, not 0.7: at 0.7 the
    # default model wrote one-beat notes and chords struck by all four voices far more often than Bach (65 % vs
    # 51 %, 57 % vs 42 %); at 1, 35 held-out openings x 2 had both inside Bach's spread and 51 % of pieces inside
    # every headline spread against 24 % (other Bach chorales: 42 %), harmonisations unchanged (bench/RESULTS.md).
    rhythm_temperature: float = 1.0
    bpm: float = 0.0  # tempo of the piece; 0 = the primer's, else the training corpus' median
    # Seconds models only. A step head trained with squared error predicts ~0.03 s for the notes of a chord (the mean of 0 and a
    # beat), which smears chords into arpeggios; shorter predicted steps are taken as 0 (play together).
    chord_snap: float = 0.06
    step_grid: float = 0.0  # seconds; > 0 rounds steps and durations to this grid (e.g. 0.125 = 16ths at 120 bpm)
    # Parts models: how freely the next note's part is drawn; negative = the pitch's `temperature`.
    part_temperature: float = -1.0
    part_ranges: bool = True  # keep each part's pitches within that part's range in the training corpus
    # Parts models, steering by part: "Soprano=60-81,Bass voice=36-60" keeps each named part within its own
    # MIDI range, and "Bass voice=A:minor" in its own key. Either replaces, for that part, the piece's range
    # or key above and the corpus range; "" = none (see part_steering).
    part_pitch_ranges: str = ""
    part_keys: str = ""
    # Parts models: no parallel fifths or octaves between any two parts, and the four voices neither cross
    # nor spread more than an octave apart above the bass (musicrnn.voicing), where a choice allows it.
    voice_leading: bool = True
    # Harmonisations (musicrnn.harmony.harmonize): a diatonic melody's harmony stays in its key unless this lets
    # it take notes from outside (chromatic colour: secondary dominants and the like).
    chromatic: bool = False
    # Decoding: each variation samples this many candidates side by side and keeps, every CHOICE_NOTES notes
    # (about a bar of four voices), the one the model finds likeliest (1 = plain sampling). Beats models
    # without a guide only.
    best_of: int = 1
    # Models that learned endings: a piece ends only on the tonic chord of its key (with the tonic in the bass),
    # on a strong beat (beats models: the bar line, or the middle of a bar of 4 or 6), where the model chooses to
    # end it; False: wherever the model ends it.
    tonic_ending: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def allowed_pitches(settings: Sampling) -> np.ndarray:
    """Boolean mask over the 128 pitches from the key and pitch range."""
    pitches = np.arange(PITCH_CLASSES)
    mask = (pitches >= settings.pitch_low) & (pitches <= settings.pitch_high)
    if settings.key:  # a minor key keeps its raised sixth and seventh (what harmony in minor uses)
        mask &= np.isin(pitches % 12, sorted(key_pitch_classes(settings.key)))
    if not mask.any():
        raise SettingsError("no pitch is allowed: widen the pitch range or change the key")
    return mask


def _part_items(text: str, what: str) -> list[tuple[int, str]]:
    """'Soprano=60-81, Bass voice=36-60' -> [(part id, '60-81'), ...]; SettingsError naming a bad item or part."""
    items = []
    for item in (piece.strip() for piece in text.split(",") if piece.strip()):
        name, equals, value = item.partition("=")
        if not equals or not value.strip():
            raise SettingsError(
                f"cannot read the part {what} {item!r}: write PART={what.upper()}, like "
                + ("'Soprano=60-81'" if what == "range" else "'Bass voice=A:minor'")
            )
        try:
            items.append((part_id(name), value.strip()))
        except ValueError as exc:
            raise SettingsError(f"in the part {what} {item!r}: {exc}") from None
    return items


def parse_part_ranges(text: str) -> dict[int, tuple[int, int]]:
    """'Soprano=60-81,Bass voice=36-60' -> {part id: (low, high)} in MIDI numbers; SettingsError naming a bad one."""
    ranges = {}
    for part, value in _part_items(text, "range"):
        low, dash, high = value.partition("-")
        try:
            pair = (int(low), int(high))
        except ValueError:
            pair = None
        if not dash or pair is None or not 0 <= pair[0] <= pair[1] <= 127:
            raise SettingsError(
                f"the range of {part_name(part)}, {value!r}, must be LOW-HIGH MIDI numbers with "
                "0 ≤ LOW ≤ HIGH ≤ 127, like 60-81"
            )
        ranges[part] = pair
    return ranges


def parse_part_keys(text: str) -> dict[int, str]:
    """'Bass voice=A:minor' -> {part id: 'A:minor'}; SettingsError naming a bad part or key."""
    keys = {}
    for part, value in _part_items(text, "key"):
        try:
            scale_pitch_classes(value)
        except ValueError as exc:
            raise SettingsError(f"the key of {part_name(part)}: {exc}") from None
        keys[part] = value
    return keys


def part_text(values: dict[int, object]) -> str:
    """{part id: (low, high) or key} as the text Sampling.part_pitch_ranges / part_keys hold."""

    def shown(value) -> str:
        return f"{value[0]}-{value[1]}" if isinstance(value, tuple) else str(value)

    return ",".join(f"{part_name(part)}={shown(value)}" for part, value in sorted(values.items()))


def sampling_distribution(logits: np.ndarray, settings: Sampling, mask: np.ndarray) -> np.ndarray:
    """What the next pitch is drawn from: (B, 128) logits -> (B, 128) probabilities after the key/range
    mask, temperature, top-k and top-p. Sampling and the "How it works" page both use this, so the chart
    is exactly what generation samples from. Temperature 0 puts all the probability on the likeliest pitch.
    """
    logits = np.where(mask, logits, NO_PITCH)  # float64 from here on (NO_PITCH is a float64 scalar); a new array
    if settings.temperature <= 0:
        return np.eye(PITCH_CLASSES)[logits.argmax(axis=1)]
    logits /= settings.temperature
    if 0 < settings.top_k < PITCH_CLASSES:
        kth = np.sort(logits, axis=1)[:, -settings.top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = _softmax(logits)
    if settings.top_p < 1.0:
        order = np.argsort(-probs, axis=1)
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        # Keep the smallest set of most likely pitches whose total reaches top_p (always at least one).
        drop_sorted = np.cumsum(sorted_probs, axis=1) - sorted_probs >= settings.top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=1)
        probs = np.where(drop, 0.0, probs)
        probs = probs / probs.sum(axis=1, keepdims=True)
    return probs


class Uniforms:
    """Each stream's own random generator, read a block at a time: `next()` gives one draw in [0, 1) per stream,
    the same numbers as one `rng.random()` per stream per call (a generator's block is its next draws in order),
    in one numpy call instead of one per stream (8 streams: ~12 us per note less)."""

    BLOCK = 256

    def __init__(self, rngs: list[np.random.Generator]):
        self.rngs = rngs
        self._block = np.empty((len(rngs), 0))
        self._complement = self._block
        self._used = 0

    def next(self) -> np.ndarray:
        """(B,) the next draw of each stream's generator."""
        used = self._advance()  # first: it may read a new block
        return self._block[:, used]

    def skip(self) -> None:
        """Pass over the next draw of each stream's generator (one `next()` whose numbers are not needed)."""
        self._advance()

    def next_complement(self) -> np.ndarray:
        """(B, 1) one less the next draw of each stream's generator (a number in (0, 1]), as a column: what
        `draw` scales by (worked out once per block rather than per draw)."""
        used = self._advance()
        return self._complement[:, used : used + 1]

    def _advance(self) -> int:
        """The column of the next draws in the block (a new block when this one is used up)."""
        if self._used == self._block.shape[1]:
            self._block = np.stack([rng.random(self.BLOCK) for rng in self.rngs])
            self._complement = 1.0 - self._block
            self._used = 0
        self._used += 1
        return self._used - 1


def sample_pitches(logits: np.ndarray, settings: Sampling, mask: np.ndarray, rngs: Uniforms) -> np.ndarray:
    """One pitch per stream from (B, 128) logits, drawn from `sampling_distribution`."""
    probs = sampling_distribution(logits, settings, mask)
    if settings.temperature <= 0:
        return probs.argmax(axis=1)  # no random draw: greedy decoding uses no randomness
    return draw(probs, rngs)


def draw(probs: np.ndarray, rngs: Uniforms) -> np.ndarray:
    """One class per row of (B, C) probabilities, each stream from its own generator."""
    # Inverse-CDF sampling: the first class whose running total reaches a draw in (0, total] (a draw above
    # 0 never lands on a zero probability; scaling by the total absorbs rounding in the sum, and a draw is at
    # most the total, so some class reaches it). The running totals never decrease, so that class is also the
    # number of totals below the draw; argmax finds it in half the time of counting them, and add.accumulate
    # is cumsum without its Python wrapper.
    running = np.add.accumulate(probs, axis=1)
    draws = rngs.next_complement() * running[:, -1:]
    return (running >= draws).argmax(axis=1)


def rhythm_distribution(logits: np.ndarray, temperature: float, forbid_zero: bool = False) -> np.ndarray:
    """(B, classes) step or duration logits -> probabilities at the rhythm temperature (0: the likeliest
    class). A duration can never be the "0 beats" class."""
    logits = np.array(logits, np.float64)  # a copy, worked on in place
    if forbid_zero:
        logits[:, 0] = -np.inf
    return _owned_distribution(logits, temperature)


def _owned_distribution(logits: np.ndarray, temperature: float) -> np.ndarray:
    """rhythm_distribution of float64 logits the caller owns, worked on in place (no copy per draw)."""
    if temperature <= 0:
        return np.eye(logits.shape[1])[logits.argmax(axis=1)]
    if temperature != 1.0:  # x / 1 is x: the end's odds are read at temperature 1 at every note
        logits /= temperature
    return _softmax(logits)


def _draw_owned(logits: np.ndarray, temperature: float, rngs: Uniforms) -> np.ndarray:
    """One class per stream from float64 logits the caller owns (changed in place), at `temperature`."""
    if temperature <= 0:  # the likeliest class (the argmax of its one-hot distribution), no random draw
        return logits.argmax(axis=1)
    if temperature != 1.0:  # _owned_distribution's steps, without a call between (three draws a note)
        logits /= temperature
    return draw(_softmax(logits), rngs)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """(B, classes) float64 logits -> probabilities, computed in place (the caller's copy): the same numbers
    as exp(l - max) / sum, without an array per step."""
    # The ufuncs' reductions are what .max() and .sum() call, without their Python wrappers (4 draws a note).
    logits -= np.maximum.reduce(logits, axis=1, keepdims=True)
    weights = np.exp(logits, out=logits)
    weights /= np.add.reduce(weights, axis=1, keepdims=True)
    return weights


# The model's odds of ending at a note are multiplied by this. Its end class is calibrated on Bach's own notes,
# where it puts 8% on the true last note (held-out chorales); in its own pieces it rarely sees an ending that
# sure, and at 1 ended 4% of continuations of held-out chorales before 1.5x Bach's length; at 32 a third of
# them ended, at 128 more than half, each at a tonic chord where the model was likeliest to end (tonic_ending;
# bench/RESULTS.md). Without the tonic rule this would end pieces anywhere: it applies only with it. A model may
# carry its own (Config.end_odds, scripts/calibrate_endings.py): in a tune every tonic note is a place to end, and
# at 128 the folk model ended its tunes after a third of a tune's length.
END_ODDS = 128.0
# With the tonic ending, no piece ends before this many new notes (two bars of four voices): a primer that
# closes on the tonic would otherwise be "continued" by nothing. A model may carry a later one (Config.end_after).
MIN_NOTES_BEFORE_END = 32
# With the tonic ending, in this many notes before the length cap (at most a third of the cap) the piece ends
# at the first cadence it reaches (see _Rules._on_tonic), so a piece the model has not ended by then closes on a
# cadence rather than where the count runs out (two bars of four voices in quarter notes, about four chords).
CLOSING_NOTES = 64
CLOSING_ODDS = 1e30  # near certain: a style whose pieces are long (madrigals) is seldom sure of an end so early
# In those closing notes a chord struck on a strong beat leans this many nats (logits) towards the final chord:
# the bass to the tonic, the other voices to the tonic triad. Without it the chorale model reached such a chord in
# the window only about two times in three, and a fifth of Home's pieces stopped at the cap on whatever chord the
# count ran out on (bench/RESULTS.md).
CLOSING_PULL = 3.0
# ... and a chord struck in the beat before a strong beat leans as far towards the dominant (the bass to the fifth
# degree, the other voices to the dominant seventh's tones), so that the final chord comes after its dominant,
# the authentic cadence that ends most chorales.
DOMINANT_PULL = 3.0
# Music in parts ends on a perfect cadence, its top voice on the tonic as well as its bass, as 336 of Bach's 350
# chorales do (the bundled madrigals 8 of 12, the quartets 6 of 6): in the closing notes a top-voice note struck
# on a strong beat leans this much further towards the tonic, and until PERFECT_CADENCE_SLACK notes before the cap
# only such a cadence ends the piece (any full close after that, so that a piece near its cap still ends). Home's
# chorale pieces ended with the soprano on the tonic 21 of 64 times before, 57 of 63 after, 31 notes longer in
# the median; Generate's 120-note pieces, whose closing notes start 40 before the cap, end as before.
TOP_TONIC_PULL = 2.0
PERFECT_CADENCE_SLACK = 40
# Every part sings the final chord, but a voice that has rested since the bar before (a madrigal's, whose voices
# often drop out before a close) need not, down to this many: with it the madrigal model ended 33 of 64 of Home's
# pieces instead of 14 (30 instead of 20 with its calibrated melody; bench/RESULTS.md); the chorale model's voices
# seldom rest, its pieces end as before.
FEWEST_IN_FINAL_CHORD = 3


def sample_rhythm(logits: np.ndarray, settings: Sampling, rngs: Uniforms, forbid_zero: bool) -> np.ndarray:
    """One rhythm class per stream (see rhythm_distribution)."""
    logits = np.array(logits, np.float64)  # a copy, worked on in place
    if forbid_zero:
        logits[:, 0] = -np.inf
    return _draw_owned(logits, settings.rhythm_temperature, rngs)


def c_major_chord() -> pd.DataFrame:
    """A C major chord: what `generate` starts from when given no primer."""
    return pd.DataFrame({"pitch": [48, 55, 64, 72], "step": [0.0, 0.0, 0.0, 0.0], "duration": [0.5] * 4})


def piece_bpm(settings: Sampling, primer: pd.DataFrame | None, model_info: dict | None = None) -> float:
    """The tempo a piece is written at: the setting, else the primer's, else the training corpus' median."""
    if settings.bpm > 0:
        return float(settings.bpm)
    if primer is not None and "bpm" in primer and len(primer):
        return float(primer["bpm"].iloc[-1])
    return float((model_info or {}).get("corpus", {}).get("bpm") or DEFAULT_BPM)


class Guide(Protocol):
    """A per-step constraint on the sampling loop (musicrnn/guide.py: a melody, chords, a span to rewrite).
    It masks or biases the step classes, parts (parts models: `known` is the corpus' parts) and pitches each
    step may take (`part`: the part just drawn, None without parts), and may fix a note's duration. A guide
    that finishes a piece itself (`may_end` False) never lets the model end it."""

    lengths: np.ndarray  # (B,) notes each stream keeps once it has finished
    may_end: bool

    def start(
        self, cfg: Config, batch: int, onset: np.ndarray, bar_beat: np.ndarray, bar_beats: np.ndarray
    ) -> None: ...

    def rhythm(self, onset: np.ndarray, step_logits: np.ndarray) -> np.ndarray: ...

    def part(
        self, onset: np.ndarray, logits: np.ndarray, known: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]: ...

    def pitch(
        self, onset: np.ndarray, logits: np.ndarray, allowed: np.ndarray, part: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def took(self, onset: np.ndarray, pitch: np.ndarray, duration: np.ndarray) -> np.ndarray: ...


class _NoGuide:
    """The guide of plain generation: constrains nothing and leaves the end to the model."""

    may_end = True

    def start(self, cfg, batch, onset, bar_beat, bar_beats) -> None:
        self.lengths = np.full(batch, MAX_NOTES + 1, np.int64)  # never finishes a stream

    def rhythm(self, onset, step_logits):
        return step_logits

    def part(self, onset, logits, known):
        return logits, known

    def pitch(self, onset, logits, allowed, part=None):
        return logits, allowed

    def took(self, onset, pitch, duration):
        return duration


def piece_key(settings: Sampling, primer: pd.DataFrame) -> int:
    """The key a piece is written in (theory.key_index): the one set, when it is major or minor, else the
    primer's (stated, or found in its notes)."""
    if settings.key:
        try:
            return key_index(settings.key)
        except ValueError:  # another scale (dorian, blues...): its notes are a mask; the key is the primer's
            pass
    return table_key(primer)


@dataclass
class _Piece:
    """Where each stream stands while its piece is written: the metre, the chord sounding at the current onset,
    the last note, and the notes kept so far."""

    onset: np.ndarray  # beats (from the primer's start) of the current onset
    bar_beat: np.ndarray
    bar_beats: np.ndarray
    prev_pitch: np.ndarray
    chord_size: np.ndarray
    sounding: np.ndarray  # (B, 128): pitches already started at the current onset (beats models)
    ended: np.ndarray  # (B,) the model ended this stream's piece
    ended_at: np.ndarray  # (B,) the note at which it ended (n_notes: not ended)
    pitches: np.ndarray
    steps: np.ndarray
    durations: np.ndarray
    parts: np.ndarray
    voice_last: np.ndarray  # (B, parts): the pitch each part sang last (VOICE_NONE: not yet)

    def keep(self, n: int, note: dict[str, np.ndarray]) -> None:
        self.pitches[:, n], self.steps[:, n], self.durations[:, n] = note["pitch"], note["step"], note["duration"]
        if "part" in note:
            self.parts[:, n] = note["part"]
            self.voice_last[np.arange(len(note["part"])), note["part"]] = note["pitch"]
        if self.ended.any():
            self.ended_at = np.where(self.ended & (self.ended_at > n), n, self.ended_at)

    def take(self, rows: np.ndarray) -> _Piece:
        """The streams `rows` (decoding: a candidate carried on in its siblings' places)."""
        return _Piece(**{name: np.array(getattr(self, name)[rows]) for name in self.__dataclass_fields__})

    def move_to(self, step: np.ndarray) -> None:
        """A new note `step` beats after the last: a new onset unless it joins the chord (step 0)."""
        self.sounding &= (step == 0)[:, None]
        self.onset, self.bar_beat = self.onset + step, np.mod(self.bar_beat + step, self.bar_beats)


def _prime(model: Stepper, primer: pd.DataFrame, key: int, rules: _Rules, guide: Guide, batch: int, n_notes: int):
    """Feed the primer through the network (same encoding as training); the state after it and the piece's
    starting point (where its last note sits in the metre, the chord it ends on). The rules and the guide hear
    it too."""
    cfg = model.cfg
    pitch = primer["pitch"].to_numpy(np.int64)
    timing = timing_of(primer, cfg)
    numeric = encode_timed(pitch, timing, cfg, rules.primer_part, key)
    # Every stream reads the same primer: one reads it, and its state is copied (8 variations: the primer cost
    # 64 steps of 8 streams, ~25 us per note of a 500-note piece, where one stream's took ~9).
    state = model.start(1, key)
    for t in range(len(pitch)):
        state = model.advance(state, pitch[t : t + 1], numeric[t : t + 1])
    state = state.take(np.zeros(batch, np.int64))
    sounding = np.zeros((batch, PITCH_CLASSES), bool)
    sounding[:, pitch[timing.beat == timing.beat[-1]]] = cfg.beats  # the primer's last chord
    piece = _Piece(
        onset=np.full(batch, float(timing.beat[-1])),
        bar_beat=np.full(batch, float(timing.bar_beat[-1])),
        bar_beats=np.full(batch, float(timing.bar_beats[-1])),
        prev_pitch=np.full(batch, pitch[-1]),
        # The chord counter after the primer, read back from its last note's features (no second encoding).
        chord_size=np.full(batch, chord_count(numeric[-1], cfg)),
        sounding=sounding,
        ended=np.zeros(batch, bool),
        ended_at=np.full(batch, n_notes, np.int64),
        pitches=np.zeros((batch, n_notes), np.int64),
        steps=np.zeros((batch, n_notes)),
        durations=np.zeros((batch, n_notes)),
        parts=np.zeros((batch, n_notes), np.int64),
        voice_last=np.full((batch, PART_CLASSES), VOICE_NONE, np.int64),
    )
    for part, last in zip(rules.primer_part if rules.primer_part is not None else (), pitch):
        piece.voice_last[:, part] = last  # in order: each part's last note in the primer stays
    rules.heard(primer, timing)
    guide.start(cfg, batch, piece.onset, piece.bar_beat, piece.bar_beats)
    return state, piece, timing


def generate(
    model: Stepper, primer: pd.DataFrame | None = None, settings: Sampling | None = None, guide: Guide | None = None
) -> list[pd.DataFrame]:
    """Continue `primer` with up to `settings.n_notes` new notes, once per variation: a model that learned
    endings stops a piece where it ends it. Same inputs, same notes. A `guide` constrains each step and says
    how many notes each variation keeps."""
    settings = settings or Sampling()
    validate(settings)
    given = primer if primer is not None and len(primer) else None
    primer = in_chord_order(c_major_chord() if given is None else given, model.cfg.chord_order)
    key = piece_key(settings, primer)
    # Candidates only unguided: a guide's per-stream state could not follow the candidate each variation keeps.
    candidates = _Candidates(settings, settings.best_of if guide is None and model.cfg.beats else 1)
    guide = guide or _NoGuide()
    rules = _Rules(model, settings, primer, candidates.batch, key)
    state, piece, timing = _prime(model, primer, key, rules, guide, candidates.batch, settings.n_notes)
    encoder = StepEncoder(model.cfg)
    for n in range(settings.n_notes):
        note = _next_note(model, state, piece, rules, guide, candidates)
        piece.keep(n, note)
        last = (piece.ended | (guide.lengths <= n)).all() or n + 1 == settings.n_notes
        rows = candidates.choose(n, last)
        if rows is not None:  # every candidate of a variation goes on from its likeliest
            state, piece = state.take(rows), piece.take(rows)
            rules.take(rows)
        if last:
            break  # every variation has ended, or finished what the guide asked for
        state = _feed_back(model, state, note, piece, key, encoder)
    lengths = np.minimum(np.minimum(guide.lengths, piece.ended_at), settings.n_notes)
    bpm = piece_bpm(settings, given, model.info)
    return _pieces(model, piece, lengths, timing, settings, candidates.choices, bpm, key)


class _Candidates:
    """Decoding with candidates: each variation samples `choices` streams side by side and, every CHOICE_NOTES
    notes, keeps the one the model finds likeliest since the last choice (1 choice: plain sampling). Each stream
    draws from its own random generator: variation v is the same whether 1 or 8 were asked for."""

    def __init__(self, settings: Sampling, choices: int):
        self.variations, self.choices = settings.variations, choices
        self.batch = settings.variations * choices
        self.rngs = Uniforms(
            [
                np.random.default_rng([settings.seed, v] + ([c] if c else []))
                for v in range(settings.variations)
                for c in range(choices)
            ]
        )
        self.likelihood = np.zeros(self.batch)  # each candidate's log-likelihood since the last choice

    def heard(self, logits: np.ndarray, chosen: np.ndarray) -> None:
        """A field was drawn: each candidate's likelihood counts the model's own probability of its choice."""
        if self.choices > 1:
            self.likelihood += _log_probability(logits, chosen)

    def choose(self, n: int, last: bool) -> np.ndarray | None:
        """After note `n`: the rows every candidate goes on from (its variation's likeliest), when a choice is
        due; else None."""
        if self.choices == 1 or not ((n + 1) % CHOICE_NOTES == 0 or last):
            return None
        best = self.likelihood.reshape(-1, self.choices).argmax(axis=1)
        self.likelihood[:] = 0.0
        return np.repeat(np.arange(self.variations) * self.choices + best, self.choices)


def _next_note(
    model: Stepper, state, piece: _Piece, rules: _Rules, guide: Guide, candidates: _Candidates
) -> dict[str, np.ndarray]:
    """One note per stream: its fields drawn in the model's order, each knowing those drawn before it (times in
    beats, or seconds); the guide may then fix its length."""
    note: dict[str, np.ndarray] = {}
    classes: dict[str, np.ndarray] = {}  # the same as the classes the later heads read
    for field in model.fields:
        logits = model.field_logits(field, state, classes)
        note[field], classes[field] = rules.draw(field, logits, note, piece, guide, candidates.rngs)
        candidates.heard(logits, classes[field])
        if field == "part" and model.cfg.voice_memory:  # the later heads hear where this voice last was
            classes["voice"] = piece.voice_last[rules.rows, note["part"]]
    note["duration"] = guide.took(piece.onset, note["pitch"], note["duration"])
    rules.took(note, piece)
    return note


def _feed_back(model: Stepper, state, note: dict[str, np.ndarray], piece: _Piece, key: int, encoder: StepEncoder):
    """The network's state after reading `note`, encoded as in training (by `encoder`: encode_step for the
    model's settings)."""
    numeric, piece.chord_size = encoder(
        note["pitch"], note["step"], note["duration"], piece.prev_pitch, piece.chord_size,
        piece.onset, piece.bar_beat, piece.bar_beats, note.get("part"), key,
    )  # fmt: skip
    piece.prev_pitch = note["pitch"]
    return model.advance(state, note["pitch"], numeric)


def _pieces(
    model: Stepper,
    piece: _Piece,
    lengths: np.ndarray,
    timing: Timing,
    settings: Sampling,
    choices: int,
    bpm: float,
    key: int,
) -> list[pd.DataFrame]:
    """Each variation's notes as a note table (after the last choice, all its candidates are the same)."""
    # Each piece's first note continues the primer's bar (seconds models: bars of 4 beats from the first note).
    last_bar_beat, bar_length = float(timing.bar_beat[-1]), float(timing.bar_beats[-1])
    pieces = []
    for v in range(0, len(lengths), choices):
        count, ended = lengths[v], bool(piece.ended_at[v] < settings.n_notes)
        durations = piece.durations[v, :count]
        if ended and model.cfg.beats and count:
            durations = held_to_the_bar_line(piece.steps[v, :count], durations, last_bar_beat, bar_length)
        notes = _notes_table(
            piece.pitches[v, :count],
            piece.steps[v, :count],
            durations,
            settings,
            v // choices,
            model.cfg,
            bpm,
            ((last_bar_beat + piece.steps[v, 0]) % bar_length, bar_length),
        )
        if model.has_parts:
            notes = notes.assign(part=piece.parts[v, :count])
        notes.attrs.update(key=key_name(key), ended=ended)
        pieces.append(notes)
    return pieces


def held_to_the_bar_line(steps: np.ndarray, durations: np.ndarray, bar_beat: float, bar_length: float) -> np.ndarray:
    """The durations (beats) of a piece the model ended, its final chord held to the next bar line (a close on
    the middle of a bar of four: a half note; on the bar line: the whole bar), never shorter than drawn. The
    model draws a note's length before it knows the piece ends there: its folk tunes ended on a sixteenth
    note, its chorales mostly on a one-beat chord (which Bach's MIDI files write, and singers hold).
    `bar_beat`: where in its bar the note before the first sits."""
    onsets = np.cumsum(steps)
    final = onsets >= onsets[-1] - 1e-9
    to_bar_line = round(bar_length - (bar_beat + onsets[-1]) % bar_length, 6)
    if to_bar_line < 1e-6:  # the bar line itself, rounded
        to_bar_line = bar_length
    held = np.array(durations, np.float64)
    held[final] = np.maximum(held[final], to_bar_line)
    return held


def end_odds(model: Stepper) -> float:
    """What the tonic ending multiplies the model's odds of ending by: the model's own calibration where it
    carries one (Config.end_odds > 0), else END_ODDS."""
    return float(model.cfg.end_odds) if model.cfg.end_odds > 0 else END_ODDS


OPENING_NOTES = 32  # a piece's opening, as bench/musicality.py and scripts/calibrate_endings.py continue it
SHORTEST_PERCENTILE = 5  # of a style's pieces' lengths after their opening: what Config.end_after is set from


def shortest_continuation(lengths: Sequence[int] | np.ndarray, cap: int | None = None) -> int:
    """What Config.end_after is set from: the notes the pieces of a style (their note counts `lengths`) have
    after their opening (OPENING_NOTES, at most `cap`), at their SHORTEST_PERCENTILE; at least
    MIN_NOTES_BEFORE_END."""
    return _continuation_at(lengths, SHORTEST_PERCENTILE, cap)


def typical_continuation(lengths: Sequence[int] | np.ndarray, cap: int | None = None) -> int:
    """What Config.close_after is set from: the median of the notes the pieces have after their opening (at most
    `cap`); at least MIN_NOTES_BEFORE_END."""
    return _continuation_at(lengths, 50, cap)


def _continuation_at(lengths: Sequence[int] | np.ndarray, percentile: float, cap: int | None) -> int:
    after = np.asarray(lengths, np.int64) - OPENING_NOTES
    if cap is not None:
        after = np.minimum(after, cap)
    if not len(after):
        return MIN_NOTES_BEFORE_END
    return max(MIN_NOTES_BEFORE_END, int(np.percentile(after, percentile)))


def end_after(model: Stepper, n_notes: int) -> int:
    """With the tonic ending, the new notes before which no piece ends: the model's own (Config.end_after, from
    its style's shortest pieces) or MIN_NOTES_BEFORE_END, but no later than where a piece of `n_notes` must close
    (closing_from), so a short length still ends on a cadence."""
    return max(MIN_NOTES_BEFORE_END, min(int(model.cfg.end_after), closing_from(n_notes)))


def closing_start(model: Stepper, n_notes: int) -> int:
    """With the tonic ending, the new note from which a piece heads for its final cadence: where the model's
    style's pieces usually end (Config.close_after, never before end_after), or near the cap (closing_from),
    whichever comes first."""
    cap_closing = closing_from(n_notes)
    if model.cfg.close_after <= 0:
        return cap_closing
    return min(cap_closing, max(int(model.cfg.close_after), end_after(model, n_notes)))


def closing_from(n_notes: int) -> int:
    """With the tonic ending, the new note from which a piece of at most `n_notes` ends at the next tonic chord
    (CLOSING_NOTES before the cap, at most its last third)."""
    return n_notes - min(CLOSING_NOTES, n_notes // 3)


def on_strong_beat(bar_beat: np.ndarray, bar_beats: np.ndarray) -> np.ndarray:
    """(B,) whether each position is a strong beat: the bar line, or the middle of a bar of 4 or 6 beats (beat 3
    of 4/4, where most chorale phrases that start on an upbeat end; beat 4 of 6/4)."""
    near = 1e-6
    downbeat = (bar_beat < near) | (bar_beat > bar_beats - near)
    middle = np.isin(bar_beats, (4.0, 6.0)) & (np.abs(bar_beat - bar_beats / 2) < near)
    return downbeat | middle


def beats_to_strong_beat(bar_beat: np.ndarray, bar_beats: np.ndarray) -> np.ndarray:
    """(B,) beats from each position to the next strong beat after it (see on_strong_beat)."""
    to_bar_line = bar_beats - bar_beat
    middle = bar_beats / 2
    before_middle = np.isin(bar_beats, (4.0, 6.0)) & (bar_beat < middle - 1e-6)
    return np.where(before_middle, middle - bar_beat, to_bar_line)


@dataclass
class _Voices:
    """What each stream's piece has sung so far decides how it ends: in three parts or more (`in_parts`) on the
    tonic chord with `final_chord_notes` voices (each part sung, up to four, less those resting since the bar
    before, down to FEWEST_IN_FINAL_CHORD), its `bass` (the lowest part sung) from the fifth degree; a tune on
    its tonic. `top`: the highest part sung (the melody)."""

    in_parts: np.ndarray  # (B,) bool
    final_chord_notes: np.ndarray  # (B,)
    bass: np.ndarray  # (B,) part ids
    top: np.ndarray  # (B,) part ids


class _Rules:
    """How each field of a note is drawn: the model's logits, reshaped by the sampling controls, the key and
    range masks, the parts' ranges, the chord already sounding, the voice-leading rule and the guide."""

    def __init__(self, model: Stepper, settings: Sampling, primer: pd.DataFrame, batch: int, key: int):
        self.cfg, self.settings = model.cfg, settings
        self.mask = allowed_pitches(settings)
        summary = trained_parts(model)
        self.primer_part = primer_parts(primer, summary) if model.has_parts else None
        self.part_masks = (
            part_pitch_masks(self.mask, summary, settings.part_ranges, settings) if model.has_parts else None
        )
        # Only parts the model was trained on are drawn (a file it never saw brass in gets no brass track).
        self.known_parts = np.isin(np.arange(PART_CLASSES), [int(k) for k in summary]) if summary else None
        self.may_end = model.cfg.end_class
        self.end_step = model.cfg.end_step
        self.end_odds = end_odds(model)
        self.rows = np.arange(batch)
        # The final chord: the tonic triad (minor: a major third too, Bach's Picardy third), over the tonic, with
        # a note from each part where the corpus sang in three or more (up to four), else one (a tune's last note).
        degrees = np.arange(PITCH_CLASSES) % 12  # pitch -> its pitch class (the lookups below)
        self.tonic_pitches = degrees == key % 12
        self.tonic_chord = np.isin(degrees, tonic_triad(key) + [(key + 4) % 12])
        self.off_tonic_chord = ~self.tonic_chord
        # Each part's usual lowest note (inf: not a voice, drums included): which sung part is the bass, which
        # the top voice. A piece's own parts decide how it ends, not the model's: a model that learned tunes
        # beside four-part music writes either, and a tune it writes ends as a tune does (see _Voices).
        self.part_low = np.full(PART_CLASSES, np.inf)
        for part, facts in summary.items():
            if int(part) != DRUMS_PART:
                self.part_low[int(part)] = float(facts.get("low", 0))
        self.may_be_in_parts = int(np.isfinite(self.part_low).sum()) >= 3
        self.dominant_bass = degrees == (key + 7) % 12
        self.dominant_chord = np.isin(degrees, [(key + degree) % 12 for degree in (7, 11, 2, 5)])
        self.dominant_triad = np.isin(degrees, [(key + degree) % 12 for degree in (7, 11, 2)])
        self.perfect_until = settings.n_notes - PERFECT_CADENCE_SLACK
        # Each part's note before its latest (VOICE_NONE: none): the bass's, for the authentic cadence.
        self.voice_before = np.full((batch, PART_CLASSES), VOICE_NONE, np.int64)
        self._sung: tuple[int, np.ndarray, _Voices] | None = None  # _singing's answer for this note and onset
        # The top voice's lean (the model's Config.melody_step_pull and melody_repeat_push), by its last pitch (row)
        # and the next.
        distance = np.abs(np.arange(PITCH_CLASSES)[:, None] - np.arange(PITCH_CLASSES)[None, :])
        step, repeat = model.cfg.melody_step_pull, model.cfg.melody_repeat_push
        self.melodic_lean = step * np.isin(distance, (1, 2)) - repeat * (distance == 0)
        self.written = 0  # new notes so far (the same in every stream)
        # With the tonic ending, from this note on the piece heads for its final cadence and ends there.
        self.closing_from = closing_start(model, settings.n_notes)
        self.end_after = end_after(model, settings.n_notes)
        self.voices = None
        if model.has_parts and settings.voice_leading:  # voices struck together sound a chord of the key
            self.voices = VoiceLeading(batch, summary, key_chords_with_applied_dominants(key))

    def draw(
        self,
        field: str,
        logits: np.ndarray,
        note: dict[str, np.ndarray],
        piece: _Piece,
        guide: Guide,
        rngs: Uniforms,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The field's value for each stream, and its class (what later heads read; times: on the grid)."""
        cfg, settings = self.cfg, self.settings
        if field == "step":
            if not cfg.beats:  # a seconds model regresses its times (see snap_times, after the pitch)
                return clip_times(logits, cfg), logits
            step_class, may_have_ended = self._step_class(guide.rhythm(piece.onset, logits), piece, guide, rngs)
            step = class_beats(step_class, cfg)
            if may_have_ended:
                piece.ended |= step_class == self.end_step
                # An ended stream's notes are dropped; its onset stays where the piece ended (the end is no time).
                step = np.where(piece.ended, 0.0, step)
            piece.move_to(step)
            return step, step_class
        if field == "duration":
            if not cfg.beats:
                step, duration = snap_times(note["step"], clip_times(logits, cfg), settings)
                note["step"] = step
                return duration, logits
            duration_class = sample_rhythm(logits, settings, rngs, forbid_zero=True)
            return class_beats(duration_class, cfg), duration_class
        if field == "part":
            logits, may_play = guide.part(piece.onset, logits, self.known_parts)
            if self.voices is not None and cfg.beats:
                may_play = self.voices.free_voices(piece.onset, may_play)
            part = sample_parts(logits, settings, rngs, may_play)
            return part, part
        pitch = self._pitch(logits, note, piece, guide, rngs)
        return pitch, pitch

    def _step_class(self, logits: np.ndarray, piece: _Piece, guide: Guide, rngs: Uniforms) -> tuple[np.ndarray, bool]:
        """Each stream's step class, and whether any stream may have ended (False, most notes: none had, and the
        end was ruled out for all of them, so none drew it: a class whose logit is NO_PITCH is never drawn)."""
        if not self.may_end:  # the model never ends a piece
            return sample_rhythm(logits, self.settings, rngs, forbid_zero=False), False
        rest, any_may_end = self._end_rule(logits, piece, guide.may_end)
        return self._step_or_end(rest, any_may_end, rngs), any_may_end

    def _step_or_end(self, rest: np.ndarray, may_end: bool, rngs: Uniforms) -> np.ndarray:
        """The step class from the end-ruled float64 logits `rest` (see _end_rule; changed in place), where the
        piece ends with the model's own probability of ending here (temperature 1), and otherwise the step is
        drawn at the rhythm temperature from the other classes. A rhythm temperature below 1 would otherwise
        all but silence the end: a rare class loses most to sharpening. At temperature 0: the likeliest class,
        the end included. `may_end` False: the rules ruled the end out for every stream."""
        temperature = self.settings.rhythm_temperature
        if temperature <= 0:
            return _draw_owned(rest, temperature, rngs)
        if not may_end:  # most notes: none ends, and `rest` is already without the end
            rngs.skip()  # the end's draw is taken at every note, so that each stream's draws stay in step
            return _draw_owned(rest, temperature, rngs)
        end = self.end_step
        ends = rngs.next() < self._end_chance(rest)
        rest[:, end] = NO_PITCH
        if ends.any():
            rest[ends] = 0.0  # a stream that ends draws no step (and one that has ended has p_end 1)
        return np.where(ends, end, _draw_owned(rest, temperature, rngs))

    def _end_chance(self, logits: np.ndarray) -> np.ndarray | float:
        """(B,) each stream's chance of ending at this note: the model's probability of the end (temperature 1),
        its odds scaled (end_odds, CLOSING_ODDS). 0 where the rules rule the end out for every stream (most
        notes: no softmax then)."""
        if (logits[:, self.end_step] == NO_PITCH).all():
            return 0.0
        p_end = rhythm_distribution(logits, 1.0)[:, self.end_step]
        odds = self.end_odds if self.settings.tonic_ending else 1.0
        if self.settings.tonic_ending and self.written >= self.closing_from:
            odds = CLOSING_ODDS  # near the cap: end at the next tonic chord (only there may it end)
        return odds * p_end / (1.0 - p_end + odds * p_end)

    def _end_rule(self, logits: np.ndarray, piece: _Piece, may_end: bool) -> tuple[np.ndarray, bool]:
        """Step logits (a float64 copy) where a stream that ended can only end again, none may end while a
        guide that finishes the piece itself is at work, and (settings.tonic_ending) none ends but on the tonic
        chord on a strong beat; and whether any stream may still end (False: the end is ruled out for all, most
        notes)."""
        end = self.end_step
        logits = np.array(logits, np.float64)
        if not may_end or (self.settings.tonic_ending and self.written < self.end_after):
            logits[:, end] = NO_PITCH
            any_may_end = False
        elif self.settings.tonic_ending:
            on_tonic = self._on_tonic(piece)
            if on_tonic is not None and self.cfg.beats:  # a cadence falls on a strong beat
                on_tonic &= on_strong_beat(piece.bar_beat, piece.bar_beats)
            if on_tonic is not None and on_tonic.any():
                logits[~on_tonic, end] = NO_PITCH
                any_may_end = True
            else:
                logits[:, end] = NO_PITCH
                any_may_end = False
        else:
            any_may_end = True
        if piece.ended.any():
            logits[piece.ended] = np.where(np.arange(logits.shape[1]) == end, 0.0, NO_PITCH)
            any_may_end = True
        return logits, any_may_end

    def _singing(self, piece: _Piece) -> _Voices:
        """Which parts each stream's piece has sung so far (its primer included), and so how it ends. Worked out
        once per note (what it reads changes only when a note is kept), for each field that asks."""
        if self._sung is not None and self._sung[0] == self.written and self._sung[1] is piece.onset:
            return self._sung[2]
        sung = (piece.voice_last != VOICE_NONE) & np.isfinite(self.part_low)
        count = sung.sum(axis=1)
        in_parts = count >= 3
        voices = np.minimum(4, count)
        if self.voices is not None:  # a voice resting since the bar before need not sing the final chord
            bar_ago = piece.onset - piece.bar_beats
            recent = (sung & (self.voices.end >= bar_ago[:, None])).sum(axis=1)
            voices = np.minimum(voices, np.maximum(FEWEST_IN_FINAL_CHORD, recent))
        singing = _Voices(
            in_parts=in_parts,
            final_chord_notes=np.where(in_parts, voices, 1),
            bass=np.where(sung, self.part_low, np.inf).argmin(axis=1),
            top=np.where(sung, self.part_low, -np.inf).argmax(axis=1),
        )
        self._sung = (self.written, piece.onset, singing)
        return singing

    def _final_chord(self, piece: _Piece, singing: _Voices) -> tuple[np.ndarray, np.ndarray]:
        """(B, 128) the pitches sounding at the current onset and (B,) how many notes or voices sound them: with
        the voice-leading rule in music in parts, each voice's note, struck there or held over it; otherwise the
        notes struck there."""
        struck = piece.sounding.sum(axis=1)
        if self.voices is None or not singing.in_parts.any():
            return piece.sounding, struck
        voices = self.voices.sounding_at(piece.onset)
        voices[~singing.in_parts] = -1  # a stream singing a tune counts its notes struck here
        chord = piece.sounding.copy()
        rows, parts = np.nonzero(voices >= 0)
        chord[rows, voices[rows, parts]] = True
        return chord, np.where(singing.in_parts, (voices >= 0).sum(axis=1), struck)

    def _on_tonic(self, piece: _Piece) -> np.ndarray | None:
        """(B,) whether the notes sounding at the current onset are the final chord (see __init__ and
        _singing), in music in parts reached from the dominant in the bass (an authentic cadence); None where no
        stream's lowest note is the tonic (most notes: the rest need not be counted)."""
        singing = self._singing(piece)
        chord, voices = self._final_chord(piece, singing)
        lowest = chord.argmax(axis=1)  # a stream with no note has none to count (final_chord_notes >= 1)
        on_tonic = self.tonic_pitches[lowest]
        if not on_tonic.any():
            return None
        on_tonic &= (voices >= singing.final_chord_notes) & ~(chord & self.off_tonic_chord).any(axis=1)
        # In parts, an authentic cadence: the bass from the fifth degree.
        bass_before = self.voice_before[self.rows, singing.bass]
        from_dominant = self.dominant_bass[np.minimum(bass_before, PITCH_CLASSES - 1)] & (bass_before != VOICE_NONE)
        on_tonic &= from_dominant | ~singing.in_parts
        if self.written < self.perfect_until:  # a perfect cadence: the top voice on the tonic too
            highest = PITCH_CLASSES - 1 - chord[:, ::-1].argmax(axis=1)
            on_tonic &= self.tonic_pitches[highest] | ~singing.in_parts
        return on_tonic

    def _pitch(
        self,
        logits: np.ndarray,
        note: dict[str, np.ndarray],
        piece: _Piece,
        guide: Guide,
        rngs: Uniforms,
    ) -> np.ndarray:
        """The pitch: within the part's range (or the piece's), not already in this chord, led as voices are."""
        cfg, settings = self.cfg, self.settings
        part = note.get("part")
        allowed = _part_mask(self.mask, self.part_masks, part)
        if cfg.beats:
            allowed = chord_mask(allowed, piece.sounding)
        logits, allowed = guide.pitch(piece.onset, logits, allowed, part)
        if guide.may_end:
            logits = self._closing_pull(logits, piece, part)
        if cfg.beats and self.voices is not None and part is not None:
            # After the guide: the voices are led well within what it asks for (a melody note, a cadence).
            allowed = self.voices.allowed(part, piece.onset, allowed)
            if self.may_be_in_parts:
                logits = self._melodic_line(logits, piece, part)
        pitch = sample_pitches(logits, settings, allowed, rngs)
        if cfg.beats:
            piece.sounding[self.rows, pitch] = True
        return pitch

    def _closing_pull(self, logits: np.ndarray, piece: _Piece, part: np.ndarray | None) -> np.ndarray:
        """In the closing notes (tonic ending) a cadence is asked for: a note struck on a strong beat leans
        towards the final chord (CLOSING_PULL), one struck in the beat before it towards the dominant
        (DOMINANT_PULL). In four parts the bass (the lowest part) leans to the tonic after the fifth degree, the
        other voices to the tonic triad after the dominant seventh's tones; a tune's note (a model of fewer than
        three parts) to the tonic after a note of the dominant triad. The model still writes the notes; a piece
        closes on a cadence rather than stops where the count runs out."""
        settings = self.settings
        if not (settings.tonic_ending and self.may_end and self.cfg.beats and self.written >= self.closing_from):
            return logits
        strong = on_strong_beat(piece.bar_beat, piece.bar_beats)
        before = ~strong & (beats_to_strong_beat(piece.bar_beat, piece.bar_beats) <= 1.0 + 1e-6)
        final, dominant = self.tonic_pitches[None, :], self.dominant_triad[None, :]
        if self.may_be_in_parts and part is not None:
            singing = self._singing(piece)
            in_parts = singing.in_parts[:, None]
            bass = (np.asarray(part) == singing.bass)[:, None]
            final = np.where(in_parts, np.where(bass, self.tonic_pitches, self.tonic_chord), final)
            dominant = np.where(in_parts, np.where(bass, self.dominant_bass, self.dominant_chord), dominant)
            top = in_parts & (np.asarray(part) == singing.top)[:, None]
            logits = logits + TOP_TONIC_PULL * (top & strong[:, None] & self.tonic_pitches)
        live = ~piece.ended[:, None]
        pull = CLOSING_PULL * (live & strong[:, None] & final) + DOMINANT_PULL * (live & before[:, None] & dominant)
        return logits + pull

    def _melodic_line(self, logits: np.ndarray, piece: _Piece, part: np.ndarray) -> np.ndarray:
        """The top voice's note leans towards a step from its last note and away from repeating it
        (Config.melody_step_pull, melody_repeat_push); other voices' logits as they are."""
        singing = self._singing(piece)
        top = (np.asarray(part) == singing.top) & singing.in_parts
        last = piece.voice_last[self.rows, np.asarray(part)]
        top &= last != VOICE_NONE
        if not top.any():
            return logits
        return logits + np.where(top[:, None], self.melodic_lean[np.minimum(last, PITCH_CLASSES - 1)], 0.0)

    def take(self, rows: np.ndarray) -> None:
        self.voice_before = self.voice_before[rows]
        self._sung = None
        if self.voices is not None:
            self.voices.take(rows)

    def heard(self, primer: pd.DataFrame, timing: Timing) -> None:
        """The primer's notes, so the voice-leading rule knows what each part sang last."""
        if self.voices is None or self.primer_part is None or not self.cfg.beats:
            return
        batch = len(self.voices.onset)
        for pitch, beat, duration, part in zip(primer["pitch"], timing.beat, timing.duration, self.primer_part):
            self.voices.took(*(np.full(batch, value) for value in (int(part), int(pitch), beat, duration)))

    def took(self, note: dict[str, np.ndarray], piece: _Piece) -> None:
        """A note is complete: counted, and the voice-leading rule hears it."""
        self.written += 1
        if "part" in note:  # piece.voice_last still holds each part's note before this one
            self.voice_before[self.rows, note["part"]] = piece.voice_last[self.rows, note["part"]]
        if self.voices is not None and "part" in note:
            self.voices.took(note["part"], note["pitch"], piece.onset, note["duration"])


def _log_probability(logits: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """(B,) the model's own log-probability of each stream's chosen class (before any mask or temperature)."""
    logits = np.asarray(logits, np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    return logits[np.arange(len(chosen)), np.asarray(chosen, np.int64)] - log_total


def sample_parts(logits: np.ndarray, settings: Sampling, rngs: Uniforms, known: np.ndarray | None = None) -> np.ndarray:
    """One part per stream from (B, PART_CLASSES) logits, at the part temperature (negative: the pitch's),
    among the `known` parts (those of the training corpus; (PART_CLASSES,) or one row per stream) when given."""
    temperature = settings.temperature if settings.part_temperature < 0 else settings.part_temperature
    if known is not None and known.any():
        logits = np.where(known, logits, NO_PITCH)  # a new float64 array
    else:
        logits = np.array(logits, np.float64)
    return _draw_owned(logits, temperature, rngs)


def _part_mask(mask: np.ndarray, part_masks: np.ndarray | None, part: np.ndarray | None) -> np.ndarray:
    """The pitches each stream may draw: the key/range mask, or (parts models) the mask of the part just drawn."""
    if part is None:
        return mask
    assert part_masks is not None  # a part was drawn, so the model has parts and part_pitch_masks made them
    return part_masks[part]


def part_pitch_masks(
    mask: np.ndarray, summary: dict, keep_ranges: bool = True, settings: Sampling | None = None
) -> np.ndarray:
    """(PART_CLASSES, 128): the key/range mask, narrowed for each part the training corpus knows to the
    pitches it played there (lowest to highest); a part left with no pitch keeps the plain mask. A part given
    its own range or key in `settings` (part_pitch_ranges, part_keys) takes that instead of the piece's and
    the corpus' (a SettingsError names a part left with no pitch)."""
    masks = np.repeat(mask[None, :], PART_CLASSES, axis=0)
    pitches = np.arange(PITCH_CLASSES)
    if keep_ranges:
        for key, facts in summary.items():
            narrowed = mask & (pitches >= facts["min"]) & (pitches <= facts["max"])
            if narrowed.any() and 0 <= int(key) < PART_CLASSES:
                masks[int(key)] = narrowed
    if settings is None:
        return masks
    ranges, keys = parse_part_ranges(settings.part_pitch_ranges), parse_part_keys(settings.part_keys)
    unknown = [part_name(part) for part in sorted(set(ranges) | set(keys)) if summary and str(part) not in summary]
    if unknown:
        raise SettingsError(
            f"this model never played {', '.join(unknown)}: its parts are "
            + ", ".join(part_name(int(k)) for k in sorted(summary, key=int))
        )
    for part in sorted(set(ranges) | set(keys)):
        if part in ranges:
            own = (pitches >= ranges[part][0]) & (pitches <= ranges[part][1])
        else:  # a key alone keeps the piece's range and the corpus range of the part
            own = (pitches >= settings.pitch_low) & (pitches <= settings.pitch_high)
            facts = summary.get(str(part))
            if keep_ranges and facts and (own & (pitches >= facts["min"]) & (pitches <= facts["max"])).any():
                own &= (pitches >= facts["min"]) & (pitches <= facts["max"])
        key = keys.get(part, settings.key)
        if key:
            own &= np.isin(pitches % 12, sorted(scale_pitch_classes(key)))
        if not own.any():
            raise SettingsError(f"no pitch is allowed for {part_name(part)}: widen its range or change its key")
        masks[part] = own
    return masks


def primer_parts(primer: pd.DataFrame, summary: dict) -> np.ndarray:
    """Each primer note's part: its own column where the training corpus has that part, else the commonest
    pitched part of the training corpus whose range (5th-95th percentile) holds the pitch, else the part
    whose range is nearest."""
    own = primer["part"].to_numpy(np.int64) if "part" in primer else None
    known = [(int(k), f) for k, f in summary.items() if int(k) != DRUMS_PART]
    if not known:
        return own if own is not None else np.full(len(primer), PIANO_PART, np.int64)

    def fit(pitch: int) -> int:
        inside = [(f["notes"], k) for k, f in known if f["low"] <= pitch <= f["high"]]
        if inside:
            return max(inside)[1]
        return min(known, key=lambda kf: abs((kf[1]["low"] + kf[1]["high"]) / 2 - pitch))[0]

    guessed = np.array([fit(int(p)) for p in primer["pitch"]], np.int64)
    return guessed if own is None else np.where(np.isin(own, [int(k) for k in summary]), own, guessed)


def chord_mask(mask: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """(B, 128) allowed pitches: the key/range mask less the pitches already in this onset's chord (unless
    that leaves a stream none)."""
    # Mask and not sounding, in one call (True > False only); one mask for all streams, or one per stream.
    allowed = np.greater(mask, sounding)
    return np.where(allowed.any(axis=1)[:, None], allowed, mask)


def snap_times(step: np.ndarray, duration: np.ndarray, settings: Sampling) -> tuple[np.ndarray, np.ndarray]:
    """Predicted times made playable: chords snapped together, optional grid, every note audible."""
    step = np.where(step < settings.chord_snap, 0.0, step)
    if settings.step_grid > 0:
        step = np.round(step / settings.step_grid) * settings.step_grid
        duration = np.round(duration / settings.step_grid) * settings.step_grid
    return step, np.maximum(duration, max(MIN_DURATION, settings.step_grid))


def validate(settings: Sampling) -> None:
    problems = []
    if not 1 <= settings.n_notes <= MAX_NOTES:
        problems.append(f"number of notes must be between 1 and {MAX_NOTES}")
    if not 1 <= settings.variations <= MAX_VARIATIONS:
        problems.append(f"variations must be between 1 and {MAX_VARIATIONS}")
    if settings.temperature < 0:
        problems.append("temperature cannot be negative")
    if not 0 < settings.top_p <= 1:
        problems.append("top-p must be in (0, 1]")
    if settings.top_k < 0:
        problems.append("top-k cannot be negative")
    if not 0 <= settings.chord_snap <= 1 or not 0 <= settings.step_grid <= 2:
        problems.append("chord snap must be 0-1 s and the timing grid 0-2 s")
    if settings.rhythm_temperature < 0:
        problems.append("rhythm temperature cannot be negative")
    if settings.bpm != 0 and not 20 <= settings.bpm <= 300:
        problems.append("tempo must be between 20 and 300 BPM (or 0 for the primer's)")
    for text, parse in ((settings.part_pitch_ranges, parse_part_ranges), (settings.part_keys, parse_part_keys)):
        try:
            parse(text)
        except SettingsError as exc:
            problems.append(str(exc))
    if not 1 <= settings.best_of <= MAX_CANDIDATES:
        problems.append(f"best of must be between 1 and {MAX_CANDIDATES}")
    if settings.part_temperature > 5:
        problems.append("part temperature must be at most 5 (negative: the same as temperature)")
    if not 0 <= settings.pitch_low <= settings.pitch_high <= 127:
        problems.append("pitch range must satisfy 0 ≤ low ≤ high ≤ 127")
    if problems:
        raise SettingsError("; ".join(problems))


def _notes_table(
    pitch: np.ndarray,
    step: np.ndarray,
    duration: np.ndarray,
    settings: Sampling,
    variation: int,
    cfg: Config,
    bpm: float,
    metre: tuple[float, float],
) -> pd.DataFrame:
    """A generated piece as a note table starting at time 0: seconds (at `bpm` for a beats model) and beats."""
    seconds_per_beat = 60.0 / bpm
    elapsed = np.cumsum(step) - (step[0] if len(step) else 0.0)  # in the model's unit (a guide may keep no notes)
    if cfg.beats:
        beat, step_beats, duration_beats = elapsed, step, duration
        step, duration = step * seconds_per_beat, duration * seconds_per_beat
        first_bar_beat, bar_beats = metre
    else:  # a seconds model knows no beats: read its times at the piece's tempo, bars of 4 from its first note
        beat, step_beats, duration_beats = (
            elapsed / seconds_per_beat,
            step / seconds_per_beat,
            duration / seconds_per_beat,
        )
        first_bar_beat, bar_beats = 0.0, BAR_BEATS
    start = beat * seconds_per_beat
    notes = pd.DataFrame(
        {
            "pitch": pitch,
            "start": start,
            "end": start + duration,
            "step": step,
            "duration": duration,
            "velocity": np.full(len(pitch), settings.velocity),
            "beat": beat,
            "step_beats": step_beats,
            "duration_beats": duration_beats,
            # On the grid exactly: a primer's bar position may arrive as float32 or float64 (1e-7 apart).
            "bar_beat": np.mod(np.round((first_bar_beat + beat) * cfg.beat_grid) / cfg.beat_grid, bar_beats),
            "bar_beats": np.full(len(pitch), bar_beats),
            "bpm": np.full(len(pitch), bpm),
        }
    )
    notes.attrs.update(seed=settings.seed, variation=variation)
    return notes
