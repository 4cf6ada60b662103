"""Figures and tables comparing a model's music and scores with the corpus and with baselines.

Pure functions (numbers in, plotly figure or DataFrame out; no Streamlit), placed by the Train and
Generate pages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..evaluation.musical import (
    METRIC_LABELS,
    TIME_EDGES,
    piece_beat_position_histogram,
    piece_time_histogram,
    pitch_class_histogram,
    time_bin_labels,
)
from ..theory import BEAT_GRID, NOTE_NAMES

CORPUS_COLOR = "#9ca3af"
PIECE_COLORS = ("#6d28d9", "#f59e0b", "#0891b2", "#db2777", "#16a34a", "#dc2626", "#2563eb", "#ca8a04")
PERPLEXITY_EXPLANATION = (
    "Perplexity is e^(cross-entropy): the model is as unsure of the next pitch as if it picked uniformly "
    "among that many pitches — 128 means it learned nothing, lower is better."
)
TIME_TITLES = {"duration": "note length", "step": "time between note starts"}


def _as_list(pieces: pd.DataFrame | Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    return [pieces] if isinstance(pieces, pd.DataFrame) else list(pieces)


def _piece_names(count: int, names: Sequence[str] | None) -> list[str]:
    return (
        list(names)
        if names is not None
        else ["generated"]
        if count == 1
        else [f"variation {i + 1}" for i in range(count)]
    )


def _overlay(
    labels: list[str],
    corpus: np.ndarray,
    pieces: list[np.ndarray],
    names: list[str],
    title: str,
    xaxis: str,
    height: int,
) -> go.Figure:
    """Corpus shares as grey bars, each piece's shares as coloured bars beside them."""
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=corpus,
            name="corpus",
            marker_color=CORPUS_COLOR,
            hovertemplate="corpus: %{x} %{y:.1%}<extra></extra>",
        )
    )
    for index, (shares, name) in enumerate(zip(pieces, names)):
        figure.add_bar(
            x=labels,
            y=shares,
            name=name,
            marker_color=PIECE_COLORS[index % len(PIECE_COLORS)],
            hovertemplate=f"{name}: %{{x}} %{{y:.1%}}<extra></extra>",
        )
    figure.update_layout(
        title=title,
        height=height,
        barmode="group",
        bargap=0.15,
        xaxis_title=xaxis,
        yaxis=dict(title="share of notes", tickformat=".0%"),
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return figure


def pitch_class_overlay(
    pieces: pd.DataFrame | Sequence[pd.DataFrame],
    corpus_histogram: np.ndarray,
    names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Generated pieces' pitch-class shares over the corpus's (`evaluation.musical.corpus_pitch_class_histogram`)."""
    pieces = _as_list(pieces)
    shares = [pitch_class_histogram(p["pitch"].to_numpy(np.int64)) for p in pieces]
    return _overlay(
        NOTE_NAMES,
        np.asarray(corpus_histogram),
        shares,
        _piece_names(len(pieces), names),
        "Pitch classes: generated vs corpus",
        "pitch class",
        height,
    )


def time_overlay(
    pieces: pd.DataFrame | Sequence[pd.DataFrame],
    corpus_histogram: np.ndarray,
    which: str = "duration",
    names: Sequence[str] | None = None,
    edges: np.ndarray = TIME_EDGES,
    height: int = 320,
) -> go.Figure:
    """Generated pieces' step or duration shares over the corpus's, on the same bins
    (`evaluation.musical.corpus_time_histogram(corpus, which)`)."""
    pieces = _as_list(pieces)
    shares = [piece_time_histogram(p, which, edges) for p in pieces]
    return _overlay(
        time_bin_labels(edges),
        np.asarray(corpus_histogram),
        shares,
        _piece_names(len(pieces), names),
        f"{TIME_TITLES[which].capitalize()}: generated vs corpus",
        f"{TIME_TITLES[which]} (bin centre)",
        height,
    )


def duration_overlay(
    pieces: pd.DataFrame | Sequence[pd.DataFrame],
    corpus_histogram: np.ndarray,
    names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Generated pieces' note-length shares over the corpus's."""
    return time_overlay(pieces, corpus_histogram, "duration", names, height=height)


BEAT_POSITION_LABELS = ["on the beat"] + [f"+{k}/12" for k in range(1, BEAT_GRID)]


def beat_position_overlay(
    pieces: pd.DataFrame | Sequence[pd.DataFrame],
    corpus_histogram: np.ndarray,
    names: Sequence[str] | None = None,
    height: int = 320,
) -> go.Figure:
    """Where in the beat generated onsets fall (twelfths: +3/12 a sixteenth, +4/12 a triplet, +6/12 an
    eighth), over the corpus's (`evaluation.musical.corpus_beat_position_histogram`)."""
    pieces = _as_list(pieces)
    shares = [piece_beat_position_histogram(p) for p in pieces]
    return _overlay(
        BEAT_POSITION_LABELS,
        np.asarray(corpus_histogram),
        shares,
        _piece_names(len(pieces), names),
        "Place in the beat: generated vs corpus",
        "onset within the beat",
        height,
    )


def evaluation_table(model_scores: dict, baselines: dict, baseline_top1: dict | None = None) -> pd.DataFrame:
    """Rows model, uniform, unigram, bigram; columns cross-entropy (nats), perplexity, top-1 (NaN where
    unknown). Takes `evaluation.scores.model_scores`, `.baseline_cross_entropy` and `.baseline_top1`."""
    top1 = baseline_top1 or {}
    rows = {"model": (model_scores["pitch_cross_entropy"], model_scores.get("pitch_top1", np.nan))}
    rows.update({name: (baselines[name], top1.get(name, np.nan)) for name in ("uniform", "unigram", "bigram")})
    table = pd.DataFrame(
        [(ce, float(np.exp(ce)), top) for ce, top in rows.values()],
        index=pd.Index(list(rows), name="predictor"),
        columns=["cross-entropy (nats)", "perplexity", "top-1"],
    )
    return table.astype(float)


def metrics_table(
    piece_metrics: Sequence[dict], corpus_metrics: dict, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per musical metric (readable names), one column per piece, and the corpus last."""
    columns = _piece_names(len(piece_metrics), names)
    data = {name: [m[key] for key in METRIC_LABELS] for name, m in zip(columns, piece_metrics)}
    data["corpus"] = [corpus_metrics[key] for key in METRIC_LABELS]
    return pd.DataFrame(data, index=pd.Index(list(METRIC_LABELS.values()), name="metric")).astype(float)


def novelty_chart(
    copied: Sequence[dict],
    copied_transposed: Sequence[dict] | None = None,
    names: Sequence[str] | None = None,
    typical: float | None = None,
    height: int = 280,
) -> go.Figure:
    """Longest run of notes each piece copies from the corpus (`CopiedRun.to_dict()`s), exact and in any key;
    `typical` draws a reference line (e.g. what held-out real music shares with the corpus)."""
    labels = _piece_names(len(copied), names)

    def hover(run: dict) -> str:
        return f"from {run['file']}, note {run['file_position'] + 1}" if run.get("file") else "no shared note"

    figure = go.Figure(
        go.Bar(
            x=labels,
            y=[run["length"] for run in copied],
            name="exact pitches",
            marker_color=PIECE_COLORS[0],
            texttemplate="%{y}",
            textposition="outside",
            cliponaxis=False,
            customdata=[hover(run) for run in copied],
            hovertemplate="%{x}: %{y} notes %{customdata}<extra></extra>",
        )
    )
    if copied_transposed is not None:
        figure.add_bar(
            x=labels,
            y=[run["length"] for run in copied_transposed],
            name="same melody in any key",
            marker_color=PIECE_COLORS[1],
            customdata=[hover(run) for run in copied_transposed],
            texttemplate="%{y}",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y} notes %{customdata}<extra></extra>",
        )
    if typical is not None:
        figure.add_hline(
            y=typical,
            line_dash="dash",
            line_color=CORPUS_COLOR,
            annotation_text="typical for real music",
            annotation_position="top left",
        )
    figure.update_layout(
        title="Novelty: longest run of notes copied from the corpus",
        height=height,
        barmode="group",
        yaxis=dict(title="notes in a row", rangemode="tozero"),
        margin=dict(l=10, r=10, t=60, b=10),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return figure
