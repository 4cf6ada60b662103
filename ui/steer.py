"""Glue for the Steer page: inputs read into core types, results kept in session state, pieces shown."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from musicrnn.audio import render
from musicrnn.bundled import chorale_files, chorale_harmony
from musicrnn.guide import (SPAN_UNITS, ChordGuide, MELODY_HELP, Melody, beats_to_unit, chord_spans, follow_chords,
                            harmonize, harmony_midi, melody_text, parse_chords, parse_melody, piece_metre, rewrite,
                            span_to_beats, top_voice)
from musicrnn.midi import MidiError, midi_bytes, midi_to_notes, notes_to_midi
from musicrnn.music_metrics import harmony_report
from musicrnn.plots import add_chords, piano_roll

from . import state
from .primer import bundled_notes
from .widgets import play

HARMONIES, CHORDS, REWRITE = "steer_harmonies", "steer_chord_pieces", "steer_rewrite"
REPORT_NAMES = {"voices_per_onset": "voices per onset", "chord_notes_in_key": "chord notes in the key",
                "parallel_fifths_per_100": "parallel fifths (outer voices, per 100 onsets)",
                "parallel_octaves_per_100": "parallel octaves (outer voices, per 100 onsets)"}


def boost(strength: float) -> float:
    import math

    return math.exp(strength * ChordGuide.MAX_BOOST)


def melody_input(source: str) -> Melody | str | None:
    """The melody the visitor chose (or the problem with it, as text)."""
    if source == "Typed notes":
        text = st.text_area("Melody", key=state.keep("steer_melody", "C4/1 D4/1 E4/1 F4/1 G4/2 E4/1 D4/1 C4/2"), help=MELODY_HELP)
        st.caption(MELODY_HELP)
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
        upload = st.file_uploader("One-track MIDI file (its top voice is the melody)", type=["mid", "midi"], key="steer_melody_file")
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
    try:
        pieces = harmonize(entry.model, melody, settings)
    except ValueError as exc:
        st.error(f"Cannot harmonise: {exc}")
        return
    midis = [harmony_midi(p, melody_program, harmony_program) for p in pieces]
    st.session_state[HARMONIES] = [(p, midi_bytes(m), render(m)) for p, m in zip(pieces, midis)]


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
            st.download_button("Download MIDI", midi, file_name=f"harmony-{index + 1}.mid", mime="audio/midi",
                               key=f"steer_h{index}_mid", on_click="ignore")
    corpus = chorale_harmony()
    rows = {f"harmonisation {i + 1}": harmony_report(notes) for i, (notes, _, _) in enumerate(results)}
    rows["bundled chorales (mean)"] = corpus
    st.dataframe(pd.DataFrame(rows).rename(index=REPORT_NAMES).round(3))


def run_chords(entry: state.ModelEntry, text: str, strength: float, settings) -> None:
    try:
        chords = parse_chords(text)
        piece = follow_chords(entry.model, chords, strength, None, settings)[0]
    except ValueError as exc:
        st.error(str(exc))
        return
    st.session_state[CHORDS] = (piece, chords, state.render_audio(piece, 0))


def show_chords() -> None:
    result = st.session_state.get(CHORDS)
    if not result:
        return
    piece, chords, audio = result
    figure = add_chords(piano_roll(piece), chord_spans(piece, chords), float(piece["bpm"].iloc[0]))
    st.plotly_chart(figure, key="steer_chords_roll", width="stretch")
    play(audio)
    st.download_button("Download MIDI", midi_bytes(notes_to_midi(piece)), file_name="chords.mid", mime="audio/midi",
                       key="steer_chords_mid", on_click="ignore")


def dataset_files() -> dict[str, pd.DataFrame]:
    """The visitor's loaded dataset files by name (empty without a dataset)."""
    dataset = st.session_state.get(state.DATASET)
    return {item.name: item.notes for item in dataset.ok_files} if dataset is not None else {}


def melody_sources() -> list[str]:
    extra = ["A dataset file's top voice"] if dataset_files() else []
    return ["Typed notes", "A bundled chorale's top voice", *extra, "A one-track MIDI file"]


def rewrite_source() -> pd.DataFrame | None:
    """The piece being rewritten: the kept result of earlier rewrites, else the piece the visitor picks."""
    history = st.session_state.setdefault(REWRITE, {"history": [], "candidates": []})
    options = (["A bundled chorale"] + (["A dataset file"] if dataset_files() else [])
               + (["The chord piece above"] if st.session_state.get(CHORDS) else []))
    choice = st.radio("Piece", options, key="steer_rewrite_source", horizontal=True)
    if choice == "The chord piece above":
        start = st.session_state[CHORDS][0]
    elif choice == "A dataset file":
        files = dataset_files()
        start = files[st.selectbox("Dataset file to rewrite", list(files), key="steer_rewrite_dataset")]
    else:
        names = [path.name for path in chorale_files()]
        start = bundled_notes(st.selectbox("Chorale to rewrite", names, key="steer_rewrite_chorale"))
    if history.get("source") is not start and not history["history"]:
        history["source"] = start
    piece = history["history"][-1] if history["history"] else start
    st.plotly_chart(piano_roll(piece, title="the piece now"), key="steer_rewrite_roll", width="stretch")
    return piece


SPAN_STEP = {"beats": 0.5, "bars": 1.0, "seconds": 0.25}


def choose_span(piece: pd.DataFrame) -> tuple[float, float]:
    """The span to rewrite, chosen in beats, bars or seconds, as beats from the piece's first note."""
    metre = piece_metre(piece)
    unit = st.radio("Span in", SPAN_UNITS, key=state.keep("steer_span_unit", "beats"), horizontal=True,
                    help="Bars count from the bar line of the first note (0); beats and seconds from the first note.")
    step = SPAN_STEP[unit]
    last_beat = float(piece["beat"].max())
    last = float(np.ceil(beats_to_unit(last_beat, unit, **metre) / step) * step)
    default = tuple(float(np.clip(np.round(beats_to_unit(b, unit, **metre) / step) * step, 0.0, last))
                    for b in (min(8.0, last_beat / 2), min(12.0, last_beat)))
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
    st.session_state[REWRITE]["candidates"] = [(c, state.render_audio(c.notes, 0)) for c in found[:3]]
    st.session_state[REWRITE]["base"] = piece


def show_rewrite() -> None:
    store = st.session_state[REWRITE]
    for rank, (candidate, audio) in enumerate(store["candidates"], start=1):
        st.markdown(f"**Candidate {rank}** · {candidate.new_notes} new notes · leads back with "
                    f"{candidate.score:.2f} nats per note (higher fits better)")
        play(audio)
        if st.button(f"Keep candidate {rank}", key=f"steer_keep_{rank}"):
            store["history"].append(candidate.notes)
            store["candidates"] = []
            st.rerun()


def can_undo() -> bool:
    return bool(st.session_state.get(REWRITE, {}).get("history"))


def undo() -> None:
    st.session_state[REWRITE]["history"].pop()
