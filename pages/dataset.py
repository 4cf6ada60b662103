"""Dataset: the bundled chorales or the visitor's own MIDI files, one row per file, good or bad."""

import streamlit as st

from musicrnn.summaries import chosen_programs, corpus_summary, files_table, instrument_choices, track_names
from ui import state
from ui.boot import through_app

through_app()  # see ui/boot.py: deep links on a fresh server

BUNDLED, SAMPLE, UPLOADED = "Bundled Bach chorales", "A bundled sample of another style", "My own MIDI files"
UPLOADER_ROUND, REPLACED = "dataset_uploader_round", "dataset_replaced_uploads"
FILE_TRACKS = "dataset_file_tracks"

st.title("Dataset")
st.caption(
    "The music the Train and Explore pages use, for you only. Bad files are listed with the reason and never stop the good ones."
)

samples = state.sample_styles()  # the other bundled styles' samples, by title
source = st.radio(
    "Music to use",
    [BUNDLED, *([SAMPLE] if samples else []), UPLOADED],
    key=state.keep("dataset_source", BUNDLED),
    horizontal=True,
)
if source == SAMPLE:
    style = samples[st.selectbox("Style", list(samples), key=state.keep("dataset_sample_style", next(iter(samples))))]
    st.caption(f"{len(style.sample_files())} files of {style.data} · {style.licence}")
if source == UPLOADED:
    # The uploader is emptied after each batch (a new key) and the files are kept in session state, so files
    # added in several goes, or after leaving the page, accumulate; each is removed with its own button.
    uploader_round = st.session_state.setdefault(UPLOADER_ROUND, 0)
    chosen = st.file_uploader(
        "Add MIDI files (.mid, .midi) or .zip archives of them — several at once, in as many goes as you like",
        type=["mid", "midi", "zip"],
        accept_multiple_files=True,
        key=f"dataset_uploader_{uploader_round}",
    )
    if chosen:
        replaced = state.add_uploads([(item.name, item.getvalue()) for item in chosen])
        st.session_state[UPLOADER_ROUND] = uploader_round + 1
        if replaced:
            st.session_state[REPLACED] = replaced
        st.rerun()
    if replaced := st.session_state.pop(REPLACED, None):
        st.info("Replaced by the file of the same name you just added: " + ", ".join(replaced))
    if state.uploads():
        with st.expander(f"Your uploads ({len(state.uploads())})", expanded=len(state.uploads()) <= 10):
            for name, data in state.uploads():
                left, right = st.columns([6, 1], vertical_alignment="center")
                left.markdown(f"{name} · {len(data) / 1024:,.0f} KB")
                right.button(
                    "Remove",
                    key=f"dataset_remove_{name}",
                    on_click=state.remove_upload,
                    args=(name,),
                    help=f"Stop using {name}",
                    icon=":material/close:",
                )
            st.button("Remove all my uploads", key="dataset_remove_all", on_click=state.set_uploads, args=([],))

# Widget values are already in session state at the start of a run, so the files can be loaded with the
# chosen instruments before the widgets are drawn (their labels come from the loaded files).
tracks_key, drums_key = state.keep("dataset_tracks", []), state.keep("dataset_drums", False)
programs_key = state.keep("dataset_programs", [])
drums = st.session_state[drums_key]
if source == UPLOADED and state.uploads():
    # Uploads are filtered by what a track plays (General MIDI program or family), the same in every file:
    # track numbers mean different instruments in different files.
    programs = chosen_programs(st.session_state[programs_key])
    loaded = state.parse_uploads(tuple(state.uploads()), None, drums, programs)
    by_file = st.session_state.setdefault(FILE_TRACKS, {})  # file -> its chosen track numbers (overrides the above)
    direct = dict(state.uploads())
    loaded = [
        state.parse_one(item.name, direct[item.name], tuple(by_file[item.name]), drums)
        if by_file.get(item.name) and item.name in direct
        else item
        for item in loaded
    ]
    state.set_dataset(state.Dataset("uploaded", loaded, None, drums, programs))
else:
    if source == UPLOADED:
        st.info("No files uploaded yet: the bundled chorales are used until you upload some.")
    # The chorales' tracks are the same four voices in every file, so here a track number is a voice (and in a
    # style's sample, a track number is the same part in each file: the corpus builder writes them so).
    instruments = tuple(sorted(st.session_state[tracks_key])) or None
    if source == SAMPLE:
        files = state.sample_files(style.name, instruments, drums)
        state.set_dataset(state.Dataset("sample", files, instruments, drums, title=f"the bundled {style.title} sample"))
    else:
        state.set_dataset(state.bundled_dataset(instruments, drums))

dataset = state.dataset()
with st.expander("Instruments"):
    if dataset.source == "uploaded":
        choices = instrument_choices(dataset.files)
        st.multiselect(
            "Use only these instruments, in every file (none chosen = all)",
            list(choices) + [option for option in st.session_state[programs_key] if option not in choices],
            key=programs_key,
            format_func=lambda option: choices[option][0] if option in choices else f"{option} (not in these files)",
            help="By instrument family or General MIDI program, whichever track of a file plays it; each choice says how many notes it brings.",
        )
        direct = [item for item in dataset.files if item.name in dict(state.uploads()) and item.tracks]
        if direct:
            one = st.selectbox(
                "Or choose tracks by name within one file",
                [item.name for item in direct],
                key="dataset_track_file",
                help="Files inside a .zip keep the choice above.",
            )
            tracks = next(item.tracks for item in direct if item.name == one)
            widget = f"dataset_file_tracks::{one}"
            if widget not in st.session_state:
                st.session_state[widget] = st.session_state[FILE_TRACKS].get(one, [])

            def remember(name: str = one, key: str = widget) -> None:
                st.session_state[FILE_TRACKS][name] = list(st.session_state[key])

            st.multiselect(
                f"Tracks of {one} (none chosen = as above)",
                list(range(len(tracks))),
                key=widget,
                on_change=remember,
                format_func=lambda index: (
                    f"{tracks[index].name or tracks[index].instrument} · {tracks[index].instrument} — {tracks[index].notes:,} notes"
                ),
            )
    else:
        names = track_names(dataset.files)
        st.multiselect(
            "Use only these voices (tracks); none chosen = all",
            sorted(set(names) | set(dataset.instruments or ())),
            key=tracks_key,
            format_func=lambda index: names.get(index, f"{index}: (not in these files)"),
        )
    st.checkbox(
        "Include drum tracks",
        key=drums_key,
        help="Drum notes are drum sounds, not pitches; most melodies learn better without them.",
    )

summary = corpus_summary(dataset.files)
columns = st.columns(5)
columns[0].metric("Usable files", summary["files"])
columns[1].metric("Refused files", summary["refused"])
columns[2].metric("Notes", f"{summary['notes']:,}")
columns[3].metric("Minutes of music", f"{summary['minutes']:.1f}")
columns[4].metric("Pitch range", f"{summary['lowest']} – {summary['highest']}")
if summary["outside_piano"]:
    st.caption(f":material/info: {summary['outside_piano']}")
refused = [item for item in dataset.files if not item.ok]
if refused:  # the table may cut long messages; this says the whole reason
    lines = [f"- **{item.name}**: {item.error}" for item in refused[:10]]
    more = f"\n\n…and {len(refused) - 10} more (see the table)." if len(refused) > 10 else ""
    st.error("These files are not used:\n" + "\n".join(lines) + more)
if summary["files"] == 0:
    st.warning("None of these files can be used. Check the messages above, or choose other instruments.")

table = files_table(dataset.files)
longest_name = int(table["file"].str.len().max()) if len(table) else 10
st.dataframe(
    table,
    key="dataset_table",
    hide_index=True,
    width="stretch",
    column_config={
        # Pinned while the table scrolls sideways, and wide enough for a zip member's whole path.
        "file": st.column_config.TextColumn(pinned=True, width=min(480, 24 + 7 * longest_name)),
        "status": st.column_config.TextColumn(width="medium"),
        "seconds": st.column_config.NumberColumn(format="%.1f s"),
        "instruments": st.column_config.TextColumn(width="large"),
    },
)
