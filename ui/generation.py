"""The Generate page's pieces: run a generation with its recipe and musical report, links that reproduce
a piece, and the results panel."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from musicrnn.audio import Rendered
from musicrnn.bundled import PRIMER_NOTES
from musicrnn.dataset import Corpus
from musicrnn.errors import SettingsError
from musicrnn.evaluation.musical import (
    corpus_beat_position_histogram,
    corpus_metrics,
    corpus_pitch_class_histogram,
    corpus_time_histogram,
    piece_metrics,
)
from musicrnn.evaluation.novelty import CorpusIndex, longest_copied_run
from musicrnn.generate import Sampling, Stepper, c_major_chord, generate, parse_part_keys, parse_part_ranges, part_text
from musicrnn.guide import DEFAULT_CHORD_STRENGTH, NEEDS_BEATS
from musicrnn.harmony import chord_key_warnings, chord_spans, follow_chords
from musicrnn.notation import parse_chords
from musicrnn.parts import (
    DRUMS_PART,
    GM_PROGRAMS,
    VOICE_LINEUPS,
    VOICES,
    default_programs,
    gm_instruments,
    instrument_name,
    own_programs,
    part_name,
    trained_parts,
)
from musicrnn.plots.metrics import (
    beat_position_overlay,
    duration_overlay,
    metrics_table,
    novelty_chart,
    pitch_class_overlay,
)
from musicrnn.recipe import Recipe, RecipeError, generate_widgets, notes_hash, parts_text, piece_midi, primer_notes
from musicrnn.score import NEEDS_BEATS as SECONDS_NO_SCORE
from musicrnn.settings import GENERATE, Setting
from musicrnn.summaries import ending_words
from musicrnn.theory import FLAT_NAMES, NOTE_NAMES, SCALES

from . import state
from .errors import VISITOR_ERRORS
from .links import APPLIED_LINK, mark_made, read_link, show_link
from .primer import (
    PRIMER_STYLE,
    PRIMER_STYLE_MODEL,
    PRIMER_WIDGET,
    UPLOAD,
    Primer,
    piece_key,
    uploaded_notes,
    uploaded_primer_file,
)
from .widgets import model_download, setting_slider, show_piece

RESULT = "generated"


class Generated(NamedTuple):
    pieces: list[pd.DataFrame]
    audios: list[Rendered]
    program: int
    settings: Sampling
    recipe: Recipe
    report: dict  # musical metrics of the pieces and of the dataset, computed once per generation
    model_label: str
    primer: pd.DataFrame | None = None  # the notes the pieces continue (drawn before them on the rolls)
    programs: dict[int, int] | None = None  # parts models: each part's General MIDI program
    made_with: dict[str, str] | None = None  # the controls' settings they were made with (see made_with)


# ---- generating, with everything shown afterwards computed once ----------------------------------------------


def run(
    entry: state.ModelEntry,
    primer: Primer,
    settings: Sampling,
    program: int,
    programs: dict[int, int] | None = None,
    chords: str = "",
    chord_strength: float = DEFAULT_CHORD_STRENGTH,
) -> Generated:
    """Generate, render audio, write the recipe and the musical report; raises ValueError for bad settings
    (an unknown chord among them). A parts model's pieces play each part with its program in `programs`
    (default: the training data's own). With `chords`, each bar's pitches are steered to its chord."""
    used = primer.notes if primer.notes is not None else c_major_chord()
    chosen_programs = programs
    if chords:
        pieces = follow_chords(entry.model, parse_chords(chords), chord_strength, primer.notes, settings)
    else:
        pieces = generate(entry.model, primer.notes, settings)
    if pieces and "part" in pieces[0]:
        chosen = sorted({int(p) for notes in pieces for p in notes["part"]})
        programs = {**default_programs(chosen, own_programs(entry.model)), **(programs or {})}
    else:
        programs = None
    recipe = Recipe(
        model=entry.id,
        primer=primer.source,
        primer_notes=primer.count or PRIMER_NOTES,
        primer_hash=notes_hash(used),
        sampling=settings,
        program=program,
        parts=parts_text(programs),
        chords=chords,
        chord_strength=chord_strength if chords else 1.0,
    )
    audios = [state.render_piece(notes, program, programs=programs) for notes in pieces]
    inputs = made_with(entry, primer, settings, program, chosen_programs, chords, chord_strength)
    return Generated(
        pieces,
        audios,
        program,
        settings,
        recipe,
        musical_report(pieces, settings.n_notes),
        entry.label,
        used,
        programs,
        inputs,
    )


def made_with(
    entry: state.ModelEntry,
    primer: Primer,
    settings: Sampling,
    program: int,
    programs: dict[int, int] | None,
    chords: str,
    chord_strength: float,
) -> dict[str, str]:
    """The Generate page's settings as readable rows (the recipe's words): what pieces were made with, to
    compare with what the controls say now."""
    rows = Recipe(
        model=entry.id,
        primer=primer.source,
        primer_notes=primer.count or PRIMER_NOTES,
        sampling=settings,
        program=program,
        parts=parts_text(programs),
        chords=chords,
        chord_strength=chord_strength if chords else 1.0,
    ).describe()
    rows["model"] = entry.label
    return rows


@st.cache_data(show_spinner="Measuring your dataset's music…", max_entries=8)
def _corpus_figures(key: str, n_notes: int, _corpus: Corpus) -> dict:
    return {
        "metrics": corpus_metrics(_corpus, max_notes=n_notes),
        "pitch_class": corpus_pitch_class_histogram(_corpus),
        "duration": corpus_time_histogram(_corpus, "duration"),
        "beat_position": corpus_beat_position_histogram(_corpus),
    }


@st.cache_resource(show_spinner="Indexing your dataset to spot copied passages…", max_entries=4)
def _corpus_index(key: str, transposed: bool, _corpus: Corpus) -> CorpusIndex:
    return CorpusIndex(_corpus, intervals=transposed)


def musical_report(pieces: list[pd.DataFrame], n_notes: int) -> dict:
    """Each piece's metrics next to the dataset's (files cut to the same length), and the longest run each
    copies from the dataset, exactly and in any key."""
    dataset = state.dataset()
    if not dataset.ok_files:
        return {}
    key, corpus = state.dataset_corpus(dataset)
    exact, moved = _corpus_index(key, False, corpus), _corpus_index(key, True, corpus)
    return {
        **_corpus_figures(key, n_notes, corpus),
        "files": len(corpus),
        "pieces": [piece_metrics(notes) for notes in pieces],
        "copied": [longest_copied_run(notes, exact).to_dict() for notes in pieces],
        "copied_transposed": [longest_copied_run(notes, moved, transposed=True).to_dict() for notes in pieces],
    }


# ---- chords to follow ----------------------------------------------------------------------------------------


def choose_chords(model, key: str | None = None) -> tuple[str, float]:
    """The chord progression the pieces follow ("" = none) and how strongly (0-1), with a warning for each chord
    whose notes the piece's `key` leaves out. Only a beats model can follow bars: for a seconds model the box is
    shown disabled, with the reason."""
    chords, chord_strength = GENERATE["chords"], GENERATE["chord_strength"]
    if not model.cfg.beats:
        st.text_input(chords.label, "", disabled=True, key="generate_chords_off", help=chords.help)
        st.caption(f":material/info: Chords cannot be followed here: {NEEDS_BEATS}.")
        return "", chord_strength.default
    left, right = st.columns([3, 1])
    text = left.text_input(
        chords.label, key=state.keep(chords.key, chords.default), placeholder="C G Am F", help=chords.help
    ).strip()
    strength = setting_slider(right, chord_strength, disabled=not text)
    if text:
        try:
            chords = parse_chords(text)
        except SettingsError as exc:
            left.error(str(exc))
        else:
            for warning in chord_key_warnings(chords, key, strength):
                left.warning(warning, icon=":material/warning:")
    return text, float(strength)


# ---- voice leading -------------------------------------------------------------------------------------------

VOICE_LEADING = GENERATE["voice_leading"].label


def choose_voice_leading(model: Stepper, column) -> bool:
    """Whether the voice-leading rule is on (Sampling.voice_leading): a checkbox, on by default; for a model
    without parts it is shown disabled, with the reason."""
    return _rule_switch(
        column,
        GENERATE["voice_leading"],
        model.has_parts,
        "Voice leading needs a model that writes separate parts (voices); this one writes all its notes as one stream.",
        Sampling.voice_leading,
    )


def _rule_switch(column, setting: Setting, usable: bool, why_not: str, default: bool) -> bool:
    """A rule's checkbox (on by default), disabled with `why_not` said under it where the model cannot use
    it, in which case the rule's own `default` stands."""
    on = column.checkbox(
        setting.label, key=state.keep(setting.key, setting.default), disabled=not usable, help=setting.help
    )
    if not usable:
        column.caption(f":material/info: {why_not}")
        return default
    return bool(on)


TONIC_ENDING = GENERATE["tonic_ending"].label


def choose_tonic_ending(model: Stepper, column) -> bool:
    """Whether a piece may end only on the tonic chord (Sampling.tonic_ending): a checkbox, on by default; for
    a model that has not learned endings it is shown disabled, with the reason."""
    return _rule_switch(
        column,
        GENERATE["tonic_ending"],
        model.cfg.end_class,
        "This model has not learned where pieces end: each piece stops at the length you set.",
        Sampling.tonic_ending,
    )


# ---- parts: which instrument plays each part -------------------------------------------------------------------

OWN_LINEUP = "the training data's own"
AS_LINEUP = "as the line-up says"


def choose_part_programs(model, column) -> dict[int, int] | None:
    """For a parts model: a line-up for its voices and an instrument per part (None for other models).
    Voices default to a string quartet (the chorales' own program is a piano); other parts to the
    instrument the training data played them with."""
    parts = sorted(int(k) for k in trained_parts(model))
    if not parts:
        return None
    voices = [p for p in parts if part_name(p) in VOICES]
    lineups = [*VOICE_LINEUPS, OWN_LINEUP]
    lineup = (
        column.selectbox(
            "Voices played by",
            lineups,
            key=state.keep("generate_lineup", lineups[0]),
            help="The instruments of the soprano, alto, tenor and bass parts.",
        )
        if voices
        else OWN_LINEUP
    )
    own = own_programs(model)
    if lineup != OWN_LINEUP:  # the line-up decides the voices; other parts keep the data's own instrument
        own = {part: program for part, program in own.items() if part_name(part) not in VOICES}
    chosen = default_programs(parts, own, None if lineup == OWN_LINEUP else lineup)
    with st.expander(f"Instrument of each part ({len(parts)} parts)"):
        st.caption(
            "Each part is its own track in the MIDI file and in the audio. Drums always play a drum kit on channel 10."
        )
        for part in parts:
            if part == DRUMS_PART:
                continue
            options = [AS_LINEUP, *gm_instruments()]
            picked = st.selectbox(part_name(part), options, key=state.keep(f"generate_part_program_{part}", AS_LINEUP))
            if picked != AS_LINEUP:
                chosen[part] = gm_instruments()[picked]
        st.caption(
            " · ".join(
                f"{part_name(p)}: {instrument_name(chosen[p]) if p != DRUMS_PART else 'drum kit'}" for p in parts
            )
        )
    return chosen


# ---- parts: a range and a key per part -------------------------------------------------------------------------

PIECE_KEY = "the piece's key"
PART_KEY_OPTIONS = [PIECE_KEY] + [f"{tonic} {scale}" for tonic in NOTE_NAMES for scale in SCALES]


def choose_part_steering(model) -> tuple[str, str]:
    """For a parts model: a pitch range and a key for each part it knows, as the texts of
    Sampling.part_pitch_ranges and part_keys (only what differs from the training data's range and the
    piece's key); ("", "") for other models."""
    parts = {int(k): facts for k, facts in trained_parts(model).items() if int(k) != DRUMS_PART}
    if not parts:
        return "", ""
    ranges, keys = {}, {}
    with st.expander("Per part"):
        st.caption(
            "Each part keeps to its own range (at first the training data's) and, if you choose one, its own "
            "key instead of the piece's. A range you change here replaces the pitch range above for that part."
        )
        for part, facts in sorted(parts.items()):
            corpus = corpus_range(facts)
            left, right = st.columns([3, 2])
            low, high = left.slider(
                f"{part_name(part)}: range", 0, 127, key=state.keep(part_range_key(part, corpus), corpus)
            )
            key = right.selectbox(
                f"{part_name(part)}: key", PART_KEY_OPTIONS, key=state.keep(f"generate_part_key_{part}", PIECE_KEY)
            )
            if (low, high) != corpus:
                ranges[part] = (int(low), int(high))
            if key != PIECE_KEY:
                keys[part] = key.replace(" ", ":", 1)  # "A harmonic minor" -> "A:harmonic minor"
    return part_text(ranges), part_text(keys)


def part_range_key(part: int, corpus: tuple[int, int]) -> str:
    """A part's range slider, one per training range: a model whose data played the part elsewhere starts
    from its own range, not from a range set for another model."""
    return f"generate_part_range_{part}_{corpus[0]}_{corpus[1]}"


def corpus_range(facts: dict) -> tuple[int, int]:
    """The lowest and highest pitch the training data played in a part."""
    return int(facts["min"]), int(facts["max"])


def _set_part_widgets(settings: Sampling, model, programs: dict[int, int] | None = None) -> None:
    """The Per part widgets as a recipe's settings say, and each part's instrument as its `programs` do;
    parts it does not name back to their defaults."""
    for part, program in (programs or {}).items():
        if part != DRUMS_PART and program in GM_PROGRAMS:
            state.set_kept(f"generate_part_program_{part}", instrument_name(program))
    ranges, keys = parse_part_ranges(settings.part_pitch_ranges), parse_part_keys(settings.part_keys)
    for key, facts in trained_parts(model).items():
        part = int(key)
        state.set_kept(part_range_key(part, corpus_range(facts)), ranges.get(part, corpus_range(facts)))
        state.set_kept(f"generate_part_key_{part}", _key_option(keys[part]) if part in keys else PIECE_KEY)


def _key_option(key: str) -> str:
    """'Bb:minor' -> 'A# minor', as the key boxes list it."""
    tonic, _, scale = key.partition(":")
    tonic = tonic.strip()[:1].upper() + tonic.strip()[1:]
    tonic = NOTE_NAMES[FLAT_NAMES[tonic]] if tonic in FLAT_NAMES else tonic
    option = f"{tonic} {(scale or 'major').strip().lower()}"
    return option if option in PART_KEY_OPTIONS else PIECE_KEY


# ---- links ----------------------------------------------------------------------------------------------------


def apply_link(models: dict[str, state.ModelEntry]) -> None:
    """When the page is opened with a recipe in its URL, set the widgets to it and generate that piece (once).

    Runs before the page draws its widgets (their values can only be set then). The piece is generated from
    the recipe itself, not from widget values, so it is note for note the linked one."""
    found = read_link(models, "generate")
    if found is None:
        return
    recipe, label = found
    try:
        primer = _link_primer(recipe)
    except RecipeError as exc:
        st.warning(f"This link's piece cannot be made here: {exc}", icon=":material/link_off:")
        return
    _set_widgets(recipe, label)
    _set_part_widgets(recipe.sampling, models[label].model, recipe.programs)
    try:
        with st.spinner("Making the linked piece…"):
            st.session_state[RESULT] = run(
                models[label],
                primer,
                recipe.sampling,
                recipe.program,
                recipe.programs,
                recipe.chords,
                recipe.chord_strength,
            )
    except VISITOR_ERRORS as exc:
        st.error(f"This link cannot be used: {exc}")
    mark_made()


def _link_primer(recipe: Recipe) -> Primer:
    kind, name = recipe.primer_kind, recipe.primer_name
    if kind in ("bundled", "none"):
        return Primer(primer_notes(recipe), recipe.primer, recipe.primer_notes if kind != "none" else 0)
    if kind == "dataset":
        item = state.dataset().file(name)
        if item is None:
            raise RecipeError(f"it starts from {name}, which is not in your dataset (add it on the Dataset page)")
        return Primer(primer_notes(recipe, item.notes), recipe.primer, recipe.primer_notes)
    upload = uploaded_primer_file()
    if upload is None or upload[0] != name:
        raise RecipeError(f"it starts from an uploaded file, {name}: choose “{UPLOAD}” below and upload it")
    return Primer(primer_notes(recipe, uploaded_notes(*upload)), recipe.primer, recipe.primer_notes)


def _set_widgets(recipe: Recipe, model_label: str) -> None:
    state.set_kept(state.GENERATE_CHOICE, model_label)
    state.set_kept("generate_primer_source", PRIMER_WIDGET[recipe.primer_kind])
    if recipe.primer_kind == "bundled":
        set_bundled_primer(recipe.primer_name, model_label)
    elif recipe.primer_kind == "dataset":
        state.set_kept("generate_primer_file", recipe.primer_name)
    for key, value in generate_widgets(recipe).items():
        state.set_kept(key, value)


def set_bundled_primer(name: str, model_label: str) -> None:
    """Set the primer widgets to a bundled piece ("bwv269.mid", "folk/tune.mid") for the model a link names."""
    from musicrnn.styles import registry

    models = registry()
    style_name, _, file = name.rpartition("/")
    style = models.get(style_name or models.default)
    st.session_state[PRIMER_STYLE_MODEL] = model_label  # the link's style stays, whatever the model's own is
    state.set_kept(PRIMER_STYLE, style.title)
    state.set_kept(piece_key(style), file)


def forget_link() -> None:
    """A new piece: the URL no longer describes what is shown."""
    st.query_params.clear()


# ---- results --------------------------------------------------------------------------------------------------


def show_results(result: Generated, models: dict[str, state.ModelEntry]) -> None:
    settings, recipe = result.settings, result.recipe
    tempo = result.pieces[0]["bpm"].iloc[0] if len(result.pieces[0]) else 0
    st.caption(
        f"{len(result.pieces)} variation(s) · seed {settings.seed} · at most {settings.n_notes} notes · "
        f"temperature {settings.temperature:g} · rhythm temperature {settings.rhythm_temperature:g} · {tempo:g} BPM"
    )
    entry = models.get(result.model_label)
    no_score = SECONDS_NO_SCORE if entry is not None and not entry.model.cfg.beats else None
    for index, (notes, audio) in enumerate(zip(result.pieces, result.audios)):
        st.subheader(f"Variation {index + 1}")
        show_piece(
            notes,
            audio,
            key=f"variation-{index + 1}-seed-{settings.seed}",
            program=result.program,
            midi=piece_midi(notes, recipe.for_variation(index), result.programs),
            primer=result.primer,
            chords=chord_spans(notes, parse_chords(recipe.chords)) if recipe.chords else None,
            no_score=no_score,
            under_player=ending_words(notes, settings.n_notes).capitalize() + ".",
        )
        if result.programs and "part" in notes:
            st.caption(
                " · ".join(
                    f"{part_name(p)}: {(notes['part'] == p).sum()} notes, "
                    f"{instrument_name(result.programs[p]) if result.programs[p] in GM_PROGRAMS else 'drums'}"
                    for p in sorted(notes["part"].unique())
                )
            )
    show_report(result)
    show_recipe(result, models.get(result.model_label))


def show_report(result: Generated) -> None:
    report = result.report
    if not report:
        return
    names = [f"variation {i + 1}" for i in range(len(result.pieces))]
    longest = max(run["length"] for run in report["copied"])
    st.caption(f"Longest passage copied note for note from your dataset: {longest} notes (details below).")
    with st.expander("Musical metrics next to your dataset"):
        st.caption(
            f"Dataset values are the mean over its {report['files']} files, each cut to {result.settings.n_notes} notes."
        )
        st.dataframe(
            readable_metrics(metrics_table(report["pieces"], report["metrics"], names)),
            key="generate_metrics",
            hide_index=True,
            column_config={"metric": st.column_config.TextColumn(width="large")},
        )
        st.plotly_chart(pitch_class_overlay(result.pieces, report["pitch_class"], names), key="generate_pitch_classes")
        st.plotly_chart(duration_overlay(result.pieces, report["duration"], names), key="generate_durations")
        st.plotly_chart(
            beat_position_overlay(result.pieces, report["beat_position"], names), key="generate_beat_positions"
        )
        st.plotly_chart(novelty_chart(report["copied"], report["copied_transposed"], names), key="generate_novelty")
        st.caption(
            "A model that only memorised copies long passages; real music shares short runs (scales, cadences) with other pieces too."
        )


def readable_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """The metrics as text: whole numbers without decimals, others to two places; the metric names a column
    (an index column is drawn narrow and cuts them off)."""
    shown = table.map(lambda value: f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}")
    return shown.reset_index()


def show_recipe(result: Generated, entry: state.ModelEntry | None) -> None:
    recipe = result.recipe
    st.subheader("Recipe")
    st.caption(
        "Everything needed to make these pieces again, note for note. Each MIDI download carries it too "
        "(`python -m musicrnn generate --recipe piece.mid --out again.mid`)."
    )
    described = recipe.describe()
    if recipe.sampling.key:  # "G major", as a musician writes it, not the recipe's "G:major"
        described["key"] = recipe.sampling.key.replace(":", " ")
    rows = [f"**{name}**: {value}" for name, value in described.items()]
    half = (len(rows) + 1) // 2
    first, second = st.columns(2)
    first.markdown("  \n".join(rows[:half]))
    second.markdown("  \n".join(rows[half:]))
    show_link(recipe)
    if st.button(
        "Put the link in the address bar",
        icon=":material/link:",
        help="Then the browser's own Share or bookmark keeps it.",
    ):
        st.query_params.from_dict(recipe.to_params())
        st.session_state[APPLIED_LINK] = recipe.to_params()  # already shown here: do not make it again
    if recipe.model_kind in ("trained", "uploaded"):
        st.warning(
            "This link needs the model file: it was made with a model that is not bundled with the app. "
            "Whoever opens it must upload this .keras file on the Generate page — send it along.",
            icon=":material/warning:",
        )
        if entry is not None and entry.file is not None:
            model_download(entry, "generate_model_download")
    elif recipe.primer_kind in ("dataset", "uploaded"):
        st.info(f"The piece starts from your file {recipe.primer_name}: whoever opens the link needs that file too.")
    else:
        st.success("Anyone opening this link gets the same notes and sound.", icon=":material/check:")
