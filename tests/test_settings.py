"""The settings table (musicrnn.settings): one row per control, read by the pages, by a link's widgets and by
a recipe's checks."""

from __future__ import annotations

import dataclasses

import pytest

from musicrnn import bundled
from musicrnn.generate import Sampling
from musicrnn.recipe import Recipe, RecipeError, generate_widgets, model_id, notes_hash, steer_widgets
from musicrnn.settings import ANY_KEY, GENERATE, MAX_PRIMER_NOTES, STEER
from test_pages import needs_default_model
from test_pages_explain import open_link

# Sampling fields the Generate page has no control for: set by other pages, by the page's own per-part
# widgets, or left at Sampling's defaults.
NOT_ON_GENERATE = {
    "key",  # the Key and Scale boxes ("tonic", "scale")
    "pitch_low",  # the Pitch range slider ("pitch_range")
    "pitch_high",
    "velocity",
    "part_temperature",
    "part_ranges",
    "part_pitch_ranges",  # the Per part expander
    "part_keys",
    "chromatic",  # Steer's harmonisations
    "best_of",
}


def test_every_sampling_field_with_a_widget_has_one_row_and_keys_are_unique():
    fields = {f.name for f in dataclasses.fields(Sampling)}
    assert fields - NOT_ON_GENERATE <= set(GENERATE)
    for table in (GENERATE, STEER):
        keys = [setting.key for setting in table.values()]
        assert len(keys) == len(set(keys))
    assert all(setting.key.startswith("generate_") for setting in GENERATE.values())
    assert all(setting.key.startswith("steer_") for setting in STEER.values())


def test_defaults_lie_within_bounds_and_options():
    for setting in [*GENERATE.values(), *STEER.values()]:
        if setting.options:
            assert setting.default in setting.options, setting.field
        elif isinstance(setting.default, (int, float)) and not isinstance(setting.default, bool):
            assert setting.allows(setting.default), setting.field


def an_unusual_recipe(**changes) -> Recipe:
    sampling = Sampling(
        n_notes=333,
        temperature=1.35,
        top_k=7,
        top_p=0.45,
        key="Bb:dorian",
        pitch_low=41,
        pitch_high=77,
        seed=123456,
        variations=5,
        rhythm_temperature=0.15,
        bpm=92.0,
        chord_snap=0.13,
        step_grid=0.25,
        voice_leading=False,
        tonic_ending=False,
    )
    values = dict(
        model="default:0123456789ab",
        primer="bundled:bwv269.mid",
        primer_notes=200,
        sampling=sampling,
        program=73,
        chords="Am F",
        chord_strength=0.35,
    )
    values.update(changes)
    return Recipe(**values)  # type: ignore[arg-type]


def test_generate_widgets_show_a_recipes_unusual_values():
    recipe = Recipe.from_params(an_unusual_recipe().to_params())  # what a link carries
    shown = generate_widgets(recipe)
    g = GENERATE
    assert shown[g["n_notes"].key] == 333 and shown[g["temperature"].key] == 1.35
    assert shown[g["top_k"].key] == 7 and shown[g["top_p"].key] == 0.45
    assert (shown[g["tonic"].key], shown[g["scale"].key]) == ("A#", "dorian")
    assert shown[g["pitch_range"].key] == (41, 77)
    assert shown[g["seed"].key] == 123456 and shown[g["variations"].key] == 5
    assert shown[g["rhythm_temperature"].key] == 0.15 and shown[g["bpm"].key] == 92
    assert shown[g["chord_snap"].key] == 0.13 and shown[g["step_grid"].key] == 0.25
    assert shown[g["voice_leading"].key] is False and shown[g["tonic_ending"].key] is False
    assert shown[g["chords"].key] == "Am F" and shown[g["chord_strength"].key] == 0.35
    assert shown[g["program"].key] == "Flute"
    assert shown[g["primer_notes"].key] == 200  # not cut to what a slider once offered (64)


def test_generate_widgets_for_a_plain_recipe_and_no_primer():
    recipe = an_unusual_recipe(primer="none", chords="", sampling=Sampling(step_grid=0.3))
    shown = generate_widgets(recipe)
    assert GENERATE["primer_notes"].key not in shown  # the primer widgets are hidden for the built-in chord
    assert shown[GENERATE["step_grid"].key] == 0.0  # a grid the slider does not offer: off
    assert shown[GENERATE["tonic"].key] == ANY_KEY
    assert shown[GENERATE["chord_strength"].key] == GENERATE["chord_strength"].default


def test_steer_widgets_of_a_harmonisation():
    recipe = an_unusual_recipe(
        kind="harmonize", melody="C4/1 D4/1", melody_program=40, program=0, chords="", primer="none"
    )
    recipe.sampling.chromatic = True
    shown = steer_widgets(recipe)
    assert shown == {
        "steer_seed": 123456,
        "steer_temperature": 1.35,
        "steer_variations": 5,
        "steer_melody_instrument": "Violin",
        "steer_harmony_instrument": "Acoustic Grand Piano",
        "steer_chromatic": True,
        "steer_key": "from the melody",  # Bb dorian: the harmoniser reads major and minor keys only
    }
    recipe.sampling.key = "Bb:minor"
    assert steer_widgets(recipe)["steer_key"] == "A# minor"


def test_a_recipe_allows_the_primer_lengths_the_widget_does():
    primer = GENERATE["primer_notes"]
    assert (primer.low, primer.high) == (1, MAX_PRIMER_NOTES)
    for count in (1, MAX_PRIMER_NOTES):
        assert an_unusual_recipe(primer_notes=count).checked().primer_notes == count
    for count in (0, MAX_PRIMER_NOTES + 1):
        with pytest.raises(RecipeError, match="primer_notes"):
            an_unusual_recipe(primer_notes=count).checked()


def test_a_recipe_left_without_optional_fields_takes_the_dataclass_defaults():
    recipe = Recipe.from_params({"model": "default:0123456789ab"})
    assert recipe == Recipe(model="default:0123456789ab")
    assert recipe.primer_notes == bundled.PRIMER_NOTES


def test_a_part_outside_the_parts_table_is_refused():
    with pytest.raises(RecipeError, match="each part"):
        an_unusual_recipe(parts="30:40").checked()
    assert an_unusual_recipe(parts="20:40").checked().programs == {20: 40}


@needs_default_model
def test_a_link_with_an_unusual_primer_length_shows_that_length():
    data = bundled.DEFAULT_MODEL.read_bytes()
    primer = bundled.primer_from(bundled.chorale_opening(200), 100)
    recipe = Recipe(
        model=model_id("default", data),
        primer=f"bundled:{bundled.DEFAULT_PRIMER}",
        primer_notes=100,
        primer_hash=notes_hash(primer),
        sampling=Sampling(n_notes=20, variations=1),
    )
    at = open_link(recipe.to_params())
    assert at.number_input(key="keep_generate_primer_notes").value == 100
    assert at.session_state["generated"].recipe.primer_notes == 100
