"""Input encoding: the whole-sequence and one-note-at-a-time encoders must agree exactly."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_models import OLDER
from musicrnn.config import preset
from musicrnn.features import (
    Timing,
    class_beats,
    encode_sequence,
    encode_step,
    encode_timed,
    feature_count,
    rhythm_class,
)
from musicrnn.parts import PART_CLASSES

CONFIGS = {
    "rich": preset("tiny", **OLDER),
    "rich-seconds": preset("tiny", time_unit="seconds"),
    "plain": preset("tutorial"),
    "plain-parts": preset("tutorial", parts=True),
    "rich-no-parts": preset("tiny", parts=False, **OLDER),
}


def encode_note_by_note(pitch: np.ndarray, step: np.ndarray, duration: np.ndarray, cfg, part=None) -> np.ndarray:
    """What generation does: encode_step per note, carrying the previous pitch, the chord counter and the
    onset's place in the bar (bars of 4 beats from the first note, as encode_sequence assumes)."""
    rows, chord_size = [], np.zeros(1, np.int64)
    prev = pitch[:1]
    beat = np.zeros(1)
    for i in range(len(pitch)):
        if i:
            beat = beat + step[i]
        numeric, chord_size = encode_step(
            pitch[i : i + 1],
            step[i : i + 1],
            duration[i : i + 1],
            prev,
            chord_size,
            cfg,
            beat,
            np.mod(beat, 4.0),
            np.full(1, 4.0),
            None if part is None else part[i : i + 1],
        )
        prev = pitch[i : i + 1]
        rows.append(numeric[0])
    return np.stack(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_encode_sequence_equals_encode_step_note_by_note(kind, seed, random_notes_factory):
    cfg = CONFIGS[kind]
    notes = random_notes_factory(np.random.default_rng(seed), 120, low=20, high=110)
    pitch, step, duration = (notes[c].to_numpy() for c in ("pitch", "step", "duration"))
    whole = encode_sequence(pitch, step, duration, cfg)
    assert whole.shape == (120, feature_count(cfg))
    np.testing.assert_allclose(whole, encode_note_by_note(pitch, step, duration, cfg), atol=1e-6)


def test_encoding_agrees_on_long_chords_and_a_chord_at_the_start():
    # Chord runs longer than the counter's cap (7) and a first note that is itself "in a chord".
    cfg = CONFIGS["rich"]
    step = np.array([0.0] * 10 + [0.5] + [0.0] * 3 + [1.0, 0.005])
    pitch = np.arange(40, 40 + len(step))
    duration = np.full(len(step), 0.5)
    np.testing.assert_allclose(
        encode_sequence(pitch, step, duration, cfg), encode_note_by_note(pitch, step, duration, cfg), atol=1e-6
    )


def test_rich_encoding_of_a_batch_equals_one_stream_at_a_time():
    cfg = CONFIGS["rich"]
    rng = np.random.default_rng(3)
    pitch, prev = rng.integers(0, 128, 8), rng.integers(0, 128, 8)
    step, duration, chord = rng.choice([0.0, 0.3, 9.0], 8), rng.uniform(0, 6, 8), rng.integers(0, 9, 8)
    beat, bars = rng.uniform(0, 30, 8), rng.choice([3.0, 4.0], 8)
    batch, counters = encode_step(pitch, step, duration, prev, chord, cfg, beat, np.mod(beat, bars), bars)
    for b in range(8):
        one, counter = encode_step(
            pitch[b : b + 1],
            step[b : b + 1],
            duration[b : b + 1],
            prev[b : b + 1],
            chord[b : b + 1],
            cfg,
            beat[b : b + 1],
            np.mod(beat[b : b + 1], bars[b : b + 1]),
            bars[b : b + 1],
        )
        np.testing.assert_allclose(batch[b], one[0], atol=1e-7)
        assert counters[b] == counter[0]


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_step_and_duration_are_clipped_to_zero_and_max_time(kind):
    cfg = CONFIGS[kind].replace(max_time=4.0, max_beats=4)  # seconds clip at max_time, beats at max_beats
    step = np.array([-1.0, 0.0, 2.0, 4.0, 50.0])
    duration = np.array([-0.5, 0.1, 3.0, 10.0, 4.0])
    pitch = np.full(5, 60)
    expected_step, expected_duration = np.array([0.0, 0.0, 2.0, 4.0, 4.0]), np.array([0.0, 0.1, 3.0, 4.0, 4.0])
    numeric = encode_sequence(pitch, step, duration, cfg)
    if cfg.rich_features:  # the rich encoding stores log1p of the clipped seconds
        numeric = np.expm1(numeric[:, :2])
    np.testing.assert_allclose(numeric[:, 0], expected_step, atol=1e-5)
    np.testing.assert_allclose(numeric[:, 1], expected_duration, atol=1e-5)


def test_tutorial_inputs_are_exactly_step_and_duration_in_seconds():
    cfg = CONFIGS["plain"]
    step, duration = np.array([0.0, 0.25, 1.5, 3.0]), np.array([0.5, 0.125, 2.0, 0.75])
    numeric = encode_sequence(np.array([60, 62, 64, 65]), step, duration, cfg)
    assert numeric.shape == (4, 2)
    np.testing.assert_array_equal(numeric, np.stack([step, duration], axis=1).astype(np.float32))


def test_beats_features_say_where_each_onset_falls_in_its_beat_and_bar():
    cfg = CONFIGS["rich-no-parts"]
    timing = Timing(
        step=np.array([0.0, 0.5, 0.5, 1.0]),
        duration=np.ones(4),
        beat=np.array([0.0, 0.5, 1.0, 2.0]),
        bar_beat=np.array([0.0, 0.5, 1.0, 2.0]),
        bar_beats=np.full(4, 4.0),
    )
    numeric = encode_timed(np.array([60, 62, 64, 65]), timing, cfg)
    assert numeric.shape == (4, 9)
    np.testing.assert_allclose(numeric[:, 6], [1, -1, 1, 1], atol=1e-6)  # cos of the place in the beat
    np.testing.assert_allclose(numeric[:, 8], [1, np.cos(np.pi / 4), 0, -1], atol=1e-6)  # cos of the place in the bar


def test_rhythm_classes_are_the_nearest_twelfth_of_a_beat_and_longer_values_share_the_last():
    cfg = CONFIGS["rich"]
    beats = np.array([0.0, 1 / 12, 0.24, 1 / 3, 0.5, 15.9, 16.0, 40.0, -1.0])
    classes = rhythm_class(beats, cfg)
    np.testing.assert_array_equal(classes, [0, 1, 3, 4, 6, 191, 192, 192, 0])
    assert cfg.rhythm_classes == 193
    np.testing.assert_allclose(class_beats(classes[:5], cfg), [0, 1 / 12, 0.25, 1 / 3, 0.5])


@pytest.mark.parametrize("kind", ["rich", "rich-seconds", "plain-parts"])
def test_part_columns_agree_between_training_and_generation_encoding(kind, random_notes_factory):
    cfg = CONFIGS[kind]
    notes = random_notes_factory(np.random.default_rng(4), 60, low=20, high=110)
    pitch, step, duration = (notes[c].to_numpy() for c in ("pitch", "step", "duration"))
    part = np.random.default_rng(5).integers(0, PART_CLASSES, len(pitch))
    whole = encode_sequence(pitch, step, duration, cfg, part)
    np.testing.assert_allclose(whole, encode_note_by_note(pitch, step, duration, cfg, part), atol=1e-6)
    # The part is one-hot in the last PART_CLASSES columns, and only there.
    np.testing.assert_array_equal(whole[:, -PART_CLASSES:].argmax(axis=1), part)
    assert (whole[:, -PART_CLASSES:].sum(axis=1) == 1).all()


def test_models_without_parts_have_no_part_columns():
    assert feature_count(preset("tutorial")) == 2 and feature_count(preset("tiny", parts=False, **OLDER)) == 9
    assert feature_count(preset("tiny", **OLDER)) == 9 + PART_CLASSES
    # Key-aware models that learn endings read the place in the piece and the degree in the key too.
    assert feature_count(preset("tiny")) == 9 + 1 + 12 + PART_CLASSES


def _chorale_opening(notes: int = 60):
    from musicrnn.bundled import CHORALES, DEFAULT_PRIMER
    from musicrnn.midi_load import midi_to_notes

    return midi_to_notes(CHORALES / DEFAULT_PRIMER).head(notes)


def test_a_model_that_reads_chords_from_the_top_gets_each_chord_top_down_with_its_steps_counted_again():
    from musicrnn.features import in_chord_order

    notes = _chorale_opening()
    assert in_chord_order(notes, "up") is notes  # "up": as files are loaded
    loaded_up = all(g["pitch"].is_monotonic_increasing for _, g in notes.groupby("beat"))
    assert loaded_up and notes.groupby("beat").size().max() == 4  # the premise: four-note chords, from the bass
    down = in_chord_order(notes, "down")
    assert sorted(zip(down["beat"], down["pitch"], down["part"])) == sorted(
        zip(notes["beat"], notes["pitch"], notes["part"])
    )
    assert (np.diff(down["beat"]) >= 0).all()
    assert all(g["pitch"].is_monotonic_decreasing for _, g in down.groupby("beat"))
    beat = down["beat"].to_numpy()
    np.testing.assert_allclose(down["step_beats"], np.diff(beat, prepend=beat[:1]))  # 0 within a chord
    start = down["start"].to_numpy()
    np.testing.assert_allclose(down["step"], np.maximum(np.diff(start, prepend=start[:1]), 0), atol=1e-9)
    np.testing.assert_array_equal(in_chord_order(down, "down")["pitch"], down["pitch"])  # already in order


def test_a_corpus_read_from_the_top_holds_the_same_arrays_as_its_tables_read_so():
    from musicrnn.dataset import FILE_ARRAYS, Corpus
    from musicrnn.features import in_chord_order

    notes = _chorale_opening()
    corpus = Corpus.from_tables([("bwv269.mid", notes)])
    assert corpus.in_chord_order("up") is corpus
    ordered = corpus.in_chord_order("down")
    expected = Corpus.from_tables([("bwv269.mid", in_chord_order(notes, "down"))])
    for array in FILE_ARRAYS:
        np.testing.assert_allclose(getattr(ordered, array)[0], getattr(expected, array)[0], atol=1e-5, err_msg=array)
    assert not np.array_equal(ordered.pitch[0], corpus.pitch[0])  # the files' own arrays are left as they were
