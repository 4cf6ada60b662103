"""Recipes: round trips through query parameters, JSON and MIDI files, and regeneration through the CLI."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pretty_midi
import pytest

from musicrnn import bundled
from musicrnn.generate import Sampling, generate
from musicrnn.midi import midi_bytes, notes_to_midi
from musicrnn.midi_load import midi_to_notes
from musicrnn.recipe import (
    Recipe,
    RecipeError,
    check_model,
    content_hash,
    default_model_id,
    from_midi,
    load,
    make_pieces,
    model_id,
    notes_hash,
    piece_midi,
    primer_notes,
)

ROOT = Path(__file__).resolve().parents[1]
needs_default_model = pytest.mark.skipif(
    not bundled.DEFAULT_MODEL.exists(), reason="the bundled model is not built yet"
)


def a_recipe(**changes) -> Recipe:
    sampling = Sampling(
        n_notes=24,
        temperature=0.73,
        top_k=5,
        top_p=0.9,
        key="D:minor",
        pitch_low=40,
        pitch_high=80,
        seed=11,
        variations=3,
    )
    values = dict(
        model="default:0123456789ab",
        primer="bundled:bwv269.mid",
        primer_notes=8,
        primer_hash="abc",
        sampling=sampling,
        program=40,
    )
    values.update(changes)
    return Recipe(**values)


def test_query_params_round_trip_exactly():
    recipe = a_recipe(sampling=Sampling(temperature=0.1 + 0.2, top_p=1 / 3, seed=2**31 - 1))  # floats that print long
    params = recipe.to_params()
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in params.items())
    assert Recipe.from_params(params) == recipe


def test_query_params_as_lists_and_without_key():
    recipe = a_recipe(sampling=Sampling(key=None), variation=None)
    params = {key: [value] for key, value in recipe.to_params().items()}
    assert "key" not in params
    assert Recipe.from_params(params) == recipe


def test_json_round_trip_keeps_the_variation():
    recipe = a_recipe(variation=2)
    assert Recipe.from_json(recipe.to_json()) == recipe


@pytest.mark.parametrize(
    "change, message",
    [
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"seed": "1.5"}, "seed must be an integer"),
        ({"top_p": "0"}, "top-p"),
        ({"model": "mystery"}, "unknown model"),
        ({"primer": "somewhere:x"}, "unknown primer"),
        ({"variation": "7"}, "variation 7 does not exist"),
        ({"program": "300"}, "program must be 0-127"),
        ({"v": "99"}, "newer musicrnn"),
    ],
)
def test_bad_params_raise_a_recipe_error_saying_why(change, message):
    params = a_recipe().to_params() | change
    with pytest.raises(RecipeError, match=message):
        Recipe.from_params(params)


def test_params_without_a_model_are_not_a_recipe():
    with pytest.raises(RecipeError, match="not a recipe"):
        Recipe.from_params({"seed": "1"})


def test_midi_file_carries_its_recipe_through_write_and_read(tmp_path):
    notes = pd.DataFrame({"pitch": [60, 64, 67], "step": [0.0, 0.5, 0.5], "duration": [0.4, 0.4, 0.4]})
    recipe = a_recipe(variation=1)
    path = tmp_path / "piece.mid"
    path.write_bytes(piece_midi(notes, recipe))
    assert from_midi(path.read_bytes()) == recipe
    assert load(path) == recipe
    assert list(midi_to_notes(path)["pitch"]) == [60, 64, 67]  # the notes are unaffected


def test_a_midi_without_a_recipe_says_so():
    data = midi_bytes(notes_to_midi(pd.DataFrame({"pitch": [60], "step": [0.0], "duration": [1.0]})))
    with pytest.raises(RecipeError, match="holds no musicrnn recipe"):
        from_midi(data, "plain.mid")


def test_load_reads_a_json_file(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(a_recipe().to_json())
    assert load(path) == a_recipe()


def test_bundled_primer_is_resolved_and_checked_by_hash():
    notes = primer_notes(a_recipe(primer_hash=""))
    assert len(notes) == 8
    assert primer_notes(a_recipe(primer_hash=notes_hash(notes))).equals(notes)
    with pytest.raises(RecipeError, match="differ"):
        primer_notes(a_recipe(primer_hash="000000000000"))


def test_a_primer_outside_the_bundle_must_be_given():
    with pytest.raises(RecipeError, match="give that MIDI file"):
        primer_notes(a_recipe(primer="uploaded:mine.mid", primer_hash=""))


def test_bundled_primer_names_cannot_leave_the_bundle():
    with pytest.raises(RecipeError, match="does not exist"):
        primer_notes(a_recipe(primer="bundled:../default_model.keras", primer_hash=""))


def test_model_ids_name_the_file_content():
    assert model_id("trained", b"abc") == "trained:" + content_hash(b"abc")
    recipe = a_recipe(model=model_id("uploaded", b"abc"))
    check_model(recipe, b"abc")
    with pytest.raises(RecipeError, match="not the recipe's model"):
        check_model(recipe, b"other")


@needs_default_model
def test_default_model_id_matches_the_bundled_file():
    assert default_model_id() == model_id("default", bundled.DEFAULT_MODEL.read_bytes())
    check_model(a_recipe(model=default_model_id()), None)


@needs_default_model
def test_a_midis_embedded_recipe_regenerates_identical_notes_through_the_cli(tmp_path):
    primer = bundled.chorale_opening(12)
    settings = Sampling(n_notes=30, temperature=0.8, top_k=10, seed=5, variations=3, pitch_low=36, pitch_high=84)
    pieces = generate(bundled.default_model(), primer, settings)
    recipe = Recipe(
        model=default_model_id(),
        primer=f"bundled:{bundled.DEFAULT_PRIMER}",
        primer_notes=12,
        primer_hash=notes_hash(primer),
        sampling=settings,
        program=0,
        variation=2,
        parts="0:52;1:52;2:52;3:52",
    )  # the default model's four voices, sung by a choir
    original = tmp_path / "shared.mid"
    original.write_bytes(piece_midi(pieces[2], recipe))
    out = tmp_path / "again.mid"
    done = subprocess.run(
        [sys.executable, "-m", "musicrnn", "generate", "--recipe", str(original), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(midi_to_notes(out), midi_to_notes(original))  # same notes, parts and instruments
    assert {inst.program for inst in pretty_midi.PrettyMIDI(str(out)).instruments} == {52}
    assert from_midi(out.read_bytes()) == recipe  # the regenerated file carries the same recipe
    assert not np.array_equal(pieces[2]["pitch"], pieces[1]["pitch"])  # and it is that variation, not another


def test_cli_refuses_a_recipe_for_another_model(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(a_recipe(model="trained:0123456789ab").to_json())
    done = subprocess.run(
        [sys.executable, "-m", "musicrnn", "generate", "--recipe", str(path), "--out", str(tmp_path / "x.mid")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "give that .keras file as the model" in done.stderr


def test_chords_round_trip_through_params_json_and_refuse_unknown_names():
    from musicrnn.recipe import Recipe, RecipeError

    recipe = Recipe(model="default:abc123", chords="C G7:2 Am:2", chord_strength=0.35)
    assert Recipe.from_params(recipe.to_params()) == recipe
    assert Recipe.from_json(recipe.to_json()) == recipe
    assert "chords" not in Recipe(model="default:abc123").to_params()
    with pytest.raises(RecipeError, match="unknown chord 'Qx'"):
        Recipe.from_params({**recipe.to_params(), "chords": "C Qx"})


def test_a_recipe_carries_each_parts_instrument_through_links_and_json():
    recipe = a_recipe(parts="0:40;3:42")
    assert recipe.programs == {0: 40, 3: 42}
    assert Recipe.from_params(recipe.to_params()).programs == {0: 40, 3: 42}
    assert Recipe.from_json(recipe.to_json()).programs == {0: 40, 3: 42}
    with pytest.raises(RecipeError, match="parts"):
        Recipe.from_params({**recipe.to_params(), "parts": "soprano-violin"})


def test_a_recipe_carries_each_parts_range_and_key_through_links_and_json():
    sampling = Sampling(part_pitch_ranges="Soprano=60-81,Bass voice=36-60", part_keys="Bass voice=A:minor")
    recipe = a_recipe(sampling=sampling, parts="0:40;3:42")
    for again in (Recipe.from_params(recipe.to_params()), Recipe.from_json(recipe.to_json())):
        assert again.sampling.part_pitch_ranges == "Soprano=60-81,Bass voice=36-60"
        assert again.sampling.part_keys == "Bass voice=A:minor"
    assert recipe.describe()["range per part"] == "Soprano=60-81, Bass voice=36-60"
    assert "part_keys" in recipe.to_params() and "part_keys" not in a_recipe().to_params()  # links stay short
    # An older app would ignore the per-part settings and quietly make another piece: it must refuse instead.
    assert recipe.to_params()["v"] == "2" and a_recipe().to_params()["v"] == "1"
    with pytest.raises(RecipeError, match="unknown part 'Sopran'"):
        Recipe.from_params({**recipe.to_params(), "part_pitch_ranges": "Sopran=60-81"})


def test_a_recipe_without_part_settings_reads_as_none():
    params = a_recipe().to_params()
    old = {k: v for k, v in params.items() if k not in ("part_pitch_ranges", "part_keys")}  # a link made before them
    assert Recipe.from_params(old) == a_recipe()


# ---- the Steer page's pieces: harmonisations and rewrites -------------------------------------------------------


def steer_recipe(**changes) -> Recipe:
    values = {"model": default_model_id(), "sampling": Sampling(seed=5, temperature=0.9, variations=2)}
    values.update(changes)
    return Recipe(**values)


@needs_default_model
def test_a_harmonisation_recipe_round_trips_and_makes_the_same_notes():
    from musicrnn.harmony import harmonize
    from musicrnn.notation import parse_melody

    recipe = steer_recipe(kind="harmonize", melody="C4/1 D4/1 E4/1 F4/1 G4/2", melody_program=73, program=0)
    params = recipe.to_params()
    assert params["v"] == "2" and params["kind"] == "harmonize"
    assert Recipe.from_params(params) == recipe == Recipe.from_json(recipe.to_json())
    made = make_pieces(Recipe.from_params(params), bundled.default_model())
    direct = harmonize(bundled.default_model(), parse_melody("C4/1 D4/1 E4/1 F4/1 G4/2"), recipe.sampling)
    assert len(made) == 2
    for a, b in zip(made, direct):
        pd.testing.assert_frame_equal(a, b)


@needs_default_model
def test_a_rewrite_of_a_rewrite_of_a_chord_piece_is_made_again_from_its_recipe():
    from musicrnn.harmony import follow_chords
    from musicrnn.notation import parse_chords
    from musicrnn.rewrite import rewrite

    model = bundled.default_model()
    chords = steer_recipe(primer="none", chords="C F G C", sampling=Sampling(n_notes=60, seed=3))
    piece = follow_chords(model, parse_chords("C F G C"), 1.0, None, chords.sampling)[0]
    first = rewrite(model, piece, 4, 8, candidates=3, settings=Sampling(seed=1))
    second = rewrite(model, first[1].notes, 8, 12, candidates=2, settings=Sampling(seed=2))
    step1 = steer_recipe(
        kind="rewrite", span="4-8", candidates=3, sampling=Sampling(seed=1), source=chords.for_variation(0).as_source()
    )
    step2 = steer_recipe(
        kind="rewrite", span="8-12", candidates=2, sampling=Sampling(seed=2), source=step1.as_source(keep=1)
    )
    again = Recipe.from_params(step2.to_params())
    assert again == step2 and again.reproducible_anywhere
    assert "rewrite kept: candidate 2" in again.describe()["piece"]
    for a, b in zip(make_pieces(again, model), [c.notes for c in second]):
        pd.testing.assert_frame_equal(a, b)


@needs_default_model
def test_a_rewrite_of_a_bundled_chorale_names_the_file_and_checks_its_notes():
    from musicrnn.rewrite import rewrite

    piece = midi_to_notes(bundled.CHORALES / bundled.DEFAULT_PRIMER)
    recipe = steer_recipe(
        kind="rewrite",
        span="8-12",
        candidates=2,
        sampling=Sampling(seed=4),
        primer=f"bundled:{bundled.DEFAULT_PRIMER}",
        primer_notes=len(piece),
        primer_hash=notes_hash(piece),
    )
    made = make_pieces(Recipe.from_params(recipe.to_params()), bundled.default_model())
    direct = rewrite(bundled.default_model(), piece, 8, 12, candidates=2, settings=Sampling(seed=4))
    for a, b in zip(made, direct):
        pd.testing.assert_frame_equal(a, b.notes)
    with pytest.raises(RecipeError, match="differ"):
        make_pieces(dataclasses.replace(recipe, primer_hash="000000000000"), bundled.default_model())


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "remix"}, "unknown kind of piece 'remix'"),
        ({"kind": "harmonize", "melody": "C4/1 X9/1"}, "melody cannot be used: 'X9/1'"),
        ({"kind": "rewrite", "span": "12-8"}, "the span '12-8' is empty"),
        ({"kind": "rewrite", "span": "soon"}, "span must be START-END beats"),
        ({"kind": "rewrite", "span": "8-12", "candidates": 2, "keep": 2}, "keep 2 is not one of the 2 candidates"),
        ({"kind": "rewrite", "span": "8-12", "source": "model=default%3A0123456789ab&kind=remix"}, "unknown kind"),
        ({"kind": "rewrite", "span": "8-12", "source": "x" * 16_001}, "rewritten too many times over"),
    ],
)
def test_a_steered_recipe_that_cannot_be_used_says_why(change, message):
    params = {**a_recipe().to_params(), **{k: str(v) for k, v in change.items()}}
    with pytest.raises(RecipeError, match=re.escape(message)):
        Recipe.from_params(params)
