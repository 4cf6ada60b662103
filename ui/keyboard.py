"""An on-screen piano keyboard that writes melody tokens (`E4/1`, `R/0.5`) into a text box's value.

A Streamlit components-v2 component whose HTML, CSS and JavaScript are read from ui/assets/keyboard/ and
sent inline: nothing is fetched from the network, so it works offline. The browser keeps the octave and the
note length; each press comes back as one trigger value that edits the melody text, so the typed text and
the keys stay one melody.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).parent / "assets" / "keyboard"
BACK, CLEAR = "BACK", "CLEAR"  # the edits the keyboard sends besides note and rest tokens


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


_keyboard = st.components.v2.component(
    "musicrnn_keyboard",
    html=_asset("keyboard.html"),
    css=_asset("keyboard.css"),
    js=_asset("keyboard.js"),
)


def edited(text: str, press: str) -> str:
    """The melody text after one key press: a token appended, BACK drops the last token, CLEAR empties it."""
    tokens = text.split()
    if press == CLEAR:
        return ""
    if press == BACK:
        return " ".join(tokens[:-1])
    return " ".join([*tokens, press])


def keyboard(text_key: str, key: str = "melody_keyboard") -> None:
    """Show the keyboard under the text box whose session-state key is `text_key`; presses edit its value."""

    def pressed() -> None:  # runs before the page does, so the text box shows the edited melody
        press = st.session_state[key].get("press")
        if isinstance(press, str) and press:
            st.session_state[text_key] = edited(st.session_state.get(text_key, ""), press)

    _keyboard(key=key, on_press_change=pressed, height=175)
