"""The Score tab beside a piece's piano roll: the piece as sheet music (musicrnn.score), engraved only when the
tab is opened, a page at a time, and its MusicXML download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

VIEWS = ["Piano roll", "Score"]
STAVES_LABELS = {"two": "Two staves (S A · T B)", "four": "Four staves"}
STAVES_CHOICE = "score_staves"  # the visitor's last choice, which the next score starts from
WIDE, NARROW = 2100, 1400  # page widths (Verovio's tenths of a mm at 100 %): fewer bars a line in a column
MUSICXML_MIME = "application/vnd.recordare.musicxml+xml"

Chords = Sequence[tuple[float, float, str]] | None


def piece_views(
    figure: Any,
    notes: pd.DataFrame,
    key: str,
    *,
    primer: pd.DataFrame | None = None,
    chords: Chords = None,
    span: tuple[float, float] | None = None,
    span_label: str = "rewritten",
    problem: str | None = None,
    narrow: bool = False,
    download: bool = False,
) -> None:
    """The piano roll `figure` and, in a tab beside it, the score. The tabs rerun the page when switched, so
    a score (and music21 and Verovio, the first time) is only made for a visitor who opens it."""
    roll, sheet = st.tabs(VIEWS, key=f"{key}_view", on_change="rerun")
    with roll:
        if roll.open is not False:
            st.plotly_chart(figure, key=f"{key}_roll", width="stretch")
    with sheet:
        if sheet.open:
            show_score(
                notes,
                key,
                primer=primer,
                chords=chords,
                span=span,
                span_label=span_label,
                problem=problem,
                narrow=narrow,
                download=download,
            )


def show_score(
    notes: pd.DataFrame,
    key: str,
    *,
    primer: pd.DataFrame | None = None,
    chords: Chords = None,
    span: tuple[float, float] | None = None,
    span_label: str = "rewritten",
    problem: str | None = None,
    narrow: bool = False,
    download: bool = False,
) -> None:
    """A piece engraved as sheet music: the staves the visitor chooses, a page at a time, marked passages in
    colour. A piece that cannot be a score (a seconds model's) says why."""
    from musicrnn.score import score_problem

    problem = problem or score_problem(notes)
    if problem:
        st.info(f"No score for this piece: {problem}.", icon=":material/music_off:")
        return
    staves = choose_staves(notes, key)
    settings = (staves, tuple(chords or ()), span, span_label, str(notes.attrs.get("key", "")))
    count = _page_count(notes, primer, settings)
    page = 1
    if count > 1:
        if st.session_state.get(f"{key}_page", 1) > count:  # an earlier piece under this key had more pages
            st.session_state[f"{key}_page"] = 1
        page = st.select_slider("Page", list(range(1, count + 1)), key=f"{key}_page")
    engraved = _engraved(notes, primer, settings, page - 1, NARROW if narrow else WIDE)
    st.image(engraved["svg"], width="stretch")
    notes_line = f"Bars {engraved['first_bar']}–{engraved['last_bar']} of {engraved['bars']}" if count > 1 else ""
    if engraved["remarks"]:
        notes_line += (" · " if notes_line else "") + "In this score: " + "; ".join(engraved["remarks"])
    if notes_line:
        st.caption(notes_line)
    if download:
        musicxml_button(notes, key, chords=chords)


def choose_staves(notes: pd.DataFrame, key: str) -> str:
    """For a piece with two or more of the chorale voices: closed score (two staves) or open (four)."""
    from musicrnn.score import voice_parts

    if len(voice_parts(notes)) < 2:
        return "two"
    default = st.session_state.get(STAVES_CHOICE, "two")
    chosen = st.segmented_control(
        "Staves",
        list(STAVES_LABELS),
        format_func=STAVES_LABELS.get,
        key=f"{key}_staves",
        default=default,
        required=True,
        on_change=_remember_staves,
        args=(f"{key}_staves",),
    )
    return chosen or default


def _remember_staves(widget: str) -> None:
    st.session_state[STAVES_CHOICE] = st.session_state.get(widget) or "two"


@st.cache_data(show_spinner="Engraving the score…", max_entries=64)
def _page_count(notes: pd.DataFrame, primer: pd.DataFrame | None, settings: tuple) -> int:
    from musicrnn.score import pages

    return len(pages(_plan(notes, primer, settings)))


# A visitor's engraved pages belong to their session (dropped when it ends, as their audio is: ui/state.py).
@st.cache_data(show_spinner="Engraving the score…", max_entries=32, scope="session")
def _engraved(notes: pd.DataFrame, primer: pd.DataFrame | None, settings: tuple, page: int, width: int) -> dict:
    """One page of the score as SVG, with the bars it holds (cached per piece, settings and page)."""
    from musicrnn.score import engrave, musicxml, pages

    plan = _plan(notes, primer, settings)
    every = pages(plan)
    bars = every[min(page, len(every) - 1)]
    number = bars.start + (0 if plan.bars[0].pickup else 1)  # as the score numbers them (a pickup is bar 0)
    return {
        "svg": engrave(musicxml(plan, bars), width=width),
        "first_bar": number,
        "last_bar": number + (bars.stop - bars.start) - 1,
        "bars": len(plan.bars) - (1 if plan.bars[0].pickup else 0),
        "remarks": plan.remarks,
    }


def _plan(notes: pd.DataFrame, primer: pd.DataFrame | None, settings: tuple):
    from musicrnn.score import plan_score, with_primer

    staves, chords, span, span_label, key = settings
    if key and not notes.attrs.get("key"):  # attrs are not part of the cache's hash: the key travels apart
        notes = notes.copy()
        notes.attrs["key"] = key
    return plan_score(with_primer(notes, primer), staves, chords, span, span_label)


def musicxml_button(
    notes: pd.DataFrame,
    key: str,
    *,
    chords: Chords = None,
    problem: str | None = None,
    where: Any = st,
    file_name: str | None = None,
) -> None:
    """Download the piece as MusicXML (one part per voice, as in its MIDI file), made only when clicked; a
    piece that cannot be a score gets the button disabled, with the reason."""
    from musicrnn.score import score_problem

    problem = problem or score_problem(notes)
    where.download_button(
        "Download MusicXML",
        _musicxml_maker(notes, chords) if not problem else b"",
        file_name=file_name or f"{key}.musicxml",
        mime=MUSICXML_MIME,
        key=f"{key}_musicxml",
        width="stretch",
        on_click="ignore",
        disabled=bool(problem),
        help=f"No score for this piece: {problem}." if problem else "Sheet music for MuseScore, Sibelius, Finale…",
    )


def _musicxml_maker(notes: pd.DataFrame, chords: Chords) -> Callable[[], bytes]:
    """The file, written when the button is clicked (in Streamlit's own thread): a visitor who never asks for
    it never loads music21."""

    def make() -> bytes:
        from musicrnn.score import piece_musicxml

        return piece_musicxml(notes, chords=chords)

    return make
