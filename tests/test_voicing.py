"""The voice-leading rule: no parallel fifths or octaves, no crossing, no wide gaps between upper voices."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_models import random_model
from musicrnn.generate import Sampling, generate
from musicrnn.infer import read_model_file
from musicrnn.model import model_bytes
from musicrnn.parts import PART_NAMES
from musicrnn.voicing import VoiceLeading

SOPRANO, ALTO, TENOR, BASS = (PART_NAMES.index(v) for v in ("Soprano", "Alto", "Tenor", "Bass voice"))
EVERYTHING = np.ones((1, 128), bool)


def one(value) -> np.ndarray:
    return np.array([value])


def heard(voices: VoiceLeading, part: int, pitch: int, onset: float, duration: float = 1.0) -> None:
    voices.took(one(part), one(pitch), one(onset), one(duration))


def test_a_voice_cannot_move_into_the_fifth_it_made_with_a_voice_that_moves_too():
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0)  # C3
    heard(voices, SOPRANO, 67, 0.0)  # G4: a (compound) fifth above
    heard(voices, BASS, 50, 1.0)  # the bass moves to D3
    allowed = voices.allowed(one(SOPRANO), one(1.0), EVERYTHING)[0]
    assert not allowed[69] and not allowed[57] and not allowed[81]  # A4, A3, A5: fifths above D again
    assert allowed[67]  # holding G makes oblique motion
    assert allowed[71] and allowed[65]  # another interval


def test_a_voice_written_below_one_already_moved_cannot_make_the_fifth_again_either():
    """The mirror case: the soprano moved first at this onset, and the tenor, a fifth below it, is drawn next
    (chords written from the top, or parts that cross). Found by an experiment that drew the soprano first: 3.7
    parallels per 100 moves got through where the bass-up order had none."""
    voices = VoiceLeading(1)
    heard(voices, SOPRANO, 66, 0.0)  # F#4
    heard(voices, TENOR, 59, 0.0)  # B3: a fifth below
    heard(voices, SOPRANO, 64, 1.0)  # the soprano moves to E4
    allowed = voices.allowed(one(TENOR), one(1.0), EVERYTHING)[0]
    assert not allowed[57] and not allowed[45]  # A3, A2: fifths below E again
    assert allowed[59] and allowed[55] and allowed[60]  # holding B; G3 and C4 are other intervals
    assert allowed[52]  # E3: an octave below, not the fifth again


def test_a_held_voice_leaves_the_other_free_and_contrary_octaves_are_refused_too():
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0, duration=2.0)  # C3 held over the next onset
    heard(voices, TENOR, 60, 0.0)  # an octave above
    assert voices.allowed(one(TENOR), one(1.0), EVERYTHING)[0][72]  # the bass does not move: no parallel
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0)
    heard(voices, TENOR, 60, 0.0)
    heard(voices, BASS, 43, 1.0)  # the bass falls to G2
    allowed = voices.allowed(one(TENOR), one(1.0), EVERYTHING)[0]
    assert not allowed[55] and not allowed[67]  # G3 or G4: octaves again


def test_a_voice_struck_with_others_makes_a_chord_of_the_key_and_one_moving_alone_is_free():
    from musicrnn.part_writing import key_chords_with_applied_dominants
    from musicrnn.theory import key_index

    voices = VoiceLeading(1, chords=key_chords_with_applied_dominants(key_index("C:major")))
    heard(voices, BASS, 48, 0.0)  # C3 and G3 struck together
    heard(voices, TENOR, 55, 0.0)
    allowed = voices.allowed(one(ALTO), one(0.0), EVERYTHING)[0]
    assert allowed[64] and allowed[60] and allowed[67]  # E, C, G: C major (within an octave of the tenor)
    assert not allowed[62] and not allowed[66]  # D, F sharp: no chord of C major holds C, G and either
    heard(voices, BASS, 48, 0.0, duration=2.0)  # the bass holds; a voice moving alone at beat 1 is free
    passing = voices.allowed(one(TENOR), one(1.0), EVERYTHING)[0]
    assert passing[57] and passing[53]  # A3, F3: passing notes against the held C
    without = VoiceLeading(1)  # no chords given: no chord rule
    heard(without, BASS, 48, 0.0)
    heard(without, TENOR, 55, 0.0)
    assert without.allowed(one(ALTO), one(0.0), EVERYTHING)[0][62]


def test_voices_do_not_cross_and_upper_voices_stay_within_an_octave():
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0)
    heard(voices, TENOR, 55, 0.0)
    heard(voices, SOPRANO, 79, 0.0)
    allowed = voices.allowed(one(ALTO), one(0.0), EVERYTHING)[0]
    assert not allowed[54] and not allowed[80]  # below the tenor, above the soprano
    assert not allowed[66]  # more than an octave below the soprano (G5 - 13)
    assert not allowed[68]  # more than an octave above the tenor (G3 + 13)
    assert allowed[67]


def test_a_rule_that_would_leave_no_pitch_gives_way():
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0)
    heard(voices, SOPRANO, 79, 0.0)
    only_crossing = np.zeros((1, 128), bool)
    only_crossing[0, 40] = True  # the key or range allows nothing else
    assert voices.allowed(one(ALTO), one(0.0), only_crossing)[0][40]


@pytest.fixture(scope="module")
def voices_model():
    keras_model, cfg = random_model("tiny", seed=7)
    model = read_model_file(model_bytes(keras_model, cfg))
    model.heads["step"].out_bias[cfg.end_step] = -30.0  # pieces run to the cap
    model.heads["step"].out_bias[0] += 3.0  # and hold chords, so voices meet at onsets
    ranges = {SOPRANO: (60, 79), ALTO: (55, 74), TENOR: (48, 67), BASS: (38, 60)}
    model.info["corpus"] = {
        "parts": {
            str(p): {"notes": 100, "low": lo, "high": hi, "min": lo, "max": hi, "program": 0}
            for p, (lo, hi) in ranges.items()
        }
    }
    return model


def voice_lines(piece) -> np.ndarray:
    """(onsets, 4) the pitch each chorale voice sounds at each onset (its highest, -1 when silent)."""
    beat = piece["beat"].to_numpy()
    end = beat + piece["duration_beats"].to_numpy()
    onsets = np.unique(beat)
    lines = np.full((len(onsets), 4), -1)
    for column, part in enumerate((SOPRANO, ALTO, TENOR, BASS)):
        mine = piece["part"].to_numpy() == part
        for row, onset in enumerate(onsets):
            sounding = mine & (beat <= onset + 1e-9) & (end > onset + 1e-9)
            if sounding.any():
                lines[row, column] = piece["pitch"].to_numpy()[sounding].max()
    return lines


def crossings(lines: np.ndarray) -> int:
    return int(
        sum(((lines[:, a] >= 0) & (lines[:, a + 1] >= 0) & (lines[:, a] < lines[:, a + 1])).sum() for a in range(3))
    )


def test_generation_with_the_rule_has_no_crossings_or_doubled_voices_unlike_without(voices_model):
    # (A random network rarely writes parallels even without the rule: the unit tests above pin that rule.)
    def figures(rule: bool) -> tuple[int, int, int]:
        # A sharper rhythm strikes more notes together, so the control has more voices to double.
        settings = Sampling(n_notes=200, seed=3, variations=4, voice_leading=rule, rhythm_temperature=0.7)
        pieces = generate(voices_model, None, settings)
        lines = [voice_lines(piece) for piece in pieces]
        doubled = sum(int(piece.groupby(["beat", "part"]).size().gt(1).sum()) for piece in pieces)
        return 0, sum(crossings(x) for x in lines), doubled

    with_rule, without = figures(True), figures(False)
    assert without[1] > 20 and without[2] > 20  # the control: a random network crosses and doubles voices
    assert with_rule[1] <= 0.25 * without[1]  # (where the range leaves a voice no room, the rule gives way)
    assert with_rule[2] <= 0.25 * without[2]  # a voice sings one note at an onset (unless 5 notes start at once)


def test_a_clash_comes_by_step_and_never_against_a_voice_that_leapt():
    """A semitone, major seventh or minor ninth against another voice is a passing or neighbour note (by step),
    or a suspension prepared by repeating the note; a voice that leaps may not land on one, and no voice may
    clash with a voice that leapt to its note here."""
    voices = VoiceLeading(1)
    heard(voices, BASS, 48, 0.0, duration=2.0)  # C3, held over beat 1
    heard(voices, TENOR, 57, 0.0)  # A3
    tenor = voices.allowed(one(TENOR), one(1.0), EVERYTHING)[0]
    assert tenor[59] and tenor[55]  # B3 (a major seventh above C) by step; G3
    assert not tenor[61] and not tenor[49] and not tenor[47]  # C#4, C#3, B2: the clash by leap
    assert tenor[64] and tenor[52]  # E4, E3: leaps to a consonance
    voices = VoiceLeading(1)
    heard(voices, ALTO, 64, 0.0)  # E4
    heard(voices, BASS, 48, 0.0)  # C3
    heard(voices, BASS, 53, 1.0)  # the bass leaps to F3
    alto = voices.allowed(one(ALTO), one(1.0), EVERYTHING)[0]
    assert not alto[64] and not alto[66]  # E4 holds or F#4 steps: a clash with the F the bass leapt to
    assert alto[65] and alto[62]  # F4, D4: no clash


def leapt_clashes(piece) -> int:
    """Onsets where a note leapt to (more than a whole tone from its part's last) is a semitone class from
    another part's note sounding there."""
    onset, end = piece["beat"].to_numpy(), (piece["beat"] + piece["duration_beats"]).to_numpy()
    pitch, part = piece["pitch"].to_numpy(), piece["part"].to_numpy()
    previous = np.full(len(piece), -1)
    for voice in np.unique(part):
        rows = np.flatnonzero(part == voice)
        previous[rows[1:]] = pitch[rows[:-1]]
    count = 0
    for note in np.flatnonzero((previous >= 0) & (np.abs(pitch - previous) > 2)):
        sounding = (onset <= onset[note] + 1e-9) & (end > onset[note] + 1e-9) & (part != part[note])
        count += bool(np.isin(np.abs(pitch[sounding] - pitch[note]) % 12, (1, 11)).any())
    return count


def test_the_chorale_model_leaps_to_no_clash_with_the_rule_and_does_without_it(monkeypatch):
    from musicrnn.bundled import DEFAULT_PRIMER, PRIMER_NOTES, default_model
    from musicrnn.recipe import bundled_primer_notes

    model, primer = default_model(), bundled_primer_notes(DEFAULT_PRIMER, PRIMER_NOTES)

    def clashes() -> int:
        return sum(leapt_clashes(p) for p in generate(model, primer, Sampling(n_notes=120, seed=3, variations=8)))

    # A few may remain where the rules together would leave a voice no pitch (0-2 per 8 pieces when measured).
    assert clashes() <= 2
    monkeypatch.setattr(VoiceLeading, "_clash_by_step", lambda self, *rule_inputs: None)
    assert clashes() >= 5
