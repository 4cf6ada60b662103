"""Make every page run pass through app.py (page config, common set-up, st.navigation).

With a folder named `pages/` next to the entrypoint, Streamlit assumes its old folder-based multipage mode
until `st.navigation` has been called once in the server process: a fresh server's first visitor who opens
a deep link such as /train gets pages/train.py run directly, without app.py. Each page therefore starts
with `through_app()`, which notices that app.py did not run and runs it (it then runs the page itself).
"""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parents[1] / "app.py"
MARK = "_ran_app"  # set by app.py on every run, consumed by the page it runs


def mark_app_run() -> None:
    st.session_state[MARK] = True


def through_app() -> None:
    if st.session_state.pop(MARK, False):
        return
    runpy.run_path(str(APP), run_name="__main__")  # draws the page through st.navigation
    st.stop()  # this direct run of the page is done: the page was drawn above
