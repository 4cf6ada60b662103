"""Links that make a piece again: a recipe (musicrnn.recipe) in the page's query string. Generate's pieces open
on /generate, harmonisations and rewrites on /steer; each page turns its link into pieces once per session."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from musicrnn.recipe import Recipe, RecipeError

from . import state
from .widgets import copy_button

APPLIED_LINK = "generate_applied_link"  # the query parameters already turned into a piece this session
PAGES = {"generate": "generate", "harmonize": "steer", "rewrite": "steer"}  # recipe kind -> the page that makes it


def link_params() -> dict[str, str]:
    return {key: st.query_params[key] for key in st.query_params}


def read_link(models: dict[str, state.ModelEntry], page: str) -> tuple[Recipe, str] | None:
    """The recipe in this page's URL, not yet made this session, and the label of its model. None when there
    is none or it cannot be used here (the reason is shown; the caller marks the link made once it made it)."""
    params = link_params()
    if "model" not in params or st.session_state.get(APPLIED_LINK) == params:
        return None
    try:
        recipe = Recipe.from_params(params)
    except RecipeError as exc:
        st.error(f"This link cannot be used: {exc}")
        st.session_state[APPLIED_LINK] = params
        return None
    if PAGES[recipe.kind] != page:
        st.info(
            f"This link makes a piece of the {PAGES[recipe.kind].title()} page: [open it there]({link_url(recipe)})."
        )
        st.session_state[APPLIED_LINK] = params
        return None
    label = next((entry.label for entry in models.values() if entry.id.partition(":")[2] == recipe.model_hash), None)
    if label is None:
        st.warning(
            missing_model_message(recipe, "above" if page == "generate" else "on the Generate page"),
            icon=":material/link_off:",
        )
        return None  # not marked as applied: once the visitor uploads the model, the link is used
    return recipe, label


def mark_made() -> None:
    """The link in the URL has been turned into pieces: touching a widget does not make them again."""
    st.session_state[APPLIED_LINK] = link_params()


def missing_model_message(recipe: Recipe, uploader: str) -> str:
    """Why the link's piece cannot be made yet; `uploader`: where the model upload is ("above", …)."""
    if recipe.model_kind == "default":
        return (
            f"This link was made with another version of the bundled model ({recipe.model}); this app has "
            f"{state.default_model_id()}. Upload that .keras file {uploader} to hear the same piece."
        )
    where = "trained in someone's session" if recipe.model_kind == "trained" else "uploaded as a file"
    return (
        f"This piece was made with a model {where} ({recipe.model}), which this app does not have. "
        f"Upload that .keras file under **Upload a .keras model** {uploader} (the person who shared the "
        "link can download it next to the piece) and the piece will be made again."
    )


def link_url(recipe: Recipe) -> str:
    """The full address that reproduces the pieces: this server's origin, the page that makes them, the recipe."""
    url = st.context.url or "http://localhost:8501/"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{PAGES[recipe.kind]}?{urlencode(recipe.to_params())}"


def show_link(recipe: Recipe, what: str = "these pieces") -> str:
    """The link that makes `what` again: a copy button and the address itself. Returns the address."""
    url = link_url(recipe)
    st.markdown(f"**A link that makes {what} again**")
    copy_button(url, "Copy link")
    st.code(url, language=None, wrap_lines=True)
    return url
