"""The pages' settings in one table: for each, the field it sets (of Sampling, or of the Recipe), the widget's
key, label, starting value, bounds or options, and help.

The pages draw their widgets from it, a link's recipe sets those widgets through it (`recipe.generate_widgets`,
`recipe.steer_widgets`), and a recipe's own numbers are checked against the same bounds (`Recipe.checked`). No
Streamlit here: the core and its tests read it too. Widget keys are the strings links and tests have always
used; change one and every kept value and test that names it changes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .bundled import PRIMER_NOTES
from .generate import MAX_NOTES, MAX_VARIATIONS, Sampling
from .guide import CHORD_STRENGTH_HELP, DEFAULT_CHORD_STRENGTH
from .notation import CHORDS_HELP
from .rewrite import MAX_CANDIDATES
from .theory import FLAT_NAMES, KEY_MODES, NOTE_NAMES, SCALES

# A recipe may open a piece with up to this many notes of its primer (the CLI's --primer-notes, a link): the
# primer widget takes as many, so a link always shows the length that made its piece.
MAX_PRIMER_NOTES = 10_000
MAX_SEED = 2**31 - 1
ANY_KEY = "any key"
MELODY_KEY = "from the melody"  # Harmonise's key: read from the melody's notes (harmony.melody_key)
HARMONY_KEYS = (MELODY_KEY, *(f"{name} {scale}" for name in NOTE_NAMES for scale in KEY_MODES))
STEP_GRIDS = (0.0, 0.0625, 0.125, 0.25, 0.5)  # seconds: off, 64ths ... eighths at 120 bpm


@dataclass(frozen=True)
class Setting:
    """One control: the field it sets, its widget's key, label, starting value, and bounds or options."""

    field: str  # a Sampling field, or a Recipe field (primer_notes, program, chords, chord_strength, ...)
    key: str  # the widget's session-state key (state.keep prefixes it)
    label: str
    default: Any  # what the widget starts at (not always Sampling's own default: see NOTES)
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str | None = None

    def allows(self, value: float) -> bool:
        """Whether `value` lies within the bounds (inclusive)."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


LENGTH_HELP = "The model ends the piece itself when it has learned endings; this is the longest it may run."
VOICE_LEADING_HELP = (
    "Write the parts the way a choir is taught to sing them: no parallel fifths or octaves, the voices don't "
    "cross, the upper voices stay within an octave of each other, each voice sings one note at a time, and "
    "voices that sing together make a chord of the key (a voice moving on its own may pass between chords), "
    "and the top voice, the melody, prefers moving by step to repeating its note."
)
TONIC_ENDING_HELP = (
    "The model decides where a piece ends; with this on, it may end it only on the home chord of its key, with "
    "the key note in the bass, on a strong beat, as almost every chorale ends; music in parts only after the "
    "dominant (the bass moving from the fifth note of the scale to the key note, a full close). A bundled "
    "style's piece runs at least as long as that style's short pieces (a chorale does not stop at its first "
    "cadence), and near the length limit the last bars head for such a close rather than stop where the count "
    "runs out. Off: wherever the model ends it."
)

_GENERATE = (
    # A length is a cap: a model that has learned endings ends the piece itself. 120, not Sampling's 200: a
    # first listen is short.
    Setting("n_notes", "generate_notes", "Notes (at most)", 120, 1, MAX_NOTES, 10, help=LENGTH_HELP),
    Setting(
        "temperature",
        "generate_temperature",
        "Temperature",
        Sampling.temperature,
        0.0,
        2.0,
        0.05,
        help="Lower plays safe and repetitive, higher is more adventurous. 0 always picks the likeliest pitch.",
    ),
    Setting("top_k", "generate_top_k", "Top-k (0 = off)", 0, 0, 128, help="Choose only among the k likeliest pitches."),
    Setting(
        "top_p",
        "generate_top_p",
        "Top-p",
        Sampling.top_p,
        0.05,
        1.0,
        0.05,
        help="Sample only among the likeliest pitches that together have this probability (1 = off).",
    ),
    Setting(
        "tonic",
        "generate_tonic",
        "Key",
        ANY_KEY,
        options=(ANY_KEY, *NOTE_NAMES),
        help="Only pitches of this scale are played.",
    ),
    Setting("scale", "generate_scale", "Scale", "major", options=tuple(SCALES)),
    Setting("pitch_range", "generate_range", "Pitch range (MIDI numbers)", (36, 84), 0, 127),
    Setting("program", "generate_instrument", "Instrument", "Acoustic Grand Piano"),
    Setting("seed", "generate_seed", "Seed", 0, 0, MAX_SEED, help="The same seed and settings give the same music."),
    Setting("variations", "generate_variations", "Variations", 3, 1, MAX_VARIATIONS),
    Setting(
        "rhythm_temperature",
        "generate_rhythm_temperature",
        "Rhythm temperature",
        Sampling.rhythm_temperature,
        0.0,
        2.0,
        0.05,
        help="How freely note lengths and gaps are chosen. 0 always picks the likeliest rhythm; every note stays "
        "on the beat grid.",
    ),
    Setting(
        "bpm",
        "generate_bpm",
        "Tempo (BPM, 0 = the primer's)",
        0,
        0,
        300,
        4,
        help="Beats per minute of the piece. The music is the same in beats; only its speed changes.",
    ),
    Setting(
        "chord_snap",
        "generate_chord_snap",
        "Chord snap (seconds)",
        Sampling.chord_snap,
        0.0,
        0.2,
        0.01,
        help="Notes predicted to start less than this after the previous one sound together, as a chord.",
    ),
    Setting(
        "step_grid",
        "generate_step_grid",
        "Timing grid (seconds)",
        Sampling.step_grid,
        options=STEP_GRIDS,
        help="Round every start and length to this grid (0 = off). 0.125 s is a sixteenth note at 120 bpm.",
    ),
    Setting("voice_leading", "generate_voice_leading", "Voice leading", True, help=VOICE_LEADING_HELP),
    Setting("tonic_ending", "generate_tonic_ending", "End on the tonic", True, help=TONIC_ENDING_HELP),
    Setting("chords", "generate_chords", "Follow chords (optional)", "", help=CHORDS_HELP),
    Setting(
        "chord_strength",
        "generate_chord_strength",
        "Chord strength",
        DEFAULT_CHORD_STRENGTH,
        0.0,
        1.0,
        0.05,
        help=CHORD_STRENGTH_HELP,
    ),
    Setting(
        "primer_notes",
        "generate_primer_notes",
        "Primer notes (the opening the model continues)",
        PRIMER_NOTES,
        1,
        MAX_PRIMER_NOTES,
    ),
)
GENERATE: dict[str, Setting] = {setting.field: setting for setting in _GENERATE}

_STEER = (
    Setting("seed", "steer_seed", "Seed", 0, 0, MAX_SEED),
    Setting("temperature", "steer_temperature", "Temperature", Sampling.temperature, 0.0, 2.0, 0.05),
    Setting("variations", "steer_variations", "Harmonisations", 2, 1, MAX_VARIATIONS),
    Setting("melody_program", "steer_melody_instrument", "Melody instrument", "Flute"),
    Setting("program", "steer_harmony_instrument", "Harmony instrument", "Acoustic Grand Piano"),
    Setting(
        "chromatic",
        "steer_chromatic",
        "Chromatic colour",
        False,
        help="Off: keep the harmony in the melody's key. On: let it borrow notes from outside the key "
        "(a secondary dominant's sharp, say).",
    ),
    Setting(
        "key",
        "steer_key",
        "Key",
        MELODY_KEY,
        options=HARMONY_KEYS,
        help="The key the harmony is written in. From the melody: read from its notes (its last note, and the "
        "downbeat an upbeat rises a fourth to, count most for the home note). Choose one where the melody "
        "leaves it open: a first phrase that ends on the dominant, say.",
    ),
    Setting("chords", "steer_chords", "Chords", "C G Am F", help=CHORDS_HELP),
    Setting(
        "chord_strength", "steer_strength", "Strength", DEFAULT_CHORD_STRENGTH, 0.0, 1.0, 0.05, help=CHORD_STRENGTH_HELP
    ),
    Setting("n_notes", "steer_notes", "Notes (at most)", 120, 10, 1000, 10, help=LENGTH_HELP),
    Setting("candidates", "steer_candidates", "Candidates", 4, 1, MAX_CANDIDATES),
)
STEER: dict[str, Setting] = {setting.field: setting for setting in _STEER}


def harmony_key_of(choice: str) -> str | None:
    """The Sampling key of a Harmonise key choice: 'G major' -> 'G:major'; None to read it from the melody."""
    if choice not in HARMONY_KEYS or choice == MELODY_KEY:
        return None
    tonic, scale = choice.split(" ")
    return f"{tonic}:{scale}"


def harmony_key_choice(key: str | None) -> str:
    """The Harmonise key choice showing a Sampling key ('Bb:minor' -> 'A# minor'); MELODY_KEY for None or a
    key the choice does not offer (another scale)."""
    tonic, scale = key_widgets(key)
    choice = f"{tonic} {scale}"
    return choice if key and choice in HARMONY_KEYS else MELODY_KEY


def key_widgets(key: str | None) -> tuple[str, str]:
    """A Sampling key ('Bb:minor', None) as the Key and Scale boxes show it: ('A#', 'minor'), (ANY_KEY, 'major')."""
    if not key:
        return ANY_KEY, "major"
    tonic, _, scale = key.partition(":")
    scale = scale or "major"
    if tonic not in NOTE_NAMES and tonic in FLAT_NAMES:
        tonic = NOTE_NAMES[FLAT_NAMES[tonic]]
    return (tonic if tonic in NOTE_NAMES else ANY_KEY), (scale if scale in SCALES else "major")
