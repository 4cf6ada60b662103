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


def _lab(color: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a #rrggbb colour: distances in it follow how different two colours look."""
    linear = [(c / 255) for c in bytes.fromhex(color[1:])]
    r, g, b = (((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in linear)
    x = (r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047
    y = r * 0.2126 + g * 0.7152 + b * 0.0722
    z = (r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_every_part_has_its_own_colour_that_looks_different_from_every_other():
    import itertools
    import math

    from musicrnn.parts import PART_CLASSES
    from musicrnn.plots.notes import MELODY_COLOR, PART_COLORS, PRIMER_COLOR

    assert len(PART_COLORS) == PART_CLASSES
    colours = [*PART_COLORS, MELODY_COLOR, PRIMER_COLOR]
    closest = min(math.dist(_lab(a), _lab(b)) for a, b in itertools.combinations(colours, 2))
    assert closest > 15  # ΔE 76: above ~10 two colours are told apart at a glance


def test_a_part_keeps_its_colour_whatever_other_parts_play():
    from musicrnn.parts import DRUMS_PART, PART_NAMES
    from musicrnn.plots.notes import part_color

    def colours(parts: list[int]) -> dict[str, str]:
        piece = two_tempo_piece().assign(part=parts)
        return {trace.name: trace.marker.color for trace in piano_roll(piece).data}

    soprano_with_alto = colours([0, 0, 1, 1, 0, 0, 1, 1])
    soprano_with_drums = colours([0, 0, DRUMS_PART, DRUMS_PART, 0, 0, DRUMS_PART, DRUMS_PART])
    many = colours(list(range(8, 16)))  # eight instrument families, none of them a voice
    assert soprano_with_alto["Soprano"] == soprano_with_drums["Soprano"] == part_color(0)
    assert soprano_with_drums["Drums"] != soprano_with_drums["Soprano"]
    assert set(many.values()).isdisjoint({part_color(0), part_color(DRUMS_PART)})
    assert many == {PART_NAMES[p]: part_color(p) for p in range(8, 16)}


def test_the_new_notes_mark_and_the_first_chord_name_do_not_sit_on_each_other():
    from musicrnn.plots.notes import add_chords

    piece = two_tempo_piece()
    primer = piece.iloc[:2].assign(start=[-1.0, -0.5], end=[-0.6, -0.1])
    figure = add_chords(piano_roll(piece, primer=primer), [(0.0, 4.0, "C"), (4.0, 8.0, "G")], bpm=120)
    marks = {a.text: a for a in figure.layout.annotations}
    new, first_chord = marks["new notes →"], marks["C"]
    assert new.x == first_chord.x == 0  # both where the new notes begin …
    assert (new.y, new.yanchor) == (0, "bottom") and (first_chord.y, first_chord.yanchor) == (1, "top")  # … apart


def test_the_kept_epoch_is_named_in_the_legend_not_over_the_panel_titles():
    from musicrnn.plots.training import training_loss_chart

    epochs = [{"epoch": e, "pitch_loss": 3.0 - e / 10, "val_pitch_loss": 3.1 - e / 20} for e in (1, 2, 3)]
    figure = training_loss_chart(epochs, best_epoch=2)
    titles = {a.text for a in figure.layout.annotations}
    assert not any("kept" in text for text in titles)  # the subplot titles are the only annotations
    assert "kept: pass 2" in {trace.name for trace in figure.data if trace.showlegend is not False}
    assert all(shape.x0 == 2 for shape in figure.layout.shapes)  # one dotted line per panel, at epoch 2
