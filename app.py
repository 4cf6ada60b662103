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

from ui import boot, state  # noqa: E402  (needs the path above)

PAGES = ROOT / "pages"

st.set_page_config(page_title="musicrnn – music from an LSTM", page_icon=":material/piano:", layout="wide")
boot.mark_app_run()
state.keep_widget_values()
state.collect_trained_model()

navigation = st.navigation(
    [
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:", url_path="home", default=True),
        st.Page(PAGES / "dataset.py", title="Dataset", icon=":material/folder_open:", url_path="dataset"),
        st.Page(PAGES / "explore.py", title="Explore", icon=":material/search:", url_path="explore"),
        st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page(PAGES / "generate.py", title="Generate", icon=":material/music_note:", url_path="generate"),
        st.Page(PAGES / "how_it_works.py", title="How it works", icon=":material/school:", url_path="how_it_works"),
    ]
)
navigation.run()
boot.warm_up()  # after the page is drawn, so the first visitor never waits for it
