"""Per-visitor state (`st.session_state`) and server-wide cached resources, in one place.

Each browser tab has its own session state, so datasets, models and training jobs never leak between
visitors; the bundled corpus and default model are read-only and cached once per server process.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

# The core is imported where it is used: the Home page's first paint then needs none of it (pandas alone
# takes ~0.5 s to import); app.py warms these imports up in the background after the first page is drawn.
if TYPE_CHECKING:
    import pandas as pd
    from pretty_midi import PrettyMIDI

    from musicrnn.audio import Rendered
    from musicrnn.dataset import Corpus
    from musicrnn.infer import NumpyModel
    from musicrnn.jobs import TrainingJob
    from musicrnn.midi_load import LoadedFile
    from musicrnn.styles import BundledModel

KEEP_PREFIX = "keep_"  # widget values under these keys survive page switches (see keep)
KEPT = "kept_widget_values"
PENDING = "kept_values_set_by_code"  # set_kept's values not yet given to their widgets (see keep)

DATASET = "dataset"
UPLOADS = "uploads"
JOB = "job"
TRAINED_MODEL = "trained_model"
RUNS = "trained_runs"  # every model this visitor trained, oldest first
# The pages' "Model" choices (widgets.choose_model keys): a run trained or renamed updates them.
GENERATE_CHOICE = "generate_model"
MODEL_CHOICES = (GENERATE_CHOICE, "steer_model", "explain_model")
MAX_RUNS = 5  # per visitor: each holds its .keras file and weights in the server's memory
UPLOADED_MODEL = "uploaded_model"

DEFAULT_MODEL_LABEL = "Default model (Bach chorales)"
TRAINED_MODEL_LABEL = "Trained in this session"
UPLOADED_MODEL_LABEL = "Uploaded model"


@dataclass
class Dataset:
    """The visitor's chosen music: bundled chorales or their uploads, loaded with their instrument choice."""

    source: str  # "bundled" (the chorales), "sample" (another style's bundled sample) or "uploaded"
    files: list[LoadedFile]
    instruments: tuple[int, ...] | None = None
    include_drums: bool = False
    programs: tuple[int, ...] | None = None  # General MIDI programs kept (uploads), None = all
    title: str = ""  # what the pages call it ("the bundled Folk tunes sample"); "" = by its source
    key: str = field(default="", compare=False, repr=False)  # dataset_key, once computed (the files never change)

    @property
    def ok_files(self) -> list[LoadedFile]:
        return [item for item in self.files if item.ok]

    def corpus(self) -> Corpus:
        from musicrnn.dataset import Corpus

        return Corpus.from_tables([(item.name, item.notes) for item in self.ok_files])

    def file(self, name: str) -> LoadedFile | None:
        return next((item for item in self.ok_files if item.name == name), None)


@dataclass
class ModelEntry:
    """A model the Generate page can use: numpy weights for generation, the .keras file for download."""

    label: str
    name: str
    model: NumpyModel
    file: bytes | None = None
    id: str = ""  # what recipes call it: "default:<hash>", "trained:<hash>", "uploaded:<hash>"
    facts: dict = field(default_factory=dict)  # a trained run's listing: preset, data, epochs, score, when

    @property
    def file_name(self) -> str:
        """The download name: the model's readable name, made safe for a file system."""
        return (re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-").lower() or "model") + ".keras"


class BundledEntry(ModelEntry):
    """A bundled model other than the default, read from its file only when a page uses it: listing the styles
    costs nothing, and a page that plays one style reads one model."""

    def __init__(self, bundled: BundledModel):
        self.label = self.name = bundled_label(bundled)
        self.path, self.facts = bundled.file, {"bundled": bundled.name}

    @property  # type: ignore[override]
    def model(self) -> NumpyModel:
        return bundled_model(self.facts["bundled"])

    @property  # type: ignore[override]
    def file(self) -> bytes:
        return self.path.read_bytes()

    @property  # type: ignore[override]
    def id(self) -> str:
        return bundled_model_id(self.facts["bundled"])


def bundled_label(bundled: BundledModel) -> str:
    """What the model choices call a bundled model: "Folk tunes (bundled)"."""
    return f"{bundled.title} (bundled)"


# ---- widget values that persist across pages -------------------------------------------------------------


def keep(key: str, default: Any) -> str:
    """A widget key whose value survives switching pages, initialised to `default` the first time.

    Streamlit deletes a widget's value when its page is not shown (for widgets inside a form, already
    when the visitor navigates away), so keep_widget_values (called by app.py on every run) copies these
    values aside and this restores them. Pages pass no `value=` to such widgets.
    """
    full = key if key.startswith(KEEP_PREFIX) else KEEP_PREFIX + key
    pending = st.session_state.get(PENDING, {})
    if full in pending:  # set from code since the widget was last drawn (set_kept): that value wins
        st.session_state[full] = pending.pop(full)
    elif full not in st.session_state:
        st.session_state[full] = st.session_state.get(KEPT, {}).get(full, default)
    return full


def set_kept(key: str, value: Any) -> None:
    """Set a kept widget's value from code (e.g. before switching to the page that shows it).

    The value is also held until the widget is next drawn (keep): a browser that showed the widget before sends
    its old value when the visitor comes back through the menu, and without this that old value won (Generate,
    visited while a run trained, still showed the default model after the run had made itself the choice)."""
    full = key if key.startswith(KEEP_PREFIX) else KEEP_PREFIX + key
    st.session_state[full] = value
    st.session_state.setdefault(KEPT, {})[full] = value
    st.session_state.setdefault(PENDING, {})[full] = value


def kept_value(key: str) -> Any:
    """A kept widget's value, whether or not its page is showing (None if it was never set)."""
    full = key if key.startswith(KEEP_PREFIX) else KEEP_PREFIX + key
    return st.session_state.get(full, st.session_state.get(KEPT, {}).get(full))


def keep_widget_values() -> None:
    kept = st.session_state.setdefault(KEPT, {})
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(KEEP_PREFIX):
            kept[key] = st.session_state[key]


# ---- server-wide cached resources ----------------------------------------------------------------------------


@st.cache_resource(
    show_spinner="Reading the 350 bundled Bach chorales (once per server, a few seconds)…", max_entries=2
)
def bundled_files(instruments: tuple[int, ...] | None = None, include_drums: bool = False) -> list[LoadedFile]:
    """Shared read-only: pages must not modify the returned tables."""
    from musicrnn import bundled
    from musicrnn.midi_load import load_paths

    if instruments is None and not include_drums:
        return bundled.load_chorales()  # usually already read in the background (see ui/boot.py)
    return load_paths(bundled.chorale_files(), instruments=instruments, include_drums=include_drums)


@st.cache_resource(show_spinner=False, max_entries=8)
def sample_files(
    name: str, instruments: tuple[int, ...] | None = None, include_drums: bool = False
) -> list[LoadedFile]:
    """A bundled style's sample, read once per server (shared read-only)."""
    from musicrnn.midi_load import load_paths
    from musicrnn.styles import registry

    return load_paths(registry().get(name).sample_files(), instruments=instruments, include_drums=include_drums)


def sample_styles(with_default: bool = False) -> dict[str, BundledModel]:
    """The bundled models whose style's sample is in this copy, by title (the default's, the chorales, only
    `with_default`)."""
    from musicrnn.styles import registry

    models = registry()
    return {
        m.title: m for m in models.models.values() if (with_default or m.name != models.default) and m.sample_files()
    }


@st.cache_resource(show_spinner=False)
def default_model() -> NumpyModel:
    from musicrnn import bundled

    return bundled.default_model()


@st.cache_resource(show_spinner=False)
def default_model_id() -> str:
    from musicrnn import recipe

    return recipe.default_model_id()


@st.cache_resource(show_spinner=False, max_entries=8)
def bundled_model(name: str) -> NumpyModel:
    """A bundled model by name, read once per server (the default one shares default_model's copy)."""
    from musicrnn import bundled
    from musicrnn.styles import registry

    return default_model() if registry().get(name).name == registry().default else bundled.bundled_model(name)


@st.cache_resource(show_spinner=False, max_entries=8)
def bundled_model_id(name: str) -> str:
    from musicrnn.recipe import model_id
    from musicrnn.styles import registry

    models = registry()
    return model_id(
        "default" if models.get(name).name == models.default else "bundled", models.get(name).file.read_bytes()
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_opening(name: str, count: int | None = None) -> pd.DataFrame:
    """The opening of a bundled model's own primer (its style's sample), read once per server."""
    from musicrnn import bundled

    return bundled.style_opening(name, bundled.PRIMER_NOTES if count is None else count)


# A visitor's own files and audio are cached per session (scope="session"): Streamlit drops them when the
# session ends, where a server-wide cache would keep every visitor's up to its bound (bench/memory.py).


@st.cache_data(show_spinner="Reading your files…", max_entries=4, scope="session")
def parse_uploads(
    items: tuple[tuple[str, bytes], ...],
    instruments: tuple[int, ...] | None,
    include_drums: bool,
    programs: tuple[int, ...] | None = None,
) -> list[LoadedFile]:
    from musicrnn.midi_load import load_uploads

    return load_uploads(items, instruments=instruments, include_drums=include_drums, programs=programs)


@st.cache_data(show_spinner="Reading your files…", max_entries=32, scope="session")
def parse_one(name: str, data: bytes, instruments: tuple[int, ...], include_drums: bool) -> LoadedFile:
    from musicrnn.midi_load import load_one

    return load_one(name, data, instruments=instruments, include_drums=include_drums)


@st.cache_data(show_spinner="Rendering audio…", max_entries=8, scope="session")
def render_audio(
    notes: pd.DataFrame, program: int = 0, max_seconds: float | None = None, programs: dict[int, int] | None = None
) -> Rendered:
    """WAV of a piece that is drawn again on every run (Explore's preview): every part with its own instrument
    (`programs`), or all with `program`. Pieces kept in session state are rendered once with render_piece."""
    if max_seconds is not None:
        notes = notes[notes["start"] < max_seconds]  # only synthesise what will be played
    return _on_audio_thread(notes, program=program, max_seconds=max_seconds, programs=programs)


def render_piece(
    notes: pd.DataFrame | PrettyMIDI, program: int = 0, programs: dict[int, int] | None = None
) -> Rendered:
    """WAV of a piece the visitor made (a note table or a MIDI file), rendered once and kept with the piece
    in their session state (a cache would hold a second copy of it)."""
    return _on_audio_thread(notes, program=program, programs=programs)


@functools.cache
def _audio_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="musicrnn-audio")


def _on_audio_thread(notes: pd.DataFrame | PrettyMIDI, **options: Any) -> Rendered:
    """musicrnn.audio.render, always on the server's one audio thread.

    Streamlit runs each script run on a new thread, and glibc's malloc gives threads pools of their own that
    keep what was freed in them: fluidsynth loads its sound font (6 MB) for every piece, so rendering on
    whichever thread ran the script left several MB in each of a dozen pools. On one thread the same memory
    is reused (bench/memory.py measures the server before and after ten visitors). Renders queue behind each
    other, as fluidsynth's own lock made them do already."""
    from musicrnn.audio import render

    return _audio_thread().submit(render, notes, **options).result()


# ---- the visitor's dataset -----------------------------------------------------------------------------------


def dataset() -> Dataset:
    """The visitor's dataset; the bundled chorales until they choose otherwise on the Dataset page."""
    if DATASET not in st.session_state:
        st.session_state[DATASET] = bundled_dataset(None, False)
    return st.session_state[DATASET]


def bundled_dataset(instruments: tuple[int, ...] | None = None, include_drums: bool = False) -> Dataset:
    """The bundled chorales (shared, read-only tables) as a visitor's dataset, its key computed once per server."""
    return Dataset(
        "bundled",
        bundled_files(instruments, include_drums),
        instruments,
        include_drums,
        key=_bundled_key(instruments, include_drums),
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def _bundled_key(instruments: tuple[int, ...] | None, include_drums: bool) -> str:
    # Once per server: reading a column of the shared tables leaves pandas a reference to clear later
    # (bench/memory.py counted ~4,000 a visitor while each session hashed all 350 chorales itself).
    return dataset_key(Dataset("bundled", bundled_files(instruments, include_drums)))


def set_dataset(value: Dataset) -> None:
    st.session_state[DATASET] = value


def dataset_key(value: Dataset) -> str:
    """A content hash of the dataset's usable notes: the cache key of everything computed from it.

    Every note column counts: two versions of a file with the same notes in another metre or tempo train
    differently (beats models read the bar and the beat). Computed once per Dataset: How it works asks on
    every run, and each column read of the 350 shared chorale tables costs time and a pandas reference."""
    if value.key:
        return value.key
    from musicrnn.midi import NOTE_COLUMNS

    digest = hashlib.sha256()
    for item in value.ok_files:
        digest.update(item.name.encode() + b"\0")
        for column in NOTE_COLUMNS:
            if column in item.notes:
                digest.update(column.encode() + item.notes[column].to_numpy().tobytes())
    value.key = digest.hexdigest()[:16]
    return value.key


@st.cache_resource(show_spinner=False, max_entries=4)
def _corpus(key: str, _value: Dataset) -> Corpus:
    return _value.corpus()


def dataset_corpus(value: Dataset | None = None) -> tuple[str, Corpus]:
    """The dataset's key and its Corpus, built once per distinct dataset (shared read-only)."""
    value = value or dataset()
    key = dataset_key(value)
    return key, _corpus(key, value)


def uploads() -> list[tuple[str, bytes]]:
    """The MIDI/zip files this visitor uploaded (kept here because the uploader forgets them on page switch)."""
    return st.session_state.get(UPLOADS, [])


def set_uploads(items: list[tuple[str, bytes]]) -> None:
    st.session_state[UPLOADS] = items


def add_uploads(items: list[tuple[str, bytes]]) -> list[str]:
    """Add files to the visitor's uploads (a file of the same name is replaced); returns the replaced names."""
    kept = dict(uploads())
    replaced = [name for name, _ in items if name in kept]
    kept.update(items)
    set_uploads(list(kept.items()))
    return replaced


def remove_upload(name: str) -> None:
    set_uploads([item for item in uploads() if item[0] != name])


# ---- models and the training job -------------------------------------------------------------------------------


def job() -> TrainingJob | None:
    return st.session_state.get(JOB)


def set_job(value: TrainingJob) -> None:
    st.session_state[JOB] = value


def runs() -> list[ModelEntry]:
    """This visitor's trained models, oldest first (at most MAX_RUNS)."""
    return st.session_state.setdefault(RUNS, [])


def collect_trained_model() -> None:
    """Once the session's job has ended with a model file, add it to the visitor's runs (a new run never
    replaces an old one; beyond MAX_RUNS the oldest goes, and the Train page offers it for download first).

    app.py calls this on every run, so a job that finishes while its visitor is on another page is
    picked up wherever they are.
    """
    current = job()
    if current is None or current.running or current.model_file is None:
        return
    if any(entry.facts.get("job") == current.id for entry in runs()):
        return
    from musicrnn import recipe
    from musicrnn.infer import ModelFileError, read_model_file

    try:
        model = read_model_file(current.model_file, name=f"model {current.id}")
    except ModelFileError as exc:  # should not happen for our own files, but never show a traceback
        st.error(f"The trained model could not be read: {exc}")
        return
    facts = _run_facts(current, model)
    name = _unique_name(f"{facts['start'] or current.cfg.preset} on {facts['data']}")
    entry = ModelEntry(name, name, model, current.model_file, recipe.model_id("trained", current.model_file), facts)
    kept = runs()
    kept.append(entry)
    del kept[:-MAX_RUNS]
    st.session_state[TRAINED_MODEL] = entry
    # A visitor who trains and then opens Generate from the menu expects to hear what they just trained.
    set_kept(GENERATE_CHOICE, entry.label)


def _unique_name(base: str) -> str:
    taken = {entry.name for entry in runs()}
    number = 1
    while f"{base} #{number}" in taken:
        number += 1
    return f"{base} #{number}"


def _run_facts(current: TrainingJob, model: NumpyModel) -> dict:
    """What the list of runs shows, with the one held-out score: pitch cross-entropy over whole held-out
    files (the figure the verdict uses), the bigram's, and the starting model's when fine-tuned; and
    "evaluation", the scores behind the Train page's table (computed here once per run)."""
    snapshot = current.snapshot()
    facts = {
        "job": current.id,
        "preset": model.cfg.preset,
        "data": f"{len(current.corpus)} files",
        "epochs_run": len(snapshot["epochs"]),
        "best_epoch": current.best_epoch,
        "kept_start": bool(current.result_info.get("kept_start")),
        "when": time.strftime("%H:%M"),
        "start": current.init_name,
        "status": current.status,
        "score": None,
        "bigram": None,
        "before": None,
        "val_files": list(current.result_info.get("val_files") or model.info.get("val_files") or []),
    }
    held_out = set(facts["val_files"])
    if not held_out:
        return facts
    from musicrnn.evaluation.scores import TooFewNotes, baseline_cross_entropy, baseline_top1, model_scores

    training, validation = current.corpus.split_held_out(facts)
    try:
        scores = model_scores(model, validation, training)
        facts["score"] = scores["pitch_cross_entropy"]
        baselines = baseline_cross_entropy(training, validation)
        facts["bigram"] = baselines["bigram"]
        facts["evaluation"] = (scores, baselines, baseline_top1(training, validation))
        if current.init is not None:
            from musicrnn.infer import read_model_file

            facts["before"] = model_scores(read_model_file(current.init), validation, training)["pitch_cross_entropy"]
    except TooFewNotes:  # held-out files with fewer than two notes: no score to show
        pass
    return facts


def forget_run(entry: ModelEntry) -> None:
    st.session_state[RUNS] = [run for run in runs() if run is not entry]
    if st.session_state.get(TRAINED_MODEL) is entry:
        st.session_state[TRAINED_MODEL] = runs()[-1] if runs() else None


def rename_run(entry: ModelEntry, name: str) -> str | None:
    """Rename a run; returns why not (empty or taken), or None when done."""
    name = " ".join(name.split())
    if not name:
        return "A name cannot be empty."
    if (
        name != entry.name
        and any(run.name == name for run in runs())
        or name in (DEFAULT_MODEL_LABEL, UPLOADED_MODEL_LABEL)
    ):
        return f"“{name}” is already taken."
    for choice in MODEL_CHOICES:  # the pages that had chosen it keep it under its new name
        if kept_value(choice) == entry.label:
            set_kept(choice, name)
    entry.name = entry.label = name
    return None


def trained_model() -> ModelEntry | None:
    """The visitor's latest trained model."""
    return st.session_state.get(TRAINED_MODEL)


def uploaded_model() -> ModelEntry | None:
    return st.session_state.get(UPLOADED_MODEL)


def load_uploaded_model(name: str, data: bytes) -> ModelEntry:
    """Read an uploaded .keras file safely (numbers only, no code runs); raises ModelFileError."""
    current = uploaded_model()
    if current is not None and current.name == name and current.file == data:
        return current
    from musicrnn import recipe
    from musicrnn.infer import read_model_file

    entry = ModelEntry(
        UPLOADED_MODEL_LABEL, name, read_model_file(data, name=name), data, recipe.model_id("uploaded", data)
    )
    st.session_state[UPLOADED_MODEL] = entry
    return entry


def available_models() -> dict[str, ModelEntry]:
    """Models to choose from, by label: the default one (when present), the other bundled ones (read when used),
    this visitor's runs (newest first), then an uploaded one."""
    from musicrnn import bundled
    from musicrnn.infer import ModelFileError

    models: dict[str, ModelEntry] = {}
    try:
        models[DEFAULT_MODEL_LABEL] = ModelEntry(
            DEFAULT_MODEL_LABEL, bundled.DEFAULT_MODEL.name, default_model(), None, default_model_id()
        )
    except ModelFileError:
        pass  # a checkout without the bundled model still works with trained or uploaded ones
    from musicrnn.styles import UnknownModel, registry

    try:
        others = [m for m in registry().present() if m.name != registry().default]
    except UnknownModel:  # an unreadable list of bundled models: the default model and the visitor's own still work
        others = []
    for bundled_one in others:
        entry = BundledEntry(bundled_one)
        models[entry.label] = entry
    legacy = trained_model()  # set directly (tests, older sessions) rather than collected into runs
    for entry in [
        *reversed(runs()),
        *([legacy] if legacy is not None and legacy not in runs() else []),
        uploaded_model(),
    ]:
        if entry is not None:
            models[entry.label] = entry
    return models


def owner_alive():
    """A check the training job polls: False once this visitor's browser tab has gone (None outside a server)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)
