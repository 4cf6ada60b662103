"""How far a model's melody leans towards steps: calibrate it on its style's own melodies.

    .venv/bin/python scripts/calibrate_melody.py --model chorales [--write]
    .venv/bin/python scripts/calibrate_melody.py --model M.keras --data DIR [--write]

With the voice-leading rule, the top voice of music in parts leans towards a step from its last note and away
from repeating it (Config.melody_step_pull, melody_repeat_push; generate._Rules._melodic_line). How far depends
on the model and its style: the chorale model draws its soprano last, to complete each chord, and without a
lean it repeated 30 % of its notes where Bach repeats 14 %; the madrigal model's top voice with the chorales'
lean stepped on 65 % of its moves where the madrigals step on about half. This continues the opening
(OPENING_NOTES) of up to PIECES of the style's pieces (the bundled sample, or --data) at each pair of a grid, and
chooses the pair whose top voice steps, repeats and leaps (more than a major third) most nearly as the pieces'
own top voices do (the sum of the squared differences of the three shares: a lean that only counted steps took
the chorale model's leaps below Bach's). `--write` stores it in the model (the .keras file's settings and its
JSON sidecar, with the figures behind it); the network's weights are untouched.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, not another one installed editable
sys.path.insert(0, str(ROOT / "scripts"))

from calibrate_endings import calibration_arguments, store, style_pieces  # noqa: E402

from musicrnn.generate import OPENING_NOTES, Sampling, generate  # noqa: E402
from musicrnn.infer import read_model_file  # noqa: E402
from musicrnn.styles import model_path  # noqa: E402

STEP_PULLS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
REPEAT_PUSHES = (0.0, 0.5, 1.0, 1.5, 2.0)
PIECES = 24  # continued at each pair (evenly spread over the style's pieces): 2-3 minutes a model
NEW_NOTES = 160
VARIATIONS = 2
SHARES = ("steps", "repeats", "leaps")  # of the top voice's moves: 1-2 semitones, none, more than a major third


def top_voice_moves(notes: pd.DataFrame) -> np.ndarray:
    """Semitones between successive notes of the piece's top voice (the part with the highest median pitch;
    none for a piece without parts)."""
    if "part" not in notes or notes["part"].nunique() < 2:
        return np.zeros(0, np.int64)
    top = notes.groupby("part")["pitch"].median().idxmax()
    line = notes[notes["part"] == top]
    line = line.sort_values("beat" if "beat" in line else "start", kind="stable")
    return np.abs(np.diff(line["pitch"].to_numpy(np.int64)))


def shares(moves: list[np.ndarray]) -> tuple[float, float, float]:
    """(steps, repeats, leaps): the shares of moves of one or two semitones, of none, and of more than a major
    third, over all `moves`."""
    every = np.concatenate(moves) if moves else np.zeros(0, np.int64)
    if not len(every):
        return 0.0, 0.0, 0.0
    return float(np.isin(every, (1, 2)).mean()), float((every == 0).mean()), float((every > 4).mean())


def continued_shares(model, openings: list[pd.DataFrame], step: float, repeat: float) -> tuple[float, float, float]:
    """The top voice's (steps, repeats, leaps) of the openings' continuations with this lean."""
    model.cfg = model.cfg.replace(melody_step_pull=step, melody_repeat_push=repeat)
    moves = []
    for opening in openings:
        for piece in generate(model, opening, Sampling(seed=0, n_notes=NEW_NOTES, variations=VARIATIONS)):
            moves.append(top_voice_moves(piece))
    return shares(moves)


def calibrate(model, pieces: list[pd.DataFrame]) -> dict:
    """The pair of the grid whose continuations' top voice steps, repeats and leaps nearest the pieces' own."""
    wanted = shares([top_voice_moves(piece) for piece in pieces])
    if not any(wanted):
        raise SystemExit("the pieces have no top voice over other parts: there is no melody to match")
    chosen_pieces = [pieces[i] for i in np.linspace(0, len(pieces) - 1, min(PIECES, len(pieces))).round().astype(int)]
    openings = [piece.head(OPENING_NOTES) for piece in chosen_pieces]
    found = {}
    for step, repeat in product(STEP_PULLS, REPEAT_PUSHES):
        found[(step, repeat)] = continued_shares(model, openings, step, repeat)
        steps, repeats, leaps = found[(step, repeat)]
        print(
            f"step pull {step:g}, repeat push {repeat:g}: steps {steps:.0%}, repeats {repeats:.0%}, leaps {leaps:.0%}"
        )
    chosen = min(found, key=lambda pair: sum((a - b) ** 2 for a, b in zip(found[pair], wanted)))
    return {
        "config": {"melody_step_pull": chosen[0], "melody_repeat_push": chosen[1]},
        "melody_calibration": {
            "pieces": len(pieces),
            "continued": len(openings),
            "variations": VARIATIONS,
            "new_notes": NEW_NOTES,
            "pieces_top_voice": dict(zip(SHARES, wanted)),
            "continuations_top_voice": {
                f"{step:g}/{repeat:g}": dict(zip(SHARES, got)) for (step, repeat), got in found.items()
            },
        },
    }


def main(argv: list[str] | None = None) -> dict:
    args = calibration_arguments(argv, __doc__.split("\n")[0], "lean")
    path = model_path(args.model)
    model = read_model_file(path)
    if not model.has_parts:
        raise SystemExit(f"{path.name} writes no parts: its tunes have no lean to calibrate")
    result = calibrate(model, style_pieces(args.model, args.data))
    figures = result["melody_calibration"]
    chosen = result["config"]
    got = figures["continuations_top_voice"][f"{chosen['melody_step_pull']:g}/{chosen['melody_repeat_push']:g}"]
    wanted = figures["pieces_top_voice"]
    print(
        f"chosen: step pull {chosen['melody_step_pull']:g}, repeat push {chosen['melody_repeat_push']:g}: "
        + ", ".join(f"{name} {got[name]:.0%}" for name in SHARES)
        + " (the pieces' top voices: "
        + ", ".join(f"{wanted[name]:.0%}" for name in SHARES)
        + ")"
    )
    store(path, result, args.write)
    return result


if __name__ == "__main__":
    main()
