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
ICON = ROOT / "ui" / "assets" / "icon.png"  # served by this app: a ":material/…" favicon is fetched from a font server
# Streamlit serves the default page at / and reserves its own url_path without serving it, so Home gets an
# unused one and a hidden page answers /home, the address a visitor would type, by switching to Home.
HOME_RESERVED_PATH = "home-page"

st.set_page_config(page_title="musicrnn – music from an LSTM", page_icon=str(ICON), layout="wide")
boot.mark_app_run()
state.keep_widget_values()
state.collect_trained_model()

home = st.Page(PAGES / "home.py", title="Home", icon=":material/home:", url_path=HOME_RESERVED_PATH, default=True)


def home_address() -> None:
    st.switch_page(home)


navigation = st.navigation(
    [
        home,
        st.Page(PAGES / "dataset.py", title="Dataset", icon=":material/folder_open:", url_path="dataset"),
        st.Page(PAGES / "explore.py", title="Explore", icon=":material/search:", url_path="explore"),
        st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:", url_path="train"),
        st.Page(PAGES / "generate.py", title="Generate", icon=":material/music_note:", url_path="generate"),
        st.Page(PAGES / "steer.py", title="Steer", icon=":material/tune:", url_path="steer"),
        st.Page(PAGES / "how_it_works.py", title="How it works", icon=":material/school:", url_path="how_it_works"),
        st.Page(home_address, title="Home", url_path="home", visibility="hidden"),
    ]
)
navigation.run()
boot.warm_up()  # after the page is drawn, so the first visitor never waits for it
