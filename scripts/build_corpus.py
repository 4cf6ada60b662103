#!/usr/bin/env python3
"""Build musicrnn's corpora: music21's Bach chorales as MIDI files (bundled), and each style's corpus.

``--style folk`` (or ``renaissance``, ``quartets``, ``all``) builds that style's full corpus into a cache folder
(not committed; ``--cache``, default ``$MUSICRNN_CORPORA`` or ``~/.cache/musicrnn/corpora``) with a manifest
of its files, sources, licences and the sources excluded (and why), and copies a small sample of it into
``musicrnn/assets/styles/<style>/`` with its LICENSE.md (primers and the Dataset page). Which music21 files
each style draws on, and why some are excluded: ``scripts/corpora.py``. Without ``--style``, the chorales:

Every chorale in ``music21.corpus.chorales.Iterator()`` (371 entries, 350 unique
names) is resolved to one source file in music21's corpus, parsed, reduced to
its four SATB parts and written as ``<source file stem>.mid`` (for example
``bwv269.mid``) with:

* one track per voice, named Soprano / Alto / Tenor / Bass, all on program 0
  (acoustic grand piano), plus music21's conductor track;
* one fixed tempo for every file (quarter = ``TEMPO_QPM``); the tempo marks in
  the encodings (several files say 78-100) are dropped so that every file has
  the same time scale;
* the first note where the score has it: a chorale that starts on an upbeat (two in three) has its pickup
  on the last beat(s) of the file's first bar, so that the file's bars are the score's (music21 writes a
  pickup at time 0, on the bar line);
* repeats expanded by music21 (its default when writing MIDI). If a file's
  repeats cannot be expanded (as with ``bwv277.krn``: "badly formed repeats";
  the script uses ``bwv277.mxl`` instead), its repeat barlines and repeat
  expressions are removed and it is written as notated, once through.

Failures are reported per file and never stop the run. The output is
deterministic: a re-run writes the same bytes.

Only this script needs music21 (``pip install -r scripts/requirements-corpus.txt``).

Usage::

    python scripts/build_corpus.py                 # -> musicrnn/assets/chorales/
    python scripts/build_corpus.py --workers 1 --limit 10 --out /tmp/chorales
    python scripts/build_corpus.py --style all     # every style: cache + musicrnn/assets/styles/
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from corpora import (
    CONVERTER,
    STYLES,
    Piece,
    Style,
    cache_dir,
    midi_of,
    pieces,
    round_robin,
    score_midi,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "musicrnn" / "assets" / "chorales"
TEMPO_QPM = 120  # music21's own default when a score has no tempo mark
VOICES = ("Soprano", "Alto", "Tenor", "Bass")
# When a corpus name matches several files, prefer these encodings, in order.
# (.mxl first: the three .krn chorales are CCARH encodings, see LICENSE.md.)
SUFFIX_PREFERENCE = (".mxl", ".musicxml", ".xml", ".krn")


@dataclass(frozen=True)
class Result:
    """Outcome of converting one chorale."""

    source: str  # source file name in music21's corpus, e.g. "bwv269.mxl"
    output: str  # output file name, e.g. "bwv269.mid"
    ok: bool
    notes: int = 0
    size: int = 0
    remark: str = ""  # non-fatal: what was done differently; fatal: the error


def output_name(source: Path) -> str:
    """``bwv18.5-lz.mxl`` -> ``bwv18.5-lz.mid`` (lower-case, only [a-z0-9._-])."""
    stem = re.sub(r"[^a-z0-9._-]+", "_", source.stem.lower()).strip("._-")
    return f"{stem or 'chorale'}.mid"


def resolve(corpus_name: str) -> Path:
    """Resolve an iterator entry such as ``bach/bwv277`` to one source file.

    ``corpus.getWork`` matches names loosely: ``bach/bwv112.5`` also matches
    ``bwv112.5-sc.mxl`` and music21's own ``corpus.parse`` takes whichever comes
    first. Prefer the file whose stem equals the requested name, then by
    encoding (``SUFFIX_PREFERENCE``).
    """
    from music21 import corpus

    found = corpus.getWork(corpus_name)
    candidates = [Path(p) for p in (found if isinstance(found, list) else [found])]
    wanted = corpus_name.rsplit("/", 1)[-1].lower()
    exact = [p for p in candidates if p.stem.lower() == wanted]
    pool = exact or candidates
    if len(pool) > 1 and not exact:
        raise LookupError(f"{corpus_name}: ambiguous {[p.name for p in pool]}")

    def rank(p: Path) -> tuple[int, str]:
        suffix = p.suffix.lower()
        order = SUFFIX_PREFERENCE.index(suffix) if suffix in SUFFIX_PREFERENCE else len(SUFFIX_PREFERENCE)
        return order, p.name

    return min(pool, key=rank)


def chorale_sources() -> tuple[list[Path], list[str]]:
    """Unique source files of the chorale iterator, sorted by name, plus lookup errors."""
    from music21 import corpus

    names = list(dict.fromkeys(corpus.chorales.Iterator(returnType="filename")))
    sources: dict[Path, None] = {}
    errors: list[str] = []
    for name in names:
        try:
            sources[resolve(name)] = None
        except Exception as exc:  # report, never abort
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return sorted(sources, key=lambda p: p.name), errors


def voice_of(part_name: str | None) -> str | None:
    """Map a part name such as ``"Soprano\\rOboe 1,2"`` to its voice, else None."""
    lines = (part_name or "").strip().lower().splitlines()
    first = lines[0].strip() if lines else ""
    return next((voice for voice in VOICES if first.startswith(voice.lower())), None)


def satb_score(score):  # music21.stream.Score -> music21.stream.Score
    """A new Score holding only the four voices, in SATB order, normalised.

    Four-part scores keep their parts in order; larger scores (e.g. bwv171.6
    with trumpets and timpani) keep the parts named Soprano/Alto/Tenor/Bass.
    Instruments and tempo marks are replaced: piano (program 0) in every part,
    one quarter = ``TEMPO_QPM`` mark at the start.
    """
    from music21 import instrument, stream, tempo

    parts = list(score.parts)
    if len(parts) == 4:
        chosen = parts
    else:
        by_voice = {}
        for part in parts:
            voice = voice_of(part.partName)
            if voice and voice not in by_voice:
                by_voice[voice] = part
        if len(by_voice) != 4:
            raise ValueError(f"{len(parts)} parts, cannot find SATB in {[p.partName for p in parts]}")
        chosen = [by_voice[v] for v in VOICES]

    out = stream.Score()
    for voice, part in zip(VOICES, chosen):
        for element in list(part.recurse().getElementsByClass([instrument.Instrument, tempo.TempoIndication])):
            element.activeSite.remove(element)
        piano = instrument.Piano()
        piano.partName = voice
        piano.midiProgram = 0
        part.insert(0, piano)
        part.partName = voice
        out.insert(0, part)
    out.parts.first().insert(0, tempo.MetronomeMark(number=TEMPO_QPM))
    return out


def count_notes(midi_file) -> int:
    """Number of note-on events with velocity > 0 in a music21 MidiFile."""
    return sum(1 for track in midi_file.tracks for event in track.events if event.isNoteOn())


def convert(source: Path, out_dir: Path) -> Result:
    """Convert one chorale; never raises."""
    from music21 import converter

    name = output_name(source)
    try:
        parsed = converter.parse(source)
        n_parts = len(parsed.parts)
        remarks = [] if n_parts == 4 else [f"kept SATB of {n_parts} parts"]
        midi_file, remark = score_midi(satb_score(parsed))
        remarks += [remark] if remark else []
        data = midi_file.writestr()
        (out_dir / name).write_bytes(data)
        return Result(source.name, name, True, count_notes(midi_file), len(data), "; ".join(remarks))
    except Exception as exc:  # report, never abort the run
        return Result(source.name, name, False, remark=f"{type(exc).__name__}: {exc}")


def _convert_star(args: tuple[Path, Path]) -> Result:
    return convert(*args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (chorales)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--limit", type=int, default=0, help="convert only the first N (testing)")
    parser.add_argument("--style", choices=(*STYLES, "all"), help="build a style's corpus instead of the chorales")
    parser.add_argument("--cache", type=Path, help="where style corpora are built (default: corpora.cache_dir())")
    parser.add_argument("--force", action="store_true", help="convert again what the cache already holds")
    parser.add_argument("--no-sample", action="store_true", help="do not replace the bundled sample")
    args = parser.parse_args(argv)

    import warnings

    warnings.filterwarnings("ignore")  # music21 warns about e.g. unused fermatas
    if args.style:
        chosen = list(STYLES) if args.style == "all" else [args.style]
        codes = [
            build_style(STYLES[name], cache_dir(args.cache), args.workers, args.force, not args.no_sample)
            for name in chosen
        ]
        return max(codes)
    start = time.perf_counter()
    sources, lookup_errors = chorale_sources()
    if args.limit:
        sources = sources[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    names = [output_name(s) for s in sources]
    clashes = {n for n in names if names.count(n) > 1}
    if clashes:
        print(f"error: output name clash: {sorted(clashes)}", file=sys.stderr)
        return 2

    jobs = [(s, args.out) for s in sources]
    if args.workers > 1:
        with multiprocessing.Pool(args.workers) as pool:
            results = pool.map(_convert_star, jobs, chunksize=4)
    else:
        results = [convert(*job) for job in jobs]

    written = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    for message in lookup_errors:
        print(f"FAILED lookup {message}")
    for r in failed:
        print(f"FAILED {r.source}: {r.remark}")
    for r in written:
        if r.remark:
            print(f"note   {r.output}: {r.remark}")
    print(
        f"{len(written)} files written to {args.out}, "
        f"{len(failed) + len(lookup_errors)} failed, "
        f"{sum(r.notes for r in written)} notes, "
        f"{sum(r.size for r in written)} bytes, "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.out.resolve() == DEFAULT_OUT.resolve() and not args.limit:
        write_harmony_figures()
    return 1 if failed or lookup_errors else 0


# ---- style corpora (scripts/corpora.py says which files) ------------------------------------------------------

SAMPLES = REPO_ROOT / "musicrnn" / "assets" / "styles"
MANIFEST = "manifest.json"
BATCH = 16  # pieces converted between two looks at the note budget


def _convert_piece(job: tuple[Piece, str, Path]) -> dict:
    """Convert one piece into the cache folder; never raises (the error is the result)."""
    piece, voicing, folder = job
    name = f"{piece.id}.mid"
    try:
        data, remark = midi_of(piece, voicing)
        notes = _midi_notes(data)
        if notes < 8:
            raise ValueError(f"only {notes} notes")
        (folder / name).write_bytes(data)
        return {"file": name, "piece": piece.id, "notes": notes, "bytes": len(data), "remark": remark}
    except Exception as exc:  # noqa: BLE001 - report, never abort the run
        return {"file": name, "piece": piece.id, "error": f"{type(exc).__name__}: {exc}"}


def _midi_notes(data: bytes) -> int:
    from music21 import midi

    midi_file = midi.MidiFile()
    midi_file.readstr(data)
    return count_notes(midi_file)


def build_style(style: Style, cache: Path, workers: int, force: bool, sample: bool) -> int:
    """Build one style's corpus into `cache/<style>/` up to its note budget, write its manifest and (unless
    `sample` is False) replace its bundled sample. Pieces already in the cache are not converted again."""
    import json

    import music21

    start = time.perf_counter()
    folder = cache / style.name
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    # A cache another converter wrote holds other files (scripts/corpora.py CONVERTER): all are converted again.
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("converter") != CONVERTER:
        force = True
    known = (
        {}
        if force or not manifest_path.exists()
        else {
            row["piece"]: row
            for row in json.loads(manifest_path.read_text()).get("files", [])
            if (folder / row["file"]).exists()
        }
    )
    # An interrupted run leaves its files without a manifest: count their notes instead of converting them again.
    for path in [] if force else folder.glob("*.mid"):
        if path.stem not in known:
            data = path.read_bytes()
            known[path.stem] = {"file": path.name, "piece": path.stem, "notes": _midi_notes(data), "bytes": len(data)}
    groups, excluded = pieces(style)
    order = list(round_robin(groups))
    rows, failed, notes = [], [], 0
    pool = multiprocessing.Pool(workers) if workers > 1 else None
    try:
        position = 0
        while notes < style.budget_notes and position < len(order):
            batch = order[position : position + BATCH]
            position += len(batch)
            todo = [(p, style.voicing, folder) for p in batch if p.id not in known]
            done = {r["piece"]: r for r in (pool.map(_convert_piece, todo) if pool else map(_convert_piece, todo))}
            for piece in batch:
                row = known.get(piece.id) or done[piece.id]
                if "error" in row:
                    failed.append(row)
                    continue
                rows.append(
                    {**row, "source": str(piece.source.relative_to(piece.source.parents[1])), "index": piece.index}
                )
                notes += row["notes"]
    finally:
        if pool:
            pool.close()
    used = {row["file"] for row in rows}
    for stale in folder.glob("*.mid"):  # pieces of an earlier, larger budget
        if stale.name not in used:
            stale.unlink()
    manifest = {
        "style": style.name,
        "title": style.title,
        "about": style.about,
        "encodings": style.encodings,
        "music21": music21.__version__,
        "converter": CONVERTER,
        "budget_notes": style.budget_notes,
        "notes": notes,
        "files": sorted(rows, key=lambda row: row["file"]),
        "failed": failed,
        "excluded": [{"source": source, "reason": reason} for source, reason in excluded],
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    for row in failed:
        print(f"FAILED {row['piece']}: {row['error']}")
    print(
        f"{style.name}: {len(rows)} files, {notes} notes in {folder} ({len(failed)} failed, "
        f"{len(excluded)} sources excluded for their terms), {time.perf_counter() - start:.0f} s"
    )
    if sample:
        write_sample(style, folder, manifest)
    return 0


def write_sample(style: Style, folder: Path, manifest: dict) -> Path:
    """Copy a small, evenly spread sample of the built corpus into the package, with its LICENSE.md."""
    rows = manifest["files"]
    step = max(1, len(rows) // max(1, style.sample_files))
    chosen, size = [], 0
    for row in rows[::step]:
        if len(chosen) == style.sample_files:
            break
        if size + row["bytes"] <= style.sample_bytes:
            chosen.append(row)
            size += row["bytes"]
    out = SAMPLES / style.name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.mid"):
        old.unlink()
    for row in chosen:
        (out / row["file"]).write_bytes((folder / row["file"]).read_bytes())
    (out / "LICENSE.md").write_text(sample_licence(style, manifest, chosen))
    print(f"{style.name}: sample of {len(chosen)} files ({size / 1024:.0f} KB) in {out.relative_to(REPO_ROOT)}")
    return out


def sample_licence(style: Style, manifest: dict, chosen: list[dict]) -> str:
    excluded = "".join(f"- `{row['source']}`: {row['reason']}\n" for row in manifest["excluded"]) or "- none\n"
    files = "".join(
        f"- `{row['file']}` from `{row['source']}`"
        + (f" (tune X:{row['index']})" if row["index"] is not None else "")
        + "\n"
        for row in chosen
    )
    return f"""# {style.title}: source and licence

A sample of the corpus musicrnn's `{style.name}` model learns from, made by `scripts/build_corpus.py --style
{style.name}` from the corpus distributed with music21 {manifest["music21"]}
(<https://github.com/cuthbertLab/music21>; software BSD-3-Clause, corpus terms in
`music21/corpus/license.txt`). The full corpus ({len(manifest["files"])} files, {manifest["notes"]} notes) is
built on demand into a cache folder and not committed.

## The music

{style.about}

## The encodings

{style.encodings}

music21's `corpus/license.txt` says the corpus is "distributed with the permission of the encoders (and,
where needed, the composers or arrangers)" and that "some encodings included in the corpus may not be used
for commercial uses or have other restrictions: please see the licenses embedded in individual compositions
or directories for more details". Every source was checked for such terms (`scripts/corpora.py`,
`restriction`); these were excluded:

{excluded}
## The files here

{files}"""


def write_harmony_figures() -> None:
    """Store the new corpus's harmony figures, which the Steer page shows next to each harmonisation."""
    sys.path.insert(0, str(REPO_ROOT))
    from musicrnn.bundled import CHORALE_HARMONY, write_chorale_harmony

    write_chorale_harmony()
    print(f"harmony figures written to {CHORALE_HARMONY.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
