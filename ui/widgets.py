"""Small display helpers used by several pages."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from musicrnn.audio import Rendered
from musicrnn.infer import ModelFileError
from musicrnn.midi import midi_bytes, notes_to_midi
from musicrnn.plots.notes import add_chords, mark_span, piano_roll
from musicrnn.settings import Setting

from . import state
from .score import musicxml_button, piece_views

if TYPE_CHECKING:
    from musicrnn.jobs import JobSnapshot
    from musicrnn.training_facts import BatchEvent, EpochEvent


def show_piece(
    notes: pd.DataFrame,
    audio: Rendered,
    key: str,
    program: int = 0,
    title: str = "",
    downloads: bool = True,
    autoplay: bool = False,
    midi: bytes | None = None,
    primer: pd.DataFrame | None = None,
    chords: list[tuple[float, float, str]] | None = None,
    no_score: str | None = None,
    marked: tuple[float, float, str] | None = None,
    under_player: str = "",
) -> None:
    """Piano roll and score (tabs), audio player and (optionally) MIDI, WAV and MusicXML downloads of one
    piece (`midi`: the file to offer, e.g. with its recipe embedded; by default the notes written plainly).
    `chords`: (start, end, name) spans in beats, named above the bars (harmony.chord_spans); `no_score`: why
    this piece has no score (a seconds model's), said on its Score tab; `marked`: a (start, end, label) span
    in beats shaded on the roll (plots.notes.mark_span); `under_player`: a line under the player (how the piece
    ended)."""
    figure = piano_roll(notes, title=title, primer=primer)
    if chords and len(notes):
        figure = add_chords(figure, chords, float(notes["bpm"].iloc[0]) if "bpm" in notes else 120.0)
    if marked and len(notes):
        figure = mark_span(figure, notes, *marked)
    span, label = (marked[:2], marked[2]) if marked else (None, "rewritten")
    piece_views(figure, notes, key, primer=primer, chords=chords, problem=no_score, span=span, span_label=label)
    play(audio, autoplay=autoplay)
    if under_player:
        st.caption(under_player)
    if downloads:
        left, middle, right = st.columns(3)
        left.download_button(
            "Download MIDI",
            midi if midi is not None else midi_bytes(notes_to_midi(notes, program=program)),
            file_name=f"{key}.mid",
            mime="audio/midi",
            key=f"{key}_mid",
            width="stretch",
            on_click="ignore",
        )
        middle.download_button(
            "Download WAV",
            audio.wav,
            file_name=f"{key}.wav",
            mime="audio/wav",
            key=f"{key}_wav",
            width="stretch",
            on_click="ignore",
        )
        musicxml_button(notes, key, chords=chords, problem=no_score, where=right)


def model_download(entry: state.ModelEntry, key: str, label: str = "Download the model (.keras)", where=st) -> None:
    """A button that downloads a model's .keras file (in `where`: a column, or the page)."""
    where.download_button(
        label,
        entry.file,
        file_name=entry.file_name,
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
        key=key,
    )


def play(audio: Rendered, autoplay: bool = False) -> None:
    """An audio player, with the fallback synth's warning when real instrument sounds were not available."""
    st.audio(audio.wav, format="audio/wav", autoplay=autoplay)
    if audio.warning:
        st.caption(audio.warning)


def models_or_stop(message: str) -> dict[str, state.ModelEntry]:
    """The visitor's models; with none, `message` as an error and the page stops there."""
    models = state.available_models()
    if not models:
        st.error(message)
        st.stop()
    return models


def choose_model(models: dict[str, state.ModelEntry], key: str) -> state.ModelEntry:
    """The "Model" radio over `models`, its choice kept across pages. A kept choice whose model is gone (a run
    forgotten on the Train page) falls back to the first, instead of the radio failing on a missing option."""
    model_key = state.keep(key, next(iter(models)))
    if st.session_state[model_key] not in models:
        st.session_state[model_key] = next(iter(models))
    return models[st.radio("Model", list(models), key=model_key, horizontal=True)]


def model_uploader(key: str) -> None:
    """Upload a .keras model: read as numbers only (never executed); a wrong file gets a clear message."""
    upload = st.file_uploader(
        "Upload a .keras model trained with this app",
        type=["keras"],
        key=key,
        help="Files are checked to be a musicrnn model; nothing inside them is ever run.",
    )
    if upload is None:
        return
    try:
        entry = state.load_uploaded_model(upload.name, upload.getvalue())
    except ModelFileError as exc:
        st.error(f"This model cannot be used. {exc}")
        return
    st.success(
        f"Loaded **{entry.name}** ({entry.model.parameter_count():,} parameters, preset {entry.model.cfg.preset})."
    )


def number_box(
    where,
    label: str,
    low: float,
    high: float,
    key: str,
    step: float = 1,
    help: str | None = None,
    format: str | None = None,
) -> tuple[float | None, str | None]:
    """A number field, and the problem with what is in it in words (None when it is fine).

    Streamlit's own bounds turn a field red when a value outside them is typed, say why only on hover, and
    keep the old value, which a button then silently uses. This field takes whatever is typed, so the value
    the page works with is the one on screen; the caller shows the problem next to its button (problems_at)
    and does not run with it. The value is an int when `step` is."""
    value = where.number_input(label, min_value=None, max_value=None, step=step, key=key, help=help, format=format)
    if value is None:
        return None, f"{label}: the field is empty (give a number from {low:g} to {high:g})"
    if not low <= value <= high:
        return value, f"{label}: {value:g} is not allowed (give a number from {low:g} to {high:g})"
    return value, None


def setting_slider(where, setting: Setting, **more):
    """A kept slider for a row of the settings table (musicrnn.settings): its label, bounds, step and help."""
    return where.slider(
        setting.label,
        setting.low,
        setting.high,
        step=setting.step,
        key=state.keep(setting.key, setting.default),
        help=setting.help,
        **more,
    )


def setting_box(where, setting: Setting, label: str | None = None) -> tuple[float | None, str | None]:
    """A kept number_box for a row of the settings table: the value and the problem with it (see number_box)."""
    return number_box(
        where,
        label or setting.label,
        setting.low,  # type: ignore[arg-type]
        setting.high,  # type: ignore[arg-type]
        step=setting.step or 1,
        key=state.keep(setting.key, setting.default),
        help=setting.help,
    )


def setting_choice(where, setting: Setting, options=None, **more):
    """A kept selectbox for a row of the settings table (its options unless `options` are given)."""
    return where.selectbox(
        setting.label,
        list(options if options is not None else setting.options),
        key=state.keep(setting.key, setting.default),
        help=setting.help,
        **more,
    )


def problems_at(button_column, problems: list[str | None]) -> bool:
    """Next to a button: what is wrong with the numbers typed above, in words. True when something is (the
    button is then disabled: nothing runs with a value the visitor did not see or did not mean)."""
    found = [problem[0].upper() + problem[1:] for problem in problems if problem]
    if found:
        button_column.error(
            "  \n".join(text if text.endswith(".") else text + "." for text in found), icon=":material/error:"
        )
    return bool(found)


def made_with_notice(made: dict[str, str] | None, now: dict[str, str] | None, what: str, button: str) -> bool:
    """Above results made earlier: when the controls no longer say what they were made with, which settings
    changed (before → now) and that `button` makes new ones (`now` None: the controls hold something that
    cannot be used, said at the button). True when they are out of date."""
    if made is None:
        return False
    if now is None:
        st.warning(f"{what} were made with the earlier settings.", icon=":material/history:")
        return True
    changed = [name for name in {**made, **now} if made.get(name) != now.get(name)]
    if not changed:
        return False

    def short(text: str | None) -> str:
        text = "–" if text is None else str(text)
        return text if len(text) <= 40 else text[:39] + "…"

    shown = "; ".join(f"{name} {short(made.get(name))} → {short(now.get(name))}" for name in changed[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    st.warning(
        f"{what} were made with earlier settings ({shown}{more}). Press **{button}** to make them with the "
        "settings above.",
        icon=":material/history:",
    )
    return True


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


RECENT_S = 20.0  # the recent pace is measured over this many seconds of reports
STEADY = 0.25  # recent and overall pace within 25 %: the estimate is given as one figure


def training_progress(snapshot: JobSnapshot) -> tuple[float, str]:
    """Fraction done (0-1) and a caption such as 'Pass 2 of 5 through your music · about 1 min 10 s
    left' (a pass: an epoch).

    The pace is measured from the first report on: the time before it is TensorFlow's start-up and graph
    compilation, which happen once and would make the first estimates far too long. The estimate uses the
    pace of the whole run, which a burst of other visitors' work moves little; when the last RECENT_S seconds
    ran at a clearly different pace (or there is too little to go on) it says so and gives a range instead
    of a figure that jumps. A time limit caps it; early stopping can only make it shorter.
    """
    total = max(1, snapshot["total_epochs"])
    reports = sorted(snapshot["batches"] + snapshot["epochs"], key=lambda event: event["elapsed"])
    if not reports:
        return 0.0, "Starting…"
    latest, first = reports[-1], reports[0]
    done = _fraction_done(latest, total)
    epoch = min(total, int(done * total) + 1)
    caption = f"Pass {epoch} of {total} through your music"
    overall = _pace(first, latest, total)
    if not 0 < done < 1 or overall <= 0:
        return done, caption
    recent_start = next((r for r in reports if r["elapsed"] >= latest["elapsed"] - RECENT_S), first)
    recent = _pace(recent_start, latest, total) if recent_start is not latest else 0.0
    cap = snapshot.get("time_limit_s") or 0.0
    left = [
        min((1 - done) / pace, cap - latest["elapsed"]) if cap else (1 - done) / pace
        for pace in (overall, recent)
        if pace > 0
    ]
    steady = (
        len(reports) >= 3
        and latest["elapsed"] - first["elapsed"] >= 5
        and recent > 0
        and abs(recent / overall - 1) <= STEADY
    )
    if steady:
        caption += f" · about {format_seconds(_rounded(left[0]))} left"
    else:
        low, high = format_seconds(_rounded(min(left))), format_seconds(_rounded(max(left) * (1 + STEADY)))
        span = f"about {low}" if low == high else f"roughly {low} to {high}"  # not "15 s to 15 s"
        caption += f" · {span} left (the pace is still changing)"
    return done, caption


def _pace(start: BatchEvent | EpochEvent, end: BatchEvent | EpochEvent, total: int) -> float:
    """Fraction of the work per second between two reports."""
    seconds = end["elapsed"] - start["elapsed"]
    return (_fraction_done(end, total) - _fraction_done(start, total)) / seconds if seconds > 0 else 0.0


def _rounded(seconds: float) -> float:
    """Coarse steps (5 s, 10 s, then whole minutes), so small changes in pace do not change the words."""
    step = 5 if seconds < 60 else 10 if seconds < 600 else 60
    return max(step, step * round(seconds / step))


def _fraction_done(event: BatchEvent | EpochEvent, total: int) -> float:
    if event["kind"] == "batch":
        return min(1.0, (event["epoch"] + event["batch"] / max(1, event["batches"])) / total)
    return min(1.0, event["epoch"] / total)


def copy_button(text: str, label: str = "Copy link") -> None:
    """A button that puts `text` on the clipboard and says "Copied" (self-contained: no script from elsewhere).

    The clipboard API needs a secure page (https or localhost); elsewhere the older execCommand copy is used.
    """
    st.iframe(
        f"""<button id="copy" style="font: 14px sans-serif; padding: 6px 14px; border-radius: 8px;
            border: 1px solid #c4c4cc; background: white; cursor: pointer">{html.escape(label)}</button>
        <span id="said" style="font: 14px sans-serif; margin-left: 8px; color: #15803d"></span>
        <script>
        const text = {json.dumps(text)};
        function fallback() {{
            const area = document.createElement("textarea");
            area.value = text; document.body.appendChild(area); area.select();
            const done = document.execCommand("copy"); area.remove(); return done;
        }}
        document.getElementById("copy").onclick = async () => {{
            const said = document.getElementById("said");
            let done = false;
            try {{ await navigator.clipboard.writeText(text); done = true; }} catch (error) {{ done = fallback(); }}
            said.textContent = done ? "Copied – paste it anywhere" : "Could not copy: select the link below and copy it";
        }};
        </script>""",
        height=44,
    )
