"""Plotly figures of training progress: loss per head as training runs (pure functions; no Streamlit)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..theory import HEADS
from .notes import NOTE_COLOR

VALIDATION_COLOR = "#f59e0b"
KEPT_COLOR = "green"
# Each head's panel in a musician's words (the head's own name in brackets, as the Details tables call it).
HEAD_TITLES = {"pitch": "pitch", "step": "when (step)", "duration": "how long (duration)", "part": "which voice (part)"}


def training_loss_chart(
    epochs: list[dict], batches: list[dict] | None = None, height: int = 320, best_epoch: int = 0
) -> go.Figure:
    """Training and validation loss per head (one panel each: their scales differ by 100×); a dotted line
    marks `best_epoch`, the epoch whose weights are the model (0 = none yet).

    Training loss is drawn from the per-batch reports (x = epochs so far, fractional) so the chart moves
    during the first epoch; validation loss exists only at the end of each epoch.
    """
    figure = make_subplots(rows=1, cols=len(HEADS), subplot_titles=[HEAD_TITLES.get(head, head) for head in HEADS])
    train_x, train_rows = _training_points(epochs, batches or [])
    for col, head in enumerate(HEADS, start=1):
        key = f"{head}_loss"
        figure.add_trace(
            go.Scatter(
                # Markers while there are few points: a line through one point is invisible.
                x=train_x,
                y=[row.get(key) for row in train_rows],
                mode="lines" if len(train_x) > 20 else "lines+markers",
                name="training files",
                line=dict(color=NOTE_COLOR),
                legendgroup="training",
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
        val = [(row["epoch"], row[f"val_{key}"]) for row in epochs if f"val_{key}" in row]
        if val:
            figure.add_trace(
                go.Scatter(
                    x=[x for x, _ in val],
                    y=[y for _, y in val],
                    mode="lines+markers",
                    name="held-out files (validation)",
                    line=dict(color=VALIDATION_COLOR, dash="dash"),
                    legendgroup="validation",
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(title_text="pass through the music (epoch)", rangemode="tozero", row=1, col=col)
        if col == 1:
            figure.update_yaxes(title_text="surprise (loss): lower is better", row=1, col=col)
        if best_epoch:  # the line only: its words are in the legend, not on top of the panels' titles
            figure.add_vline(x=best_epoch, line=dict(color=KEPT_COLOR, dash="dot"), row=1, col=col)
    if best_epoch:
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=f"kept: pass {best_epoch}",
                line=dict(color=KEPT_COLOR, dash="dot"),
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    figure.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return figure


def _training_points(epochs: list[dict], batches: list[dict]) -> tuple[list[float], list[dict]]:
    """Training-loss points in time order: batch reports (running means within an epoch) and epoch ends."""
    points = [(b["epoch"] + b["batch"] / max(1, b.get("batches", 1)), b) for b in batches]
    points += [(float(e["epoch"]), e) for e in epochs]
    points.sort(key=lambda point: point[0])
    return [x for x, _ in points], [row for _, row in points]
