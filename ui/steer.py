"""Glue for the Steer page: inputs read into core types, results kept in session state, pieces shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from musicrnn.audio import gm_instruments
from musicrnn.bundled import chorale_files, chorale_harmony
from musicrnn.evaluation.musical import harmony_report
from musicrnn.generate import c_major_chord
from musicrnn.guide import (
    MELODY_HELP,
    SPAN_UNITS,
    ChordGuide,
    Melody,
    beats_to_unit,
    chord_spans,
    follow_chords,
    harmonize,
    harmony_midi,
    melody_text,
    parse_chords,
    parse_melody,
    piece_metre,
    rewrite,
    span_to_beats,
    top_voice,
)
from musicrnn.midi import MidiError, midi_bytes, midi_to_notes, notes_to_midi
from musicrnn.plots.notes import add_chords, mark_span, piano_roll
from musicrnn.recipe import Recipe, RecipeError, make_pieces, make_rewrite, notes_hash, source_piece

from . import state
from .keyboard import keyboard
from .links import mark_made, read_link, show_link
from .primer import bundled_notes
from .widgets import play

TYPED = "Typed or played notes"
HARMONIES, CHORDS, REWRITE = "steer_harmonies", "steer_chord_pieces", "steer_rewrite"
HARMONY_RECIPE = "steer_harmony_recipe"  # the harmonisations' recipe (None: their melody has no text form)
REPORT_NAMES = {
    "voices_per_onset": "voices per onset",
    "chord_notes_in_key": "chord notes in the key",
    "parallel_fifths_per_100": "parallel fifths (outer voices, per 100 onsets)",
    "parallel_octaves_per_100": "parallel octaves (outer voices, per 100 onsets)",
}


def boost(strength: float) -> float:
    import math

    return math.exp(strength * ChordGuide.MAX_BOOST)


def melody_input(source: str) -> Melody | str | None:
    """The melody the visitor chose (or the problem with it, as text)."""
    if source == TYPED:
        text_key = state.keep("steer_melody", "C4/1 D4/1 E4/1 F4/1 G4/2 E4/1 D4/1 C4/2")
        text = st.text_area("Melody", key=text_key, help=MELODY_HELP)
        st.caption(MELODY_HELP + " Or play it: each key adds a note of the chosen length to the text above.")
        keyboard(text_key, key="steer_keyboard")
        try:
            return parse_melody(text)
        except ValueError as exc:
            return str(exc)
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
        except (MidiError, ValueError) as exc:
            return str(exc)
    st.caption(f"{len(melody)} notes: {melody_text(melody)[:300]}")
    return melody


def run_harmony(entry: state.ModelEntry, melody, settings, melody_program: int, harmony_program: int) -> None:
    if not isinstance(melody, Melody):
        st.error(melody or "Choose a melody first.")
        return
    text = melody_text(melody)
    linked = _read_back(text, melody)
    try:  # the melody as its link reads it, so that opening the link makes these very notes
        pieces = harmonize(entry.model, linked if linked is not None else melody, settings)
    except ValueError as exc:
        st.error(f"Cannot harmonise: {exc}")
        return
    recipe = Recipe(
        model=entry.id,
        kind="harmonize",
        melody=text,
        melody_program=melody_program,
        program=harmony_program,
        sampling=settings,
    )
    _keep_harmonies(pieces, recipe, linkable=linked is not None)


def _read_back(text: str, melody: Melody) -> Melody | None:
    """The melody's text (what a link carries) read back, when it is the same melody (None: it is not)."""
    try:
        again = parse_melody(text)
    except ValueError:  # e.g. a rest longer than a written length may be
        return None
    same = len(again) == len(melody) and all(
        np.allclose(getattr(again, f), getattr(melody, f), atol=1e-6) for f in ("pitch", "onset", "duration")
    )
    return again if same else None


def _keep_harmonies(pieces: list[pd.DataFrame], recipe: Recipe, linkable: bool = True) -> None:
    midis = [harmony_midi(p, recipe.melody_program, recipe.program) for p in pieces]
    st.session_state[HARMONIES] = [(p, midi_bytes(m), state.render_piece(m)) for p, m in zip(pieces, midis)]
    st.session_state[HARMONY_RECIPE] = recipe if linkable else None


def show_harmonies() -> None:
    results = st.session_state.get(HARMONIES)
    if not results:
        return
    columns = st.columns(min(len(results), 2))
    for index, (notes, midi, audio) in enumerate(results):
        with columns[index % len(columns)]:
            st.subheader(f"Harmonisation {index + 1}")
            st.plotly_chart(piano_roll(notes), key=f"steer_h{index}_roll", width="stretch")
            play(audio)
            st.download_button(
                "Download MIDI",
                midi,
                file_name=f"harmony-{index + 1}.mid",
                mime="audio/midi",
                key=f"steer_h{index}_mid",
                on_click="ignore",
            )
    corpus = chorale_harmony()
    rows = {f"harmonisation {i + 1}": harmony_report(notes) for i, (notes, _, _) in enumerate(results)}
    rows["bundled chorales (mean)"] = corpus
    st.dataframe(pd.DataFrame(rows).rename(index=REPORT_NAMES).round(3))
    recipe = st.session_state.get(HARMONY_RECIPE)
    if recipe is None:
        st.info("This melody cannot be written as notes text, so these harmonisations have no link.")
    else:
        show_link(recipe, "these harmonisations")
        _needs_model_file(recipe)


def run_chords(entry: state.ModelEntry, text: str, strength: float, settings) -> None:
    try:
        chords = parse_chords(text)
        piece = follow_chords(entry.model, chords, strength, None, settings)[0]
    except ValueError as exc:
        st.error(str(exc))
        return
    recipe = Recipe(
        model=entry.id,
        primer_hash=notes_hash(c_major_chord()),
        sampling=settings,
        chords=text,
        chord_strength=strength,
        variation=0,
    )  # what Generate makes from it: this very piece first
    st.session_state[CHORDS] = (piece, chords, state.render_piece(piece, 0), recipe)


def show_chords() -> None:
    result = st.session_state.get(CHORDS)
    if not result:
        return
    piece, chords, audio, _ = result
    figure = add_chords(piano_roll(piece), chord_spans(piece, chords), float(piece["bpm"].iloc[0]))
    st.plotly_chart(figure, key="steer_chords_roll", width="stretch")
    play(audio)
    st.download_button(
        "Download MIDI",
        midi_bytes(notes_to_midi(piece)),
        file_name="chords.mid",
        mime="audio/midi",
        key="steer_chords_mid",
        on_click="ignore",
    )


def dataset_files() -> dict[str, pd.DataFrame]:
    """The visitor's loaded dataset files by name (empty without a dataset)."""
    dataset = st.session_state.get(state.DATASET)
    return {item.name: item.notes for item in dataset.ok_files} if dataset is not None else {}


def melody_sources() -> list[str]:
    extra = ["A dataset file's top voice"] if dataset_files() else []
    return [TYPED, "A bundled chorale's top voice", *extra, "A one-track MIDI file"]


def rewrite_source() -> pd.DataFrame | None:
    """The piece being rewritten: the kept result of earlier rewrites, else the piece the visitor picks."""
    history = st.session_state.setdefault(REWRITE, {"history": [], "candidates": []})
    options = (
        ["A bundled chorale"]
        + (["A dataset file"] if dataset_files() else [])
        + (["The chord piece above"] if st.session_state.get(CHORDS) else [])
    )
    choice = st.radio("Piece", options, key="steer_rewrite_source", horizontal=True)
    if choice == "The chord piece above":
        start = st.session_state[CHORDS][0]
        origin: dict | str = {"source": st.session_state[CHORDS][3].as_source()}
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
    if history.get("source") is not start and not history["history"]:
        history["source"], history["origin"] = start, origin
    return history["history"][-1] if history["history"] else start


def show_piece_now(piece: pd.DataFrame, span: tuple[float, float]) -> None:
    """The piece as it stands, with the span to rewrite shaded over it."""
    figure = mark_span(piano_roll(piece, title="The piece now"), piece, span[0], span[1], "to rewrite")
    st.plotly_chart(figure, key="steer_rewrite_roll", width="stretch")


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


def run_rewrite(entry: state.ModelEntry, piece: pd.DataFrame, span: tuple[float, float], k: int, settings) -> None:
    try:
        found = rewrite(entry.model, piece, span[0], span[1], candidates=k, settings=settings)
    except ValueError as exc:
        st.error(str(exc))
        return
    _keep_candidates(found, piece, rewrite_recipe(entry, span, k, settings))


def rewrite_recipe(entry: state.ModelEntry, span: tuple[float, float], k: int, settings) -> Recipe | str:
    """The candidates' recipe, or why a link cannot make them again: the piece is a dataset file's, was made
    with another model (the Steer model changed since), or has been rewritten too many times for a link."""
    origin = piece_origin()
    if not isinstance(origin, dict):
        return origin
    # repr: the span's beats round-trip exactly
    recipe = Recipe(
        model=entry.id, kind="rewrite", span=f"{span[0]!r}-{span[1]!r}", candidates=k, sampling=settings, **origin
    )
    try:
        Recipe.from_params(recipe.to_params())  # what opening the link will do
    except RecipeError as exc:
        return f"a link could not make them again ({exc})"
    return recipe


def _keep_candidates(found: list, piece: pd.DataFrame, recipe: Recipe | str) -> None:
    store = st.session_state[REWRITE]
    store["candidates"] = [(c, state.render_piece(c.notes, 0)) for c in found[:3]]
    store["base"], store["recipe"] = piece, recipe


def piece_origin() -> dict | str:
    """Where the piece now on the Rewrite tab comes from, as Recipe fields (a source recipe, or a bundled
    file), or why a link cannot make it again."""
    store = st.session_state[REWRITE]
    return store["origins"][-1] if store["history"] else store.get("origin", "the piece has no recipe")


def show_rewrite() -> None:
    store = st.session_state[REWRITE]
    for rank, (candidate, audio) in enumerate(store["candidates"], start=1):
        st.markdown(
            f"**Candidate {rank}** · {candidate.new_notes} new notes · leads back with "
            f"{candidate.score:.2f} nats per note (higher fits better)"
        )
        play(audio)
        if st.button(f"Keep candidate {rank}", key=f"steer_keep_{rank}"):
            recipe = store.get("recipe")
            store["history"].append(candidate.notes)
            store.setdefault("origins", []).append(
                {"source": recipe.as_source(keep=rank - 1)} if isinstance(recipe, Recipe) else recipe
            )
            store["candidates"] = []
            st.rerun()
    recipe = store.get("recipe")
    if not store["candidates"] or recipe is None:
        return
    if isinstance(recipe, Recipe):
        show_link(recipe, "these candidates")
        _needs_model_file(recipe)
    else:
        st.info(f"No link for these candidates: {recipe}.", icon=":material/link_off:")


def can_undo() -> bool:
    return bool(st.session_state.get(REWRITE, {}).get("history"))


def undo() -> None:
    store = st.session_state[REWRITE]
    store["history"].pop()
    store["origins"].pop()


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
    names = {program: name for name, program in gm_instruments().items()}
    state.set_kept("steer_model", label)
    state.set_kept("steer_seed", recipe.sampling.seed)
    state.set_kept("steer_temperature", recipe.sampling.temperature)
    try:
        with st.spinner("Making the linked pieces…"):
            if recipe.kind == "harmonize":
                st.session_state["steer_melody_source"] = TYPED
                state.set_kept("steer_melody", recipe.melody)
                state.set_kept("steer_variations", recipe.sampling.variations)
                state.set_kept("steer_melody_instrument", names[recipe.melody_program])
                state.set_kept("steer_harmony_instrument", names[recipe.program])
                _keep_harmonies(make_pieces(recipe, model), recipe)
            else:
                piece = source_piece(recipe, model)
                candidates = make_rewrite(recipe, model, piece=piece)
                st.session_state[REWRITE] = {
                    "history": [piece],
                    "origins": [_origin_of_source(recipe)],
                    "candidates": [],
                }
                _keep_candidates(candidates, piece, recipe)
                st.info("The linked rewrite's candidates are on the **Rewrite a passage** tab.", icon=":material/link:")
    except ValueError as exc:  # RecipeError included: e.g. a bundled file that differs here
        st.error(f"This link cannot be used: {exc}")
    mark_made()


def _origin_of_source(recipe: Recipe) -> dict:
    """A rewrite recipe's source piece as Recipe fields, for the next rewrite's link."""
    if recipe.source:
        return {"source": recipe.source}
    return {"primer": recipe.primer, "primer_notes": recipe.primer_notes, "primer_hash": recipe.primer_hash}
