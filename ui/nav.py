"""Every page of the app, defined once: app.py's navigation and every link or switch between pages use it.

`st.Page` needs a running script (it resolves its file against the entrypoint), so the table below holds what
defines each page and `page(name)` builds the `st.Page` when it is used. Streamlit identifies a page by its
url_path, so a page built here twice is the same page to st.navigation, st.page_link and st.switch_page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

import streamlit as st
from streamlit.navigation.page import Page

PAGES = Path(__file__).resolve().parents[1] / "pages"
# Streamlit serves the default page at / and reserves its own url_path without serving it, so Home gets an
# unused one and a hidden page answers /home, the address a visitor would type, by switching to Home.
HOME_RESERVED_PATH = "home-page"
HOME_ADDRESS = "home"

PageName = Literal["home", "dataset", "explore", "train", "generate", "steer", "how_it_works"]


@dataclass(frozen=True)
class PageSpec:
    file: str  # in pages/
    title: str
    icon: str
    url_path: str


SPECS: dict[PageName, PageSpec] = {
    "home": PageSpec("home.py", "Home", ":material/home:", HOME_RESERVED_PATH),
    "dataset": PageSpec("dataset.py", "Dataset", ":material/folder_open:", "dataset"),
    "explore": PageSpec("explore.py", "Explore", ":material/search:", "explore"),
    "train": PageSpec("train.py", "Train", ":material/model_training:", "train"),
    "generate": PageSpec("generate.py", "Generate", ":material/music_note:", "generate"),
    "steer": PageSpec("steer.py", "Steer", ":material/tune:", "steer"),
    "how_it_works": PageSpec("how_it_works.py", "How it works", ":material/school:", "how_it_works"),
}


# Home's "Go further" list: every other page, with what a visitor does there.
GO_FURTHER: dict[PageName, str] = {
    "dataset": "Dataset – the bundled chorales or your own MIDI files",
    "explore": "Explore – look at and listen to one file",
    "train": "Train – teach the network your music and watch it learn",
    "generate": "Generate – choose a model, a start and how adventurous it plays",
    "steer": "Steer – harmonise a melody, follow chords, or write one passage again",
    "how_it_works": "How it works – what the network reads, predicts and learns, step by step",
}


def page(name: PageName) -> Page:
    """The st.Page of one page (Home is the default page, served at /)."""
    spec = SPECS[name]
    return st.Page(PAGES / spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=name == "home")


def link(name: PageName, label: str) -> None:
    """A link to one of the app's pages, with the page's icon."""
    st.page_link(page(name), label=label)


def switch_to(name: PageName) -> NoReturn:
    st.switch_page(page(name))


def _home_address() -> None:
    st.switch_page(page("home"))


def navigation() -> Page:
    """Register every page with st.navigation and return the one this run shows."""
    pages = [page(name) for name in SPECS]
    pages.append(st.Page(_home_address, title="Home", url_path=HOME_ADDRESS, visibility="hidden"))
    return st.navigation(pages)
