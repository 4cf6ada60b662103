"""scripts/corpora.py: a score's pickup lands where the score has it in the MIDI file written from it."""

from __future__ import annotations

import sys

from helpers_models import ROOT
from musicrnn.midi_load import midi_to_notes

sys.path.insert(0, str(ROOT / "scripts"))
import corpora  # noqa: E402


def score_with_a_pickup(padding: float):
    """A 4/4 tune: a one-beat upbeat D4 (its bar `padding` beats short), then a whole-note G4 on the bar line."""
    from music21 import meter, note, stream

    pickup = stream.Measure(number=0)
    pickup.timeSignature = meter.TimeSignature("4/4")
    pickup.paddingLeft = padding
    pickup.append(note.Note("D4", quarterLength=1))
    bar = stream.Measure(number=1)
    bar.append(note.Note("G4", quarterLength=4))
    part = stream.Part()
    part.append([pickup, bar])
    return stream.Score([part])


def bar_beats_written(score, pad: bool) -> list[float]:
    from music21.midi import translate

    midi_file = translate.streamToMidiFile(score)
    if pad:
        corpora.pad_start(midi_file, corpora.pickup_beats(score))
    return midi_to_notes(midi_file.writestr(), name="tune.mid")["bar_beat"].tolist()


def test_a_pickup_sounds_on_the_last_beat_of_the_files_first_bar():
    score = score_with_a_pickup(3.0)
    assert corpora.pickup_beats(score) == 3.0
    assert bar_beats_written(score, pad=True) == [3.0, 0.0]  # the upbeat on beat 4, the G on the bar line
    assert bar_beats_written(score, pad=False) == [0.0, 1.0]  # music21 alone: the upbeat on the bar line


def test_a_score_that_starts_on_the_bar_line_is_written_as_it_was():
    score = score_with_a_pickup(0.0)
    assert corpora.pickup_beats(score) == 0.0
    assert bar_beats_written(score, pad=True) == bar_beats_written(score, pad=False) == [0.0, 1.0]
