"""What a new visitor trips over (issue 17), each pinned on the page where they met it (AppTest)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# tests/conftest.py by path: under a full run "conftest" may name tests/browser/conftest.py instead.
_spec = importlib.util.spec_from_file_location("musicrnn_tests_conftest", Path(__file__).with_name("conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
make_midi = _conftest.make_midi
from test_pages import assert_no_exception, click, open_page, small_dataset
from ui.state import DATASET, UPLOADS


def upload(at, *files: tuple[str, bytes]):
    at.file_uploader[0].set_value([(name, data, "audio/midi") for name, data in files]).run()
    assert_no_exception(at)
    return at


def usable(at) -> int:
    return int(next(metric.value for metric in at.metric if metric.label == "Usable files"))


def generated_once():
    """The Generate page after one short piece (10 notes, one variation)."""
    at = open_page("generate", small_dataset(2))
    at.number_input(key="keep_generate_notes").set_value(10)
    at.slider(key="keep_generate_variations").set_value(1).run()
    click(at, "Generate")
    return at


def test_uploads_accumulate_across_goes_and_visits_and_each_can_be_removed():
    at = open_page("dataset", small_dataset(2), keep_dataset_source="My own MIDI files")
    upload(at, ("a.mid", make_midi(((0, [60, 62, 64]),))), ("b.mid", make_midi(((40, [67, 69]),))))
    assert usable(at) == 2
    at.switch_page("pages/explore.py").run()
    at.switch_page("pages/dataset.py").run()
    assert usable(at) == 2  # still there after leaving the page
    upload(at, ("c.mid", make_midi(((73, [72, 74]),))))
    assert usable(at) == 3  # added to, not replacing, the earlier ones
    assert [name for name, _ in at.session_state[UPLOADS]] == ["a.mid", "b.mid", "c.mid"]
    next(button for button in at.button if button.key == "dataset_remove_b.mid").click().run()
    assert_no_exception(at)
    assert usable(at) == 2
    assert [item.name for item in at.session_state[DATASET].ok_files] == ["a.mid", "c.mid"]
    click(at, "Remove all my uploads")
    assert usable(at) > 2  # back to the bundled chorales


def test_piano_roll_hover_shows_each_notes_length_not_its_end():
    from musicrnn.plots.notes import piano_roll

    notes = small_dataset(1).ok_files[0].notes.iloc[:20]
    bars = piano_roll(notes).data  # one trace per part (the chorale's voices)
    for bar in bars:
        assert "length %{customdata[3]} s" in bar.hovertemplate and "%{x" not in bar.hovertemplate
    lengths = sorted(float(row[3]) for bar in bars for row in bar.customdata)
    assert lengths == sorted(round(value, 2) for value in notes["duration"])


def test_pitch_histogram_labels_pitches_with_note_names():
    from musicrnn.plots.notes import note_histograms

    figure = note_histograms(small_dataset(1).ok_files[0].notes)
    assert any(label.startswith("C") for label in figure.layout.xaxis.ticktext)


def test_variations_say_they_come_out_the_same_at_temperature_0():
    at = open_page("generate", small_dataset(2))
    same = lambda: [c.value for c in at.caption if "likeliest pitch each time" in c.value]  # noqa: E731
    assert not same()
    at.slider(key="keep_generate_temperature").set_value(0.0).run()
    assert same() and "temperature 0" in same()[0]
    at.slider(key="keep_generate_temperature").set_value(1.0)
    at.slider(key="keep_generate_top_p").set_value(0.05).run()
    assert same() and "top-p" in same()[0]


def test_copy_link_is_a_real_copy_button_with_the_link_and_no_script_from_elsewhere():
    at = generated_once()
    frames = [element for element in at.get("iframe")] or [element for element in at.get("html")]
    source = " ".join(str(getattr(element, "proto", element)) for element in frames)
    assert "navigator.clipboard.writeText" in source and "Copied" in source
    assert "/generate?v=1" in source and "<script src" not in source


def test_notes_below_the_piano_read_as_such_and_keys_as_a_musician_writes_them():
    from musicrnn.summaries import readable_note

    assert readable_note(60) == "C4"
    assert readable_note(11) == "B−1 (below the piano)"
    assert readable_note(127) == "G9 (above the piano)"
    at = open_page("generate", small_dataset(2))
    at.slider(key="keep_generate_range").set_value((11, 127)).run()
    assert any(c.value == "From B−1 (below the piano) to G9 (above the piano)" for c in at.caption)
    at.number_input(key="keep_generate_notes").set_value(10)
    at.slider(key="keep_generate_variations").set_value(1)
    at.selectbox(key="keep_generate_tonic").set_value("G").run()
    click(at, "Generate")
    assert any("**key**: G major" in item.value for item in at.markdown)


def test_musical_metrics_show_whole_numbers_without_decimals_and_full_names():
    import pandas as pd

    from ui.generation import readable_metrics

    table = pd.DataFrame({"variation 1": [120.0, 0.456]}, index=pd.Index(["notes", "scale consistency"], name="metric"))
    shown = readable_metrics(table)
    assert list(shown.columns) == ["metric", "variation 1"]
    assert list(shown["variation 1"]) == ["120", "0.46"]


def test_how_it_works_says_the_default_model_learnt_bach_and_which_files_are_too_short():
    from musicrnn.midi_load import load_uploads
    from ui.state import Dataset

    riff = [72, 76, 79, 84, 79, 76] * 12  # a pattern the bigram learns from the other files at once
    files = [(f"riff{i}.mid", make_midi(((81, riff),), note_seconds=0.2)) for i in range(3)]
    files.append(("short.mid", make_midi(((0, [60, 62, 64]),))))
    at = open_page("how_it_works", Dataset("uploaded", load_uploads(files)))
    assert any("short.mid" in c.value and "left out" in c.value for c in at.caption)
    assert any("learnt Bach chorales" in item.value for item in at.info)


def test_a_settings_error_says_the_pieces_below_are_the_earlier_ones():
    at = generated_once()
    at.selectbox(key="keep_generate_tonic").set_value("C")
    at.slider(key="keep_generate_range").set_value((61, 61)).run()  # C# only: no pitch of C major
    click(at, "Generate")
    assert any("Cannot generate" in item.value for item in at.error)
    said = next(item.value for item in at.warning if "made with earlier settings" in item.value)
    assert "pitch range 36–84 → 61–61" in said and "key any → C:major" in said


def test_home_links_to_how_it_works():
    at = open_page("home")
    assert any("How it works" in str(link.proto) for link in at.get("page_link"))


def test_the_instrument_filter_chooses_by_program_or_family_across_files_with_note_counts():
    # Track 1 is a viola in one file and an oboe in the other: a track number means nothing across files.
    files = [
        ("strings.mid", make_midi(((40, [60, 62, 64]), (41, [48, 50])))),
        ("winds.mid", make_midi(((0, [60, 61]), (68, [70, 72, 74, 76])))),
    ]
    at = open_page("dataset", small_dataset(2), keep_dataset_source="My own MIDI files")
    upload(at, *files)
    chooser = at.multiselect(key="keep_dataset_programs")
    assert "All Strings — 5 notes in 1 file(s)" in chooser.options  # AppTest lists the labels a visitor sees
    assert "Reed › Oboe — 4 notes in 1 file(s)" in chooser.options
    chooser.set_value(["program:68"]).run()
    assert_no_exception(at)
    ok = {item.name: len(item.notes) for item in at.session_state[DATASET].ok_files}
    assert ok == {"winds.mid": 4}  # the oboe's notes only; the file without one says why
    table = at.dataframe[0].value.set_index("file")
    assert "none of its tracks plays" in table.loc["strings.mid", "status"]
    at.multiselect(key="keep_dataset_programs").set_value(["family:Strings", "program:0"]).run()
    ok = {item.name: len(item.notes) for item in at.session_state[DATASET].ok_files}
    assert ok == {"strings.mid": 5, "winds.mid": 2}


def test_generated_rolls_mark_where_the_primer_ends_and_the_new_notes_begin():
    at = generated_once()
    spec = at.get("plotly_chart")[0].proto.spec
    assert "new notes" in spec and "primer" in spec


def test_tracks_can_be_chosen_by_name_within_one_file():
    files = [("duet.mid", make_midi(((0, [60, 62, 64]), (0, [48, 50])))), ("solo.mid", make_midi(((0, [70, 72]),)))]
    at = open_page("dataset", small_dataset(2), keep_dataset_source="My own MIDI files")
    upload(at, *files)
    at.selectbox(key="dataset_track_file").set_value("duet.mid").run()
    chooser = at.multiselect(key="dataset_file_tracks::duet.mid")
    assert any("3 notes" in option for option in chooser.options)
    chooser.set_value([1]).run()
    assert_no_exception(at)
    ok = {item.name: len(item.notes) for item in at.session_state[DATASET].ok_files}
    assert ok == {"duet.mid": 2, "solo.mid": 2}  # only duet's second track; the other file untouched
    at.switch_page("pages/explore.py").run()
    at.switch_page("pages/dataset.py").run()
    assert {item.name: len(item.notes) for item in at.session_state[DATASET].ok_files}["duet.mid"] == 2
