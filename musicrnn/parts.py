"""Parts: which voice or instrument plays a note, as a small vocabulary shared by every file.

A model learns parts across files, so a track's own name ("Violin I", "Gtr 2") is grouped into one of
PART_NAMES: the chorales' four voices, the sixteen General MIDI instrument families, and drums. The voices
come first so that, where two parts double a note, the voice is the one kept (see midi.merge_doublings).
"""

from __future__ import annotations

import itertools
import re

import pretty_midi

from .errors import SettingsError

VOICES = ("Soprano", "Alto", "Tenor", "Bass voice")
GM_FAMILIES = tuple(pretty_midi.program_to_instrument_class(program) for program in range(0, 128, 8))
DRUMS = "Drums"
PART_NAMES = VOICES + GM_FAMILIES + (DRUMS,)
PART_CLASSES = len(PART_NAMES)  # 21
DRUMS_PART = PART_NAMES.index(DRUMS)
PIANO_PART = PART_NAMES.index("Piano")
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0: General MIDI plays drum sounds there

# A track whose program is 0 may simply never have set one (0 is MIDI's default), so its name decides
# when it names a voice or an instrument; an instrument's name ("Double bass") wins over a voice's ("Bass").
# Read from the last pattern back, so the specific ("bass guitar") comes before the general ("guitar").
_VOICE_WORDS = [
    (r"\bsoprano|\bsopran|\btreble|\bcantus|\bcanto\b|\bdiscant|^s\.?$", "Soprano"),
    (r"\balto\b|\balt\b|\baltus\b|^a\.?$", "Alto"),
    (r"\btenor|^t\.?$", "Tenor"),
    (r"\bbass(o|us)?\b|\bbaß|\bbariton|^b\.?$", "Bass voice"),
]
# Instrument names as scores print them: English, Italian, German and French, and their abbreviations
# ("Violino I.", "Vl. 2", "Vc.", "Cb.", "Fag.", "Cor.", "Tromba"), each with a typical General MIDI program.
_NAME_PROGRAMS = [
    (r"violin|violino|geige|\bvl\b|\bvln\b|\bvn\b|string|\barchi\b|streicher", 40),
    (r"viola\b|\bvla\b|\bva\b|bratsche", 41),
    (r"cello|violoncell|\bvc\b|\bvlc\b", 42),
    (r"contrabass|contrabbass|kontrabass|double bass|violone|\bcb\b|\bkb\b", 43),
    (r"harpsichord|cembalo|clavecin|\bcemb\b", 6),
    (r"organ|orgel|\borg\b", 19),
    (r"guitar|gtr|chitarra|gitarre|\blute\b|liuto|laute", 24),
    (r"bass guitar|electric bass|\be-?\.? ?bass", 33),
    (r"trumpet|tromba|trompete|clarino|\btpt\b|\btr\b", 56),
    (r"trombone|posaune|\btrb\b|\btbn\b", 57),
    (r"tuba", 58),
    (r"horn|corno|\bcor\b|\bhn\b", 60),
    (r"brass", 61),
    (r"sax", 65),
    (r"oboe|hautbois|\bob\b", 68),
    (r"english horn|cor anglais|corno inglese", 69),
    (r"bassoon|fagott|basson|\bfg\b|\bfag\b|\bbsn\b", 70),
    (r"clarinet|klarinette|\bcl\b|\bclar\b", 71),
    (r"flute|flauto|flöte|flote|traverso|\bfl\b", 73),
    (r"piccolo|ottavino", 72),
    (r"recorder|blockfl|flauto dolce", 74),
    (r"harp|arpa\b|harfe", 46),
    (r"timpani|\btimp\b|pauken", 47),
    (r"piano|klavier|\bpf\b|\bpno\b", 0),
    (r"choir|chorus|\bcoro\b|voice|vocal", 52),
]
# The instruments a generated part plays unless the visitor chooses: a typical program of each family.
DEFAULT_PROGRAMS = {
    "Soprano": 52,
    "Alto": 52,
    "Tenor": 52,
    "Bass voice": 52,
    DRUMS: 0,
    **{family: 8 * index for index, family in enumerate(GM_FAMILIES)},
}
# Two ready-made line-ups for the four voices (General MIDI programs).
VOICE_LINEUPS = {
    "string quartet": {"Soprano": 40, "Alto": 40, "Tenor": 41, "Bass voice": 42},  # violins, viola, cello
    "choir": {"Soprano": 52, "Alto": 52, "Tenor": 52, "Bass voice": 52},  # Choir Aahs
    "organ": {"Soprano": 19, "Alto": 19, "Tenor": 19, "Bass voice": 19},
    "piano": {"Soprano": 0, "Alto": 0, "Tenor": 0, "Bass voice": 0},
}


# ---- General MIDI: the 128 instruments by name and number --------------------------------------------------

GM_PROGRAMS = range(128)  # a drum track's "program" (midi.DRUMS_PROGRAM, 128) is beyond them


def gm_instruments() -> dict[str, int]:
    """General MIDI instrument names to program numbers (for instrument pickers)."""
    return {pretty_midi.program_to_instrument_name(p): p for p in GM_PROGRAMS}


def instrument_program(name_or_number: str | int) -> int:
    """'Violin', 'violin' or 40 -> 40. Raises ValueError for unknown names."""
    if isinstance(name_or_number, int) or str(name_or_number).isdigit():
        program = int(name_or_number)
        if program not in GM_PROGRAMS:
            raise ValueError("instrument program must be 0-127")
        return program
    wanted = str(name_or_number).strip().lower()
    for name, program in gm_instruments().items():
        if name.lower() == wanted:
            return program
    raise ValueError(
        f"unknown instrument {name_or_number!r} (use a General MIDI name such as 'Violin' or a number 0-127)"
    )


def instrument_name(program: int) -> str:
    """40 -> 'Violin': the General MIDI name of a program (0-127; ValueError for others)."""
    return pretty_midi.program_to_instrument_name(int(program))


def part_of_track(program: int, name: str = "", is_drum: bool = False) -> int:
    """The part id of a track: drums; a voice named by the track (when its program is 0 or a choir sound);
    else the General MIDI family of its program, read from the name when the program is 0 (unset)."""
    if is_drum:
        return DRUMS_PART
    label = name.strip().lower()
    named = _named_program(label)
    if program == 0 and named is not None and named != 52:  # "Double bass", "Electric bass": not a voice
        program = named
    elif program in (0, 52, 53, 54, 85):  # unset/piano, or a sung sound (choir, voice, synth voice)
        for pattern, voice in _VOICE_WORDS:
            if re.search(pattern, label):
                return PART_NAMES.index(voice)
        program = named if program == 0 and named is not None else program
    return PART_NAMES.index(pretty_midi.program_to_instrument_class(int(program)))


def _named_program(label: str) -> int | None:
    """The typical program of the instrument a (lower-case) track name names, if it names one."""
    return next((p for pattern, p in reversed(_NAME_PROGRAMS) if re.search(pattern, label)), None)


def sounding_program(program: int, name: str = "") -> int:
    """The program a track is heard with: its own, or where it never set one (0) but its name names an
    instrument ("Violin I", as music21 writes a quartet), that instrument's typical program, so a model's
    "own" instruments play such a file's strings as strings rather than as a piano."""
    named = _named_program(name.strip().lower()) if program == 0 else None
    return program if named is None else named


SECTION_FAMILIES = ("Strings", "Ensemble")  # a quartet's tracks all play strings: split them into voices
SECTION_SIZES = (2, 3, 4)
# Where each voice sings: the mean pitch of each part of the 350 bundled chorales (MIDI numbers).
VOICE_CENTRES = {"Soprano": 70.6, "Alto": 65.0, "Tenor": 59.4, "Bass voice": 50.6}


DEFAULT_LINEUP = "string quartet"


def parts_of_tracks(tracks: list[tuple[int, str, bool, float]]) -> list[int]:
    """Part ids for a file's tracks, given (program, name, is_drum, mean pitch) each.

    Like part_of_track, except that two to four tracks of one string family (a string quartet, a trio)
    become voices by register, so a quartet keeps four parts instead of one "Strings": highest first, each
    the voice that sings nearest its mean pitch (section_voices). Two violins are a soprano and an alto,
    not a soprano and a bass: a "Bass voice" learnt from a second violin would be played at C6."""
    parts = [part_of_track(program, name, drum) for program, name, drum, _ in tracks]
    for family in SECTION_FAMILIES:
        section = [i for i, part in enumerate(parts) if PART_NAMES[part] == family]
        if len(section) in SECTION_SIZES:
            by_register = sorted(section, key=lambda i: -tracks[i][3])
            for i, voice in zip(by_register, section_voices([tracks[i][3] for i in by_register])):
                parts[i] = PART_NAMES.index(voice)
    return parts


def section_voices(mean_pitches: list[float]) -> tuple[str, ...]:
    """Voices for tracks of one section, highest first (`mean_pitches` descending): of every choice of as
    many voices, in order, the one nearest the tracks' registers (VOICE_CENTRES)."""
    return min(
        itertools.combinations(VOICES, len(mean_pitches)),
        key=lambda voices: sum(abs(VOICE_CENTRES[v] - p) for v, p in zip(voices, mean_pitches)),
    )


def trained_parts(model) -> dict[str, dict]:
    """What training recorded about each part a parts model knows (its pitch range, its program, ...), keyed by
    the part id as text; {} for a model without parts or whose info records none."""
    if not getattr(model, "has_parts", False):  # a stand-in model in a test may not say
        return {}
    return ((getattr(model, "info", None) or {}).get("corpus") or {}).get("parts") or {}


def own_programs(model) -> dict[int, int]:
    """Part id -> the program a parts model's training data played it with most ({} for other models)."""
    return {int(part): int(facts["program"]) for part, facts in trained_parts(model).items()}


def part_name(part: int) -> str:
    return PART_NAMES[int(part)] if 0 <= int(part) < PART_CLASSES else f"part {part}"


def default_programs(parts, own: dict[int, int] | None = None, lineup: str | None = None) -> dict[int, int]:
    """A General MIDI program for each part: the training data's own (`own`, part -> program), else a
    voice line-up's, else the family's typical instrument."""
    chosen = {}
    for part in parts:
        name = part_name(part)
        if own and int(part) in own:
            chosen[int(part)] = int(own[int(part)])
        elif lineup and name in VOICE_LINEUPS.get(lineup, {}):
            chosen[int(part)] = VOICE_LINEUPS[lineup][name]
        else:
            chosen[int(part)] = DEFAULT_PROGRAMS.get(name, 0)
    return chosen


def part_id(name: str) -> int:
    """A part's id from its name, case and spaces ignored ("bass voice", "Strings"); ValueError if unknown."""
    wanted = name.strip().lower()
    for index, part in enumerate(PART_NAMES):
        if part.lower() == wanted:
            return index
    raise SettingsError(f"unknown part {name!r}: use one of {', '.join(PART_NAMES)}")


def parse_instruments(text: str, parts, own: dict[int, int] | None = None) -> dict[int, int]:
    """Programs for `parts` from a CLI text: a line-up ("string quartet", "choir", or "own" for the
    training data's own), and/or "part=instrument" pairs separated by commas ("Soprano=Flute, Bass
    voice=42"). Voices default to a string quartet (the chorales' own program is an unset 0, a piano);
    other parts to the training data's own programs `own`, else their family's."""
    lineup: str | None = DEFAULT_LINEUP
    pairs: list[list[str]] = []
    for item in (piece.strip() for piece in text.split(",") if piece.strip()):
        if "=" in item:
            pairs.append(item.split("=", 1))
        elif item.lower() in VOICE_LINEUPS:
            lineup = item.lower()
        elif item.lower() == "own":
            lineup = None
        else:
            raise SettingsError(f"cannot read {item!r}: give a line-up ({', '.join(VOICE_LINEUPS)}) or part=instrument")
    if lineup and own:  # the line-up decides the voices; other parts keep the data's own instrument
        own = {part: program for part, program in own.items() if part_name(part) not in VOICES}
    chosen = default_programs(parts, own, lineup)
    for part, instrument in pairs:
        chosen[part_id(part)] = instrument_program(instrument.strip())
    return chosen
