"""Rewriting one passage of a piece: a span read in beats, bars or seconds, K candidates sampled from what comes
before it (musicrnn.guide.RewriteGuide), ranked by how likely the model finds what follows each one.

A span counts from the piece's first note (its `beat` column).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Config
from .errors import SettingsError
from .features import steps_between, timing_of
from .generate import MAX_NOTES, MAX_VARIATIONS, Sampling, generate, validate
from .guide import NEEDS_BEATS, RewriteGuide
from .midi import PIECE_COLUMNS
from .theory import BAR_BEATS, BEAT_GRID, DEFAULT_BPM

MAX_CANDIDATES = MAX_VARIATIONS
SUFFIX_NOTES = 32  # a rewrite is scored on how likely the model finds this many notes that follow it
_BEATS_CFG = Config(time_unit="beats")


@dataclass
class Candidate:
    """One rewrite of a span: the whole piece with it, and how likely the model finds what follows it."""

    notes: pd.DataFrame
    score: float  # mean log-probability (nats) per following note: pitch + step + duration
    new_notes: int


SPAN_UNITS = ("beats", "bars", "seconds")


def piece_metre(piece: pd.DataFrame) -> dict[str, float]:
    """The metre and tempo a span is read with: the first note's bar length, beat in its bar and tempo."""
    first = piece.iloc[0] if len(piece) else {}
    return {
        "bar_beats": float(first.get("bar_beats", BAR_BEATS)),
        "pickup": float(first.get("bar_beat", 0.0)),
        "bpm": float(first.get("bpm", DEFAULT_BPM)),
    }


def _unit_scale(unit: str, bar_beats: float, pickup: float, bpm: float) -> tuple[float, float]:
    """Beats per unit, and where the unit's 0 lies in beats before the first note."""
    if unit not in SPAN_UNITS:
        raise SettingsError(f"unknown span unit {unit!r}: use one of {', '.join(SPAN_UNITS)}")
    if unit == "bars":
        return bar_beats, pickup  # bar 0 starts at the bar line at or before the first note
    return (bpm / 60.0, 0.0) if unit == "seconds" else (1.0, 0.0)


def span_to_beats(
    span: tuple[float, float], unit: str, bar_beats: float = BAR_BEATS, pickup: float = 0.0, bpm: float = DEFAULT_BPM
) -> tuple[float, float]:
    """A span in beats, bars or seconds (positions from the first note; bars from the bar line it falls in)
    as beats from the first note, on the beat grid: what `rewrite` takes. One metre and tempo: the piece's first."""
    per, zero = _unit_scale(unit, bar_beats, pickup, bpm)
    start, end = (round((value * per - zero) * BEAT_GRID) / BEAT_GRID for value in span)
    return max(start, 0.0), max(end, 0.0)


def beats_to_unit(
    beats: float, unit: str, bar_beats: float = BAR_BEATS, pickup: float = 0.0, bpm: float = DEFAULT_BPM
) -> float:
    """The inverse of span_to_beats for one position (no grid rounding)."""
    per, zero = _unit_scale(unit, bar_beats, pickup, bpm)
    return (beats + zero) / per


def split_at(notes: pd.DataFrame, start: float, end: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A piece's notes before, inside and after the span [start, end) beats."""
    beat = notes["beat"].to_numpy(np.float64)
    return (notes[beat < start - 1e-9], notes[(beat >= start - 1e-9) & (beat < end - 1e-9)], notes[beat >= end - 1e-9])


def span_excerpt(notes: pd.DataFrame, start: float, end: float, context: float) -> pd.DataFrame:
    """The notes starting in the span [start, end) beats and `context` beats either side of it, to hear a
    rewrite on its own: beats kept as in the piece, seconds moved so the excerpt starts at 0 s."""
    beat = notes["beat"].to_numpy(np.float64)
    chosen = notes[(beat >= start - context - 1e-9) & (beat < end + context - 1e-9)]
    if chosen.empty:
        return chosen.copy()
    offset = float(chosen["start"].min())
    return chosen.assign(start=chosen["start"] - offset, end=chosen["end"] - offset).reset_index(drop=True)


def _joined(before: pd.DataFrame, middle: pd.DataFrame, after: pd.DataFrame, bpm: float) -> pd.DataFrame:
    """Three note tables (beats in the piece's own count) as one piece: steps and seconds recomputed."""
    columns = ["pitch", "velocity", "beat", "duration_beats", "bar_beat", "bar_beats"]
    with_parts = all("part" in part for part in (before, middle, after) if len(part))
    columns += ["part"] if with_parts else []  # a parts model's pieces keep which part plays each note
    piece = pd.concat([part[columns] for part in (before, middle, after)], ignore_index=True)
    piece = piece.sort_values(["beat", "pitch"], kind="stable").reset_index(drop=True)
    beat = piece["beat"].to_numpy(np.float64)
    piece["step_beats"] = steps_between(beat)
    seconds = 60.0 / bpm
    piece["start"], piece["step"], piece["duration"] = (
        beat * seconds,
        piece["step_beats"] * seconds,
        piece["duration_beats"] * seconds,
    )
    piece["end"] = piece["start"] + piece["duration"]
    piece["bpm"] = bpm
    return piece[PIECE_COLUMNS + (["part"] if with_parts else [])]


def rewrite(
    model, piece: pd.DataFrame, start: float, end: float, candidates: int = 4, settings: Sampling | None = None
) -> list[Candidate]:
    """K rewrites of the span [start, end) beats, sampled from what comes before it and ranked best first by how
    likely the model finds the notes after the span given each one. Outside the span the piece is unchanged."""
    settings = settings or Sampling()
    if not model.cfg.beats:
        raise SettingsError(NEEDS_BEATS)
    if "beat" not in piece:
        piece = _with_beats(piece)
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise SettingsError(f"candidates must be between 1 and {MAX_CANDIDATES}")
    if not 0 <= start < end:
        raise SettingsError(f"the span {start:g}-{end:g} is empty: give START-END beats with START < END")
    before, _, after = split_at(piece, start, end)
    if before.empty:
        raise SettingsError(
            f"the span starts at beat {start:g}, at or before the piece's first note: keep at least "
            f"one note before it (the model continues from what comes before)"
        )
    if float(start) > float(piece["beat"].max()) + 1e-9:
        raise SettingsError(
            f"the span starts at beat {start:g}, after the piece's last note (beat {piece['beat'].max():g})"
        )
    bpm = float(piece["bpm"].iloc[0]) if "bpm" in piece else DEFAULT_BPM
    budget = int(
        min(MAX_NOTES, max(16, (end - start) * model.cfg.beat_grid))
    )  # no onset can repeat: at most one chord per grid step
    settings = Sampling(**{**settings.to_dict(), "n_notes": budget, "variations": candidates, "bpm": bpm})
    validate(settings)
    drafts = generate(model, before.reset_index(drop=True), settings, guide=RewriteGuide(start, end))
    first_onset = float(before["beat"].iloc[-1])
    pieces = []
    for draft in drafts:
        middle = draft.assign(beat=draft["beat"] + first_onset + (draft["step_beats"].iloc[0] if len(draft) else 0.0))
        middle["bar_beat"] = draft["bar_beat"]
        pieces.append((_joined(before, middle, after, bpm), len(middle)))
    scores = continuation_scores(model, [p for p, _ in pieces], end, SUFFIX_NOTES)
    ranked = sorted(range(len(pieces)), key=lambda i: -scores[i])
    return [Candidate(pieces[i][0], float(scores[i]), pieces[i][1]) for i in ranked]


def _with_beats(piece: pd.DataFrame) -> pd.DataFrame:
    timing = timing_of(piece, _BEATS_CFG)
    return piece.assign(
        beat=timing.beat,
        step_beats=timing.step,
        duration_beats=timing.duration,
        bar_beat=timing.bar_beat,
        bar_beats=timing.bar_beats,
    )


def continuation_scores(model, pieces: list[pd.DataFrame], end: float, count: int) -> np.ndarray:
    """For each piece, the mean log-probability the model gives (every field of a note, summed) to the
    first `count` notes at or after beat `end`. All pieces run as one batch, padded at the end (a stream's
    state never sees what comes after it)."""
    from .evaluation.scores import field_log_probs
    from .features import encode_notes, next_note_targets, note_classes, parts_of, table_key

    cfg = model.cfg
    keys = np.array([table_key(p) for p in pieces])
    encoded = [
        (p["pitch"].to_numpy(np.int64), encode_notes(p, cfg, k), timing_of(p, cfg)) for p, k in zip(pieces, keys)
    ]
    length = max(len(pitch) for pitch, _, _ in encoded)
    batch = len(pieces)
    pitch = np.zeros((batch, length), np.int64)
    numeric = np.zeros((batch, length, encoded[0][1].shape[1]), np.float32)
    targets = {field: np.full((batch, length), -1, np.int64) for field in (*model.fields, *model.cfg.given_inputs)}
    scored = np.zeros((batch, length), bool)  # position t predicts note t + 1
    for b, ((p, x, timing), piece) in enumerate(zip(encoded, pieces)):
        pitch[b, : len(p)], numeric[b, : len(p)] = p, x
        classes = next_note_targets(note_classes(p, timing, parts_of(piece), cfg), cfg)
        for field in targets:
            targets[field][b, : len(p)] = classes[field]
        after = np.flatnonzero(timing.beat >= end - 1e-9)[:count]
        scored[b, after[after > 0] - 1] = True
    logp = field_log_probs(model, pitch, numeric, keys if cfg.key_input else None, targets)
    totals = sum(np.where(scored, values, 0.0).sum(axis=1) for values in logp.values())
    counts = scored.sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
