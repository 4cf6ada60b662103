"""Make every page run pass through app.py (page config, common set-up, st.navigation).

With a folder named `pages/` next to the entrypoint, Streamlit assumes its old folder-based multipage mode
until `st.navigation` has been called once in the server process: a fresh server's first visitor who opens
a deep link such as /train gets pages/train.py run directly, without app.py. Each page therefore starts
with `through_app()`, which notices that app.py did not run and runs it (it then runs the page itself).
"""

from __future__ import annotations

import importlib
import runpy
import threading
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parents[1] / "app.py"
MARK = "_ran_app"  # set by app.py on every run, consumed by the page it runs


def mark_app_run() -> None:
    st.session_state[MARK] = True


def set_up_server() -> None:
    """Process-wide settings the server needs before visitors' script runs allocate much (once per process)."""
    from musicrnn.runtime import give_back_large_blocks

    give_back_large_blocks()  # the audio and arrays a visitor's runs freed go back to the system (see there)


def through_app() -> None:
    if st.session_state.pop(MARK, False):
        return
    runpy.run_path(str(APP), run_name="__main__")  # draws the page through st.navigation
    st.stop()  # this direct run of the page is done: the page was drawn above


# What any page but Home needs at once, and Home's button: imported ahead by warm_up().
WARM_MODULES = ("musicrnn.generate", "musicrnn.audio", "musicrnn.plots.notes", "ui.widgets")
_warm_up_started = threading.Event()


def warm_up() -> None:
    """Import the core in a background thread, once per server process, after the first page is drawn.

    A fresh server's first page then appears without waiting ~1 s for pandas and the core; by the
    time the visitor clicks, the imports are usually done (a click that comes sooner waits for them, as
    it would have anyway). The bundled chorales are meanwhile read in a separate process, so the first visit
    to Dataset, Explore or Train does not wait ~5 s for them. Nothing here touches Streamlit's per-session state.
    """
    if _warm_up_started.is_set():
        return
    _warm_up_started.set()
    threading.Thread(target=_import_all, name="musicrnn-warm-up", daemon=True).start()


def _import_all() -> None:
    try:
        from musicrnn.runtime import set_up_process

        set_up_process()  # this server process's one BLAS thread (generation) and quiet fluidsynth, before pretty_midi
        from musicrnn import bundled

        bundled.read_chorales_in_background()  # what Dataset, Explore and Train open with; started first
        for name in WARM_MODULES:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a page importing it later reports the real error
        return
