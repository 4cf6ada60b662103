#!/usr/bin/env python3
"""Build musicrnn's bundled corpus: music21's Bach chorales as MIDI files.

Every chorale in ``music21.corpus.chorales.Iterator()`` (371 entries, 350 unique
names) is resolved to one source file in music21's corpus, parsed, reduced to
its four SATB parts and written as ``<source file stem>.mid`` (for example
``bwv269.mid``) with:

* one track per voice, named Soprano / Alto / Tenor / Bass, all on program 0
  (acoustic grand piano), plus music21's conductor track;
* one fixed tempo for every file (quarter = ``TEMPO_QPM``); the tempo marks in
  the encodings (several files say 78-100) are dropped so that every file has
  the same time scale;
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
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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


def strip_repeats(score) -> None:
    """Remove repeat barlines, voltas and repeat expressions in place (no expansion)."""
    from music21 import bar, repeat, spanner, stream

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline("regular")
    for cls in (repeat.RepeatExpression, spanner.RepeatBracket):
        for element in list(score.recurse().getElementsByClass(cls)):
            element.activeSite.remove(element)


def count_notes(midi_file) -> int:
    """Number of note-on events with velocity > 0 in a music21 MidiFile."""
    return sum(1 for track in midi_file.tracks for event in track.events if event.isNoteOn())


def convert(source: Path, out_dir: Path) -> Result:
    """Convert one chorale; never raises."""
    from music21 import converter, repeat
    from music21.midi import translate

    name = output_name(source)
    try:
        parsed = converter.parse(source)
        n_parts = len(parsed.parts)
        remarks = [] if n_parts == 4 else [f"kept SATB of {n_parts} parts"]
        score = satb_score(parsed)
        try:
            midi_file = translate.streamToMidiFile(score)
        except repeat.ExpanderException as exc:
            strip_repeats(score)
            midi_file = translate.streamToMidiFile(score)
            remarks.append(f"repeats not expanded ({exc})")
        data = midi_file.writestr()
        (out_dir / name).write_bytes(data)
        return Result(source.name, name, True, count_notes(midi_file), len(data), "; ".join(remarks))
    except Exception as exc:  # report, never abort the run
        return Result(source.name, name, False, remark=f"{type(exc).__name__}: {exc}")


def _convert_star(args: tuple[Path, Path]) -> Result:
    return convert(*args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--limit", type=int, default=0, help="convert only the first N (testing)")
    args = parser.parse_args(argv)

    import warnings

    warnings.filterwarnings("ignore")  # music21 warns about e.g. unused fermatas
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


def write_harmony_figures() -> None:
    """Store the new corpus's harmony figures, which the Steer page shows next to each harmonisation."""
    sys.path.insert(0, str(REPO_ROOT))
    from musicrnn.bundled import CHORALE_HARMONY, write_chorale_harmony

    write_chorale_harmony()
    print(f"harmony figures written to {CHORALE_HARMONY.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
