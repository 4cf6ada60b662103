"""How sure a model must be before it ends a piece: calibrate its end odds on its style's own pieces.

    .venv/bin/python scripts/calibrate_endings.py --model folk [--write]
    .venv/bin/python scripts/calibrate_endings.py --model M.keras --data DIR [--write]

With the tonic ending (Sampling.tonic_ending) a piece may end only on its tonic, and the model's odds of ending
there are multiplied (generate.END_ODDS, 128, measured on the chorales, where a tonic chord over the tonic comes
every few bars). In a tune every tonic note is such a place, so at 128 the folk model ended its tunes after about
a third of a tune's length. This continues the opening (the first OPENING_NOTES notes) of each piece of the style
(the bundled sample, or --data) at each odds of a ladder, with the length cap Home uses, and chooses the odds
whose pieces' median length is nearest (as a ratio) to the median of what the pieces themselves have after the
opening. Before that it sets how many new notes a piece has at least (Config.end_after): the pieces' own 5th
percentile after the opening, so that a chorale, whose tonic chords come every few bars, does not end at its first
cadence (at x8192 a fifth of the chorale model's continuations of held-out chorales ended within 45 new notes,
where the shortest of 35 held-out chorales has 112 after its opening), and from how many it heads for its final
cadence (Config.close_after: the pieces' median after the opening). `--write` stores them in the model
(the .keras file's settings and its JSON sidecar, with the figures behind them), which generation reads
(generate.end_odds, generate.end_after, generate.closing_start) and fine-tuning keeps; the network's weights are untouched.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, not another one installed editable

from musicrnn.config import CONFIG_MEMBER  # noqa: E402
from musicrnn.generate import (  # noqa: E402
    END_ODDS,
    OPENING_NOTES,
    SHORTEST_PERCENTILE,
    Sampling,
    generate,
    shortest_continuation,
    typical_continuation,
)
from musicrnn.infer import read_model_file  # noqa: E402
from musicrnn.midi_load import load_paths  # noqa: E402
from musicrnn.styles import is_bundled_name, model_path, registry  # noqa: E402

CAP = 400  # Home's length cap (pages/home.py)
LADDER = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 512.0, 2048.0, 8192.0, 32768.0)
SEEDS = 2


def style_pieces(model: str, data: Path | None) -> list:
    """Note tables of the pieces to match: --data's MIDI files, else the bundled style's sample."""
    if data is None:
        data = registry().get(model).sample if is_bundled_name(model) else None
        if data is None:
            raise SystemExit(f"{model!r} has no bundled sample: name a folder of its style's pieces with --data")
    paths = sorted(Path(data).glob("*.mid"))
    pieces = [item.notes for item in load_paths(paths) if item.ok and len(item.notes) >= 2 * OPENING_NOTES]
    if not pieces:
        raise SystemExit(f"no piece in {data} has {2 * OPENING_NOTES} notes or more")
    return pieces


def lengths_at(model, pieces: list, odds: float) -> list[int]:
    """New notes of each piece's continuations (SEEDS each) with the end odds `odds`."""
    model.cfg = model.cfg.replace(end_odds=odds)
    out = []
    for piece in pieces:
        settings = Sampling(seed=0, n_notes=CAP, variations=SEEDS)
        out += [len(p) for p in generate(model, piece.head(OPENING_NOTES), settings)]
    return out


def shortest_new_notes(pieces: list) -> int:
    """The new notes a continuation has at least (generate.shortest_continuation of the pieces, up to CAP)."""
    return shortest_continuation([len(p) for p in pieces], cap=CAP)


def calibrate(model, pieces: list) -> dict:
    """The shortest continuation (shortest_new_notes) and where the pieces usually end (their median after the
    opening: from there a piece heads for its final cadence), then the odds of LADDER whose continuations' median
    length is nearest the pieces' own, with the figures."""
    wanted = float(np.median([min(len(p) - OPENING_NOTES, CAP) for p in pieces]))
    shortest = shortest_new_notes(pieces)
    typical = typical_continuation([len(p) for p in pieces], cap=CAP)
    model.cfg = model.cfg.replace(end_after=shortest, close_after=typical)
    medians = {odds: float(np.median(lengths_at(model, pieces, odds))) for odds in LADDER}
    for odds, median in medians.items():
        print(f"end odds x{odds:g}: median {median:.0f} new notes (the pieces: {wanted:.0f})")
    chosen = min(LADDER, key=lambda odds: abs(math.log(medians[odds] / wanted)))
    return {
        "config": {"end_odds": chosen, "end_after": shortest, "close_after": typical},
        "end_odds_calibration": {
            "pieces": len(pieces),
            "primer_notes": OPENING_NOTES,
            "cap": CAP,
            "pieces_median_new_notes": wanted,
            f"pieces_new_notes_percentile_{SHORTEST_PERCENTILE}": shortest,
            "median_new_notes_by_odds": {f"{odds:g}": median for odds, median in medians.items()},
        },
    }


def write_info(path: Path, values: dict) -> None:
    """Add `values` to the settings and facts stored in the .keras file (CONFIG_MEMBER; "config" is merged into
    the stored settings), copying every other member of the archive as it is, and to its JSON sidecar where there
    is one (which holds more: the evaluation)."""
    with zipfile.ZipFile(path) as archive:
        members = [(item, archive.read(item.filename)) for item in archive.infolist()]
    info = json.loads(next(data for item, data in members if item.filename == CONFIG_MEMBER))
    text = json.dumps(merged(info, values), indent=2, default=float)
    rewritten = path.with_suffix(".rewriting")
    with zipfile.ZipFile(rewritten, "w") as archive:
        for item, data in members:
            archive.writestr(item, text if item.filename == CONFIG_MEMBER else data)
    rewritten.replace(path)
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        sidecar.write_text(json.dumps(merged(json.loads(sidecar.read_text()), values), indent=2, default=float) + "\n")


def merged(stored: dict, values: dict) -> dict:
    """`stored` with `values`; "config" is merged into the stored settings, anything else replaced."""
    return {**stored, **values, "config": {**stored.get("config", {}), **values.get("config", {})}}


def calibration_arguments(argv: list[str] | None, description: str, chosen: str) -> argparse.Namespace:
    """The options every calibration script takes: the model, its style's pieces, and whether to write."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True, help="a bundled model's name or a .keras file")
    parser.add_argument("--data", type=Path, help="a folder of the style's MIDI files (default: its bundled sample)")
    parser.add_argument("--write", action="store_true", help=f"store the chosen {chosen} in the model")
    return parser.parse_args(argv)


def store(path: Path, result: dict, write: bool) -> None:
    """With --write, the result in the model (write_info), said."""
    if write:
        write_info(path, result)
        print(f"written to {path} and {path.with_suffix('.json')}")


def main(argv: list[str] | None = None) -> dict:
    args = calibration_arguments(argv, __doc__.split("\n")[0], "odds")
    path = model_path(args.model)
    model = read_model_file(path)
    if not model.cfg.end_class:
        raise SystemExit(f"{path.name} did not learn endings: there is nothing to calibrate")
    result = calibrate(model, style_pieces(args.model, args.data))
    chosen = result["config"]
    print(
        f"chosen: x{chosen['end_odds']:g} (the default is x{END_ODDS:g}), no end before {chosen['end_after']} notes,"
        f" a cadence sought from {chosen['close_after']}"
    )
    store(path, result, args.write)
    return result


if __name__ == "__main__":
    main()
