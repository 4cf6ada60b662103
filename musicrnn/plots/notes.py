"""Plotly figures of notes: the piano roll, note histograms, chord names (pure functions: data in, figure out; no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..midi import note_times
from ..parts import PART_CLASSES, PART_NAMES, part_name
from ..theory import note_name

NOTE_COLOR = "#6d28d9"
PRIMER_COLOR = "#a8a29e"
# A harmonisation's given melody: apart from every part colour below (an outline sets it off too).
MELODY_COLOR = "#e11d48"
# One colour per part, the same in every figure and piece (a part never changes colour between variations):
# the four voices in Okabe-Ito's colours (distinct for common colour blindness), the instrument families and
# drums in others chosen so that any two parts differ by at least 19 in CIELAB (tests/test_plots_notes.py).
PART_COLOR_BY_NAME = {
    "Soprano": "#0072b2",
    "Alto": "#d55e00",
    "Tenor": "#009e73",
    "Bass voice": "#cc79a7",
    "Piano": "#e69f00",
    "Chromatic Percussion": "#b8a000",
    "Organ": "#332288",
    "Guitar": "#8c510a",
    "Bass": "#882255",
    "Strings": "#56b4e9",
    "Ensemble": "#80cdc1",
    "Brass": "#f4a582",
    "Reed": "#1b7837",
    "Pipe": "#c51b7d",
    "Synth Lead": "#aa4499",
    "Synth Pad": "#9970ab",
    "Synth Effects": "#4d4d4d",
    "Ethnic": "#bf812d",
    "Percussive": "#a6d96a",
    "Sound Effects": "#b2abd2",
    "Drums": "#000000",
}
PART_COLORS = tuple(PART_COLOR_BY_NAME[name] for name in PART_NAMES)  # indexed by part id


def part_color(part: int) -> str:
    """The colour of a part (musicrnn.parts id) in every figure; NOTE_COLOR for an id outside the vocabulary."""
    return PART_COLORS[int(part)] if 0 <= int(part) < PART_CLASSES else NOTE_COLOR


def piano_roll(
    notes: pd.DataFrame, title: str = "", height: int = 360, primer: pd.DataFrame | None = None
) -> go.Figure:
    """Time × pitch bars, one per note; hovering a note shows its name, start, length and velocity.

    With `primer` (the notes a generated piece continues), they are drawn in grey before time 0, where the
    new notes begin (a generated piece's times count from the primer's last onset). A table with several
    parts gets one colour per part and a legend; clicking a part in the legend hides it (mutes it in the roll).
    A harmonisation's `melody` column (True for the given melody's notes) draws those in their own colour,
    with a "Melody" legend entry; the other notes are drawn as above."""
    melody = notes["melody"].to_numpy(bool) if "melody" in notes else np.zeros(len(notes), bool)
    rest = notes[~melody]
    parts = sorted(rest["part"].unique()) if "part" in rest and len(rest) else []
    legend = len(parts) > 1 or bool(melody.any())
    if len(parts) > 1:
        figure = go.Figure()
        for part in parts:
            trace = _note_bars(rest[rest["part"] == part], color=part_color(part), what=part_name(part)).data[0]
            figure.add_trace(trace.update(legendgroup=part_name(part), showlegend=True))
    else:  # one part keeps its own colour (a soprano line is blue here too); a table without parts is purple
        color = part_color(parts[0]) if parts and not melody.any() else NOTE_COLOR
        figure = _note_bars(rest, color=color, what="harmony" if melody.any() else "")
        figure.data[0].showlegend = legend
    if melody.any():
        trace = _note_bars(notes[melody], color=MELODY_COLOR, what="Melody").data[0]
        figure.add_trace(
            trace.update(legendgroup="Melody", showlegend=True, marker_line=dict(color="#1f2937", width=1))
        )
    if primer is not None and len(primer):
        shifted = primer.assign(
            start=primer["start"] - primer["start"].max(), end=primer["end"] - primer["start"].max()
        )
        figure.add_trace(_note_bars(shifted, color=PRIMER_COLOR, what="primer").data[0])
        figure.add_vline(  # at the bottom: chord names (add_chords) sit at the top of the bars
            x=0,
            line=dict(color="#64748b", dash="dot"),
            annotation_text="new notes →",
            annotation_position="bottom right",
        )
    low_high = np.concatenate(
        [notes["pitch"].to_numpy(int), primer["pitch"].to_numpy(int) if primer is not None else []]
    ).astype(int)
    # A title sits at the very top and the legend (two rows: its title, then the parts) under it, above the
    # plot: plotly makes room for the legend but not for both, so the top margin is set for the two.
    top = (40 if title else 10) + (60 if legend and title else 0)
    figure.update_layout(
        title=dict(text=title, y=1.0, yref="container", yanchor="top", pad=dict(t=10)) if title else None,
        height=height + (60 if legend and title else 0),
        margin=dict(l=10, r=10, t=top, b=10),
        xaxis_title="time (s)",
        yaxis=pitch_axis(low_high),
        bargap=0,
        showlegend=legend,
        legend=dict(
            orientation="h",
            yanchor="bottom",
            y=1.0,
            xanchor="left",
            x=0,
            title_text="parts (click to hide)" if len(parts) > 1 and not melody.any() else "click to hide",
        ),
    )
    if legend and primer is not None and len(primer):
        figure.data[-1].showlegend = False  # the grey primer is not a part of the piece
    return figure


def _note_bars(notes: pd.DataFrame, color: str = NOTE_COLOR, what: str = "") -> go.Figure:
    starts, ends = note_times(notes)
    pitch = notes["pitch"].to_numpy(int)
    names = [note_name(p) for p in pitch]
    velocity = notes["velocity"].to_numpy(int) if "velocity" in notes else np.full(len(pitch), 90)
    figure = go.Figure(
        go.Bar(
            x=ends - starts,
            y=pitch,
            base=starts,
            orientation="h",
            width=0.8,
            marker_color=color,
            name=what or "notes",
            # The note's own numbers: for a bar drawn from `base`, plotly's %{x} is where it ends, not its length.
            customdata=np.stack([names, velocity, np.round(starts, 2), np.round(ends - starts, 2)], axis=1)
            if len(pitch)
            else None,
            hovertemplate="<b>%{customdata[0]}</b> (MIDI %{y})<br>start %{customdata[2]} s, length %{customdata[3]} s"
            "<br>velocity %{customdata[1]}" + (f" · {what}" if what else "") + "<extra></extra>",
        )
    )
    return figure


def pitch_axis(pitch: np.ndarray) -> dict:
    """A pitch axis labelled at every C (C2, C3, …) with a little room above and below the notes."""
    low, high = (int(pitch.min()), int(pitch.max())) if len(pitch) else (48, 72)
    low, high = max(0, low - 2), min(127, high + 2)
    cs = [p for p in range(low - low % 12, high + 1, 12) if p >= low] or [low]
    return dict(title="pitch", range=[low - 0.5, high + 0.5], tickvals=cs, ticktext=[note_name(p) for p in cs])


def note_histograms(notes: pd.DataFrame, height: int = 300) -> go.Figure:
    """Histograms of pitch (labelled with note names), step and duration side by side."""
    figure = make_subplots(rows=1, cols=3, subplot_titles=["pitch", "step (s)", "duration (s)"])
    pitch = notes["pitch"].to_numpy(int)
    counts = np.bincount(pitch, minlength=128)
    used = np.nonzero(counts)[0]
    figure.add_trace(
        go.Bar(
            x=used,
            y=counts[used],
            marker_color=NOTE_COLOR,
            customdata=[note_name(int(p)) for p in used],
            hovertemplate="%{customdata}: %{y} notes<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for col, column in ((2, "step"), (3, "duration")):
        figure.add_trace(
            go.Histogram(
                x=notes[column], nbinsx=40, marker_color=NOTE_COLOR, hovertemplate="%{x}: %{y} notes<extra></extra>"
            ),
            row=1,
            col=col,
        )
    figure.update_yaxes(title_text="notes", row=1, col=1)
    if len(used):  # note names on the pitch axis, as on the piano roll
        axis = pitch_axis(used)
        figure.update_xaxes(tickvals=axis["tickvals"], ticktext=axis["ticktext"], title_text="pitch", row=1, col=1)
    figure.update_layout(height=height, showlegend=False, margin=dict(l=10, r=10, t=40, b=10), bargap=0.05)
    return figure


def mark_span(figure: go.Figure, notes: pd.DataFrame, start: float, end: float, label: str = "") -> go.Figure:
    """Shade the span from beat `start` to beat `end` of `notes`, at the seconds those beats fall on in the
    piece (read from its own notes, so a tempo change moves the shading with the music)."""
    beats, seconds = notes["beat"].to_numpy(float), notes["start"].to_numpy(float)
    order = np.argsort(beats, kind="stable")
    per_beat = 60.0 / float(notes["bpm"].iloc[0]) if "bpm" in notes else 0.5
    x0, x1 = (
        float(np.interp(b, beats[order], seconds[order], right=seconds.max() + (b - beats.max()) * per_beat))
        for b in (start, end)
    )
    figure.add_vrect(
        x0=x0,
        x1=x1,
        line_width=0,
        fillcolor="#f59e0b",
        opacity=0.18,
        annotation_text=label,
        annotation_position="top left",
    )
    return figure


def add_chords(figure: go.Figure, spans: list[tuple[float, float, str]], bpm: float) -> go.Figure:
    """Chord names above the bars they steer (spans in beats, drawn at the piece's tempo in seconds)."""
    seconds = 60.0 / bpm
    for start, end, name in spans:
        figure.add_vrect(
            x0=max(start, 0.0) * seconds,
            x1=end * seconds,
            line_width=0,
            fillcolor="#94a3b8",
            opacity=0.08,
            annotation_text=name,
            annotation_position="top left",
        )
    return figure
