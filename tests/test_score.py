"""Scores (issue 27): a piece's notes written as a musician reads them, checked by reading the MusicXML back with
music21 and by counting the staves Verovio engraves."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicrnn import bundled
from musicrnn.generate import Sampling, generate
from musicrnn.harmony import harmonize
from musicrnn.midi import midi_bytes, notes_to_midi
from musicrnn.midi_load import midi_to_notes
from musicrnn.notation import parse_melody
from musicrnn.parts import PART_NAMES, part_name
from musicrnn.score import (
    NEEDS_BEATS,
    PRIMER,
    Bar,
    ScoreError,
    engrave,
    legato_ends,
    musicxml,
    pages,
    piece_musicxml,
    plan_score,
    score_problem,
    split_length,
    staff_count,
    with_primer,
)
from musicrnn.theory import parse_pitch

ROOT = Path(__file__).resolve().parents[1]
needs_default_model = pytest.mark.skipif(not bundled.DEFAULT_MODEL.exists(), reason="the bundled model is missing")
HYMN = "G4/1 G4/1 F#4/1 E4/1 D4/2 G4/1 A4/1 B4/1 B4/1 B4/1 A4/1 G4/2 C5/1 B4/1 A4/1 G4/1 A4/1 B4/1 A4/1 G4/4"


def table(notes: list[tuple[str, float, float]], bar_beats: float = 4.0, key: str | None = None, **columns):
    """A piece from (note name, beat, length in beats), bars of `bar_beats` from beat 0."""
    piece = pd.DataFrame(
        {
            "pitch": [parse_pitch(name) for name, _, _ in notes],
            "beat": [beat for _, beat, _ in notes],
            "duration_beats": [length for _, _, length in notes],
            "bar_beats": bar_beats,
            "bpm": 96.0,
            **columns,
        }
    )
    piece["bar_beat"] = piece["beat"] % bar_beats
    piece["start"], piece["end"] = piece["beat"] * 60 / 96, (piece["beat"] + piece["duration_beats"]) * 60 / 96
    if key:
        piece.attrs["key"] = key
    return piece


def parsed(xml: bytes):
    from music21 import converter

    return converter.parse(xml, format="musicxml")


def notes_by_part(score) -> dict[str, list[tuple[Fraction, Fraction, int]]]:
    """(onset, length, pitch) of every note of each part (a piano's two staves are one part), ties joined,
    onsets from the first note."""
    found: dict[str, list[tuple[Fraction, Fraction, int]]] = {}
    for part in score.parts:
        # Each voice on its own before ties are joined: music21's stripTies on a part whose bars hold several
        # voices can join a tie to a note of another voice.
        for line in part.voicesToParts().parts:
            found.setdefault(part.partName, []).extend(
                (Fraction(n.getOffsetInHierarchy(line)), Fraction(n.quarterLength), p.midi)
                for n in line.stripTies().flatten().notes
                for p in n.pitches
            )
    first = min(onset for notes in found.values() for onset, _, _ in notes)
    return {name: sorted((o - first, d, p) for o, d, p in notes) for name, notes in found.items()}


def midi_by_part(notes: pd.DataFrame) -> dict[str, list[tuple[Fraction, Fraction, int]]]:
    """The same, read from the piece's MIDI file as the app writes it."""
    back = midi_to_notes(midi_bytes(notes_to_midi(notes)))
    first = Fraction(float(back["beat"].min())).limit_denominator(12)
    result: dict[str, list[tuple[Fraction, Fraction, int]]] = {}
    for row in back.itertuples():
        name = part_name(row.part).replace("Bass voice", "Bass")
        onset = Fraction(float(row.beat)).limit_denominator(12) - first
        result.setdefault(name, []).append(
            (onset, Fraction(float(row.duration_beats)).limit_denominator(12), row.pitch)
        )
    return {name: sorted(notes) for name, notes in result.items()}


def restruck(notes: list[tuple[Fraction, Fraction, int]]) -> set[int]:
    """Indices of notes (sorted by onset) whose pitch is struck again in the part while they still sound."""
    return {
        i
        for i, (onset, length, pitch) in enumerate(notes)
        if any(p == pitch and onset < o < onset + length for o, _, p in notes[i + 1 :])
    }


def table_by_part(notes: pd.DataFrame) -> dict[str, list[tuple[Fraction, Fraction, int]]]:
    """The same, from the note table itself."""
    first = Fraction(float(notes["beat"].min())).limit_denominator(12)
    result: dict[str, list[tuple[Fraction, Fraction, int]]] = {}
    for row in notes.itertuples():
        name = part_name(row.part).replace("Bass voice", "Bass")
        onset = Fraction(float(row.beat)).limit_denominator(12) - first
        result.setdefault(name, []).append(
            (onset, Fraction(float(row.duration_beats)).limit_denominator(12), row.pitch)
        )
    return {name: sorted(notes) for name, notes in result.items()}


# ---- MusicXML reads back as the MIDI file ---------------------------------------------------------------------


@needs_default_model
def test_a_generated_pieces_musicxml_reads_back_with_the_midis_pitches_onsets_lengths_and_parts():
    piece = generate(bundled.default_model(), bundled.chorale_opening(), Sampling(n_notes=160, seed=3))[0]
    score = parsed(piece_musicxml(piece))
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    written, midi = notes_by_part(score), midi_by_part(piece)
    assert written == table_by_part(piece)
    for part, notes in midi.items():  # a MIDI track cannot hold a pitch struck again while it sounds: such
        held = restruck(notes)  # notes' lengths are the file's guess; everything else is the same
        assert [(o, p) for o, _, p in written[part]] == [(o, p) for o, _, p in notes]
        assert [n for i, n in enumerate(written[part]) if i not in held] == [
            n for i, n in enumerate(notes) if i not in held
        ]
    bars = {len(part.getElementsByClass("Measure")) for part in score.parts}
    assert bars == {len(plan_score(piece).bars)}


@needs_default_model
def test_a_harmonised_hymn_reads_back_as_four_voices_in_its_key_with_the_melody_on_top():
    piece = harmonize(bundled.default_model(), parse_melody(HYMN), Sampling(seed=0))[0]
    xml = piece_musicxml(piece)
    score = parsed(xml)
    # Compared with the note table the MIDI file is written from: this harmonisation strikes a tenor E4 again
    # while the first still sounds, which a MIDI track cannot hold (its first note-off ends one of them).
    assert notes_by_part(score) == table_by_part(piece)
    soprano = [p for _, _, p in notes_by_part(score)["Soprano"]]
    assert soprano == parse_melody(HYMN).pitch.tolist()
    assert b"<fifths>1</fifths>" in xml  # G major: one sharp


def test_a_piano_piece_with_chords_and_two_voices_in_one_part_reads_back_note_for_note():
    # A chord, and a held note under moving ones: the part needs a second voice, not shortened notes.
    piece = table(
        [("C3", 0, 4), ("E4", 0, 1), ("G4", 0, 1), ("F4", 1, 0.5), ("A4", 1.5, 0.5), ("C5", 2, 2), ("E5", 2, 2)],
        part=PART_NAMES.index("Piano"),
    )
    xml = piece_musicxml(piece)
    assert notes_by_part(parsed(xml))["Piano"] == midi_by_part(piece)["Piano"]


# ---- rhythm as a musician reads it ----------------------------------------------------------------------------


def test_triplets_are_written_as_triplets_and_a_note_over_the_bar_line_as_two_tied_notes():
    piece = table(
        [("C5", 0, 1 / 3), ("D5", 1 / 3, 1 / 3), ("E5", 2 / 3, 1 / 3), ("F5", 1, 1), ("G5", 3, 2), ("A5", 5, 3)],
        key="C:major",
    )
    xml = musicxml(plan_score(piece))
    root = ET.fromstring(xml)
    notes = root.findall(".//note")
    modified = [n for n in notes if n.find("time-modification") is not None]
    assert len(modified) == 3
    assert {(n.findtext("time-modification/actual-notes"), n.findtext("type")) for n in modified} == {("3", "eighth")}
    assert [t.get("type") for t in root.findall(".//notations/tuplet")] == ["start", "stop"]
    # G5 from the fourth beat of bar 1 for two beats: a quarter in bar 1 tied to a quarter in bar 2.
    g = [n for n in notes if n.findtext("pitch/step") == "G"]
    assert [(n.findtext("type"), [t.get("type") for t in n.findall("tie")]) for n in g] == [
        ("quarter", ["start"]),
        ("quarter", ["stop"]),
    ]
    score = parsed(xml)
    assert [(float(o), float(d)) for o, d, _ in notes_by_part(score)["Piano"]] == [
        (0.0, 1 / 3),
        (1 / 3, 1 / 3),
        (2 / 3, 1 / 3),
        (1.0, 1.0),
        (3.0, 2.0),
        (5.0, 3.0),
    ]


@pytest.mark.parametrize(
    ("bar_beats", "span", "written"),
    [
        (4, (0, 1.5), [(0, 1.5)]),  # a dotted quarter on the beat
        (4, (1, 3), [(1, 2), (2, 3)]),  # a half from beat 2 shows the middle of the bar: quarter tied to quarter
        (3, (1, 3), [(1, 3)]),  # in 3/4 the same half note is plain
        (4, (0, 2.5), [(0, 2), (2, 2.5)]),  # two and a half beats: a half tied to an eighth
        (4, (0.5, 1.5), [(0.5, 1), (1, 1.5)]),  # off the beat, tied over the next beat
        (4, (0, 5 / 12), [(0, 1 / 3), (1 / 3, 5 / 12)]),  # 5/12 of a beat is no note value: two tied ones
        (4, (0, 4), [(0, 4)]),  # a whole bar
    ],
)
def test_lengths_are_split_where_the_engraving_rules_say(bar_beats, span, written):
    ticks = lambda beats: round(beats * 12)
    bar = Bar(0, ticks(bar_beats), (bar_beats, 4))
    kinds = ["plain"] * bar_beats
    if ticks(span[1]) % 12 and ticks(span[1]) % 3:  # a span ending on a third of a beat: that beat is in triplets
        kinds[ticks(span[1]) // 12] = "fine" if ticks(span[1]) % 4 else "triplet"
    assert split_length(ticks(span[0]), ticks(span[1]), bar, kinds) == [(ticks(s), ticks(e)) for s, e in written]


def test_a_piece_that_starts_on_the_last_beat_opens_with_a_pickup_bar():
    piece = table([("D4", 3, 1), ("G4", 4, 1), ("A4", 5, 1), ("B4", 6, 2), ("G4", 8, 4)], key="G:major")
    plan = plan_score(piece)
    assert plan.bars[0].pickup == 36 and len(plan.bars) == 3
    written = musicxml(plan)
    measures = parsed(written).parts[0].getElementsByClass("Measure")
    assert [m.number for m in measures] == [0, 1, 2]
    assert float(measures[0].paddingLeft) == 3.0 and float(measures[0].duration.quarterLength) == 1.0
    # Marked as a pickup (implicit): notation programs number the first full bar 1; the others are counted.
    assert b'<measure implicit="yes" number="0">' in written and b'<measure implicit="no" number="1">' in written


# ---- spelling in the key --------------------------------------------------------------------------------------


def steps(xml: bytes) -> list[str]:
    root = ET.fromstring(xml)
    spelled = []
    for pitch in root.findall(".//note/pitch"):
        alter = int(float(pitch.findtext("alter") or 0))
        spelled.append(pitch.findtext("step") + ("#" * alter if alter > 0 else "b" * -alter))
    return spelled


def test_notes_are_spelt_in_the_key_b_flat_in_f_major_a_sharp_in_b_major():
    f_major = musicxml(plan_score(table([("F4", 0, 1), ("A#4", 1, 1), ("C5", 2, 1), ("F4", 3, 1)], key="F:major")))
    assert steps(f_major) == ["F", "Bb", "C", "F"] and b"<fifths>-1</fifths>" in f_major
    b_major = musicxml(plan_score(table([("B3", 0, 1), ("D#4", 1, 1), ("A#4", 2, 1), ("B4", 3, 1)], key="B:major")))
    assert steps(b_major) == ["B", "D#", "A#", "B"] and b"<fifths>5</fifths>" in b_major


def test_without_a_key_the_notes_decide_it():
    d_major = table([("D4", 0, 2), ("F#4", 2, 1), ("A4", 3, 1), ("C#5", 4, 1), ("D5", 5, 3)])
    xml = musicxml(plan_score(d_major))
    assert b"<fifths>2</fifths>" in xml and steps(xml)[1] == "F#"


# ---- staves ---------------------------------------------------------------------------------------------------


def chorale() -> pd.DataFrame:
    return midi_to_notes(bundled.chorale_files()[0])


@pytest.mark.parametrize(("staves", "count"), [("two", 2), ("four", 4)])
def test_the_chorale_voices_are_engraved_on_as_many_staves_as_asked(staves, count):
    plan = plan_score(chorale(), staves)
    svg = engrave(musicxml(plan, pages(plan)[0]))
    assert staff_count(svg) == count
    assert "<svg" in svg and "http://" not in svg.replace("http://www.w3.org", "")  # nothing fetched to draw it


def test_a_part_spanning_both_clefs_gets_a_treble_and_a_bass_staff_under_one_brace():
    piece = table(
        [("C2", 0, 2), ("E5", 0, 1), ("G5", 1, 1), ("G2", 2, 2), ("C6", 2, 2)], part=PART_NAMES.index("Piano")
    )
    plan = plan_score(piece)
    assert [staff.clef for staff in plan.staves] == ["treble", "bass"]
    assert staff_count(engrave(musicxml(plan))) == 2


def test_in_two_staves_a_voice_is_one_line_and_four_staves_keep_every_length():
    soprano, alto = PART_NAMES.index("Soprano"), PART_NAMES.index("Alto")
    # The alto's first note is still sounding when its second begins.
    piece = table(
        [("E5", 0, 2), ("C5", 0, 1.5), ("B4", 1, 1), ("D5", 2, 2), ("B4", 2, 2)],
        part=[soprano, alto, alto, soprano, alto],
    )
    closed, open_score = plan_score(piece, "two"), plan_score(piece, "four")
    assert len(closed.staves[0].voices) == 2  # soprano and alto, one line each
    assert "written up to it" in closed.remarks[0]
    assert [len(staff.voices) for staff in open_score.staves] == [1, 2]  # the alto's overlap: a second voice
    assert legato_ends(np.array([0, 12, 24]), np.array([18, 24, 48])).tolist() == [12, 24, 48]


# ---- marks, pages, and what cannot be a score -----------------------------------------------------------------


def test_the_primer_is_drawn_grey_and_labelled_before_the_new_notes():
    primer = table([("C4", 0, 1), ("E4", 1, 1), ("G4", 2, 2)])
    piece = table([("A4", 0, 1), ("B4", 1, 1), ("C5", 2, 2)]).assign(step_beats=[2.0, 1.0, 1.0])
    plan = plan_score(with_primer(piece, primer))
    assert [text for _, text in plan.labels] == [PRIMER, "new"]
    xml = musicxml(plan)
    colours = [n.get("color", "").lower() for n in ET.fromstring(xml).findall(".//note") if n.find("rest") is None]
    assert colours == ["#8a8a8a"] * 3 + [""] * 3
    onsets = [o for o, _, _ in notes_by_part(parsed(xml))["Piano"]]
    assert onsets == [0, 1, 2, 4, 5, 6]  # the first new note follows the primer's last onset by its step


def test_a_long_piece_is_paged_in_whole_bars():
    long_piece = table([("C4", beat, 1) for beat in range(200)])
    plan = plan_score(long_piece)
    every = pages(plan)
    assert len(every) > 1 and every[0].start == 0 and every[-1].stop == len(plan.bars)
    assert all(a.stop == b.start for a, b in zip(every, every[1:]))


def test_a_seconds_models_piece_says_it_cannot_be_a_score_and_why():
    seconds = table([("C4", 0, 1), ("D4", 1, 1)]).assign(beat=[0.0, 0.913], duration_beats=[0.71, 1.02])
    assert score_problem(seconds) == NEEDS_BEATS
    assert "counts time in seconds" in NEEDS_BEATS
    with pytest.raises(ScoreError, match="seconds"):
        plan_score(seconds)


def test_scores_load_music21_and_verovio_only_when_made_and_write_nothing_outside_a_temporary_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    script = """
import sys
import musicrnn.score, ui.score, ui.widgets
assert "music21" not in sys.modules and "verovio" not in sys.modules, "imported before a score was made"
from musicrnn.bundled import chorale_files
from musicrnn.midi_load import midi_to_notes
from musicrnn.score import engrave, musicxml, plan_score
svg = engrave(musicxml(plan_score(midi_to_notes(chorale_files()[0]))))
assert "music21" in sys.modules and svg.startswith("<svg")
"""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list(home.rglob("*")), "music21 wrote into the home folder"


def test_chord_names_stand_above_the_top_staff():
    piece = table([("C4", 0, 4), ("E4", 0, 4), ("F4", 4, 4), ("A4", 4, 4)])
    xml = musicxml(plan_score(piece, chords=[(0.0, 4.0, "C"), (4.0, 8.0, "F"), (8.0, 12.0, "G")]))
    roots = re.findall(rb"<root-step>([A-G])</root-step>", xml)
    assert roots == [b"C", b"F"]  # the G would come after the last note: not written
