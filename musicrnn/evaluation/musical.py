"""What is the music like? Musical metrics of a piece or a corpus (how much it copies: evaluation.novelty).

Definitions follow MusPy (Dong et al., 2020, `muspy.metrics`) and MGEval (Yang & Lerch, 2018) where they
exist; each function's docstring says which, and what we do differently. A piece is the note stream the
model sees: all voices merged, sorted by start time (ties by pitch), with `step` = time since the previous
note's start and `duration` in seconds. Rhythm metrics read onsets in beats from the seconds at the piece's
tempo (`bpm`), unsnapped, so a model whose notes fall off the beat shows it. Nothing here needs TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Corpus
from ..features import CHORD_GAP, onsets_from_steps
from ..midi import main_bpm, snap
from ..theory import BEAT_GRID, DEFAULT_BPM, SCALES, key_pitch_classes
from .novelty import CorpusIndex, longest_copied_run
from .voices import SILENT, both_sound, note_grid, parallel_perfect, sounding_matrix

# MusPy's scales for scale consistency (and our key finding): major and natural minor on each of the 12 roots.
KEY_SCALES = (SCALES["major"], SCALES["minor"])
NGRAM = 4  # repetition counts repeated 4-note pitch patterns
# Shared bins for step and duration histograms (seconds): one bin for "zero" (notes of a chord), then
# bins half an octave wide centred on 1/32, 1/16 … 4 s and the half-way points (0.177, 0.354, 0.707 …),
# so the usual note values (0.125, 0.25, 0.5, 1 s, and dotted ones) sit in bin centres, not on edges.
# Values above the last edge are counted in the last bin.
TIME_EDGES = np.concatenate([[0.0], 2.0 ** ((np.arange(-10, 5) * 2 - 1) / 4)])
METRIC_LABELS = {
    "notes": "notes",
    "pitch_range": "pitch range (semitones)",
    "pitches_used": "pitches used",
    "pitch_classes_used": "pitch classes used",
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "scale consistency",
    "mean_abs_interval": "mean |interval| (semitones)",
    "repetition": "repeated 4-note patterns",
    "polyphony": "notes per onset",
    "polyphony_sounding": "notes sounding (MusPy polyphony)",
    "mean_step": "mean step (s)",
    "mean_duration": "mean duration (s)",
    "on_grid": "onsets on the 1/12-beat grid",
    "on_beat": "onsets on a beat",
    "ioi_entropy": "rhythm entropy (bits)",
}
GRID_TOLERANCE = 1 / 192  # beats (2.6 ms at 120 bpm): "on the grid" means within this of a 1/12 beat


# ---------------------------------------------------------------- one piece


def pitch_range(pitch: np.ndarray) -> int:
    """Highest minus lowest pitch, in semitones (MusPy `pitch_range`)."""
    return int(pitch.max() - pitch.min()) if len(pitch) else 0


def pitches_used(pitch: np.ndarray) -> int:
    """Number of distinct MIDI pitches (MusPy `n_pitches_used`)."""
    return int(len(np.unique(pitch)))


def pitch_classes_used(pitch: np.ndarray) -> int:
    """Number of distinct pitch classes, C … B (MusPy `n_pitch_classes_used`)."""
    return int(len(np.unique(np.asarray(pitch) % 12)))


def pitch_class_histogram(pitch: np.ndarray) -> np.ndarray:
    """Share of notes on each pitch class C … B (12 values summing to 1; zeros for no notes)."""
    counts = np.bincount(np.asarray(pitch, dtype=np.int64) % 12, minlength=12).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def pitch_class_entropy(pitch: np.ndarray) -> float:
    """Shannon entropy of the pitch-class histogram, in bits (MusPy `pitch_class_entropy`): 0 for one
    pitch class, log2(12) ≈ 3.58 for all twelve used equally. Counts notes, not time."""
    probs = pitch_class_histogram(pitch)
    probs = probs[probs > 0]
    return float(-(probs * np.log2(probs)).sum()) + 0.0 if len(probs) else float("nan")  # + 0.0: no "-0.0"


def scale_consistency(pitch: np.ndarray) -> float:
    """Largest share of notes inside one major or natural-minor scale over all 12 roots
    (MusPy `scale_consistency`). 1.0 means every note fits one key."""
    if not len(pitch):
        return float("nan")
    counts = np.bincount(np.asarray(pitch, dtype=np.int64) % 12, minlength=12)
    inside = max(
        int(counts[[(root + degree) % 12 for degree in scale]].sum()) for scale in KEY_SCALES for root in range(12)
    )
    return inside / len(pitch)  # integer counts, so a perfect fit is exactly 1.0


def mean_abs_interval(pitch: np.ndarray) -> float:
    """Mean absolute difference in semitones between consecutive notes of the stream (MGEval's
    `avg_pitch_interval`, taken as absolute values). Chords count as they sit in the stream — bottom to top,
    then on to the next onset — so a C major triad adds intervals 4 and 3: the same intervals the model
    predicts (and gets as its interval feature)."""
    return float(np.abs(np.diff(pitch)).mean()) if len(pitch) > 1 else float("nan")


def repetition(pitch: np.ndarray, n: int = NGRAM) -> float:
    """Share of the piece's n-note pitch patterns (all len-n+1 overlapping windows) that repeat a pattern
    seen earlier in the piece: 1 - distinct/total. 0 = no pattern recurs; near 1 = a loop.
    (Our own definition: neither MusPy nor MGEval has an n-gram repetition metric.)"""
    pitch = np.asarray(pitch, dtype=np.int64)
    if len(pitch) < n:
        return float("nan")
    windows = np.lib.stride_tricks.sliding_window_view(pitch, n)
    return float(1.0 - len(np.unique(windows, axis=0)) / len(windows))


def onset_groups(step: np.ndarray) -> int:
    """Number of distinct onsets: notes starting within CHORD_GAP (10 ms) of the previous one join its onset."""
    step = np.asarray(step, dtype=np.float64)
    return int(1 + (step[1:] >= CHORD_GAP).sum()) if len(step) else 0


def polyphony(step: np.ndarray) -> float:
    """Mean number of notes starting together: notes / onsets (1.0 for a melody, 4.0 for block SATB chords).
    This is what the model generates (zero steps) and is what we report as "polyphony"; MusPy's
    `polyphony` counts notes *sounding* and is `polyphony_sounding`."""
    return len(step) / onset_groups(step) if len(step) else float("nan")


def polyphony_sounding(step: np.ndarray, duration: np.ndarray) -> float:
    """Mean number of notes sounding, over the time at least one note sounds (MusPy `polyphony`, which
    averages a piano roll's active-pitch counts over time steps with any note on; here computed exactly in
    continuous time instead of on a grid, and a note held twice at one pitch counts twice)."""
    start = np.cumsum(np.asarray(step, dtype=np.float64))
    end = start + np.asarray(duration, dtype=np.float64)
    if not len(start) or not (end > start).any():
        return float("nan")
    times = np.concatenate([start, end])
    change = np.concatenate([np.ones(len(start)), -np.ones(len(end))])
    order = np.argsort(times, kind="stable")
    times, sounding = times[order], np.cumsum(change[order])
    span = np.diff(times)  # sounding[i] notes sound from times[i] to times[i+1]
    active = sounding[:-1] > 0
    return float((sounding[:-1] * span)[active].sum() / span[active].sum())


def time_histogram(values: np.ndarray, edges: np.ndarray = TIME_EDGES) -> np.ndarray:
    """Share of values in each bin of `edges` (seconds); values past the last edge count in the last bin."""
    values = np.clip(np.asarray(values, dtype=np.float64), edges[0], edges[-1])
    counts, _ = np.histogram(values, bins=edges)
    return counts / counts.sum() if counts.sum() else counts.astype(np.float64)


def onset_beats(step: np.ndarray, bpm: float = DEFAULT_BPM) -> np.ndarray:
    """Onsets in beats from the first note, read from the seconds at a steady tempo (not snapped)."""
    return onsets_from_steps(np.asarray(step, np.float64)) * bpm / 60.0


def grid_offsets(beats: np.ndarray, grid: int = BEAT_GRID) -> np.ndarray:
    """Distance (beats) of each onset from the nearest 1/grid beat."""
    beats = np.asarray(beats, np.float64)
    return np.abs(beats - snap(beats, grid))


def on_grid(beats: np.ndarray, grid: int = BEAT_GRID) -> float:
    """Share of onsets within GRID_TOLERANCE of the 1/grid-beat grid."""
    return float((grid_offsets(beats, grid) <= GRID_TOLERANCE).mean()) if len(beats) else float("nan")


def on_beat(beats: np.ndarray) -> float:
    """Share of onsets on a whole beat."""
    return float((grid_offsets(beats, 1) <= GRID_TOLERANCE).mean()) if len(beats) else float("nan")


def beat_position_histogram(beats: np.ndarray, grid: int = BEAT_GRID) -> np.ndarray:
    """Share of onsets at each twelfth of the beat (0 = on the beat), each onset counted at its nearest."""
    position = np.round(np.mod(np.asarray(beats, np.float64), 1.0) * grid).astype(np.int64) % grid
    counts = np.bincount(position, minlength=grid).astype(np.float64)
    return counts / max(1.0, counts.sum())


def ioi_entropy(beats: np.ndarray, grid: int = BEAT_GRID) -> float:
    """Entropy (bits) of the inter-onset intervals between successive distinct onsets, on the 1/grid-beat
    grid (MGEval's note-length histogram, for onsets): 0 for a steady pulse, higher for varied rhythm."""
    onsets = np.unique(np.round(np.asarray(beats, np.float64) * grid))
    if len(onsets) < 2:
        return float("nan")
    _, counts = np.unique(np.diff(onsets), return_counts=True)
    probs = counts / counts.sum()
    return float(max(0.0, -(probs * np.log2(probs)).sum()))


def time_bin_labels(edges: np.ndarray = TIME_EDGES) -> list[str]:
    """Readable names for the bins of `edges`: "0" for the zero bin, then the bin centres in seconds."""
    centres = np.sqrt(edges[1:-1] * edges[2:])
    return ["0"] + [f"{c:.2g} s" for c in centres]


Stream = tuple[np.ndarray, np.ndarray, np.ndarray, float]  # pitch, step (s), duration (s), bpm


def _arrays(notes: pd.DataFrame) -> Stream:
    pitch = notes["pitch"].to_numpy(np.int64)
    if "step" in notes:
        step = notes["step"].to_numpy(np.float64)
    else:
        step = np.diff(notes["start"].to_numpy(np.float64), prepend=notes["start"].iloc[0] if len(notes) else 0.0)
    return pitch, step, notes["duration"].to_numpy(np.float64), main_bpm(notes)


def metrics_of(pitch: np.ndarray, step: np.ndarray, duration: np.ndarray, bpm: float = DEFAULT_BPM) -> dict[str, float]:
    """Every scalar metric of one note stream (the keys of METRIC_LABELS)."""
    pitch, step, duration = np.asarray(pitch, np.int64), np.asarray(step, np.float64), np.asarray(duration, np.float64)
    empty = not len(pitch)
    beats = onset_beats(step, bpm)
    return {
        "notes": int(len(pitch)),
        "pitch_range": float("nan") if empty else pitch_range(pitch),
        "pitches_used": pitches_used(pitch),
        "pitch_classes_used": pitch_classes_used(pitch),
        "pitch_class_entropy": pitch_class_entropy(pitch),
        "scale_consistency": scale_consistency(pitch),
        "mean_abs_interval": mean_abs_interval(pitch),
        "repetition": repetition(pitch),
        "polyphony": polyphony(step),
        "polyphony_sounding": polyphony_sounding(step, duration),
        # The first step is the gap before the piece starts, not between notes: leave it out.
        "mean_step": float(step[1:].mean()) if len(step) > 1 else float("nan"),
        "mean_duration": float("nan") if empty else float(duration.mean()),
        "on_grid": on_grid(beats),
        "on_beat": on_beat(beats),
        "ioi_entropy": ioi_entropy(beats),
    }


def piece_metrics(notes: pd.DataFrame) -> dict[str, float]:
    """Every scalar metric of one note table (columns pitch, step or start, duration)."""
    return metrics_of(*_arrays(notes))


# ---------------------------------------------------------------- a corpus


def _streams(corpus: Corpus | Sequence[pd.DataFrame], max_notes: int | None) -> list[Stream]:
    if isinstance(corpus, Corpus):
        streams = list(zip(corpus.pitch, corpus.step, corpus.duration, corpus.bpm))
    else:
        streams = [_arrays(notes) for notes in corpus]
    cut = slice(None) if max_notes is None else slice(0, max_notes)
    return [(p[cut], s[cut], d[cut], bpm) for p, s, d, bpm in streams if len(p)]


def corpus_metrics(corpus: Corpus | Sequence[pd.DataFrame], max_notes: int | None = None) -> dict[str, float]:
    """The mean over files of `piece_metrics` (same keys), every file weighing the same, as MusPy's
    evaluations average per-sample metrics. Range, pitches used and repetition grow with length, so pass
    `max_notes` (e.g. the generated length) to compare files cut to the same length as generated pieces."""
    rows = [metrics_of(*stream) for stream in _streams(corpus, max_notes)]
    if not rows:
        raise ValueError("the corpus has no notes")
    return {key: _mean([row[key] for row in rows]) for key in rows[0]}


# ---------------------------------------------------------------- parts


def part_metrics(pitch: np.ndarray, part: np.ndarray) -> dict[str, dict[str, float]]:
    """Per part (by name): its share of the notes, its notes, and its range (lowest, median, highest pitch)."""
    from ..parts import part_name

    pitch, part = np.asarray(pitch, np.int64), np.asarray(part, np.int64)
    report = {}
    for value in np.unique(part):
        chosen = pitch[part == value]
        report[part_name(value)] = {
            "notes": int(len(chosen)),
            "share": float(len(chosen) / max(1, len(pitch))),
            "low": int(chosen.min()),
            "median": float(np.median(chosen)),
            "high": int(chosen.max()),
        }
    return report


def parts_comparison(pieces: Sequence[pd.DataFrame], corpus: Corpus) -> dict:
    """Notes per part and each part's range in generated pieces (all together) next to the corpus'."""
    return {
        "generated": part_metrics(
            np.concatenate([p["pitch"] for p in pieces]), np.concatenate([p["part"] for p in pieces])
        ),
        "corpus": part_metrics(np.concatenate(corpus.pitch), np.concatenate(corpus.part)),
    }


def _mean(values: list[float]) -> float:
    """Mean ignoring NaN (metrics undefined for a file, e.g. repetition of a 3-note file); NaN if all are."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if len(array) else float("nan")


def corpus_pitch_class_histogram(corpus: Corpus | Sequence[pd.DataFrame]) -> np.ndarray:
    """Share of all the corpus's notes on each pitch class (notes pooled, so long files weigh more)."""
    return pitch_class_histogram(np.concatenate([p for p, _, _, _ in _streams(corpus, None)]))


def corpus_beat_position_histogram(corpus: Corpus | Sequence[pd.DataFrame]) -> np.ndarray:
    """Share of all the corpus's onsets at each twelfth of the beat (pooled)."""
    return beat_position_histogram(np.concatenate([onset_beats(s, bpm) for _, s, _, bpm in _streams(corpus, None)]))


def piece_beat_position_histogram(notes: pd.DataFrame) -> np.ndarray:
    _, step, _, bpm = _arrays(notes)
    return beat_position_histogram(onset_beats(step, bpm))


def corpus_time_histogram(
    corpus: Corpus | Sequence[pd.DataFrame], which: str = "duration", edges: np.ndarray = TIME_EDGES
) -> np.ndarray:
    """Pooled histogram of the corpus's steps (first note of each file left out) or durations."""
    if which not in ("step", "duration"):
        raise KeyError(which)
    values = [step[1:] if which == "step" else duration for _, step, duration, _ in _streams(corpus, None)]
    return time_histogram(np.concatenate(values), edges)


def piece_time_histogram(notes: pd.DataFrame, which: str = "duration", edges: np.ndarray = TIME_EDGES) -> np.ndarray:
    """A piece's step (first note left out) or duration histogram on the shared bins."""
    values = notes[which].to_numpy(np.float64)
    return time_histogram(values[1:] if which == "step" else values, edges)


# ---------------------------------------------------------------- a model's pieces next to its corpus


def musical_comparison(
    model,
    evaluation: Corpus,
    training: Corpus,
    primer: pd.DataFrame | None = None,
    n_notes: int = 200,
    variations: int = 3,
    seed: int = 0,
) -> dict:
    """Generate `variations` pieces and report their metrics next to the evaluation files' (cut to the same
    length), plus novelty: each piece's longest run copied from the training files, and for scale the same
    figure for the evaluation files themselves (real music not seen in training also shares runs)."""
    from ..generate import Sampling, generate

    sampling = Sampling(n_notes=n_notes, variations=variations, seed=seed)
    pieces = generate(model, primer, sampling)
    exact, moved = CorpusIndex(training), CorpusIndex(training, intervals=True)
    held_out = [longest_copied_run(p[:n_notes], exact).length for p in evaluation.pitch]
    parts = {"parts": parts_comparison(pieces, evaluation)} if pieces and "part" in pieces[0] else {}
    return {
        **parts,
        # `notes` is a cap: a model with an end class may end a piece sooner.
        "settings": {"notes": n_notes, "variations": variations, "seed": seed, "temperature": sampling.temperature},
        "generated": [piece_metrics(p) for p in pieces],
        "evaluation_files": corpus_metrics(evaluation, max_notes=n_notes),
        "novelty": {
            "longest_copied_run": [longest_copied_run(p, exact).to_dict() for p in pieces],
            "longest_copied_run_transposed": [longest_copied_run(p, moved, transposed=True).to_dict() for p in pieces],
            "evaluation_files_longest_copied_run": {
                "median": float(np.median(held_out)) if held_out else None,
                "max": int(max(held_out)) if held_out else None,
            },
        },
    }


# ---------------------------------------------------------------- harmony: a harmonisation next to the chorales


def harmony_report(notes: pd.DataFrame) -> dict[str, float]:
    """Voices sounding per onset; share of chord notes (all but the highest note starting at each onset) in the
    key the notes were harmonised in (`notes.attrs["key"]`, harmony.harmonize sets it; minor with its raised sixth
    and seventh), else the major/natural-minor key that best fits those highest notes; parallel fifths and octaves
    between the outer voices (lowest and highest sounding note) per 100 consecutive onsets, both voices moving
    the same way."""
    beat, end, onsets = note_grid(notes)
    pitch = notes["pitch"].to_numpy(np.int64)
    if not len(onsets):
        return {
            "voices_per_onset": float("nan"),
            "chord_notes_in_key": float("nan"),
            "parallel_fifths_per_100": float("nan"),
            "parallel_octaves_per_100": float("nan"),
        }
    sounding = sounding_matrix(beat, end, onsets)
    low = np.where(sounding, pitch[None, :], 999).min(axis=1)
    high = np.where(sounding, pitch[None, :], -1).max(axis=1)
    top_index = pd.DataFrame({"b": beat, "p": pitch}).groupby("b")["p"].idxmax().to_numpy()
    is_top = np.zeros(len(pitch), bool)
    is_top[top_index] = True
    in_key = np.isin(pitch[~is_top] % 12, sorted(_report_key_classes(notes, pitch[is_top])))
    two = sounding.sum(axis=1) >= 2  # outer voices exist where two notes or more sound
    outer_high, outer_low = np.where(two, high, SILENT), np.where(two, low, SILENT)
    pairs = max(int(both_sound(outer_high, outer_low).sum()), 1)
    fifths, octaves = parallel_perfect(outer_high, outer_low)
    return {
        "voices_per_onset": float(sounding.sum(axis=1).mean()),
        "chord_notes_in_key": float(in_key.mean()) if len(in_key) else float("nan"),
        "parallel_fifths_per_100": 100.0 * fifths.sum() / pairs,
        "parallel_octaves_per_100": 100.0 * octaves.sum() / pairs,
    }


def _report_key_classes(notes: pd.DataFrame, top_pitches: np.ndarray) -> set[int]:
    """The pitch classes harmony_report counts as in the key: the harmonised key's (the page said "the harmony
    keeps to its notes": judged by another key, its own notes read as 94 % in key), else the best fit's."""
    if notes.attrs.get("key"):
        return key_pitch_classes(str(notes.attrs["key"]))
    counts = np.bincount(top_pitches % 12, minlength=12)
    root, scale = max(
        ((root, scale) for scale in KEY_SCALES for root in range(12)),
        key=lambda rs: counts[[(rs[0] + d) % 12 for d in rs[1]]].sum(),
    )
    return {(root + d) % 12 for d in scale}


def harmony_sentences(
    report: dict[str, float], reference: dict[str, float], whose: str = "Bach's chorales"
) -> list[str]:
    """A harmony_report in sentences a musician reads, each next to the same figure of `reference` (`whose`).
    A figure that could not be measured (a piece with no chords) is left out."""

    def per_100(value: float) -> str:
        return f"{value:.1f} per 100 chords" if value >= 1 else f"{value:.2f} per 100 chords"

    def parallels(name: str, key: str) -> str:
        own, theirs = report[key], reference[key]
        said = f"no parallel {name}" if own == 0 else f"parallel {name}: {per_100(own)}"
        return f"{said[0].upper() + said[1:]} between the outer voices ({whose}: {per_100(theirs)})."

    sentences = {
        "voices_per_onset": f"{report['voices_per_onset']:.1f} voices sound at each new note on average "
        f"({whose}: {reference['voices_per_onset']:.1f}).",
        "chord_notes_in_key": f"{report['chord_notes_in_key'] * 100:.0f} % of the notes under the melody are in "
        f"its key ({whose}: {reference['chord_notes_in_key'] * 100:.0f} %).",
        "parallel_fifths_per_100": parallels("fifths", "parallel_fifths_per_100"),
        "parallel_octaves_per_100": parallels("octaves", "parallel_octaves_per_100"),
    }
    return [text for key, text in sentences.items() if not np.isnan(report[key])]


def corpus_harmony_report(tables: Sequence[pd.DataFrame]) -> dict[str, float]:
    """harmony_report averaged over pieces (each piece counts once)."""
    reports = [harmony_report(t) for t in tables if len(t)]
    return {name: _mean([r[name] for r in reports]) for name in (reports[0] if reports else {})}
