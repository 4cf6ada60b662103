"""The style corpora musicrnn's bundled models learn from, drawn from music21's public-domain corpus.

Used by `scripts/build_corpus.py` (which builds them) and `bench/finetune.py` (which draws visitors' small
collections from the files no bundled model learnt from). Needs music21 (scripts/requirements-corpus.txt).

Each style lists music21 corpus files; each source is checked for terms that forbid what we do with it
(`restriction`): the Humdrum encodings' "Rights to all derivative electronic formats reserved" (Palestrina,
three chorales, Beethoven's op. 18 no. 1 .krn), the Essen folksong collection's "non-commercial distribution"
(its licence.txt), and GPL-licensed ABC files (Josquin: a MIT-licensed model and sample should not carry
them). Excluded sources are listed, with their reason, in each corpus' manifest.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEMPO_QPM = 120  # when a score prints none (music21's own default)
# Bench collections are drawn from these; no style corpus uses them (see reserved()).
RESERVED_EVERY = 8  # every 8th Ryan's Mammoth tune (by file name) is kept for the fiddle-tune benchmark


def cache_dir(base: str | Path | None = None) -> Path:
    """Where full style corpora are built: `base`, else $MUSICRNN_CORPORA, else ~/.cache/musicrnn/corpora."""
    return Path(base or os.environ.get("MUSICRNN_CORPORA") or Path.home() / ".cache" / "musicrnn" / "corpora")


def corpus_root() -> Path:
    from music21 import corpus

    return Path(corpus.__file__).parent


@dataclass(frozen=True)
class Piece:
    """One score of music21's corpus: a whole file, or tune number `index` (its X: field) of an ABC file
    holding many."""

    source: Path
    index: int | None = None

    @property
    def id(self) -> str:
        """A file-system-safe name: 'ryansMammoth-7thRegimentReel', 'oneills1850-0001-0050-0012'."""
        rel = self.source.relative_to(corpus_root()).with_suffix("")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(rel.parts)).strip("-._")
        return stem if self.index is None else f"{stem}-{self.index:04d}"


@dataclass(frozen=True)
class Style:
    """How one style's corpus is drawn: which music21 files, how many notes at most, how its parts sound."""

    name: str
    title: str
    sources: tuple[str, ...]  # glob patterns under music21's corpus folder
    budget_notes: int  # stop adding pieces (round robin over the sources) once the corpus holds this many notes
    # "melody" (one fiddle line), "voices" (named SATB by register, choir), "strings" (quartet); "as is" for
    # benchmark collections (a visitor's files as another tool writes them)
    voicing: str
    about: str  # the music, in words
    encodings: str  # who encoded the sources and under which terms
    sample_files: int = 24
    sample_bytes: int = 600_000  # each style's bundled sample stays well under 1 MB
    exclude: tuple[str, ...] = field(default_factory=tuple)  # file names never used (duplicates, non-style)


STYLES = {
    "folk": Style(
        "folk",
        "Folk tunes",
        ("ryansMammoth/*.abc", "oneills1850/*.abc", "essenFolksong/*.abc"),
        budget_notes=80_000,
        voicing="melody",
        about="Irish, Scottish and American fiddle tunes (reels, jigs, hornpipes, airs) from Ryan's Mammoth "
        "Collection (Boston, 1883) and O'Neill's Music of Ireland (Chicago, 1903): public domain.",
        encodings="ABC transcriptions distributed with music21 (Ryan's Mammoth: contributed by volunteers of "
        "the Ryan's Mammoth transcription project; O'Neill's: transcribed by Norbert Paap); no file states "
        "a restriction. The Essen folksong collection is not used: its licence allows non-commercial "
        "distribution only.",
        sample_files=30,
    ),
    "renaissance": Style(
        "renaissance",
        "Renaissance madrigals",
        ("monteverdi/*.mxl", "lusitano/*.mxl", "palestrina/*.krn", "josquin/*.abc"),
        budget_notes=80_000,
        voicing="voices",
        about="Five-voice madrigals of Claudio Monteverdi's third, fourth and fifth books (1592-1605) and a "
        "madrigal by Vicente Lusitano (16th century): public domain.",
        encodings="MusicXML encodings distributed with music21 (made for music21's own corpus); no file "
        "states a restriction. Not used: Palestrina's masses (Humdrum encodings by John Miller, 2000: "
        "'Rights to all derivative electronic formats reserved') and Josquin's chansons (ABC by Laura "
        "Conrad under the GPL).",
        exclude=("madrigal.3.1_old.mxl",),
        sample_files=12,
    ),
    "quartets": Style(
        "quartets",
        "Classical string quartets",
        (
            "haydn/*/*.mxl",
            "mozart/k80/*.mxl",
            "mozart/k155/*.mxl",
            "mozart/k156/*.mxl",
            "mozart/k458/*.mxl",
            "beethoven/opus18no1/*.mxl",
            "beethoven/opus59no*/*.mxl",
        ),
        budget_notes=90_000,
        voicing="strings",
        about="String quartet movements by Joseph Haydn (op. 1 no. 1, op. 74 no. 1), Wolfgang Amadeus Mozart "
        "(K. 80, 155, 156, 458) and Ludwig van Beethoven (op. 18 no. 1, op. 59): public domain. (music21's files holding "
        "a whole quartet in one score, Beethoven's op. 18 nos. 3-5, 74, 132 and 133, are not used: one movement a file "
        "is what a visitor's files are like, and music21 takes many minutes to write each as MIDI.)",
        encodings="MusicXML encodings distributed with music21; no file states a restriction. Beethoven's "
        "op. 18 no. 1 Humdrum encodings (CCARH: 'Rights to all derivative electronic formats reserved') are "
        "not used; its MusicXML encodings are.",
        sample_files=6,
    ),
}

# What a source that forbids our use says (any of these in its text or its folder's licence.txt).
RESTRICTIONS = {
    "Rights to all derivative electronic formats reserved": "derivative electronic formats reserved (Humdrum/CCARH)",
    "non-commercial": "non-commercial use only",
    "GNU General Public License": "GPL-licensed encoding",
}


def source_text(path: Path) -> str:
    """The text of a source file (the MusicXML inside an .mxl), for the restriction check."""
    if path.suffix == ".mxl":
        with zipfile.ZipFile(path) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml") and not name.startswith("META-INF")
            )
    return path.read_text(encoding="utf-8", errors="replace")


def restriction(path: Path) -> str | None:
    """Why a source may not be used here (its own text or its collection's licence.txt), or None."""
    texts = [source_text(path)]
    for folder in path.relative_to(corpus_root()).parents:
        licence = corpus_root() / folder / "license.txt"
        if folder != Path(".") and licence.is_file():
            texts.append(licence.read_text(encoding="utf-8", errors="replace"))
    for words, reason in RESTRICTIONS.items():
        if any(words.lower() in text.lower() for text in texts):
            return reason
    return None


def tune_numbers(path: Path) -> list[int]:
    """The tune numbers (X: fields) of an ABC file holding several tunes; [] for a file of one score."""
    if path.suffix != ".abc":
        return []
    numbers = [line[2:].strip() for line in path.read_text(errors="replace").splitlines() if line.startswith("X:")]
    found = [int(n) for n in numbers if n.isdigit()]
    return found if len(found) > 1 else []


def reserved(piece: Piece) -> bool:
    """Pieces kept out of every style corpus so benchmarks can draw visitors' collections no model has seen."""
    if piece.source.parent.name != "ryansMammoth":
        return False
    names = sorted(p.name for p in piece.source.parent.glob("*.abc"))
    return names.index(piece.source.name) % RESERVED_EVERY == 0


def pieces(style: Style) -> tuple[list[list[Piece]], list[tuple[str, str]]]:
    """Each source pattern's usable pieces (in a fixed order) and the (file, reason) of every excluded source."""
    root = corpus_root()
    groups, excluded = [], []
    for pattern in style.sources:
        group = []
        for path in sorted(root.glob(pattern)):
            if path.name in style.exclude:
                continue
            reason = restriction(path)
            if reason:
                excluded.append((str(path.relative_to(root)), reason))
                continue
            numbers = tune_numbers(path)
            found = [Piece(path, n) for n in numbers] if numbers else [Piece(path)]
            group.extend(p for p in found if not reserved(p))
        groups.append(group)
    return groups, excluded


def round_robin(groups: list[list[Piece]]) -> Iterator[Piece]:
    """Pieces from each group in turn, each group spread evenly (a seeded shuffle by name), so a corpus cut
    short by its note budget still draws on every source."""
    orders = [sorted(group, key=lambda p: hashlib.sha256(p.id.encode()).hexdigest()) for group in groups]
    for index in range(max((len(order) for order in orders), default=0)):
        for order in orders:
            if index < len(order):
                yield order[index]


# ---- converting one piece ----------------------------------------------------------------------------------

VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
STRING_PROGRAMS = {"violin": 40, "viola": 41, "cello": 42, "violoncello": 42, "bass": 43}


def parse(piece: Piece):  # -> music21.stream.Score
    """The piece's score (an ABC tune by its number: music21 then reads only that tune, not the whole book)."""
    from music21 import converter, stream

    parsed = (
        converter.parse(piece.source, number=piece.index) if piece.index is not None else converter.parse(piece.source)
    )
    if isinstance(parsed, stream.Opus):  # a book read whole: its first score
        parsed = parsed.scores.first()
    if parsed is None:
        raise ValueError(f"{piece.source.name}: no score numbered {piece.index}")
    return parsed


def _mean_pitch(part) -> float:
    pitches = [p.midi for n in part.flatten().notes for p in n.pitches]
    return sum(pitches) / len(pitches) if pitches else 0.0


def voice_names(count: int) -> list[str]:
    """SATB names for `count` voices ordered high to low: the top is the soprano, the bottom the bass."""
    if count == 1:
        return ["Soprano"]
    return [VOICE_NAMES[min(3, round(i * 3 / (count - 1)))] for i in range(count)]


def voiced(score, voicing: str):
    """The score with its parts named and sounding as the style has them (see Style.voicing), empty parts dropped."""
    from music21 import instrument, stream, tempo

    parts = [part for part in score.parts if part.flatten().notes] or list(score.parts)
    if not parts:  # a single-line score without parts (some ABC tunes)
        parts = [score]
    if voicing == "voices":
        parts = sorted(parts, key=_mean_pitch, reverse=True)
        names = voice_names(len(parts))
        programs = [52] * len(parts)  # Choir Aahs
    elif voicing == "strings":
        names = [str(part.partName or f"Violin {i + 1}") for i, part in enumerate(parts)]
        programs = [next((p for word, p in STRING_PROGRAMS.items() if word in name.lower()), 40) for name in names]
    elif voicing == "melody":
        names, programs = ["Fiddle"] * len(parts), [40] * len(parts)
    else:  # "as is": the parts as music21 writes them (a visitor's files, made by another tool)
        return score
    out = stream.Score()
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    for name, program, part in zip(names, programs, parts):
        for element in list(part.recurse().getElementsByClass([instrument.Instrument, tempo.TempoIndication])):
            element.activeSite.remove(element)
        sound = instrument.Instrument()
        sound.partName = sound.instrumentName = name
        sound.midiProgram = program
        part.insert(0, sound)
        part.partName = name
        out.insert(0, part)
    qpm = marks[0].getQuarterBPM() if marks and marks[0].number else TEMPO_QPM
    out.parts.first().insert(0, tempo.MetronomeMark(number=round(qpm or TEMPO_QPM)))
    return out


# What midi_of writes, as a number a cache keeps: a cache made by another version is converted again.
# 2 (2026-12-06): a pickup where the score has it (pad_start); 1: every first note on a bar line.
CONVERTER = 2


def midi_of(piece: Piece, voicing: str) -> tuple[bytes, str]:
    """The piece as MIDI bytes, and a remark (repeats that could not be expanded are played once through). A
    pickup sounds where the score has it, at the end of the file's first bar (pad_start)."""
    midi_file, remark = score_midi(voiced(parse(piece), voicing))
    return midi_file.writestr(), remark


def score_midi(score):  # music21 Score -> (music21 MidiFile, remark)
    """A score as a music21 MidiFile with its repeats expanded (where music21 cannot, played once through, and
    the remark says so) and its pickup where the score has it (pad_start)."""
    from music21 import repeat
    from music21.midi import translate

    pickup, remark = pickup_beats(score), ""
    try:
        midi_file = translate.streamToMidiFile(score)
    except repeat.ExpanderException as exc:
        strip_repeats(score)
        midi_file, remark = translate.streamToMidiFile(score), f"repeats not expanded ({exc})"
    pad_start(midi_file, pickup)
    return midi_file, remark


def pickup_beats(score) -> float:
    """Beats (quarter notes) of the first bar before its first note: a piece that starts on an upbeat (two
    chorales in three do) opens with a short bar whose notes music21 writes at time 0, as if on the bar line."""
    first_bars = [part.getElementsByClass("Measure").first() for part in score.parts]
    return max((float(bar.paddingLeft) for bar in first_bars if bar is not None), default=0.0)


def pad_start(midi_file, beats: float) -> None:
    """Every track's notes `beats` later (the tempo and time signature stay at 0), so that the file's bar lines
    fall where the score's do: a one-beat pickup in 4/4 sounds on beat 4 of the file's first bar."""
    ticks = round(beats * midi_file.ticksPerQuarterNote)
    if ticks <= 0:
        return
    for track in midi_file.tracks:
        for index, event in enumerate(track.events):
            if event.isNoteOn():
                before = track.events[index - 1]  # the delta time before the first note-on
                assert before.isDeltaTime(), "a MIDI track's events alternate delta times and events"
                before.time += ticks
                break


def strip_repeats(score) -> None:
    """Remove repeat barlines, voltas and repeat expressions in place (no expansion): for scores whose repeats
    music21 cannot expand ("badly formed repeats"), which are then written as notated, once through."""
    from music21 import bar, repeat, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline("regular")
    for cls in (repeat.RepeatExpression, spanner.RepeatBracket):
        for element in list(score.recurse().getElementsByClass(cls)):
            element.activeSite.remove(element)


# ---- visitors' small collections for bench/finetune.py: music no bundled model learnt from ------------------

BENCH_KINDS = {
    "folk": "folk melodies (Essen folksong collection, German songs: excluded from every style for its terms)",
    "fiddle": "fiddle tunes (Ryan's Mammoth tunes kept out of the folk corpus: every 8th by name)",
    "motets": "Renaissance sacred polyphony (Palestrina's mass Kyries: excluded from every style for their terms)",
    "piano": "piano pieces (8-bar sections of music21's keyboard pieces; training and scored sections from different pieces)",
}
# Piano pieces in music21's corpus, the parts kept (the piano's), and which side of the comparison they are on.
PIANO_TRAIN = (
    "joplin/maple_leaf_rag.mxl",
    "chopin/mazurka06-2.krn",
    "schumann_clara/polonaise_op1n1.mxl",
    "schumann_clara/polonaise_op1n2.mxl",
    "beach/prayer_of_a_tired_child.musicxml",
)
PIANO_SCORE = (
    "schumann_clara/polonaise_op1n3.mxl",
    "schumann_clara/polonaise_op1n4.mxl",
    "mozart/k545/movement1_exposition.mxl",
    "cpebach/h186.mxl",
    "schumann_clara/opus17/movement3.xml",
)
SECTION_BARS = 8


def bench_collection(kind: str, train: int, score: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(training files, scored files) of one kind of visitor's collection, as MIDI bytes written by music21."""
    if kind == "piano":
        return _sections(PIANO_TRAIN)[:train], _sections(PIANO_SCORE)[:score]
    root = corpus_root()
    if kind == "folk":
        found = [Piece(path, n) for path in sorted(root.glob("essenFolksong/altdeu*.abc")) for n in tune_numbers(path)]
    elif kind == "fiddle":
        found = [Piece(path) for path in sorted(root.glob("ryansMammoth/*.abc")) if reserved(Piece(path))]
        found = sorted(found, key=lambda p: hashlib.sha256(p.id.encode()).hexdigest())
    elif kind == "motets":  # one Kyrie of each mass: training and scored files never share a mass
        found = [Piece(path) for path in sorted(root.glob("palestrina/Kyrie_[0-9][0-9].krn"))]
    else:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(BENCH_KINDS)}")
    items = []
    for piece in found:
        if len(items) == train + score:
            break
        try:
            data, _ = midi_of(piece, "as is")
        except Exception:  # noqa: BLE001 - a few scores trip music21's MIDI writer: skip them, as a visitor would
            continue
        if _midi_notes(data) >= 24:
            items.append((f"{piece.id}.mid", data))
    return items[:train], items[train:]


def _midi_notes(data: bytes) -> int:
    from music21 import midi

    midi_file = midi.MidiFile()
    midi_file.readstr(data)
    return sum(1 for track in midi_file.tracks for event in track.events if event.isNoteOn())


def _sections(sources: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Each piece's piano parts cut into SECTION_BARS-bar sections, one MIDI file each, taken piece by piece in turn."""
    from music21 import converter, stream
    from music21.midi import translate

    per_piece = []
    for source in sources:
        score = converter.parse(corpus_root() / source)
        parts = [p for p in score.parts if "piano" in str(p.partName or "").lower() or len(score.parts) == 2]
        piano = stream.Score(parts)
        bars = max(len(p.getElementsByClass("Measure")) for p in parts)
        sections = []
        for first in range(1, bars + 1, SECTION_BARS):
            cut = piano.measures(first, min(bars, first + SECTION_BARS - 1))
            strip_repeats(cut)
            data = translate.streamToMidiFile(cut).writestr()
            if _midi_notes(data) >= 24:
                sections.append((f"{Path(source).stem}-bars{first:03d}.mid", data))
        per_piece.append(sections)
    return [item for group in zip(*per_piece) for item in group] + [
        item for group in per_piece for item in group[min(len(g) for g in per_piece) :]
    ]


def cached_bench_collection(
    kind: str, train: int, score: int, cache: Path | None = None
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """bench_collection, kept in `cache_dir()/bench/<kind>-<train>-<score>/` so a rerun converts nothing."""
    folder = cache_dir(cache) / "bench" / f"{kind}-{train}-{score}-v{CONVERTER}"
    sides = [folder / "train", folder / "score"]
    if not all(side.is_dir() for side in sides):
        made = bench_collection(kind, train, score)
        for side, items in zip(sides, made):
            side.mkdir(parents=True, exist_ok=True)
            for name, data in items:
                (side / name).write_bytes(data)
    return tuple([(path.name, path.read_bytes()) for path in sorted(side.glob("*.mid"))] for side in sides)  # type: ignore[return-value]
