"""Musical metrics on examples small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from musicrnn.dataset import Corpus
from musicrnn.evaluation.musical import (
    METRIC_LABELS,
    TIME_EDGES,
    corpus_metrics,
    corpus_pitch_class_histogram,
    corpus_time_histogram,
    piece_metrics,
    pitch_class_histogram,
    time_bin_labels,
    time_histogram,
)

C_SCALE = [60, 62, 64, 65, 67, 69, 71]


def table(pitch, step=0.25, duration=0.2) -> pd.DataFrame:
    """A note table; scalar step/duration apply to every note (the first step is 0)."""
    pitch = np.asarray(pitch, dtype=np.int64)
    step = np.broadcast_to(np.asarray(step, dtype=np.float64), pitch.shape).copy()
    if np.ndim(step) and len(step):
        step[0] = 0.0
    duration = np.broadcast_to(np.asarray(duration, dtype=np.float64), pitch.shape).copy()
    start = np.cumsum(step)
    return pd.DataFrame(
        {"pitch": pitch, "start": start, "end": start + duration, "step": step, "duration": duration, "velocity": 80}
    )


def triads(count: int = 3, gap: float = 0.5, duration: float = 0.5) -> pd.DataFrame:
    """`count` block C major triads, one every `gap` seconds."""
    return table([60, 64, 67] * count, step=[gap, 0.0, 0.0] * count, duration=duration)


# ---------------------------------------------------------------- pitch metrics


def test_c_major_scale_fits_one_scale_with_seven_pitch_classes():
    m = piece_metrics(table(C_SCALE))
    assert m["scale_consistency"] == 1.0
    assert m["pitch_classes_used"] == 7
    assert m["pitches_used"] == 7
    assert m["pitch_range"] == 11
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(7))


def test_pitch_class_entropy_counts_notes_per_class():
    # C twice (60 and 72), six other classes once: p = 2/8 and six times 1/8.
    m = piece_metrics(table(C_SCALE + [72]))
    assert m["pitch_classes_used"] == 7 and m["pitches_used"] == 8
    assert m["pitch_class_entropy"] == pytest.approx(-(0.25 * math.log2(0.25) + 6 * 0.125 * math.log2(0.125)))
    assert piece_metrics(table([60, 72, 48]))["pitch_class_entropy"] == 0.0


def test_chromatic_scale_fits_seven_twelfths_of_any_scale():
    m = piece_metrics(table(range(60, 72)))
    assert m["scale_consistency"] == pytest.approx(7 / 12)
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(12))


def test_scale_consistency_finds_minor_keys_too():
    # A harmonic-minor G sharp (8) is outside A natural minor / C major: 7 of 8 notes fit.
    assert piece_metrics(table([57, 59, 60, 62, 64, 65, 67, 68]))["scale_consistency"] == pytest.approx(7 / 8)
    # D minor's B flat: inside F major / D natural minor, so everything fits.
    assert piece_metrics(table([62, 64, 65, 67, 69, 70, 72]))["scale_consistency"] == 1.0


def test_mean_abs_interval_follows_the_stream_chords_included():
    assert piece_metrics(table(C_SCALE))["mean_abs_interval"] == pytest.approx(11 / 6)
    # Two triads: 60→64→67 inside each chord (4, 3), 67→60 between them (7).
    assert piece_metrics(triads(2))["mean_abs_interval"] == pytest.approx((4 + 3 + 7 + 4 + 3) / 5)


def test_repeated_motif_repeats_most_four_note_patterns():
    # 16 notes: 13 windows, of which only the 4 rotations of the motif are distinct.
    assert piece_metrics(table([60, 64, 67, 72] * 4))["repetition"] == pytest.approx(9 / 13)
    assert piece_metrics(table(C_SCALE * 1))["repetition"] == 0.0
    assert math.isnan(piece_metrics(table([60, 62, 64]))["repetition"])  # no 4-note window at all


# ---------------------------------------------------------------- polyphony and timing


def test_block_triads_have_three_notes_per_onset():
    assert piece_metrics(triads(3))["polyphony"] == 3.0
    assert piece_metrics(table(C_SCALE))["polyphony"] == 1.0


def test_notes_a_few_milliseconds_apart_share_an_onset():
    assert piece_metrics(table([60, 64, 67, 72], step=[0.0, 0.005, 0.005, 0.5]))["polyphony"] == 2.0


def test_sounding_polyphony_averages_over_time_with_notes_on():
    assert piece_metrics(triads(3))["polyphony_sounding"] == pytest.approx(3.0)
    # 0-1 s and 0-0.5 s: two notes for half a second, one for the other half.
    assert piece_metrics(table([60, 64], step=[0.0, 0.0], duration=[1.0, 0.5]))["polyphony_sounding"] == pytest.approx(
        1.5
    )
    # Silence between notes does not count.
    assert piece_metrics(table([60, 64], step=[0.0, 2.0], duration=1.0))["polyphony_sounding"] == pytest.approx(1.0)


def test_time_histogram_shares_bins_and_keeps_outliers():
    labels = time_bin_labels()
    shares = time_histogram(np.array([0.0, 0.25, 0.25, 50.0]))
    assert len(shares) == len(labels) == len(TIME_EDGES) - 1
    assert shares.sum() == pytest.approx(1.0)
    assert shares[0] == 0.25 and shares[labels.index("0.25 s")] == 0.5 and shares[-1] == 0.25
    assert shares[labels.index("0.5 s")] == 0.0


def test_common_note_values_sit_inside_bins_not_on_edges():
    for seconds in (0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5, 2.0):
        assert np.min(np.abs(np.log2(TIME_EDGES[1:] / seconds))) > 0.05


# ---------------------------------------------------------------- corpus


def corpus_of(*tables: pd.DataFrame) -> Corpus:
    return Corpus.from_tables([(f"f{i}.mid", t) for i, t in enumerate(tables)])


def test_corpus_metrics_average_files_with_the_same_keys():
    corpus = corpus_of(table(C_SCALE), table([60] * 8))
    m = corpus_metrics(corpus)
    assert set(m) == set(piece_metrics(table(C_SCALE))) == set(METRIC_LABELS)
    assert m["pitch_range"] == pytest.approx(5.5)
    assert m["pitch_classes_used"] == pytest.approx(4.0)
    assert m["repetition"] == pytest.approx((0 + 4 / 5) / 2)
    assert corpus_metrics([table(C_SCALE), table([60] * 8)]) == pytest.approx(m, nan_ok=True)


def test_corpus_metrics_can_cut_files_to_the_generated_length():
    assert corpus_metrics(corpus_of(table(C_SCALE)), max_notes=3)["pitch_range"] == 4


def test_corpus_histograms_pool_all_notes():
    corpus = corpus_of(table([60, 62]), table([60, 60]))
    np.testing.assert_allclose(corpus_pitch_class_histogram(corpus), pitch_class_histogram(np.array([60, 62, 60, 60])))
    # Steps leave out each file's first note: two steps of 0.25 s.
    assert corpus_time_histogram(corpus, "step")[time_bin_labels().index("0.25 s")] == 1.0
    assert corpus_time_histogram(corpus, "duration")[time_bin_labels().index("0.18 s")] == 1.0


# ---------------------------------------------------------------- rhythm metrics


def test_onsets_on_the_grid_are_read_from_the_seconds_at_the_pieces_tempo():
    from musicrnn.evaluation.musical import on_beat, on_grid, onset_beats

    steady = table(C_SCALE, step=0.25)  # eighth notes at 120 bpm
    assert piece_metrics(steady)["on_grid"] == 1.0
    assert piece_metrics(steady)["on_beat"] == pytest.approx(4 / 7)
    # The same seconds read at 107 bpm fall between the grid points.
    assert piece_metrics(steady.assign(bpm=107.0))["on_grid"] < 0.5
    off = table(C_SCALE, step=[0.0, 0.19, 0.35, 0.19, 0.35, 0.19, 0.35])  # what a squared-error head predicts
    assert piece_metrics(off)["on_grid"] < 0.3
    np.testing.assert_allclose(onset_beats(np.array([0.0, 0.5, 0.25]), 120.0), [0.0, 1.0, 1.5])
    assert on_grid(np.array([0.0, 1 / 3, 0.5 + 0.001, 0.71])) == 0.75
    assert on_beat(np.array([0.0, 1.0, 1.5, 2.0])) == 0.75


def test_rhythm_entropy_is_zero_for_a_steady_pulse_and_one_bit_for_two_lengths():
    from musicrnn.evaluation.musical import ioi_entropy

    assert ioi_entropy(np.arange(8) * 0.5) == 0.0
    assert ioi_entropy(np.array([0, 1, 1.5, 2.5, 3.0])) == pytest.approx(1.0)
    assert ioi_entropy(np.array([0.0, 0.0, 1.0, 1.0, 2.0])) == 0.0  # chords are one onset


def test_beat_position_histogram_counts_twelfths_of_the_beat():
    from musicrnn.evaluation.musical import beat_position_histogram

    shares = beat_position_histogram(np.array([0.0, 1.0, 1.5, 2.25, 2 + 1 / 3, 3.0 + 0.99]))
    assert shares[0] == pytest.approx(3 / 6)  # 0, 1 and 3.99 (nearest: the next beat)
    assert shares[6] == shares[3] == shares[4] == pytest.approx(1 / 6)
    from musicrnn.plots.metrics import beat_position_overlay

    figure = beat_position_overlay([table(C_SCALE)], shares)
    assert len(figure.data) == 2 and list(figure.data[0].x)[0] == "on the beat"


def test_harmony_report_counts_parallel_fifths_and_octaves_of_the_outer_voices():
    from musicrnn.evaluation.musical import harmony_report

    def piece(chords):
        rows = [(p, float(b)) for b, chord in enumerate(chords) for p in chord]
        return pd.DataFrame({"pitch": [p for p, _ in rows], "beat": [b for _, b in rows], "duration_beats": 1.0})

    fifths = harmony_report(piece([(48, 55), (50, 57), (52, 59)]))  # C-G, D-A, E-B: two parallel fifths
    assert fifths["parallel_fifths_per_100"] == pytest.approx(100.0) and fifths["parallel_octaves_per_100"] == 0
    octaves = harmony_report(piece([(48, 64, 72), (50, 65, 74)]))
    assert octaves["parallel_octaves_per_100"] == pytest.approx(100.0) and octaves["voices_per_onset"] == 3
    contrary = harmony_report(piece([(48, 55), (41, 60)]))  # C-G to F-C by contrary motion: not parallel
    assert contrary["parallel_fifths_per_100"] == 0


def test_harmony_report_measures_chord_notes_in_the_melodys_key():
    from musicrnn.evaluation.musical import harmony_report

    in_c = pd.DataFrame({"pitch": [48, 52, 60, 49, 53, 62], "beat": [0, 0, 0, 1, 1, 1.0], "duration_beats": 1.0})
    assert harmony_report(in_c)["chord_notes_in_key"] == pytest.approx(
        0.75
    )  # C#3 is the one chord note outside C major


def test_harmony_report_judges_a_harmonisation_by_the_key_it_was_written_in():
    from musicrnn.evaluation.musical import harmony_report

    # Top notes D, G, B fit C, G and D major alike; the best fit (C major) would count the F# under them as out.
    piece = pd.DataFrame(
        {"pitch": [50, 54, 62, 43, 59, 67, 55, 62, 71], "beat": [0, 0, 0, 1, 1, 1, 2, 2, 2.0], "duration_beats": 1.0}
    )
    assert harmony_report(piece)["chord_notes_in_key"] == pytest.approx(5 / 6)  # the control: the F# counts out
    piece.attrs["key"] = "G:major"  # as harmony.harmonize marks its pieces
    assert harmony_report(piece)["chord_notes_in_key"] == 1.0


def test_part_metrics_report_notes_and_range_per_part():
    from musicrnn.evaluation.musical import part_metrics
    from musicrnn.parts import PART_NAMES

    soprano, bass = PART_NAMES.index("Soprano"), PART_NAMES.index("Bass voice")
    report = part_metrics(np.array([72, 48, 74, 50, 76]), np.array([soprano, bass, soprano, bass, soprano]))
    assert report["Soprano"] == {"notes": 3, "share": 0.6, "low": 72, "median": 74.0, "high": 76}
    assert report["Bass voice"]["high"] == 50 and report["Bass voice"]["notes"] == 2


def test_the_harmony_report_reads_as_sentences_next_to_the_chorales_figures():
    from musicrnn.evaluation.musical import harmony_sentences

    report = {
        "voices_per_onset": 3.8,
        "chord_notes_in_key": 0.476,
        "parallel_fifths_per_100": 1.25,
        "parallel_octaves_per_100": 0.0,
    }
    chorales = {
        "voices_per_onset": 3.93,
        "chord_notes_in_key": 0.927,
        "parallel_fifths_per_100": 0.033,
        "parallel_octaves_per_100": 0.071,
    }
    assert harmony_sentences(report, chorales) == [
        "3.8 voices sound at each new note on average (Bach's chorales: 3.9).",
        "48 % of the notes under the melody are in its key (Bach's chorales: 93 %).",
        "Parallel fifths: 1.2 per 100 chords between the outer voices (Bach's chorales: 0.03 per 100 chords).",
        "No parallel octaves between the outer voices (Bach's chorales: 0.07 per 100 chords).",
    ]
    unmeasured = harmony_sentences({**report, "chord_notes_in_key": float("nan")}, chorales)
    assert len(unmeasured) == 3 and not any("in its key" in text for text in unmeasured)
