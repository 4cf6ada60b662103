"""Home: what the app does, a choice of style, and one button that plays a new piece in it straight away."""

import secrets

import streamlit as st

from musicrnn.styles import registry
from ui import nav, state
from ui.boot import through_app

# The core and the plotting code are imported only once they are needed, so a first visitor sees this page
# before pandas and the core have loaded (app.py warms them up in the background meanwhile). The list of styles
# is a small JSON file; only the chosen style's model is read, when the button is pressed.

through_app()  # see ui/boot.py: deep links on a fresh server

PIECE = "home_piece"
PLAY = "Play a new piece"
# A whole piece: the model ends it where it has learned to (a chorale has 125-988 notes, median 258); a model
# that has not learned endings stops here.
MOST_NOTES = 400

st.title("musicrnn")
st.markdown(
    "musicrnn is a small recurrent neural network (an LSTM) that learns music one note at a time: "
    "each note's pitch, when it starts after the previous one, and how long it lasts. "
    "Hear what it learnt from Bach chorales, folk tunes, Renaissance madrigals or string quartets, train it on "
    "your own MIDI files, then let it write new pieces you can play and download."
)

models = registry()
styles = {m.title: m for m in models.models.values() if m.home and m.present}
default_title = models.get(models.default).title
if len(styles) > 1:
    title = st.segmented_control(
        "Style",
        list(styles),
        key=state.keep("home_style", default_title),
        help="Each style is its own model.",
        required=True,  # a second click on the chosen style keeps it (it would fall back to the chorales)
    )
    style = styles.get(title or "", styles.get(default_title) or next(iter(styles.values())))
else:
    style = models.get(models.default)

if st.button(PLAY, type="primary", icon=":material/play_arrow:"):
    from musicrnn.generate import Sampling, generate
    from musicrnn.parts import own_programs
    from ui.errors import VISITOR_ERRORS

    try:
        seed = secrets.randbelow(10_000)
        model = state.bundled_model(style.name)
        corpus = model.info.get("corpus", {})
        low, high = corpus.get("pitch_min") or 36, corpus.get("pitch_max") or 84
        notes = generate(
            model,
            state.cached_opening(style.name),
            Sampling(n_notes=MOST_NOTES, seed=seed, pitch_low=low, pitch_high=high),
        )[0]
        primer = style.primer_path()
        # Each part plays what the style's own music played it with (fiddle, choir, strings; the chorales: piano).
        programs = own_programs(model) if "part" in notes else None
        audio = state.render_piece(notes, programs=programs)
        st.session_state[PIECE] = (notes, audio, seed, style.title, primer.stem if primer else "")
    except VISITOR_ERRORS as exc:
        st.error(f"The {style.title} model could not play: {exc}")

if PIECE in st.session_state:
    from musicrnn.summaries import ending_words
    from ui.widgets import show_piece

    notes, audio, seed, title, primer = st.session_state[PIECE]
    st.caption(f"{title}: {len(notes)} new notes after the opening of {primer} · seed {seed}")
    ending = ending_words(notes, MOST_NOTES).capitalize() + "."
    show_piece(notes, audio, key="home", downloads=False, autoplay=True, under_player=ending)

st.subheader("Go further")
for name, label in nav.GO_FURTHER.items():
    nav.link(name, label)
