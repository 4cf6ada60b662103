"""musicrnn's Streamlit app: page set-up and navigation only; each page lives in pages/.

Every run of any page starts here (st.navigation), so deep links work on a fresh server and the common
set-up below runs whichever page is opened first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # `streamlit run /elsewhere/app.py` or AppTest from another folder
    sys.path.insert(0, str(ROOT))

from ui import boot, nav, state  # noqa: E402  (needs the path above)

ICON = ROOT / "ui" / "assets" / "icon.png"  # served by this app: a ":material/…" favicon is fetched from a font server

st.set_page_config(page_title="musicrnn – music from an LSTM", page_icon=str(ICON), layout="wide")
boot.set_up_server()
boot.mark_app_run()
state.keep_widget_values()
state.collect_trained_model()

nav.navigation().run()  # every page is defined in ui/nav.py
boot.warm_up()  # after the page is drawn, so the first visitor never waits for it
