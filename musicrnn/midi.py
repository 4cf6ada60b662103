"""Note tables and pretty_midi: a file's notes as a table in seconds and beats, and a table back to MIDI.

Every note has its time twice: in seconds (display, audio) and in beats (quarter notes, read through the file's
tempo map and snapped to a 1/12-beat grid), which is what the beat-based models see: the same music at another
tempo gives the same beats. Every note keeps its `track` (index in the file) and its `part` (musicrnn.parts: a
voice, a General MIDI family, or drums). Notes of one pitch that start together in several parts (instruments
doubling the voices) are merged into one; drums never merge with pitched notes (their "pitch" is a drum sound).
Files come in through musicrnn.midi_load, checked by musicrnn.midi_scan.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pretty_midi

from .features import steps_between
from .midi_scan import MAX_NOTES, MidiError
from .parts import DRUMS_PART, PIANO_PART, part_name, parts_of_tracks, sounding_program
from .theory import BAR_BEATS, BEAT_GRID, DEFAULT_BPM, time_signature

# A piece's columns (what generation writes), then what a file adds: each note's part, track and program.
PIECE_COLUMNS = [
    "pitch",
    "start",
    "end",
    "step",
    "duration",
    "velocity",
    "beat",
    "step_beats",
    "duration_beats",
    "bar_beat",
    "bar_beats",
    "bpm",
]
NOTE_COLUMNS = [*PIECE_COLUMNS, "part", "track", "program"]
DRUMS_PROGRAM = 128  # what `programs` filters and Track.program call drum tracks (GM programs are 0-127)


def pm_to_notes(
    pm: pretty_midi.PrettyMIDI,
    name: str = "file",
    instruments: Sequence[int] | None = None,
    include_drums: bool = False,
    max_notes: int = MAX_NOTES,
) -> pd.DataFrame:
    """Merge the chosen instruments' notes into one table sorted by start time (ties by pitch)."""
    if not pm.instruments:
        raise MidiError(name, "the file has no notes (only settings such as tempo or track names)")
    chosen = range(len(pm.instruments)) if instruments is None else instruments
    picked = [pm.instruments[i] for i in chosen if 0 <= i < len(pm.instruments)]
    if not include_drums:
        if picked and all(inst.is_drum for inst in picked):
            raise MidiError(name, "the file has only drum tracks (drum keys are not pitches); include drums to use it")
        picked = [inst for inst in picked if not inst.is_drum]
    total = sum(len(inst.notes) for inst in picked)
    if total == 0:
        raise MidiError(name, "the chosen instruments have no notes")
    if total > max_notes:
        raise MidiError(name, f"the file has {total:,} notes, more than the limit of {max_notes:,}")
    index = {id(inst): i for i, inst in enumerate(pm.instruments)}
    parts = parts_of_tracks(
        [(inst.program, inst.name, inst.is_drum, np.mean([n.pitch for n in inst.notes] or [0])) for inst in picked]
    )
    rows = np.array(
        [
            (
                n.pitch,
                n.start,
                n.end,
                n.velocity,
                part,
                index[id(inst)],
                DRUMS_PROGRAM if inst.is_drum else sounding_program(inst.program, inst.name),
            )
            for inst, part in zip(picked, parts)
            for n in inst.notes
        ],
        dtype=np.float64,
    ).reshape(-1, 7)
    timing = MusicalTime.of(pm)
    return notes_frame(
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], timing, part=rows[:, 4], track=rows[:, 5], program=rows[:, 6]
    )


class MusicalTime:
    """A file's tempo map and time signatures: seconds to beats (quarter notes) and back, and bars.

    pretty_midi gives the tempo changes (time, quarter notes per minute); between two changes beats grow
    linearly with time, so both directions are one np.interp over the change points.
    """

    def __init__(self, tempo_times: np.ndarray, tempi: np.ndarray, signatures: Sequence[tuple[float, int, int]] = ()):
        tempo_times, tempi = np.asarray(tempo_times, np.float64), np.asarray(tempi, np.float64)
        if len(tempi) == 0 or tempo_times[0] > 0:
            tempo_times = np.concatenate([[0.0], tempo_times])
            tempi = np.concatenate([[tempi[0] if len(tempi) else DEFAULT_BPM], tempi])
        tempi = np.where((tempi > 0) & np.isfinite(tempi), tempi, DEFAULT_BPM)
        self.tempo_times, self.tempi = tempo_times, tempi
        self.tempo_beats = np.concatenate([[0.0], np.cumsum(np.diff(tempo_times) * tempi[:-1] / 60.0)])
        # (beat where it starts, bar length in beats) per time signature; 4/4 unless the file says otherwise.
        bars = [
            (float(self.to_beats(np.array([t]))[0]), num * 4.0 / den)
            for t, num, den in signatures
            if num > 0 and den > 0
        ]
        self.signature_names = [f"{num}/{den}" for _, num, den in signatures if num > 0 and den > 0] or ["4/4"]
        if not bars or bars[0][0] > 0:
            bars.insert(0, (0.0, BAR_BEATS))
        self.bar_starts = np.array([b for b, _ in bars])
        self.bar_lengths = np.array([length for _, length in bars])

    @classmethod
    def of(cls, pm: pretty_midi.PrettyMIDI) -> MusicalTime:
        times, tempi = pm.get_tempo_changes()
        signatures = [(ts.time, ts.numerator, ts.denominator) for ts in pm.time_signature_changes]
        return cls(times, tempi, signatures)

    def to_beats(self, seconds: np.ndarray) -> np.ndarray:
        seconds = np.asarray(seconds, np.float64)
        index = np.searchsorted(self.tempo_times, seconds, side="right") - 1
        index = np.clip(index, 0, len(self.tempi) - 1)
        return self.tempo_beats[index] + (seconds - self.tempo_times[index]) * self.tempi[index] / 60.0

    def to_seconds(self, beats: np.ndarray) -> np.ndarray:
        beats = np.asarray(beats, np.float64)
        index = np.clip(np.searchsorted(self.tempo_beats, beats, side="right") - 1, 0, len(self.tempi) - 1)
        return self.tempo_times[index] + (beats - self.tempo_beats[index]) * 60.0 / self.tempi[index]

    def tempo_at(self, seconds: np.ndarray) -> np.ndarray:
        """BPM at each time, to 0.01 (MIDI stores whole microseconds per beat: 84 bpm reads as 84.000084)."""
        index = np.clip(
            np.searchsorted(self.tempo_times, np.asarray(seconds, np.float64), side="right") - 1, 0, len(self.tempi) - 1
        )
        return np.round(self.tempi[index], 2)

    def bar_position(self, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(place of each onset in its bar, that bar's length), both in beats."""
        beats = np.asarray(beats, np.float64)
        index = np.clip(np.searchsorted(self.bar_starts, beats + 1e-9, side="right") - 1, 0, len(self.bar_starts) - 1)
        length = self.bar_lengths[index]
        return np.mod(beats - self.bar_starts[index], length), length

    def signature_at_start(self) -> str:
        return self.signature_names[0]


def snap(beats: np.ndarray, grid: int = BEAT_GRID) -> np.ndarray:
    """Beats rounded to the nearest 1/grid beat."""
    return np.round(np.asarray(beats, np.float64) * grid) / grid


def merge_doublings(
    pitch: np.ndarray, onset: np.ndarray, length: np.ndarray, part: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the notes to keep when notes of the same pitch start together (on the same snapped onset):
    one of each group, the longest, and of equal lengths the one of the lowest part id (a voice before an
    instrument). Instruments doubling the voices would otherwise count every note twice.

    Across parts, not only within one: music21's chorales with instrumental parts (5-8 tracks) scored worse
    than the bigram until their doublings were merged (3.47 -> 2.66 nats of pitch cross-entropy a note), and the
    pitch head cannot know that the next note is the same pitch in another part. Drums are grouped apart from
    pitched notes."""
    part = np.zeros(len(pitch), np.int64) if part is None else np.asarray(part, np.int64)
    drums = part == DRUMS_PART
    order = np.lexsort((part, -length, pitch, drums, onset))  # within a group, the longest first
    key_onset, key_pitch, key_drums = onset[order], pitch[order], drums[order]
    first = np.ones(len(order), bool)
    first[1:] = (
        (key_onset[1:] != key_onset[:-1]) | (key_pitch[1:] != key_pitch[:-1]) | (key_drums[1:] != key_drums[:-1])
    )
    return np.sort(order[first])


def notes_frame(
    pitch: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    velocity: np.ndarray,
    timing: MusicalTime | None = None,
    part: np.ndarray | None = None,
    track: np.ndarray | None = None,
    program: np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the standard note table (seconds and beats); drops notes that end before they start and merges
    doubled notes. Without a tempo map, beats are read at 120 bpm; without parts, every note is piano, track 0."""
    timing = timing or MusicalTime(np.zeros(1), np.array([DEFAULT_BPM]))
    part = np.full(len(pitch), PIANO_PART) if part is None else np.asarray(part)
    track = np.zeros(len(pitch)) if track is None else np.asarray(track)
    program = np.zeros(len(pitch)) if program is None else np.asarray(program)
    keep = end > start
    pitch, start, end, velocity, part, track = (
        pitch[keep],
        start[keep],
        end[keep],
        velocity[keep],
        part[keep],
        track[keep],
    )
    program = program[keep]
    raw_onset = timing.to_beats(start)
    onset = snap(raw_onset)
    length = np.maximum(snap(timing.to_beats(end) - raw_onset), 1.0 / BEAT_GRID)
    kept = merge_doublings(pitch.astype(np.int64), onset, length, part)
    merged = len(pitch) - len(kept)
    pitch, start, end, velocity, onset, length = (
        pitch[kept],
        start[kept],
        end[kept],
        velocity[kept],
        onset[kept],
        length[kept],
    )
    part, track, program = part[kept], track[kept], program[kept]
    shift = np.abs(timing.to_seconds(onset) - start)
    # Ties in onset by pitch, as before parts existed: a chord is read from the bass up (drums last).
    order = np.lexsort((pitch, part == DRUMS_PART, onset))
    start, onset = start[order], onset[order]
    step, step_beats = steps_between(start), steps_between(onset)
    bar_beat, bar_beats = timing.bar_position(onset)
    notes = pd.DataFrame(
        {
            "pitch": pitch[order].astype(np.int64),
            "start": start,
            "end": end[order],
            "step": step,
            "duration": end[order] - start,
            "velocity": velocity[order].astype(np.int64),
            "beat": onset,
            "step_beats": step_beats,
            "duration_beats": length[order],
            "bar_beat": bar_beat,
            "bar_beats": bar_beats,
            "bpm": timing.tempo_at(start),
            "part": part[order].astype(np.int64),
            "track": track[order].astype(np.int64),
            "program": program[order].astype(np.int64),  # the track's General MIDI program (DRUMS_PROGRAM: drums)
        }
    )
    notes.attrs.update(
        merged=int(merged),
        shift_ms=float(np.median(shift) * 1000) if len(shift) else 0.0,
        time_signature=timing.signature_at_start(),
    )
    return notes


def main_bpm(notes: pd.DataFrame) -> float:
    """The tempo most of the notes play at: the median of the notes' tempos, 120 without a `bpm` column.

    Not the first note's: a piece that opens with a pickup often has MIDI's default 120 bpm under it and its
    own tempo from the first full bar (music21 writes chorales so).
    """
    return float(notes["bpm"].median()) if "bpm" in notes and len(notes) else DEFAULT_BPM


def notes_to_midi(
    notes: pd.DataFrame,
    program: int = 0,
    velocity: int | None = None,
    is_drum: bool = False,
    instrument_name: str = "",
    bpm: float | None = None,
    time_signature: tuple[int, int] | None = None,
    programs: dict[int, int] | None = None,
) -> pretty_midi.PrettyMIDI:
    """Write a note table (pitch plus start/end, or step/duration) as a MIDI file, with a tempo (`bpm`, else
    the table's own `bpm` column, else 120) and a time signature (default 4/4).

    A table with a `part` column of several parts (or given `programs`, part id -> General MIDI program)
    becomes one track per part, named after it, drums on channel 10; otherwise one instrument, `program`.
    A table that starts at time 0 off the bar line (a pickup) starts after the rest that fills its first bar
    (pickup_rest), so other programs read its bars where the table's `bar_beat` puts them."""
    if bpm is None:
        bpm = main_bpm(notes)
    # 480 ticks a beat: divisible by 12, so every 1/12-beat position is a whole tick.
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=float(bpm))
    numerator, denominator = time_signature or signature_of(notes)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(numerator), int(denominator), 0.0))
    starts, ends = note_times(notes)
    lead_in = pickup_rest(notes, starts, bpm)
    starts, ends = starts + lead_in, ends + lead_in
    velocities = notes["velocity"].to_numpy() if velocity is None and "velocity" in notes else None
    pitches = notes["pitch"].to_numpy()
    parts = notes["part"].to_numpy(np.int64) if "part" in notes else np.zeros(len(notes), np.int64)
    by_part = "part" in notes and (programs is not None or len(np.unique(parts)) > 1)
    for part in np.unique(parts) if by_part else [None]:
        if part is None:
            instrument = pretty_midi.Instrument(program=int(program), is_drum=is_drum, name=instrument_name)
            chosen = np.arange(len(notes))
        else:
            drums = int(part) == DRUMS_PART  # pretty_midi writes drum instruments on channel 10
            instrument = pretty_midi.Instrument(
                program=int((programs or {}).get(int(part), program)) if not drums else 0,
                is_drum=drums,
                name=part_name(part),
            )
            chosen = np.flatnonzero(parts == part)
        for i in chosen:
            vel = int(velocities[i]) if velocities is not None else int(velocity or 90)
            instrument.notes.append(
                pretty_midi.Note(
                    velocity=int(np.clip(vel, 1, 127)),
                    pitch=int(pitches[i]),
                    start=float(starts[i]),
                    end=float(ends[i]),
                )
            )
        pm.instruments.append(instrument)
    return pm


def pickup_rest(notes: pd.DataFrame, starts: np.ndarray, bpm: float) -> float:
    """Seconds of rest before a table's first note so that it falls on its `bar_beat`: a MIDI file has no pickup
    bar, so an upbeat is written after the rest that fills its first bar (as notation programs write it). Only a
    table that starts at time 0 needs it; one that starts later (a file read with its own lead-in) has its bars."""
    if "bar_beat" not in notes or not len(notes) or float(starts.min()) > 1e-9:
        return 0.0
    first = int(np.argmin(starts))
    beats_into_bar = float(notes["bar_beat"].iloc[first]) % max(float(notes["bar_beats"].iloc[first]), 1e-9)
    return beats_into_bar * 60.0 / float(bpm) if beats_into_bar > 1e-6 else 0.0


def signature_of(notes: pd.DataFrame) -> tuple[int, int]:
    """The time signature of a table's bars (its `bar_beats` column): 4 beats -> 4/4, 3 -> 3/4, 1.5 -> 3/8."""
    if "bar_beats" not in notes or not len(notes):
        return 4, 4
    return time_signature(float(notes["bar_beats"].iloc[0]))


def note_times(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of a note table, from start/end columns or from step/duration."""
    if "start" in notes and "end" in notes:
        return notes["start"].to_numpy(float), notes["end"].to_numpy(float)
    starts = np.cumsum(notes["step"].to_numpy(float))
    return starts, starts + notes["duration"].to_numpy(float)


def midi_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()
