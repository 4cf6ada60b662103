"""Figures for the "How it works" page (pure plotly: data in, figure out; no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..midi import note_times
from ..theory import note_name
from .metrics import CORPUS_COLOR
from .notes import NOTE_COLOR, pitch_axis

CONTEXT_COLOR = "#d1d5db"
TARGET_COLOR = "#f59e0b"
RESHAPED_COLOR = NOTE_COLOR


def window_roll(notes: pd.DataFrame, start: int, length: int, context: int = 24, height: int = 380) -> go.Figure:
    """A stretch of the piano roll: the window's L notes in colour, the target note after them marked, a few
    notes around them in grey, and the window's time span shaded."""
    notes = notes.reset_index(drop=True)
    starts, ends = note_times(notes)
    target = start + length
    lo, hi = max(0, start - context), min(len(notes), target + 1 + context)
    figure = go.Figure()
    groups = [
        ("other notes", [i for i in range(lo, hi) if not start <= i <= target], CONTEXT_COLOR),
        (f"window (L = {length} notes the network reads)", list(range(start, target)), NOTE_COLOR),
        ("target (the note to predict)", [target] if target < len(notes) else [], TARGET_COLOR),
    ]
    for name, members, color in groups:
        rows = np.asarray(members, dtype=int)
        pitch = notes["pitch"].to_numpy(int)[rows] if len(rows) else np.zeros(0, int)
        figure.add_bar(
            x=ends[rows] - starts[rows] if len(rows) else [],
            y=pitch,
            base=starts[rows] if len(rows) else [],
            orientation="h",
            width=0.8,
            marker_color=color,
            name=name,
            customdata=np.stack([[note_name(p) for p in pitch], rows], axis=1) if len(rows) else None,
            hovertemplate="<b>%{customdata[0]}</b> · note %{customdata[1]}<br>start %{base:.2f} s, length %{x:.2f} s<extra></extra>",
        )
    if target < len(notes):
        figure.add_vrect(x0=starts[start], x1=starts[target], fillcolor=NOTE_COLOR, opacity=0.07, line_width=0)
        figure.add_annotation(
            x=starts[target],
            y=int(notes["pitch"].iloc[target]),
            text=f"target: {note_name(notes['pitch'].iloc[target])}",
            showarrow=True,
            arrowhead=2,
            arrowcolor=TARGET_COLOR,
            ax=40,
            ay=-30,
            font=dict(color="#92400e"),
        )
    shown = notes["pitch"].to_numpy(int)[lo:hi]
    figure.update_layout(
        height=height,
        barmode="overlay",
        bargap=0,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="time (s)",
        yaxis=pitch_axis(shown),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
    )
    return figure


def distribution_chart(
    model_probs: np.ndarray,
    sampled_probs: np.ndarray,
    true_pitch: int | None = None,
    label_top: int = 5,
    height: int = 380,
) -> go.Figure:
    """Bars over note names: what the network predicts (grey) and what sampling draws from after
    temperature / top-k / top-p (colour); the likeliest notes and the true next note are labelled."""
    visible = np.flatnonzero((model_probs > 0.002) | (sampled_probs > 0.002))
    if true_pitch is not None:
        visible = np.union1d(visible, [true_pitch])
    low, high = (int(visible.min()), int(visible.max())) if len(visible) else (48, 72)
    low, high = max(0, low - 2), min(127, high + 2)
    pitches = np.arange(low, high + 1)
    names = [note_name(int(p)) for p in pitches]
    figure = go.Figure()
    figure.add_bar(
        x=names,
        y=model_probs[pitches],
        name="network's prediction",
        marker_color=CORPUS_COLOR,
        hovertemplate="%{x}: %{y:.1%} predicted<extra></extra>",
    )
    figure.add_bar(
        x=names,
        y=sampled_probs[pitches],
        name="what sampling draws from",
        marker_color=RESHAPED_COLOR,
        hovertemplate="%{x}: %{y:.1%} when sampling<extra></extra>",
    )
    for pitch in np.argsort(-sampled_probs, kind="stable")[:label_top]:
        if sampled_probs[pitch] > 0 and low <= pitch <= high and pitch != true_pitch:
            figure.add_annotation(
                x=note_name(pitch),
                y=sampled_probs[pitch],
                text=f"{note_name(pitch)} {sampled_probs[pitch]:.0%}",
                showarrow=False,
                yshift=12,
                font=dict(size=11, color=RESHAPED_COLOR),
            )
    if true_pitch is not None and low <= true_pitch <= high:
        top = max(model_probs[true_pitch], sampled_probs[true_pitch])
        figure.add_annotation(
            x=note_name(true_pitch),
            y=top,
            text=f"true next note: {note_name(true_pitch)} {sampled_probs[true_pitch]:.0%}",
            showarrow=True,
            arrowhead=2,
            ax=0,
            ay=-40,
            arrowcolor=TARGET_COLOR,
            font=dict(size=11, color="#92400e"),
            bgcolor="rgba(255,255,255,0.85)",
        )
    figure.update_layout(
        height=height,
        barmode="group",
        bargap=0.1,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(title="next note", type="category"),
        yaxis=dict(title="probability", tickformat=".0%"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
    )
    return figure


def guessing_chart(rows: pd.DataFrame, names: dict[str, str], height: int = 240) -> go.Figure:
    """How many pitches each guesser is as unsure as choosing among (perplexity, e^cross-entropy), fewest =
    best, each guesser named in words (`names`: row name -> words; rows: `plots.metrics.evaluation_table`)."""
    among = np.exp(rows["cross-entropy (nats)"].to_numpy(float))
    return _guesser_bars(
        rows,
        among,
        [names.get(name, name) for name in rows.index],
        [f"{value:.0f} pitch{'es' if round(value) != 1 else ''}" for value in among],
        "%{y}: as unsure as choosing among %{x:.1f} pitches",
        "as unsure of the next note as choosing among … pitches (fewer is better)",
        height,
    )


def cross_entropy_chart(rows: pd.DataFrame, height: int = 260) -> go.Figure:
    """Horizontal bars of cross-entropy (nats) per predictor, lowest = best, with perplexity in the labels
    (rows: `plots.metrics.evaluation_table`)."""
    return _guesser_bars(
        rows,
        rows["cross-entropy (nats)"].to_numpy(float),
        list(rows.index),
        [f"{ce:.2f} nats · perplexity {pp:.1f}" for ce, pp in zip(rows["cross-entropy (nats)"], rows["perplexity"])],
        "%{y}: %{x:.3f} nats",
        "pitch cross-entropy (nats per note, lower is better)",
        height,
    )


def _guesser_bars(
    rows: pd.DataFrame, values: np.ndarray, names: list[str], text: list[str], hover: str, title: str, height: int
) -> go.Figure:
    """One horizontal bar per guesser of `rows`, the network's in the note colour, the first row on top."""
    figure = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            marker_color=[NOTE_COLOR if name == "model" else CORPUS_COLOR for name in rows.index],
            text=text,
            textposition="auto",
            hovertemplate=hover + "<extra></extra>",
        )
    )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis_title=title, yaxis=dict(autorange="reversed")
    )
    return figure
