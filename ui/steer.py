"""Glue for the Steer page: inputs read into core types, results kept in session state, pieces shown."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import numpy as np
import pandas as pd
import streamlit as st

from musicrnn.bundled import chorale_files, chorale_harmony
from musicrnn.errors import SettingsError
from musicrnn.evaluation.musical import harmony_report, harmony_sentences
from musicrnn.generate import c_major_chord
from musicrnn.guide import ChordGuide
from musicrnn.harmony import chord_key_warnings, chord_spans, follow_chords, harmonize, harmony_key_words, harmony_midi
from musicrnn.midi import midi_bytes, notes_to_midi
from musicrnn.midi_load import midi_to_notes
from musicrnn.midi_scan import MidiError
from musicrnn.notation import MELODY_HELP, Melody, melody_text, metre_words, parse_chords, parse_melody, top_voice
from musicrnn.plots.notes import add_chords, mark_span, piano_roll
from musicrnn.recipe import (
    Recipe,
    RecipeError,
    make_pieces,
    make_rewrite,
    notes_hash,
    piece_midi,
    source_piece,
    steer_widgets,
)
from musicrnn.rewrite import (
    SPAN_UNITS,
    Candidate,
    beats_to_unit,
    piece_metre,
    rewrite,
    span_excerpt,
    span_to_beats,
)
from musicrnn.settings import ANY_KEY, harmony_key_choice
from musicrnn.summaries import ending_words
from musicrnn.theory import NOTE_NAMES

from . import state
from .errors import VISITOR_ERRORS
from .keyboard import keyboard
from .links import mark_made, read_link, show_link
from .primer import bundled_notes
from .score import musicxml_button, piece_views, show_score
from .widgets import made_with_notice, play, show_piece

if TYPE_CHECKING:
    from musicrnn.audio import Rendered

TYPED = "Typed or played notes"
HARMONIES, CHORDS, REWRITE = "steer_harmonies", "steer_chord_pieces", "steer_rewrite"
CHORD_INPUTS = "steer_chord_inputs"
CHORD_PIECE = "The piece from Follow chords"
TABS = ("Harmonise a melody", "Follow chords", "Rewrite a passage")
REWRITE_TAB = TABS[2]
FIRST_TAB = "steer_first_tab"  # the tab the page opens on: the rewrite tab once a rewrite's link was opened
HARMONY_RECIPE = "steer_harmony_recipe"  # the harmonisations' recipe (None: their melody has no text form)
HARMONY_INPUTS = "steer_harmony_inputs"  # the controls they were made with (harmony_inputs)
HARMONY_KEY = "steer_harmony_key"  # the key they were written in, in words
CHORD_KEYS = [ANY_KEY] + [f"{tonic} {mode}" for tonic in NOTE_NAMES for mode in ("major", "minor")]
REPORT_NAMES = {
    "voices_per_onset": "voices per onset",
    "chord_notes_in_key": "chord notes in the key",
    "parallel_fifths_per_100": "parallel fifths (outer voices, per 100 onsets)",
    "parallel_octaves_per_100": "parallel octaves (outer voices, per 100 onsets)",
}


def boost(strength: float) -> float:
    import math

    return math.exp(strength * ChordGuide.MAX_BOOST)


Origin = dict[str, Any] | str  # a piece's origin as Recipe fields (a source recipe, a bundled file), or why a link
# cannot make it again (text)
NO_RECIPE = "the piece has no recipe"


@dataclass
class RewriteStore:
    """What the Rewrite tab keeps in st.session_state[REWRITE] across reruns (made by start_rewrite only)."""

    source: pd.DataFrame | None = None  # the piece picked to rewrite (None: a linked piece, or none picked yet)
    origin: Origin = NO_RECIPE  # where `source` comes from
    name: str | None = None  # what `source` is called ("the linked piece" for a link's)
    label: str = ""  # the piece now in words: its name and how many rewrites are kept
    history: list[pd.DataFrame] = field(default_factory=list)  # the kept rewrites, the piece now last
    origins: list[Origin] = field(default_factory=list)  # each kept rewrite's origin, as `history`
    candidates: list[tuple[Candidate, Rendered]] = field(default_factory=list)  # best fit first, each span's audio
    base: pd.DataFrame | None = None  # the piece the candidates rewrite
    recipe: Recipe | None = None  # the candidates' recipe (None: no link can make them, `no_link` says why)
    no_link: str = ""  # why no link can make the candidates again ("" while they have a recipe)
    span: tuple[float, float] = (0.0, 0.0)  # the candidates' span, in beats
    inputs: dict[str, str] | None = None  # the controls they were made with (rewrite_inputs)


def start_rewrite(**fields: Any) -> RewriteStore:
    """A fresh rewrite store with these `fields`, kept in session state (replacing any other)."""
    store = st.session_state[REWRITE] = RewriteStore(**fields)
    return store


def rewrite_store() -> RewriteStore:
    """The Rewrite tab's store (an empty one the first time)."""
    store = st.session_state.get(REWRITE)
    return store if store is not None else start_rewrite()


def melody_input(source: str) -> Melody | None:
    """The melody the visitor chose (None: no file uploaded yet); raises SettingsError saying what is wrong with
    it."""
    if source == TYPED:
        text_key = state.keep("steer_melody", "C4/1 D4/1 E4/1 F4/1 G4/2 E4/1 D4/1 C4/2")
        text = st.text_area("Melody", key=text_key, help=MELODY_HELP)
        st.caption(MELODY_HELP + " Or play it: each key adds a note of the chosen length to the text above.")
        keyboard(text_key, key="steer_keyboard")
        try:
            melody = parse_melody(text)
        except SettingsError as exc:
            raise SettingsError(f"the melody: {exc}") from exc
        st.caption(metre_words(melody))
        return melody
    if source == "A bundled chorale's top voice":
        names = [path.name for path in chorale_files()]
        name = st.selectbox("Chorale", names, key=state.keep("steer_chorale", names[0]))
        melody = top_voice(bundled_notes(name))
    elif source == "A dataset file's top voice":
        files = dataset_files()
        name = st.selectbox("Dataset file", list(files), key="steer_dataset_melody")
        melody = top_voice(files[name])
    else:
        upload = st.file_uploader(
            "One-track MIDI file (its top voice is the melody)", type=["mid", "midi"], key="steer_melody_file"
        )
        if upload is None:
            return None
        try:
            melody = top_voice(midi_to_notes(upload.getvalue(), name=upload.name))
        except (MidiError, SettingsError) as exc:
            raise SettingsError(f"the melody file: {exc}") from exc
    text = melody_text(melody)
    shown = text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0] + " …"  # whole notes, not half a token
    st.caption(f"{len(melody)} notes: {shown}")
    st.caption(metre_words(melody))
    return melody


def harmony_inputs(
    entry: state.ModelEntry, melody: Melody, settings, melody_instrument: str, harmony_instrument: str
) -> dict[str, str]:
    """The Harmonise controls as readable rows: what harmonisations are made with (see made_with_notice)."""
    return {
        "model": entry.label,
        "melody": melody_text(melody),
        "seed": str(settings.seed),
        "temperature": f"{settings.temperature:g}",
        "harmonisations": str(settings.variations),
        "chromatic colour": "on" if settings.chromatic else "off",
        "key": harmony_key_choice(settings.key),
        "melody instrument": melody_instrument,
        "harmony instrument": harmony_instrument,
    }


def run_harmony(
    entry: state.ModelEntry, melody: Melody, settings, melody_program: int, harmony_program: int, inputs: dict
) -> str | None:
    """Harmonise and keep the results (with the `inputs` they were made with); the problem in words, if any."""
    text = melody_text(melody)
    linked = _read_back(text, melody)
    try:  # the melody as its link reads it, so that opening the link makes these very notes
        pieces = harmonize(entry.model, linked if linked is not None else melody, settings)
    except VISITOR_ERRORS as exc:
        return f"Cannot harmonise: {exc}"
    recipe = Recipe(
        model=entry.id,
        kind="harmonize",
        melody=text,
        melody_program=melody_program,
        program=harmony_program,
        sampling=settings,
    )
    _keep_harmonies(pieces, recipe, harmony_key_words(melody, settings), linkable=linked is not None, inputs=inputs)
    return None


def _read_back(text: str, melody: Melody) -> Melody | None:
    """The melody's text (what a link carries) read back, when it is the same melody (None: it is not)."""
    try:
        again = parse_melody(text)
    except SettingsError:  # e.g. a rest longer than a written length may be
        return None
    same = (
        len(again) == len(melody)
        and all(np.allclose(getattr(again, f), getattr(melody, f), atol=1e-6) for f in ("pitch", "onset", "duration"))
        and tuple(again.metre) == tuple(melody.metre)
        and abs(again.start - melody.start) < 1e-6
    )
    return again if same else None


def _keep_harmonies(
    pieces: list[pd.DataFrame], recipe: Recipe, key_words: str, linkable: bool = True, inputs: dict | None = None
) -> None:
    midis = [harmony_midi(p, recipe.melody_program, recipe.program) for p in pieces]
    st.session_state[HARMONIES] = [(p, midi_bytes(m), state.render_piece(m)) for p, m in zip(pieces, midis)]
    st.session_state[HARMONY_RECIPE] = recipe if linkable else None
    st.session_state[HARMONY_KEY] = key_words
    st.session_state[HARMONY_INPUTS] = inputs


def show_harmonies(now: dict[str, str] | None) -> None:
    """The harmonisations, each with a roll, a player and its MIDI; how they sound next to the chorales in
    sentences (the table under Details); their link. Marked when the controls no longer say what made them."""
    results = st.session_state.get(HARMONIES)
    if not results:
        return
    made_with_notice(st.session_state.get(HARMONY_INPUTS), now, "The harmonisations below", "Harmonise")
    if st.session_state.get(HARMONY_KEY):
        st.markdown(st.session_state[HARMONY_KEY])
    columns = st.columns(min(len(results), 2))
    for index, (notes, midi, audio) in enumerate(results):
        with columns[index % len(columns)]:
            st.subheader(f"Harmonisation {index + 1}")
            piece_views(piano_roll(notes), notes, f"steer_h{index}", narrow=len(columns) > 1)
            play(audio)
            left, right = st.columns(2)
            left.download_button(
                "Download MIDI",
                midi,
                file_name=f"harmony-{index + 1}.mid",
                mime="audio/midi",
                key=f"steer_h{index}_mid",
                on_click="ignore",
                width="stretch",
            )
            musicxml_button(notes, f"steer_h{index}", where=right, file_name=f"harmony-{index + 1}.musicxml")
    corpus = chorale_harmony()
    rows = {f"harmonisation {i + 1}": harmony_report(notes) for i, (notes, _, _) in enumerate(results)}
    st.markdown("**Next to Bach's chorales**")
    for index, report in enumerate(rows.values(), start=1):
        st.markdown(f"*Harmonisation {index}:* " + " ".join(harmony_sentences(report, corpus)))
    st.caption(
        "Bach's figures are the means over the 350 bundled chorales. Parallel fifths and octaves are counted "
        "between the lowest and the highest voice, from one chord to the next, both moving the same way."
    )
    with st.expander("Details: the same figures as a table"):
        rows["bundled chorales (mean)"] = corpus
        st.dataframe(pd.DataFrame(rows).rename(index=REPORT_NAMES).round(3))
    recipe = st.session_state.get(HARMONY_RECIPE)
    if recipe is None:
        st.info("This melody cannot be written as notes text, so these harmonisations have no link.")
    else:
        show_link(recipe, "these harmonisations")
        _needs_model_file(recipe)


def chord_inputs(entry: state.ModelEntry, text: str, strength: float, settings) -> dict[str, str]:
    """The Follow chords controls as readable rows: what a chord piece is made with."""
    return {
        "model": entry.label,
        "chords": text.strip(),
        "strength": f"{strength:g}",
        "key": (settings.key or ANY_KEY).replace(":", " "),
        "notes": str(settings.n_notes),
        "seed": str(settings.seed),
        "temperature": f"{settings.temperature:g}",
    }


def run_chords(entry: state.ModelEntry, text: str, strength: float, settings, inputs: dict) -> str | None:
    """Make and keep the chord piece (with the `inputs` it was made with); the problem in words, if any."""
    try:
        chords = parse_chords(text)
        piece = follow_chords(entry.model, chords, strength, None, settings)[0]
    except VISITOR_ERRORS as exc:
        return str(exc)
    recipe = Recipe(
        model=entry.id,
        primer_hash=notes_hash(c_major_chord()),
        sampling=settings,
        chords=text,
        chord_strength=strength,
        variation=0,
    )  # what Generate makes from it: this very piece first
    st.session_state[CHORDS] = (piece, chords, state.render_piece(piece, 0), recipe)
    st.session_state[CHORD_INPUTS] = inputs
    return None


def choose_chord_key(text: str, strength: float) -> str | None:
    """The key a chord piece keeps to (None: any), with a warning for each chord whose notes it leaves out."""
    choice = st.selectbox(
        "Key",
        CHORD_KEYS,
        key=state.keep("steer_chord_key", ANY_KEY),
        help="Only the notes of this key are played (passing notes included); “any key”: every note.",
    )
    key = None if choice == ANY_KEY else choice.replace(" ", ":")
    try:
        chords = parse_chords(text)
    except SettingsError:
        return key  # the unknown chord is named when the piece is asked for
    for warning in chord_key_warnings(chords, key, strength):
        st.warning(warning, icon=":material/warning:")
    return key


def show_chords(now: dict[str, str] | None) -> None:
    result = st.session_state.get(CHORDS)
    if not result:
        return
    made_with_notice(st.session_state.get(CHORD_INPUTS), now, "The piece below", "Generate with these chords")
    piece, chords, audio, recipe = result
    spans = chord_spans(piece, chords)
    figure = add_chords(piano_roll(piece), spans, float(piece["bpm"].iloc[0]))
    piece_views(figure, piece, "steer_chords", chords=spans)
    play(audio)
    st.caption(ending_words(piece, recipe.sampling.n_notes).capitalize() + ".")
    left, right = st.columns(2)
    left.download_button(
        "Download MIDI",
        midi_bytes(notes_to_midi(piece)),
        file_name="chords.mid",
        mime="audio/midi",
        key="steer_chords_mid",
        on_click="ignore",
        width="stretch",
    )
    musicxml_button(piece, "steer_chords", chords=spans, where=right, file_name="chords.musicxml")


def dataset_files() -> dict[str, pd.DataFrame]:
    """The visitor's loaded dataset files by name (empty without a dataset)."""
    dataset = st.session_state.get(state.DATASET)
    return {item.name: item.notes for item in dataset.ok_files} if dataset is not None else {}


def melody_sources() -> list[str]:
    extra = ["A dataset file's top voice"] if dataset_files() else []
    return [TYPED, "A bundled chorale's top voice", *extra, "A one-track MIDI file"]


def rewrite_source() -> pd.DataFrame | None:
    """The piece being rewritten: the kept result of earlier rewrites, else the piece the visitor picks."""
    store = rewrite_store()
    options = (
        ["A bundled chorale"]
        + (["A dataset file"] if dataset_files() else [])
        + ([CHORD_PIECE] if st.session_state.get(CHORDS) else [])
    )
    choice = st.radio("Piece", options, key="steer_rewrite_source", horizontal=True)
    if choice == CHORD_PIECE:
        start, name = st.session_state[CHORDS][0], "the piece from Follow chords"
        origin: Origin = {"source": st.session_state[CHORDS][3].as_source()}
    elif choice == "A dataset file":
        files = dataset_files()
        name = st.selectbox("Dataset file to rewrite", list(files), key="steer_rewrite_dataset")
        start, origin = (
            files[name],
            (
                f"{name} is a file of your dataset, which a fresh app does not have: a link "
                "cannot make this rewrite again (download the MIDI to keep it)"
            ),
        )
    else:
        names = [path.name for path in chorale_files()]
        name = st.selectbox("Chorale to rewrite", names, key="steer_rewrite_chorale")
        start = bundled_notes(name)
        origin = {"primer": f"bundled:{name}", "primer_notes": len(start), "primer_hash": notes_hash(start)}
    if store.source is not start and not store.history:
        store.source, store.origin, store.name = start, origin, name
    kept = len(store.history)
    called = store.name if store.name is not None else name
    store.label = f"{called}, {kept} rewrite{'s' if kept != 1 else ''} kept" if kept else name
    return store.history[-1] if store.history else start


def show_piece_now(piece: pd.DataFrame, span: tuple[float, float]) -> None:
    """The piece as it stands, with the span to rewrite shaded, played and downloadable as a generated piece
    is; a kept rewrite also gets its link (or why it has none)."""
    store = rewrite_store()
    try:
        recipe, no_link = kept_recipe(), None
    except SettingsError as exc:
        recipe, no_link = None, str(exc)
    st.subheader("The piece now")
    st.caption(store.label)
    show_piece(
        piece,
        state.render_audio(piece, 0),
        key="rewritten-piece" if store.history else "piece",
        midi=piece_midi(piece, recipe) if recipe is not None else None,
        marked=(span[0], span[1], "to rewrite"),
    )
    if recipe is not None:
        show_link(recipe, "this piece")
        _needs_model_file(recipe)
    elif no_link is not None:
        st.info(f"No link for this piece: {no_link}.", icon=":material/link_off:")


def kept_recipe() -> Recipe | None:
    """The recipe that makes the kept rewrite now on the Rewrite tab (a rewrite recipe with `keep`), or None when
    the piece is not a kept rewrite (a chorale, a file, a chord piece); raises SettingsError saying why a link
    cannot make it."""
    store = rewrite_store()
    if not store.history:
        return None
    origin = store.origins[-1]
    if not isinstance(origin, dict):
        raise SettingsError(origin)
    if "source" not in origin:
        return None
    recipe = Recipe.from_params(parse_qs(origin["source"], keep_blank_values=True))
    return recipe if recipe.kind == "rewrite" and recipe.keep is not None else None


SPAN_STEP = {"beats": 0.5, "bars": 1.0, "seconds": 0.25}


def choose_span(piece: pd.DataFrame) -> tuple[float, float] | None:
    """The span to rewrite, chosen in beats, bars or seconds, as beats from the piece's first note; None (with
    a message) for a piece whose notes all start together, which has no passage to rewrite."""
    if float(piece["beat"].max()) <= 0:
        st.info("Every note of this piece starts at once (one chord): there is no passage to rewrite.")
        return None
    metre = piece_metre(piece)
    unit = st.radio(
        "Span in",
        SPAN_UNITS,
        key=state.keep("steer_span_unit", "beats"),
        horizontal=True,
        help="Bars count from the bar line of the first note (0); beats and seconds from the first note.",
    )
    step = SPAN_STEP[unit]
    last_beat = float(piece["beat"].max())
    last = float(np.ceil(beats_to_unit(last_beat, unit, **metre) / step) * step)
    default = tuple(
        float(np.clip(np.round(beats_to_unit(b, unit, **metre) / step) * step, 0.0, last))
        for b in (min(8.0, last_beat / 2), min(12.0, last_beat))
    )
    chosen = st.slider(f"Span to rewrite ({unit})", 0.0, last, step=step, key=f"steer_span_{unit}", value=default)
    span = span_to_beats(chosen, unit, **metre)
    if unit != "beats":
        st.caption(f"= beats {span[0]:g}–{span[1]:g} ({metre['bar_beats']:g} beats a bar, {metre['bpm']:g} BPM)")
    return span


def rewrite_inputs(entry: state.ModelEntry, span: tuple[float, float], k: int, settings) -> dict[str, str]:
    """The Rewrite controls as readable rows: what candidates are made with (see made_with_notice)."""
    store = rewrite_store()
    return {
        "model": entry.label,
        "piece": store.label,
        "span": f"beats {span[0]:g}–{span[1]:g}",
        "candidates": str(k),
        "seed": str(settings.seed),
        "temperature": f"{settings.temperature:g}",
    }


def run_rewrite(
    entry: state.ModelEntry, piece: pd.DataFrame, span: tuple[float, float], k: int, settings, inputs: dict
) -> str | None:
    """Make and keep the K candidates (with the `inputs` they were made with); the problem in words, if any."""
    try:
        found = rewrite(entry.model, piece, span[0], span[1], candidates=k, settings=settings)
    except VISITOR_ERRORS as exc:
        return str(exc)
    try:
        recipe, no_link = rewrite_recipe(entry, span, k, settings), ""
    except SettingsError as exc:
        recipe, no_link = None, str(exc)
    _keep_candidates(found, piece, recipe, span, inputs, no_link=no_link)
    return None


def rewrite_recipe(entry: state.ModelEntry, span: tuple[float, float], k: int, settings) -> Recipe:
    """The candidates' recipe; raises SettingsError saying why a link cannot make them again: the piece is a
    dataset file's, was made with another model (the Steer model changed since), or has been rewritten too many
    times for a link."""
    origin = piece_origin()
    # repr: the span's beats round-trip exactly
    recipe = Recipe(
        model=entry.id, kind="rewrite", span=f"{span[0]!r}-{span[1]!r}", candidates=k, sampling=settings, **origin
    )
    try:
        Recipe.from_params(recipe.to_params())  # what opening the link will do
    except RecipeError as exc:
        raise SettingsError(f"a link could not make them again ({exc})") from exc
    return recipe


def context_beats(piece: pd.DataFrame) -> float:
    """How much of the piece a candidate is heard with, either side of its span: a bar (at least two beats)."""
    return max(2.0, piece_metre(piece)["bar_beats"])


def _keep_candidates(
    found: list[Candidate],
    piece: pd.DataFrame,
    recipe: Recipe | None,
    span: tuple[float, float],
    inputs: dict[str, str] | None = None,
    no_link: str = "",
) -> None:
    """Every candidate asked for, each with the audio of its span and a little either side (the whole piece is
    played once one is kept); their `recipe`, or (None) why no link can make them again."""
    store = rewrite_store()
    context = context_beats(piece)
    store.candidates = [(c, state.render_piece(span_excerpt(c.notes, span[0], span[1], context), 0)) for c in found]
    store.base, store.recipe, store.no_link, store.span, store.inputs = piece, recipe, no_link, span, inputs


def piece_origin() -> dict[str, Any]:
    """Where the piece now on the Rewrite tab comes from, as Recipe fields (a source recipe, or a bundled
    file); raises SettingsError saying why a link cannot make it again."""
    store = rewrite_store()
    origin = store.origins[-1] if store.history else store.origin
    if not isinstance(origin, dict):
        raise SettingsError(origin)
    return origin


ORDINALS = ("", "", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def fit_words(rank: int, count: int) -> str:
    """How well a ranked candidate leads back into the rest of the piece, in words."""
    if rank == 1:
        return "fits the rest of the piece best"
    if rank == count:
        return "fits the rest of the piece least well"
    return f"the {ORDINALS[rank] if rank < len(ORDINALS) else f'{rank}th'} best fit"


def show_rewrite(now: dict[str, str] | None) -> None:
    """Every candidate: the span with a bar either side as a roll and a player, how well it leads back into
    the rest of the piece in words, and a button that keeps it; the ranking figures under Details."""
    store = rewrite_store()
    candidates = store.candidates
    if not candidates:
        return
    made_with_notice(store.inputs, now, "The candidates below", "Rewrite")
    start, end = store.span
    st.subheader(f"{len(candidates)} candidate{'s' if len(candidates) != 1 else ''}, best fit first")
    st.caption(
        f"Each plays the rewritten beats {start:g}–{end:g} (shaded) with a bar before and after. Keep one to hear "
        "and download the whole piece with it."
    )
    columns = st.columns(2)
    context = context_beats(store.base)
    for rank, (candidate, audio) in enumerate(candidates, start=1):
        with columns[(rank - 1) % 2]:
            st.markdown(f"**Candidate {rank}** · {fit_words(rank, len(candidates))} · {candidate.new_notes} new notes")
            excerpt = span_excerpt(candidate.notes, start, end, context)
            if len(excerpt):
                figure = mark_span(piano_roll(excerpt, height=220), excerpt, start, end)
                st.plotly_chart(figure, key=f"steer_candidate_{rank}_roll", width="stretch")
            play(audio)
            score = st.expander(f"Score of candidate {rank}", key=f"steer_c{rank}_score", on_change="rerun")
            if score.open:  # engraved only when opened: the whole piece, the rewritten span marked
                with score:
                    show_score(candidate.notes, f"steer_c{rank}", span=(start, end), narrow=True)
            if st.button(f"Keep candidate {rank}", key=f"steer_keep_{rank}"):
                keep(rank)
                st.rerun()
    with st.expander("Details: how the candidates were ranked"):
        st.caption(
            "By how likely the network finds the notes after the span (up to 16 of them) once each candidate is "
            "in place: the mean log-probability per note, in nats (pitch, step and duration together; higher "
            "fits better)."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "candidate": [rank for rank in range(1, len(candidates) + 1)],
                    "fit (nats per note)": [round(c.score, 3) for c, _ in candidates],
                    "new notes": [c.new_notes for c, _ in candidates],
                }
            ),
            hide_index=True,
            key="steer_candidate_scores",
        )
    if store.recipe is not None:
        show_link(store.recipe, "these candidates")
        _needs_model_file(store.recipe)
    else:
        st.info(f"No link for these candidates: {store.no_link}.", icon=":material/link_off:")


def keep(rank: int) -> None:
    """Keep candidate `rank` (1 = best): it becomes the piece now, with the recipe that makes it."""
    store = rewrite_store()
    candidate, _ = store.candidates[rank - 1]
    recipe = store.recipe
    store.history.append(candidate.notes)
    store.origins.append({"source": recipe.as_source(keep=rank - 1)} if recipe is not None else store.no_link)
    store.candidates = []


def can_undo() -> bool:
    store = st.session_state.get(REWRITE)
    return store is not None and bool(store.history)


def undo() -> None:
    store = rewrite_store()
    store.history.pop()
    store.origins.pop()


def _needs_model_file(recipe: Recipe) -> None:
    if recipe.model_kind in ("trained", "uploaded"):
        st.caption(
            ":material/warning: The link needs this model's .keras file (it is not bundled with the app): "
            "whoever opens it uploads it on the Generate page first."
        )


# ---- links: a harmonisation's or rewrite's recipe in the URL makes it again -------------------------------------


def apply_link(models: dict[str, state.ModelEntry]) -> None:
    """When the page is opened with a harmonisation's or rewrite's recipe in its URL, set the widgets to it and
    make those pieces from the recipe itself (once). Runs before the page draws its widgets."""
    found = read_link(models, "steer")
    if found is None:
        return
    recipe, label = found
    model = models[label].model
    state.set_kept("steer_model", label)
    for key, value in steer_widgets(recipe).items():
        state.set_kept(key, value)
    try:
        with st.spinner("Making the linked pieces…"):
            if recipe.kind == "harmonize":
                st.session_state["steer_melody_source"] = TYPED
                state.set_kept("steer_melody", recipe.melody)
                key_words = harmony_key_words(parse_melody(recipe.melody), recipe.sampling)
                _keep_harmonies(make_pieces(recipe, model), recipe, key_words)
            else:
                piece = source_piece(recipe, model)
                candidates = make_rewrite(recipe, model, piece=piece)
                start_rewrite(history=[piece], origins=[_origin_of_source(recipe)], name="the linked piece")
                _keep_candidates(candidates, piece, dataclasses.replace(recipe, keep=None), recipe.span_beats)
                said = "The linked rewrite's candidates are on the **Rewrite a passage** tab."
                if recipe.keep is not None:  # a kept rewrite's link: that very piece becomes the piece now
                    keep(recipe.keep + 1)
                    said = "The linked piece is on the **Rewrite a passage** tab."
                st.session_state[FIRST_TAB] = REWRITE_TAB  # the page opens on it (kept: a tab's default is fixed)
                st.info(said, icon=":material/link:")
    except VISITOR_ERRORS as exc:  # RecipeError included: e.g. a bundled file that differs here
        st.error(f"This link cannot be used: {exc}")
    mark_made()


def _origin_of_source(recipe: Recipe) -> dict[str, Any]:
    """A rewrite recipe's source piece as Recipe fields, for the next rewrite's link."""
    if recipe.source:
        return {"source": recipe.source}
    return {"primer": recipe.primer, "primer_notes": recipe.primer_notes, "primer_hash": recipe.primer_hash}
