"""The piano roll's extras: a shaded span placed on the seconds its beats fall on, and room for title and legend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicrnn.plots.notes import mark_span, piano_roll


def two_tempo_piece() -> pd.DataFrame:
    """Eight one-beat notes: four at 120 bpm (0.5 s a beat), then four at 60 bpm (1 s a beat)."""
    beat = np.arange(8.0)
    start = np.where(beat < 4, beat * 0.5, 2.0 + (beat - 4) * 1.0)
    return pd.DataFrame(
        {"pitch": 60 + np.arange(8), "start": start, "end": start + 0.4, "beat": beat, "bpm": 120.0, "velocity": 90}
    )


def test_a_span_is_shaded_where_its_beats_sound_across_a_tempo_change():
    piece = two_tempo_piece()
    figure = mark_span(piano_roll(piece), piece, 2.0, 6.0, "to rewrite")
    (shape,) = figure.layout.shapes
    assert (shape.x0, shape.x1) == pytest.approx((1.0, 4.0))  # beat 2 at 1 s; beat 6 at 2 s + 2 beats of 1 s
    assert figure.layout.annotations[0].text == "to rewrite"


def test_a_span_past_the_last_note_goes_on_at_the_piece_tempo():
    piece = two_tempo_piece()
    (shape,) = mark_span(piano_roll(piece), piece, 7.0, 9.0).layout.shapes
    assert (shape.x0, shape.x1) == pytest.approx((5.0, 6.0))  # 2 beats past beat 7 at 120 bpm = 1 s


def test_a_titled_roll_with_parts_makes_room_above_the_plot_for_both_title_and_legend():
    piece = two_tempo_piece().assign(part=[0, 0, 1, 1, 2, 2, 3, 3])
    untitled, titled = piano_roll(piece), piano_roll(piece, title="The piece now")
    assert titled.layout.showlegend and titled.layout.title.text == "The piece now"
    assert titled.layout.margin.t >= untitled.layout.margin.t + 80  # title (40) + legend rows (60) over 10
    assert titled.layout.height > untitled.layout.height  # the plot itself keeps its height
