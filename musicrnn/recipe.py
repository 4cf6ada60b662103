"""A piece's recipe: everything needed to generate it again, note for note.

Model identity, primer, every sampling setting (seed included) and the instrument; for the Steer page's
pieces also what was steered: a harmonised melody, or a rewritten span of a source piece (a bundled chorale,
or a piece musicrnn made, named by that piece's own recipe). A recipe travels as URL
query parameters (a flat dict of strings), as JSON, and inside the piece's MIDI file as a text meta event.
Generation is deterministic (numpy, seeded per variation), so the same recipe with the same model file and
primer notes gives the same notes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd
import pretty_midi

from . import bundled
from .errors import SettingsError
from .generate import Sampling, c_major_chord, validate
from .midi import midi_bytes, notes_to_midi
from .midi_scan import parse_midi
from .parts import PART_CLASSES, instrument_name
from .settings import GENERATE, STEER, harmony_key_choice, key_widgets

VERSION = 2  # 2: harmonisations, rewrites, per-part ranges and keys (other plain pieces are still written as 1)
KINDS = ("generate", "harmonize", "rewrite")
PAST = {"generate": "generated", "harmonize": "harmonised", "rewrite": "rewritten"}  # for describe()
MAX_SOURCE_CHARS = 16_000  # a rewrite of a rewrite of …: measured, 8 levels make a 5.7 kB link
MIDI_PREFIX = "musicrnn-recipe "  # the text meta event holding a recipe starts with this
# Each followed by ":" and the .keras file's hash. "bundled": a bundled model other than the default (musicrnn.styles).
MODEL_KINDS = ("default", "bundled", "trained", "uploaded", "file")
PRIMER_KINDS = ("bundled", "dataset", "uploaded", "file", "none")
_SAMPLING = {f.name: f.type for f in dataclasses.fields(Sampling)}


class RecipeError(SettingsError):
    """A recipe that cannot be read or used, with the reason."""


def content_hash(data: bytes) -> str:
    """A short content hash (12 hex digits of SHA-256): names model files and primers in recipes."""
    return hashlib.sha256(data).hexdigest()[:12]


def model_id(kind: str, data: bytes) -> str:
    """'trained:<hash>' etc.: the kind says where the model came from, the hash which file it is."""
    if kind not in MODEL_KINDS:
        raise SettingsError(f"unknown model kind {kind!r}")
    return f"{kind}:{content_hash(data)}"


def default_model_id(file: Path = bundled.DEFAULT_MODEL) -> str:
    """How recipes name the default model: 'default:<hash>' of its file (the bundled one, unless a registry of
    bundled models names another as its default)."""
    return model_id("default", file.read_bytes())


def notes_hash(notes: pd.DataFrame) -> str:
    """Hash of the notes the network is fed (pitch, step, duration), so a primer can be checked."""
    parts = [
        notes["pitch"].to_numpy(np.int64),
        notes["step"].to_numpy(np.float64),
        notes["duration"].to_numpy(np.float64),
    ]
    return content_hash(b"".join(np.ascontiguousarray(part).tobytes() for part in parts))


@dataclass
class Recipe:
    model: str  # "default:<hash>", "bundled:<hash>", "trained:<hash>", "uploaded:<hash>" or "file:<hash>" of the .keras file
    # "bundled:<chorale file>" or "bundled:<style>/<file>" (styles.sample_file), "dataset:<file>", "uploaded:<file>",
    # "file:<file>", "none"
    primer: str = "none"
    primer_notes: int = bundled.PRIMER_NOTES  # how many notes of the primer file open the piece
    primer_hash: str = ""  # notes_hash of the primer notes actually used
    sampling: Sampling = field(default_factory=Sampling)
    program: int = 0  # General MIDI instrument
    # Models with parts: each part's instrument, "part:program" pairs joined by ";" (e.g. "0:40;3:42").
    parts: str = ""
    variation: int | None = None  # the one variation (0-based) a MIDI file holds; None = all of them
    chords: str = ""  # a chord progression the piece follows (musicrnn.harmony.follow_chords), "" = none
    chord_strength: float = 1.0  # 0-1: how strongly (1 = only chord tones)
    kind: str = "generate"  # "generate", "harmonize" (harmony.harmonize) or "rewrite" (rewrite.rewrite)
    melody: str = ""  # harmonize: the melody as text (notation.parse_melody); `program` plays the harmony
    melody_program: int = 0  # harmonize: the melody's instrument
    span: str = ""  # rewrite: "START-END" beats of the source piece
    candidates: int = 4  # rewrite: how many rewrites were sampled (ranked best first)
    keep: int | None = None  # rewrite used as another rewrite's source: the ranked candidate (0-based) kept
    # rewrite: the source piece's own recipe as query parameters (its to_params, URL-encoded: nesting then
    # grows the text by a little per level, where JSON in JSON doubles its escapes); "" = the primer file, all of it
    source: str = ""

    # ---- identity --------------------------------------------------------------------------------------

    @property
    def model_kind(self) -> str:
        return self.model.partition(":")[0]

    @property
    def model_hash(self) -> str:
        return self.model.partition(":")[2]

    @property
    def primer_kind(self) -> str:
        return self.primer.partition(":")[0]

    @property
    def primer_name(self) -> str:
        return self.primer.partition(":")[2]

    @property
    def reproducible_anywhere(self) -> bool:
        """True when a fresh app or CLI has everything it needs: a bundled model and a bundled (or no) primer."""
        bundled_model = self.model_kind in ("default", "bundled")
        if self.source:
            return bundled_model and self.source_recipe().reproducible_anywhere
        return bundled_model and self.primer_kind in ("bundled", "none")

    @property
    def span_beats(self) -> tuple[float, float]:
        start, _, end = self.span.partition("-")
        return float(start), float(end)

    @property
    def version(self) -> int:
        # Older apps still open plain pieces' links; a piece with per-part settings needs this version (an
        # older app would ignore them and quietly make another piece).
        plain = self.kind == "generate" and not (self.sampling.part_pitch_ranges or self.sampling.part_keys)
        return 1 if plain else VERSION

    def as_source(self, keep: int | None = None) -> str:
        """This recipe as another rewrite's `source` (`keep`: which of its ranked candidates was kept)."""
        return urlencode(dataclasses.replace(self, keep=keep).to_params())

    def source_recipe(self) -> Recipe:
        """The recipe of the piece a rewrite rewrote (only when `source` is set)."""
        return Recipe.from_params(parse_qs(self.source, keep_blank_values=True))

    @property
    def programs(self) -> dict[int, int] | None:
        """Part id -> General MIDI program, or None when the recipe names no parts."""
        if not self.parts:
            return None
        pairs = [item.split(":") for item in self.parts.split(";") if item]
        return {int(part): int(program) for part, program in pairs}

    def for_variation(self, index: int) -> Recipe:
        return dataclasses.replace(self, variation=index)

    # ---- flat form (query parameters), JSON --------------------------------------------------------

    def to_params(self) -> dict[str, str]:
        """Every field as a string (None values left out): URL query parameters."""
        flat = {
            "v": str(self.version),
            "model": self.model,
            "primer": self.primer,
            "primer_notes": str(self.primer_notes),
            "primer_hash": self.primer_hash,
            "program": str(self.program),
        }
        if self.parts:
            flat["parts"] = self.parts
        if self.variation is not None:
            flat["variation"] = str(self.variation)
        if self.chords:
            flat["chords"], flat["chord_strength"] = self.chords, repr(float(self.chord_strength))
        if self.kind == "harmonize":
            flat.update(kind=self.kind, melody=self.melody, melody_program=str(self.melody_program))
        elif self.kind == "rewrite":
            flat.update(kind=self.kind, span=self.span, candidates=str(self.candidates))
            flat.update({"keep": str(self.keep)} if self.keep is not None else {})
            flat.update({"source": self.source} if self.source else {})
        for name, value in self.sampling.to_dict().items():
            if value is not None and value != "":  # no key, no per-part settings: left out of the link
                flat[name] = repr(value) if isinstance(value, float) else str(value)  # repr: floats round-trip exactly
        return flat

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> Recipe:
        """Read `to_params`' dict (values may be strings or one-element lists); raises RecipeError."""
        flat = {
            key: (value[-1] if isinstance(value, (list, tuple)) and value else value) for key, value in params.items()
        }
        if "model" not in flat:
            raise RecipeError("not a recipe (no model)")
        version = _number(flat, "v", int, VERSION)
        if version > VERSION:
            raise RecipeError(f"this recipe was written by a newer musicrnn (version {version})")
        defaults = Sampling()
        values: dict[str, Any] = {}  # Sampling's keyword arguments, each of its field's type
        for name in _SAMPLING:
            default = getattr(defaults, name)
            if name == "key":
                values[name] = str(flat["key"]) if flat.get("key") not in (None, "", "None") else None
            elif isinstance(default, str):  # text settings (part_pitch_ranges, part_keys), "" = none
                values[name] = str(flat.get(name) or "")
            elif isinstance(default, bool):  # a switch (part_ranges): written as True/False
                values[name] = str(flat.get(name, default)).strip().lower() in ("true", "1")
            else:
                values[name] = _number(flat, name, float if isinstance(default, float) else int, default)
        sampling = Sampling(**values)
        try:
            validate(sampling)
        except ValueError as exc:
            raise RecipeError(f"the recipe's settings cannot be used: {exc}") from None
        fields: dict[str, Any] = {"model": str(flat["model"]), "sampling": sampling}
        for name, (kind, default) in _FIELDS.items():  # a field a link leaves out keeps the dataclass' default
            fields[name] = str(flat.get(name) or default) if kind is str else _number(flat, name, kind, default)
        return cls(**fields).checked()

    def checked(self) -> Recipe:
        if self.model_kind not in MODEL_KINDS or not self.model_hash:
            raise RecipeError(f"unknown model {self.model!r} (expected e.g. default:<hash>)")
        if self.primer_kind not in PRIMER_KINDS or (self.primer_kind != "none" and not self.primer_name):
            raise RecipeError(f"unknown primer {self.primer!r}")
        if not GENERATE["primer_notes"].allows(self.primer_notes):
            raise RecipeError(f"primer_notes must be a positive number (at most {GENERATE['primer_notes'].high:,g})")
        if not 0 <= self.program <= 127:
            raise RecipeError("program must be 0-127")
        if self.chords:
            from .notation import parse_chords

            try:
                parse_chords(self.chords)
            except ValueError as exc:
                raise RecipeError(f"the recipe's chords cannot be used: {exc}") from None
            if not GENERATE["chord_strength"].allows(self.chord_strength):
                raise RecipeError("chord_strength must be 0-1")
        try:
            programs = self.programs or {}
        except ValueError:
            raise RecipeError(f"parts must be part:program pairs joined by ';', not {self.parts[:40]!r}") from None
        if not all(0 <= part < PART_CLASSES and 0 <= program <= 127 for part, program in programs.items()):
            raise RecipeError(f"each part must be 0-{PART_CLASSES - 1} and its program 0-127")
        if self.variation is not None and not 0 <= self.variation < self.sampling.variations:
            raise RecipeError(
                f"variation {self.variation} does not exist (the recipe makes {self.sampling.variations})"
            )
        if self.kind not in KINDS:
            raise RecipeError(f"unknown kind of piece {self.kind!r} (expected one of {', '.join(KINDS)})")
        if self.kind == "harmonize":
            self._check_harmony()
        elif self.kind == "rewrite":
            self._check_rewrite()
        return self

    def _check_harmony(self) -> None:
        from .notation import parse_melody

        try:
            parse_melody(self.melody)
        except ValueError as exc:
            raise RecipeError(f"the recipe's melody cannot be used: {exc}") from None
        if not 0 <= self.melody_program <= 127:
            raise RecipeError("melody_program must be 0-127")

    def _check_rewrite(self) -> None:

        try:
            start, end = self.span_beats
        except ValueError:
            raise RecipeError(f"span must be START-END beats, like 8-12, not {self.span[:40]!r}") from None
        if not 0 <= start < end:
            raise RecipeError(f"the span {self.span!r} is empty")
        candidates = STEER["candidates"]
        if not candidates.allows(self.candidates):
            raise RecipeError(f"candidates must be {candidates.low:g}-{candidates.high:g}")
        if self.keep is not None and not 0 <= self.keep < self.candidates:
            raise RecipeError(f"keep {self.keep} is not one of the {self.candidates} candidates")
        if self.source:
            if len(self.source) > MAX_SOURCE_CHARS:
                raise RecipeError("the piece was rewritten too many times over to fit in a recipe")
            source = self.source_recipe()  # checked in turn
            if source.model != self.model:
                raise RecipeError("a rewrite's source piece must come from the same model")

    def to_json(self) -> str:
        data = {"version": self.version, **dataclasses.asdict(self)}
        return json.dumps(data, sort_keys=True, ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Recipe:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise RecipeError(f"not a recipe (the JSON cannot be read: {type(exc).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("sampling", {}), dict):
            raise RecipeError("not a recipe (expected a JSON object with model, primer and sampling)")
        flat = {key: value for key, value in data.items() if key not in ("sampling", "version")}
        flat.update(data.get("sampling", {}))
        flat["v"] = data.get("version", VERSION)
        return cls.from_params({k: v for k, v in flat.items() if v is not None})

    # ---- for people ----------------------------------------------------------------------------------

    def describe(self) -> dict[str, str]:
        """The recipe as readable rows (what the app shows)."""
        s = self.sampling
        model = {
            "default": "the bundled default model",
            "bundled": "a bundled style model",
            "trained": "a model trained in an app session",
            "uploaded": "an uploaded model",
            "file": "a model file",
        }[self.model_kind]
        primer = (
            "a C major chord"
            if self.primer_kind == "none"
            else f"{self.primer_notes} notes of {self.primer_name} ({self.primer_kind})"
        )
        rows = {
            "model": f"{model} ({self.model})",
            "primer": primer,
            "notes": f"at most {s.n_notes}",
            "seed": str(s.seed),
            "variations": str(s.variations)
            + ("" if self.variation is None else f" (this is variation {self.variation + 1})"),
            "temperature": f"{s.temperature:g}",
            "rhythm temperature": f"{s.rhythm_temperature:g}",
            "tempo": "the primer's" if s.bpm <= 0 else f"{s.bpm:g} BPM",
            "top-k": "off" if s.top_k == 0 else str(s.top_k),
            "top-p": "off" if s.top_p >= 1 else f"{s.top_p:g}",
            "key": s.key or "any",
            "pitch range": f"{s.pitch_low}–{s.pitch_high}",
            "instrument": f"{pretty_midi.program_to_instrument_name(self.program)} (program {self.program})",
        }
        if s.part_pitch_ranges:
            rows["range per part"] = s.part_pitch_ranges.replace(",", ", ")
        if s.part_keys:
            rows["key per part"] = s.part_keys.replace(",", ", ").replace(":", " ")
        rows["voice leading"] = "on" if s.voice_leading else "off"
        rows["ending"] = "on the tonic chord" if s.tonic_ending else "wherever the model ends it"
        if self.chords:
            strength = (
                "only chord tones" if self.chord_strength >= 1 else f"suggested (strength {self.chord_strength:g})"
            )
            rows["chords"] = f"{self.chords} — {strength}"
        if self.kind == "harmonize":
            rows = {name: rows[name] for name in ("model", "seed", "variations", "temperature", "voice leading")}
            rows["key"] = s.key.replace(":", " ") if s.key else "read from the melody"
            rows["chromatic colour"] = "yes" if s.chromatic else "no (the harmony keeps to the melody's key)"
            rows["melody"] = self.melody if len(self.melody) <= 120 else self.melody[:117] + "…"
            rows["melody instrument"] = pretty_midi.program_to_instrument_name(self.melody_program)
            rows["harmony instrument"] = pretty_midi.program_to_instrument_name(self.program)
        elif self.kind == "rewrite":
            rows = {name: rows[name] for name in ("model", "seed", "temperature")}
            source = self.source_recipe() if self.source else None
            rows["piece"] = (
                f"{self.primer_name} ({self.primer_kind})"
                if source is None
                else f"a {PAST[source.kind]} piece"
                + ("" if source.keep is None else f", rewrite kept: candidate {source.keep + 1}")
            )
            rows["span"] = f"beats {self.span}"
            rows["candidates"] = str(self.candidates)
        return rows


# Recipe's fields besides model and sampling: how each is read from a link (text, int or float) and its default
# (the dataclass' own, so a default is written in one place).
_FIELDS: dict[str, tuple[type, Any]] = {
    f.name: (
        {"int": int, "float": float, "int | None": int}.get(str(f.type), str),
        f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default,
    )
    for f in dataclasses.fields(Recipe)
    if f.name not in ("model", "sampling")
}


def _number(flat: Mapping[str, object], name: str, kind: type, default):
    value: Any = flat.get(name)  # text from a link, or a number; int()/float() refuse anything else (TypeError)
    if value is None or value == "":
        return default
    number: int | float
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value) if not isinstance(value, str) else int(value.strip())
        else:
            number = float(value)
            if not np.isfinite(number):
                raise ValueError
    except (TypeError, ValueError):
        raise RecipeError(
            f"{name} must be a{'n integer' if kind is int else ' number'}, not {str(value)[:40]!r}"
        ) from None
    return number


# ---- MIDI files -----------------------------------------------------------------------------------------


def attach(pm: pretty_midi.PrettyMIDI, recipe: Recipe) -> pretty_midi.PrettyMIDI:
    """Write the recipe into the MIDI as a text meta event at time 0 (survives pretty_midi's write/read)."""
    pm.text_events = [event for event in pm.text_events if not event.text.startswith(MIDI_PREFIX)]
    pm.text_events.append(pretty_midi.Text(MIDI_PREFIX + recipe.to_json(), 0.0))
    return pm


def parts_text(programs: dict[int, int] | None) -> str:
    """Recipe.parts for a part -> program mapping."""
    return ";".join(f"{part}:{program}" for part, program in sorted((programs or {}).items()))


def piece_midi(notes: pd.DataFrame, recipe: Recipe, programs: dict[int, int] | None = None) -> bytes:
    """MIDI bytes of one generated piece, played by the recipe's instrument (or, a piece with parts, one
    track per part with `programs`), carrying its recipe."""
    programs = programs if programs is not None else recipe.programs
    return midi_bytes(attach(notes_to_midi(notes, program=recipe.program, programs=programs), recipe))


def from_midi(data: bytes, name: str = "file") -> Recipe:
    """The recipe embedded in MIDI bytes; RecipeError when there is none (MidiError for a broken file)."""
    for event in parse_midi(data, name).text_events:
        if event.text.startswith(MIDI_PREFIX):
            return Recipe.from_json(event.text[len(MIDI_PREFIX) :])
    raise RecipeError(f"{name}: this MIDI file holds no musicrnn recipe")


def load(path: str | Path) -> Recipe:
    """A recipe from a JSON file or from a MIDI file that embeds one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    if data.startswith(b"MThd"):
        return from_midi(data, path.name)
    return Recipe.from_json(data)


# ---- what a recipe needs -----------------------------------------------------------------------------------


def bundled_primer_notes(name: str, count: int) -> pd.DataFrame:
    """The primer a 'bundled:<name>' recipe means: the first `count` notes of that bundled piece (a chorale, or
    '<style>/<file>' of a style's sample: musicrnn.styles.sample_file)."""
    from .midi_load import midi_to_notes
    from .styles import sample_file

    try:
        path = sample_file(name)  # never a path outside the bundled samples
    except ValueError as exc:
        raise RecipeError(str(exc)) from None
    return bundled.primer_from(midi_to_notes(path), count)


def primer_notes(recipe: Recipe, notes: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The primer notes a recipe starts from: bundled and 'none' primers are resolved here; for other
    primers pass the file's `notes` (its first `primer_notes` are used). Checked against the recipe's hash.
    Returns None for the built-in chord (what `generate` uses when given no primer)."""
    if recipe.primer_kind == "none":
        used, result = c_major_chord(), None
    elif recipe.primer_kind == "bundled" and notes is None:
        used = result = bundled_primer_notes(recipe.primer_name, recipe.primer_notes)
    elif notes is None:
        raise RecipeError(
            f"this piece starts from a primer that is not bundled ({recipe.primer}): give that MIDI file as the primer"
        )
    else:
        used = result = bundled.primer_from(notes, recipe.primer_notes)
    if recipe.primer_hash and notes_hash(used) != recipe.primer_hash:
        raise RecipeError(f"the primer's notes differ from the ones the piece was made from ({recipe.primer})")
    return result


def check_model(recipe: Recipe, model_file: bytes | None) -> None:
    """Raise RecipeError unless `model_file` (None = the bundled model) is the recipe's model."""
    data = model_file if model_file is not None else bundled.DEFAULT_MODEL.read_bytes()
    if content_hash(data) != recipe.model_hash:
        if model_file is None:
            raise RecipeError(
                f"this piece was made with {recipe.model}, not with this copy's bundled model "
                f"({model_id('default', data)}): give that .keras file as the model"
            )
        raise RecipeError(f"the model file is not the recipe's model ({recipe.model})")


# ---- making a recipe's pieces -------------------------------------------------------------------------------


def make_pieces(recipe: Recipe, model, notes: pd.DataFrame | None = None) -> list[pd.DataFrame]:
    """The pieces a recipe makes with `model` (its own: see check_model), every variation or candidate, ranked.
    `notes`: the primer (or rewritten) file's notes when it is not bundled."""
    from .generate import generate
    from .harmony import follow_chords, harmonize
    from .notation import parse_chords, parse_melody

    if recipe.kind == "harmonize":
        return harmonize(model, parse_melody(recipe.melody), recipe.sampling)
    if recipe.kind == "rewrite":
        return [candidate.notes for candidate in make_rewrite(recipe, model, notes)]
    primer = primer_notes(recipe, notes)
    if recipe.chords:
        return follow_chords(model, parse_chords(recipe.chords), recipe.chord_strength, primer, recipe.sampling)
    return generate(model, primer, recipe.sampling)


def make_rewrite(recipe: Recipe, model, notes: pd.DataFrame | None = None, piece: pd.DataFrame | None = None):
    """A rewrite recipe's candidates (rewrite.Candidate, best first), rewriting the piece its source makes
    (`piece`: that piece, when it is already made)."""
    from .rewrite import rewrite

    piece = source_piece(recipe, model, notes) if piece is None else piece
    start, end = recipe.span_beats
    return rewrite(model, piece, start, end, recipe.candidates, recipe.sampling)


def source_piece(recipe: Recipe, model, notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The piece a rewrite recipe rewrites: made again from its source's recipe, or the primer file (all of it)."""
    if not recipe.source:
        if recipe.primer_kind == "none":
            raise RecipeError("a rewrite needs a source piece: a file or a piece's recipe")
        return primer_notes(recipe, notes)
    source = recipe.source_recipe()
    pieces = make_pieces(source, model, notes)
    index = source.keep if source.kind == "rewrite" else source.variation
    return pieces[index or 0]


def generate_widgets(recipe: Recipe) -> dict[str, Any]:
    """What the Generate page's widgets show for a recipe, by widget key (the primer's source and file, and the
    parts' widgets, are set by the pages that own them)."""
    s, g = recipe.sampling, GENERATE
    tonic, scale = key_widgets(s.key)
    values: dict[str, Any] = {
        g[name].key: getattr(s, name)
        for name in (
            "n_notes",
            "temperature",
            "top_k",
            "top_p",
            "seed",
            "variations",
            "chord_snap",
            "rhythm_temperature",
            "voice_leading",
            "tonic_ending",
        )
    }
    values[g["tonic"].key], values[g["scale"].key] = tonic, scale
    values[g["pitch_range"].key] = (s.pitch_low, s.pitch_high)
    values[g["bpm"].key] = int(round(s.bpm))
    values[g["step_grid"].key] = s.step_grid if s.step_grid in g["step_grid"].options else g["step_grid"].default
    values[g["chords"].key] = recipe.chords
    values[g["chord_strength"].key] = recipe.chord_strength if recipe.chords else g["chord_strength"].default
    values[g["program"].key] = instrument_name(recipe.program)
    if recipe.primer_kind != "none":
        values[g["primer_notes"].key] = recipe.primer_notes
    return values


def steer_widgets(recipe: Recipe) -> dict[str, Any]:
    """What the Steer page's widgets show for a harmonisation's or rewrite's recipe, by widget key."""
    s, t = recipe.sampling, STEER
    values: dict[str, Any] = {t["seed"].key: s.seed, t["temperature"].key: s.temperature}
    if recipe.kind == "harmonize":
        values[t["variations"].key] = s.variations
        values[t["melody_program"].key] = instrument_name(recipe.melody_program)
        values[t["program"].key] = instrument_name(recipe.program)
        values[t["chromatic"].key] = s.chromatic
        values[t["key"].key] = harmony_key_choice(s.key)
    return values
