"""The bundled models, addressed by name: one per style (Bach chorales, folk tunes, …) and a general one.

The registry is a small JSON file (`musicrnn/assets/models.json`) read without pandas or TensorFlow, so Home
can list the styles before anything heavy is imported. Each entry names its `.keras` file (the model's facts,
held-out figures included, are in the JSON sidecar next to it), a folder of bundled MIDI files of its style
(primers and the Dataset page), the file a piece starts from by default, and what it was trained on under
which licence. A model whose file is missing in this copy is listed but cannot be used (`present`).

    {"default": "chorales",
     "models": {"folk": {"title": "Folk tunes", "file": "models/folk.keras", "sample": "styles/folk",
                         "primer": "....mid", "data": "...", "licence": "...", "home": true}, ...}}

Paths are relative to the registry file. `MUSICRNN_MODELS` names another registry file (tests, or a
deployment with its own models).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import SettingsError

ASSETS = Path(__file__).parent / "assets"
REGISTRY = ASSETS / "models.json"
REGISTRY_VARIABLE = "MUSICRNN_MODELS"
DEFAULT_ALIAS = "default"  # what `--init-from default` has always meant: the registry's default model


class UnknownModel(SettingsError):
    """A name that is neither a bundled model nor a file; the message lists the names there are."""


@dataclass(frozen=True)
class BundledModel:
    """One bundled model: its file, its style's sample of MIDI files, and what it learnt from."""

    name: str
    title: str  # what a visitor reads: "Bach chorales"
    file: Path
    sample: Path | None  # folder of bundled MIDI files of this style
    primer: str  # the file of `sample` a piece starts from unless someone chooses another
    data: str  # what it was trained on, in words
    licence: str  # the data's terms, in words
    home: bool = True  # offered on Home (the general model is a start for fine-tuning, not a style to hear)

    @property
    def present(self) -> bool:
        return self.file.is_file()

    @property
    def sidecar(self) -> Path:
        return self.file.with_suffix(".json")

    def info(self) -> dict:
        """What training recorded next to the model (config, corpus, split, held-out figures); {} if none."""
        try:
            info = json.loads(self.sidecar.read_text())
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def sample_files(self) -> list[Path]:
        return sorted(self.sample.glob("*.mid")) if self.sample is not None and self.sample.is_dir() else []

    def primer_path(self) -> Path | None:
        """The default primer's file, else the sample's first file, else None."""
        files = self.sample_files()
        chosen = [path for path in files if path.name == self.primer] or files
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class Registry:
    default: str
    models: dict[str, BundledModel]

    def get(self, name: str) -> BundledModel:
        """The model called `name` ('default' is the default one); UnknownModel lists the names."""
        key = self.default if name == DEFAULT_ALIAS else name
        if key not in self.models:
            raise UnknownModel(f"no bundled model is called {name!r}; the bundled models are {', '.join(self.models)}")
        return self.models[key]

    def present(self) -> list[BundledModel]:
        """The models whose file is in this copy, in the registry's order."""
        return [model for model in self.models.values() if model.present]


def registry_path() -> Path:
    return Path(os.environ.get(REGISTRY_VARIABLE) or REGISTRY)


def registry(path: Path | None = None) -> Registry:
    """The bundled models (read once per registry file and version of it)."""
    path = Path(path) if path is not None else registry_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise UnknownModel(f"the list of bundled models {path} cannot be read ({exc.strerror or exc})") from None
    return _read(path.resolve(), stamp)


@lru_cache(maxsize=4)
def _read(path: Path, stamp: int) -> Registry:
    try:
        raw = json.loads(path.read_text())
        entries = raw["models"]
        models = {name: _entry(path.parent, name, values) for name, values in entries.items()}
        default = str(raw.get("default") or next(iter(models)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration) as exc:
        raise UnknownModel(f"the list of bundled models {path} is damaged ({type(exc).__name__}: {exc})") from None
    if default not in models:
        raise UnknownModel(f"the list of bundled models {path} names {default!r} as its default, which it lacks")
    return Registry(default, models)


def _entry(folder: Path, name: str, values: dict) -> BundledModel:
    sample = values.get("sample")
    return BundledModel(
        name=name,
        title=str(values.get("title") or name),
        file=folder / values["file"],
        sample=folder / sample if sample else None,
        primer=str(values.get("primer") or ""),
        data=str(values.get("data") or ""),
        licence=str(values.get("licence") or ""),
        home=bool(values.get("home", True)),
    )


def default_name() -> str:
    return registry().default


def is_bundled_name(text: str) -> bool:
    """True when `text` names a bundled model (or is 'default') rather than a file."""
    return text == DEFAULT_ALIAS or text in registry().models


def model_path(text: str) -> Path:
    """A bundled model's file by name ('default', 'folk', …), else `text` as a path. A bundled model whose
    file this copy lacks is refused with the reason."""
    if not is_bundled_name(text):
        return Path(text)
    model = registry().get(text)
    if not model.present:
        raise UnknownModel(
            f"the bundled model {model.name!r} ({model.title}) is not in this copy: {model.file} is missing "
            "(make style-models trains it)"
        )
    return model.file


def name_of(path: str | Path) -> str | None:
    """The bundled model a file is, by location, or None."""
    resolved = Path(path).resolve()
    return next((m.name for m in registry().models.values() if m.file.resolve() == resolved), None)


def sample_file(name: str) -> Path:
    """A bundled sample file by its recipe name: 'bwv269.mid' (the default model's sample, as recipes have always
    said) or 'folk/tune.mid' (another model's sample). Never a path outside a sample folder; ValueError if absent."""
    style, _, file = name.rpartition("/")
    models = registry()
    owner = models.models.get(style or models.default)
    folder = owner.sample if owner is not None else None
    if folder is None or not file or Path(file).name != file or not (folder / file).is_file():
        raise SettingsError(f"the bundled piece {name!r} does not exist here")
    return folder / file


def sample_name(model: BundledModel, path: Path) -> str:
    """What a recipe calls a sample file of `model` (see sample_file)."""
    return path.name if model.name == registry().default else f"{model.name}/{path.name}"


def model_figures(model: BundledModel) -> dict:
    """A bundled model's held-out figures as its sidecar records them (scripts/train_style_models.py, or
    `--style chorales`, which `make default-model` runs): pitch cross-entropy on its held-out files, next to the
    chorale model's and the bigram's on the same notes; {} when none are recorded."""
    evaluation = model.info().get("evaluation") or {}
    scores = evaluation.get("model") or {}
    if "pitch_cross_entropy" not in scores:
        return {}
    figures = {
        "files": scores.get("files"),
        "notes": scores.get("notes"),
        "model": scores["pitch_cross_entropy"],
        "top1": scores.get("pitch_top1"),
    }
    if "bigram" in (evaluation.get("baselines") or {}):
        figures["bigram"] = evaluation["baselines"]["bigram"]
    if "pitch_cross_entropy" in (evaluation.get("chorale_model") or {}):
        figures["chorales"] = evaluation["chorale_model"]["pitch_cross_entropy"]
    if evaluation.get("note"):
        figures["note"] = evaluation["note"]
    return figures
