"""Command line: python -m musicrnn {inspect,train,generate,harmonize,evaluate,models}."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .bundled import PRIMER_NOTES
from .config import CHORD_ORDERS, DEFAULT_PRESET, PRESETS, Config, preset
from .finetune import VISITOR_MINUTES
from .generate import Sampling, Stepper
from .guide import DEFAULT_CHORD_STRENGTH
from .midi_load import LoadedFile, load_paths
from .summaries import ending_words
from .training_facts import ProgressEvent, stop_reason


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, OSError) as exc:  # user errors: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m musicrnn", description="Train and play LSTM music models.")
    commands = parser.add_subparsers(dest="command", required=True)

    inspect = commands.add_parser("inspect", help="check MIDI files, folders and zips")
    inspect.add_argument("paths", nargs="+")
    inspect.set_defaults(handler=cmd_inspect)

    train = commands.add_parser(
        "train",
        help="train a model",
        description="With only --data and --out: fine-tune the bundled model that knows the music best for at most "
        f"{VISITOR_MINUTES:g} minutes (as the Train page does). --preset or --units/--layers train a new network; "
        "--init-from fine-tunes a model you name.",
    )
    train.add_argument("--data", nargs="+", required=True, help="MIDI files, folders or zips")
    train.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help=f"train a new network with this preset (default: fine-tune the best-fitting bundled model; "
        f"{DEFAULT_PRESET} when --units, --layers or --chord-order is given)",
    )
    for flag, kind in (
        ("epochs", int),
        ("seq-length", int),
        ("units", int),
        ("layers", int),
        ("batch-size", int),
        ("learning-rate", float),
        ("dropout", float),
        ("seed", int),
        ("window-stride", int),
    ):
        train.add_argument(f"--{flag}", type=kind)
    train.add_argument(
        "--chord-order",
        choices=CHORD_ORDERS,
        help="a new network reads the notes that start together from the bass (up, the default) or from the top "
        "(down: a chorale's melody note first, the voices under it after)",
    )
    train.add_argument(
        "--patience",
        type=int,
        help="stop when the validation loss has not improved for this many "
        "epochs (0 = off; default 3); the best epoch is always the model",
    )
    train.add_argument(
        "--minutes", type=float, help="stop after this many minutes (the best epoch within them is kept)"
    )
    train.add_argument(
        "--init-from",
        help="fine-tune: a bundled model's name (default, folk, …: see `models`) or a .keras file; keeps its "
        "network shape and lowers the learning rate unless --learning-rate is given",
    )
    train.add_argument(
        "--include-drums",
        action="store_true",
        help="learn drum tracks too (their own part, written on MIDI channel 10)",
    )
    train.add_argument("--out", required=True, help="where to write the .keras model")
    scale = train.add_argument_group("large corpora and distributed training (see docs/scale.md)")
    scale.add_argument("--workers", type=int, help="parsing processes (default: CPU count)")
    scale.add_argument("--cache", help="per-file note cache (default: $MUSICRNN_CACHE or ~/.cache/musicrnn/notes)")
    scale.add_argument("--no-cache", action="store_true", help="parse every file, write no cache")
    scale.add_argument(
        "--stream", action="store_true", help="stream windows from the cache instead of holding all notes"
    )
    scale.add_argument(
        "--strategy",
        default="default",
        choices=("default", "mirrored", "multiworker"),
        help="tf.distribute: one device, all devices of this machine, or the machines in TF_CONFIG",
    )
    scale.add_argument("--checkpoint-dir", help="back up every epoch here and resume from it when restarted")
    train.set_defaults(handler=cmd_train)

    usual = Sampling()  # the sampling flags' defaults are Sampling's own
    gen = commands.add_parser("generate", help="generate music (no TensorFlow needed)")
    gen.add_argument(
        "--recipe",
        help="regenerate a piece from its recipe: a JSON file or a MIDI file made by musicrnn "
        "(its sampling settings replace the flags below)",
    )
    gen.add_argument("--model", help=MODEL_HELP)
    gen.add_argument("--primer", help="MIDI file whose opening starts the piece")
    gen.add_argument("--primer-notes", type=int, default=PRIMER_NOTES)
    gen.add_argument(
        "--notes",
        type=int,
        default=usual.n_notes,
        help="the most notes a piece may have: a model that has learned endings ends the piece itself, "
        "this is the longest it may run",
    )
    gen.add_argument(
        "--temperature", type=float, default=usual.temperature, help="pitch temperature (0 = likeliest pitch)"
    )
    gen.add_argument(
        "--part-temperature",
        type=float,
        default=usual.part_temperature,
        help="models with parts: how freely each note's part is drawn (negative: same as --temperature)",
    )
    gen.add_argument(
        "--rhythm-temperature",
        type=float,
        default=usual.rhythm_temperature,
        help="beats models: temperature of step and duration (0 = likeliest rhythm)",
    )
    gen.add_argument("--bpm", type=float, default=usual.bpm, help="tempo of the piece (default: the primer's)")
    gen.add_argument("--top-k", type=int, default=usual.top_k)
    gen.add_argument("--top-p", type=float, default=usual.top_p)
    gen.add_argument("--seed", type=int, default=usual.seed)
    gen.add_argument("--key", default=usual.key, help="e.g. C:major, A:minor")
    gen.add_argument("--pitch-range", default=f"{usual.pitch_low}-{usual.pitch_high}", help="LOW-HIGH MIDI pitches")
    _add_part_steering(gen)
    _add_voice_leading(gen)
    _add_tonic_ending(gen)
    gen.add_argument(
        "--chord-snap",
        type=float,
        default=usual.chord_snap,
        help="seconds models only: steps shorter than this (s) become chords",
    )
    gen.add_argument(
        "--grid",
        type=float,
        default=usual.step_grid,
        help="seconds models only: round times to this grid in seconds (0 = off)",
    )
    gen.add_argument("--variations", type=int, default=usual.variations)
    gen.add_argument("--instrument", default="Acoustic Grand Piano", help="General MIDI name or program number")
    gen.add_argument(
        "--instruments",
        default="",
        help="models with parts: a line-up for the voices (string quartet, the default; choir, organ, piano; own) and/or part=instrument "
        "pairs, e.g. 'Soprano=Flute,Bass voice=Cello'; other parts play the training data's own",
    )
    gen.add_argument("--out", required=True, help="output .mid (variations get -1, -2, … suffixes)")
    gen.add_argument("--wav", help="also render audio to this .wav")
    gen.add_argument(
        "--musicxml", help="also write the score to this .musicxml (beats models; variations suffixed as --out)"
    )
    steer = gen.add_argument_group("steering (beats models)")
    steer.add_argument("--chords", help='chord progression, one chord per bar ("C G Am F") or with beats ("C:2 G:2")')
    steer.add_argument(
        "--chord-strength",
        type=float,
        default=DEFAULT_CHORD_STRENGTH,
        help=f"0-1: below 1 makes chord tones likelier (default {DEFAULT_CHORD_STRENGTH:g}: most notes on chord "
        "tones, a few passing notes), 1 allows only chord tones (a note held into a chord without it stops there)",
    )
    steer.add_argument("--rewrite", help="START-END beats of the --primer piece to resample (the rest is kept)")
    steer.add_argument(
        "--rewrite-unit",
        choices=("beats", "bars", "seconds"),
        default="beats",
        help="what --rewrite counts: beats (default) or seconds from the first note, or bars from the "
        "bar line it falls in (0 = that bar line), with the piece's first metre and tempo",
    )
    steer.add_argument(
        "--candidates", type=int, default=4, help="rewrites to sample; the best (see --variations) are written"
    )
    gen.set_defaults(handler=cmd_generate)

    harm = commands.add_parser("harmonize", help="write lower voices under a melody (no TensorFlow needed)")
    harm.add_argument(
        "--melody",
        help='notes NAME/BEATS, e.g. "C4/1 D4/1 E4/1 F4/1 G4/2" (rests: R/1); a time signature may come first '
        'and a pickup starts with the rest before it: "3/4 R/2 D4/1 G4/2"',
    )
    harm.add_argument("--melody-file", help="MIDI file whose top voice is the melody")
    harm.add_argument("--model", help=MODEL_HELP)
    harm.add_argument("--variations", type=int, default=usual.variations)
    harm.add_argument("--seed", type=int, default=usual.seed)
    harm.add_argument("--temperature", type=float, default=usual.temperature)
    harm.add_argument("--rhythm-temperature", type=float, default=usual.rhythm_temperature)
    harm.add_argument("--bpm", type=float, default=usual.bpm)
    harm.add_argument(
        "--bar-beats",
        type=float,
        default=None,
        help="beats per bar (default: the melody's time signature, 4/4 unless it starts with another, or the "
        "melody file's)",
    )
    harm.add_argument(
        "--key",
        type=_harmony_key,
        default=None,
        help="the key to harmonise in, e.g. G:major, A:minor (default: read from the melody, as the Steer page's "
        "'from the melody')",
    )
    _add_part_steering(harm)
    _add_voice_leading(harm)
    harm.add_argument(
        "--chromatic",
        action="store_true",
        help="chromatic colour: let the harmony of a melody in one key use notes outside it (default: it keeps "
        "to the melody's key)",
    )
    harm.add_argument("--instrument", default="Acoustic Grand Piano", help="the harmony's instrument")
    harm.add_argument("--melody-instrument", help="the melody's instrument (default: the same)")
    harm.add_argument("--out", required=True, help="output .mid (variations get -1, -2, … suffixes)")
    harm.add_argument("--musicxml", help="also write the score to this .musicxml (variations suffixed as --out)")
    harm.set_defaults(handler=cmd_harmonize)

    evaluate = commands.add_parser("evaluate", help="score a model against baselines (JSON)")
    evaluate.add_argument("--model", help=MODEL_HELP)
    evaluate.add_argument("--data", nargs="+", help="evaluation files (default: the bundled corpus)")
    evaluate.add_argument("--baseline-data", nargs="+", help="files to fit baselines on (default: the bundled corpus)")
    evaluate.set_defaults(handler=cmd_evaluate)

    models = commands.add_parser("models", help="list the bundled models: their data, licence and held-out figures")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(handler=cmd_models)
    return parser


MODEL_HELP = "a bundled model's name (chorales, folk, …: see `models`) or a .keras file (default: the chorale model)"


def _add_part_steering(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--part-range",
        default="",
        help='models with parts: LOW-HIGH MIDI pitches per part, e.g. "Soprano=60-81,Bass voice=36-60"',
    )
    command.add_argument("--part-key", default="", help='models with parts: a key per part, e.g. "Bass voice=A:minor"')


def _harmony_key(text: str) -> str:
    """A --key for harmonize: a major or minor key ("G:major", "A:minor"), else argparse's error saying so."""
    from .errors import SettingsError
    from .theory import KEY_MODES, scale_pitch_classes

    key = text.strip()
    mode = key.partition(":")[2].strip().lower()
    try:
        scale_pitch_classes(key)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if mode not in KEY_MODES:
        raise argparse.ArgumentTypeError(f"{text!r}: harmonize takes a major or minor key, e.g. G:major, A:minor")
    return key


def _add_tonic_ending(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--any-ending",
        dest="tonic_ending",
        action="store_false",
        help="models that learned endings: let the model end a piece anywhere (by default only on the tonic "
        "chord of its key, with the tonic in the bass, on a strong beat)",
    )


def _add_voice_leading(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--no-voice-leading",
        dest="voice_leading",
        action="store_false",
        help="models with parts: drop the voice-leading rule (by default no parallel fifths or octaves, the "
        "voices do not cross or spread more than an octave apart, one note per voice at a time)",
    )


def cmd_inspect(args: argparse.Namespace) -> int:
    results = load_paths(args.paths)
    for item in results:
        if item.ok:
            assert item.notes is not None  # a file that loaded has its notes
            print(f"OK {item.name} notes={len(item.notes)} seconds={item.seconds:.1f}")
        else:
            print(f"ERROR {item.name}: {item.error}")
    return 0 if results and all(item.ok for item in results) else 1


def _good_files(paths: list[str], quiet: bool = False) -> list[LoadedFile]:
    results = load_paths(paths)
    for item in results:
        if not item.ok and not quiet:
            print(f"skipping {item.name}: {item.error}", file=sys.stderr)
    good = [item for item in results if item.ok]
    if not good:
        raise ValueError("no usable MIDI files in " + ", ".join(paths))
    return good


def _corpus(files: list[LoadedFile]):
    from .dataset import Corpus

    return Corpus.from_tables([(item.name, item.notes) for item in files])


def cmd_train(args: argparse.Namespace) -> int:
    from .ingest import ingest

    overrides = {
        name: value
        for name in (
            "epochs",
            "seq_length",
            "units",
            "layers",
            "batch_size",
            "learning_rate",
            "dropout",
            "seed",
            "window_stride",
            "patience",
            "chord_order",
        )
        if (value := getattr(args, name)) is not None
    }
    if args.minutes is not None:
        overrides["time_limit_minutes"] = args.minutes
    # The visitor's default path (as on the Train page) unless a network or a start is named, or the run is one
    # the bundled models' fine-tuning does not serve (streamed, distributed).
    visitor = (
        not (args.preset or args.init_from or {"units", "layers", "chord_order"} & overrides.keys() or args.stream)
        and args.strategy == "default"
    )
    cfg: Config | None = None
    if args.init_from:
        from .finetune import fine_tune_config

        cfg = fine_tune_config(args.init_from, **overrides)  # IncompatibleModel is a ValueError: one clear line
    elif not visitor:
        cfg = preset(args.preset or DEFAULT_PRESET, **overrides)
    if args.stream and args.no_cache:
        raise ValueError("--stream reads notes from the cache; drop --no-cache")
    if args.init_from and (args.stream or args.strategy != "default"):  # before reading the data and TensorFlow
        raise ValueError("--init-from works with the default strategy, without --stream")
    found = ingest(
        args.data,
        cache_dir=args.cache,
        workers=args.workers,
        keep_notes=not args.stream,
        use_cache=not args.no_cache,
        include_drums=args.include_drums,
    )
    for name, reason in found.errors:
        print(f"skipping {name}: {reason}", file=sys.stderr)
    if not found.files:
        raise ValueError("no usable MIDI files in " + ", ".join(args.data))
    start = args.init_from
    if cfg is None:
        assert found.corpus is not None  # kept: the visitor's path never streams
        start, cfg = _visitor_start(found.corpus, overrides)
    print(
        f"{len(found.files)} files, {found.note_count} notes ({found.parsed} parsed, {found.cached} from the cache, "
        f"{found.seconds:.1f} s); preset {cfg.preset}",
        file=sys.stderr,
    )
    if found.corpus is not None and len(found.corpus) >= 2:
        _print_held_out(found.corpus, cfg)
    print("loading TensorFlow…", file=sys.stderr)
    from .distributed import is_chief, make_strategy  # TensorFlow is imported only here
    from .train import train, train_streaming

    strategy = make_strategy(args.strategy) if args.strategy != "default" else None
    if strategy is not None:
        replicas = strategy.num_replicas_in_sync
        print(f"{args.strategy}: {replicas} replicas, global batch {cfg.batch_size * replicas}", file=sys.stderr)
    scale = {"strategy": strategy, "checkpoint_dir": args.checkpoint_dir}
    if start:
        from .finetune import init_model, source_path

        scale["model"] = init_model(source_path(start), cfg)
    if args.stream:
        result = train_streaming(found.files, cfg, on_progress=_print_progress, **scale)
    else:
        assert found.corpus is not None  # kept: keep_notes=not args.stream
        result = train(found.corpus, cfg, on_progress=_print_progress, **scale)
    print(file=sys.stderr)
    if is_chief():
        path = str(result.save(args.out))
    else:  # every worker saves, as TensorFlow's multi-worker guide does, but only the chief keeps its file
        with tempfile.TemporaryDirectory(prefix="musicrnn-worker-") as scratch:
            result.save(Path(scratch) / Path(args.out).name)
        path = None
    why = stop_reason(result.early_stopped, result.timed_out, cfg.patience)
    kept = (
        "kept the model it started from: no epoch beat it on the validation files"
        if result.kept_start
        else f"kept epoch {result.best_epoch} of {len(result.history)}, the one with the lowest validation loss"
    )
    print(f"{kept} ({why})", file=sys.stderr)
    print(
        json.dumps(
            {
                "model": path,
                "best_epoch": result.best_epoch,
                "kept_start": result.kept_start,
                "epochs_run": len(result.history),
                "early_stopped": result.early_stopped,
                "timed_out": result.timed_out,
                "final": result.final,
                "seconds": round(result.seconds, 1),
            },
            indent=2,
        )
    )
    return 0


def _visitor_start(corpus, overrides: dict) -> tuple[str | None, Config]:
    """The default path's start (the best-fitting bundled model, with the reason printed) and its settings; a
    new network of the default preset when no bundled model can be read."""
    from .finetune import fit_reason, visitor_start

    fits, cfg = visitor_start(corpus, **overrides)
    if cfg is None:
        print(f"no bundled model to fine-tune: training a new {DEFAULT_PRESET} network", file=sys.stderr)
        return None, preset(DEFAULT_PRESET, **overrides)
    print(f"fine-tuning the bundled model {fits[0].name!r}. {fit_reason(fits)}", file=sys.stderr)
    return fits[0].name, cfg


def _print_held_out(corpus, cfg: Config) -> None:
    """Name the files the run holds out to score its model (and say when there are too few for a firm score)."""
    from .finetune import held_out_names

    names = held_out_names(corpus, cfg.val_fraction, cfg.seed)
    line = f"held out to score the model: {', '.join(names)}"
    if len(corpus) < 3:
        line += f" (only {len(corpus)} usable files: the held-out score is rough)"
    print(line, file=sys.stderr)


def _print_progress(event: ProgressEvent) -> None:
    if event["kind"] not in ("batch", "epoch"):
        return
    if event["kind"] == "batch":
        done = event["batch"] / max(1, event["batches"])
        bar = "#" * int(done * 30)
        print(
            f"\repoch {event['epoch'] + 1}/{event['epochs']} [{bar:<30}] loss {event.get('loss', 0):.3f}",
            end="",
            file=sys.stderr,
        )
    else:
        losses = "  ".join(f"{k} {v:.4f}" for k, v in event.items() if k.endswith("loss"))
        print(f"\repoch {event['epoch']}/{event['epochs']}  {losses}  ({event['elapsed']:.0f} s)", file=sys.stderr)


def _load_model(text: str | None):
    """--model: a bundled model's name, a .keras file, or (None) the default model."""
    from .bundled import bundled_model, default_model
    from .infer import read_model_file
    from .styles import is_bundled_name

    if not text:
        return default_model()
    return bundled_model(text) if is_bundled_name(text) else read_model_file(text)


def _recipe_model_id(text: str | None) -> str:
    """What a recipe calls --model's file: the default model, another bundled one, or a file."""
    from .recipe import default_model_id, model_id
    from .styles import is_bundled_name, model_path, registry

    if not text or (is_bundled_name(text) and registry().get(text).name == registry().default):
        return default_model_id(model_path("default"))
    if is_bundled_name(text):
        return model_id("bundled", model_path(text).read_bytes())
    return model_id("file", Path(text).read_bytes())


def cmd_generate(args: argparse.Namespace) -> int:
    from .audio import render
    from .generate import generate
    from .midi_load import midi_to_notes
    from .parts import instrument_program, part_name
    from .recipe import Recipe, bundled_primer_notes, check_model, load, notes_hash, piece_midi, primer_notes
    from .styles import model_path

    recipe = load(args.recipe) if args.recipe else None
    if recipe is not None and not args.model:  # a bundled model's piece: that model, found by its file's hash
        args.model = _bundled_by_hash(recipe.model_hash)
    model = _load_model(args.model)
    if args.musicxml and not model.cfg.beats:
        from .score import NEEDS_BEATS

        raise ValueError(f"--musicxml: {NEEDS_BEATS}")
    model_file = model_path(args.model).read_bytes() if args.model else None
    if recipe is not None:
        if recipe.kind != "generate":  # its pieces are made (and written) by the Steer page, from its link
            raise ValueError(
                f"{args.recipe}: this is the recipe of a {recipe.kind} piece: open its link on the Steer page"
            )
        check_model(recipe, model_file)
        primer = primer_notes(recipe, midi_to_notes(args.primer) if args.primer else None)
        settings, program = recipe.sampling, recipe.program
        args.chords, args.chord_strength = (
            recipe.chords or args.chords,
            recipe.chord_strength if recipe.chords else args.chord_strength,
        )
    else:
        low, _, high = args.pitch_range.partition("-")
        settings = Sampling(
            n_notes=args.notes,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            key=args.key,
            pitch_low=int(low),
            pitch_high=int(high or 127),
            seed=args.seed,
            variations=args.variations,
            chord_snap=args.chord_snap,
            step_grid=args.grid,
            rhythm_temperature=args.rhythm_temperature,
            bpm=args.bpm,
            part_temperature=args.part_temperature,
            part_pitch_ranges=args.part_range,
            part_keys=args.part_key,
            voice_leading=args.voice_leading,
            tonic_ending=args.tonic_ending,
        )
        program = instrument_program(args.instrument)
        name = _bundled_primer_name(args.primer, args.model)
        if name is None:
            primer, source = _primer_from_file(args.primer, args.primer_notes), f"file:{Path(args.primer).name}"
        else:
            primer, source = bundled_primer_notes(name, args.primer_notes), f"bundled:{name}"
        recipe = Recipe(
            model=_recipe_model_id(args.model),
            primer=source,
            primer_notes=args.primer_notes,
            primer_hash=notes_hash(primer),
            sampling=settings,
            program=program,
            chords=args.chords or "",
            chord_strength=args.chord_strength,
        )
    _warn_parts_ignored(model, args)
    if args.rewrite:
        pieces = _rewrite(model, args, settings)
    elif args.chords:
        from .harmony import chord_key_warnings, follow_chords
        from .notation import parse_chords

        progression = parse_chords(args.chords)
        for warning in chord_key_warnings(progression, settings.key, args.chord_strength):
            print(f"warning: {warning}", file=sys.stderr)
        pieces = follow_chords(model, progression, args.chord_strength, primer, settings)
    else:
        pieces = generate(model, primer, settings)
    programs = recipe.programs if args.recipe and recipe.programs else _part_programs(model, pieces, args.instruments)
    if programs and not recipe.parts:  # the file's recipe names each part's instrument too
        from dataclasses import replace

        from .recipe import parts_text

        recipe = replace(recipe, parts=parts_text(programs))
    wanted = range(len(pieces)) if recipe.variation is None else [recipe.variation]
    out = Path(args.out)
    for index in wanted:
        notes = pieces[index]
        suffix = f"-{index + 1}" if len(wanted) > 1 else ""
        midi_path = out.with_name(f"{out.stem}{suffix}{out.suffix or '.mid'}")
        if args.rewrite:  # recipes do not carry rewrites (a piece and a span): write no recipe that would mislead
            from .midi import midi_bytes, notes_to_midi

            midi_path.write_bytes(midi_bytes(notes_to_midi(notes, program=program)))
        else:
            midi_path.write_bytes(piece_midi(notes, recipe.for_variation(index), programs))
        line = f"{midi_path} notes={len(notes)} seconds={notes['end'].max():.1f} bpm={notes['bpm'].iloc[0]:g}"
        if not args.rewrite:
            line += f" ({ending_words(notes, settings.n_notes)})"
        if programs:
            line += " tracks=" + ",".join(f"{part_name(p)}:{programs[p]}" for p in sorted(notes["part"].unique()))
        if args.wav:
            wav = Path(args.wav)
            wav_path = wav.with_name(f"{wav.stem}{suffix}{wav.suffix or '.wav'}")
            rendered = render(notes, program=program, programs=programs, sample_rate=model.cfg.sample_rate)
            wav_path.write_bytes(rendered.wav)
            line += f" wav={wav_path}"
            if rendered.warning:
                print(f"warning: {rendered.warning}", file=sys.stderr)
        if args.musicxml:
            from .harmony import chord_spans
            from .notation import parse_chords

            chords = chord_spans(notes, parse_chords(args.chords)) if args.chords else None
            line += f" musicxml={_write_musicxml(args.musicxml, suffix, notes, chords)}"
        print(line)
    return 0


def _write_musicxml(target: str, suffix: str, notes, chords=None) -> Path:
    """The piece's score as MusicXML, at `target` with the variation's suffix (as --out's)."""
    from .score import piece_musicxml

    path = Path(target)
    path = path.with_name(f"{path.stem}{suffix}{path.suffix or '.musicxml'}")
    path.write_bytes(piece_musicxml(notes, chords))
    return path


def _bundled_by_hash(wanted: str) -> str | None:
    """The name of the bundled model in this copy whose file has this content hash, if any."""
    from .recipe import content_hash
    from .styles import registry

    return next((m.name for m in registry().present() if content_hash(m.file.read_bytes()) == wanted), None)


def _bundled_primer_name(primer: str | None, model: str | None) -> str | None:
    """A recipe's name for a bundled primer: --primer when it is a bundled sample file, else (no --primer) the
    chosen bundled model's own primer, else the default model's. None: --primer is a file of the user's."""
    from .styles import is_bundled_name, registry, sample_name

    models = registry()
    if primer:
        found = Path(primer).resolve()
        owners = [m for m in models.models.values() if m.sample is not None and found.parent == m.sample.resolve()]
        return sample_name(owners[0], found) if owners else None
    for owner in (models.get(model) if model and is_bundled_name(model) else None, models.get(models.default)):
        if owner is not None and (path := owner.primer_path()) is not None:
            return sample_name(owner, path)
    raise ValueError("no bundled piece to start from: give --primer FILE")


def _rewrite(model, args: argparse.Namespace, settings: Sampling):
    """--rewrite START-END on the --primer piece: the best `variations` of `candidates` rewrites."""
    from .midi_load import midi_to_notes
    from .rewrite import piece_metre, rewrite, span_to_beats

    if not args.primer:
        raise ValueError("--rewrite needs --primer: the piece whose span is rewritten")
    start, _, end = args.rewrite.partition("-")
    try:
        span = float(start), float(end)
    except ValueError:
        raise ValueError(f"--rewrite {args.rewrite!r}: give START-END in {args.rewrite_unit}, like 8-12") from None
    piece = midi_to_notes(args.primer)
    span = span_to_beats(span, args.rewrite_unit, **piece_metre(piece))
    candidates = rewrite(
        model, piece, *span, candidates=args.candidates, settings=Sampling(**{**settings.to_dict(), "variations": 1})
    )
    for rank, candidate in enumerate(candidates, start=1):
        print(
            f"candidate {rank}: {candidate.new_notes} new notes, score {candidate.score:.3f} nats/note", file=sys.stderr
        )
    return [c.notes for c in candidates[: max(1, min(settings.variations, len(candidates)))]]


def cmd_harmonize(args: argparse.Namespace) -> int:
    from .evaluation.musical import harmony_report
    from .harmony import harmonize, harmony_key_words, harmony_midi
    from .midi import midi_bytes
    from .midi_load import midi_to_notes
    from .notation import melody_text, metre_words, parse_melody, top_voice
    from .parts import instrument_program

    if bool(args.melody) == bool(args.melody_file):
        raise ValueError("give the melody as --melody TEXT or --melody-file FILE (one of them)")
    melody = parse_melody(args.melody) if args.melody else top_voice(midi_to_notes(args.melody_file))
    model = _load_model(args.model)
    settings = Sampling(
        seed=args.seed,
        variations=args.variations,
        temperature=args.temperature,
        rhythm_temperature=args.rhythm_temperature,
        bpm=args.bpm,
        key=args.key,
        part_pitch_ranges=args.part_range,
        part_keys=args.part_key,
        voice_leading=args.voice_leading,
        chromatic=args.chromatic,
    )
    _warn_parts_ignored(model, args)
    pieces = harmonize(model, melody, settings, bar_beats=args.bar_beats)
    harmony = instrument_program(args.instrument)
    lead = instrument_program(args.melody_instrument) if args.melody_instrument else harmony
    out = Path(args.out)
    print(f"melody: {melody_text(melody)}", file=sys.stderr)
    print(metre_words(melody) if args.bar_beats is None else f"In bars of {args.bar_beats:g} beats.", file=sys.stderr)
    print(harmony_key_words(melody, settings), file=sys.stderr)
    for index, notes in enumerate(pieces):
        suffix = f"-{index + 1}" if len(pieces) > 1 else ""
        path = out.with_name(f"{out.stem}{suffix}{out.suffix or '.mid'}")
        path.write_bytes(midi_bytes(harmony_midi(notes, lead, harmony)))
        report = "  ".join(f"{k}={v:.3g}" for k, v in harmony_report(notes).items())
        score = f" musicxml={_write_musicxml(args.musicxml, suffix, notes)}" if args.musicxml else ""
        print(f"{path} notes={len(notes)} seconds={notes['end'].max():.1f} {report}{score}")
    return 0


def _warn_parts_ignored(model: Stepper, args: argparse.Namespace) -> None:
    if (args.part_range or args.part_key) and not model.has_parts:
        print(
            "warning: this model has no parts, so --part-range and --part-key are ignored "
            "(use --pitch-range and --key)",
            file=sys.stderr,
        )


def _part_programs(model, pieces, text: str) -> dict[int, int] | None:
    """Each generated part's program (parts models only): --instruments, else the training data's own."""
    if not pieces or "part" not in pieces[0]:
        if text:
            print("warning: this model has no parts, so --instruments is ignored (use --instrument)", file=sys.stderr)
        return None
    from .parts import own_programs, parse_instruments

    parts = sorted({int(p) for piece in pieces for p in piece["part"]})
    return parse_instruments(text, parts, own_programs(model))


def _primer_from_file(path: str, count: int):
    from .bundled import primer_from
    from .midi_load import midi_to_notes

    return primer_from(midi_to_notes(path), count)


def _bundled_data(model: str | None) -> tuple[list[str], str]:
    """What `evaluate` scores without --data: the bundled files of --model's style (the chorales by default),
    and the primer its musical comparison starts from."""
    from .styles import is_bundled_name, registry, sample_name

    models = registry()
    owner = models.get(model) if model and is_bundled_name(model) else models.get(models.default)
    if not owner.sample_files():
        owner = models.get(models.default)
    primer = owner.primer_path()
    return [str(p) for p in owner.sample_files()], sample_name(owner, primer) if primer else ""


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .bundled import PRIMER_NOTES
    from .evaluation.musical import musical_comparison
    from .evaluation.scores import baseline_cross_entropy, baseline_top1, model_scores, part_baselines, rhythm_baselines
    from .recipe import bundled_primer_notes

    model = _load_model(args.model)
    bundled_files, primer = _bundled_data(args.model)
    data = _corpus(_good_files(args.data or bundled_files, quiet=True))
    held_out = set(model.info.get("val_files", []))
    if not args.data and not args.baseline_data and held_out & set(data.names):
        # The model's own held-out files: evaluate there, fit baselines on what the model trained on.
        reference, evaluation = data.split_held_out(model.info)
        split = "the model's validation files"
    else:
        evaluation = data
        base = _corpus(_good_files(args.baseline_data or bundled_files, quiet=True))
        # Never fit a baseline on the very files it is scored on.
        reference = base.split_by_name(data.names)[0] if not args.baseline_data else base
        if len(reference) == 0:
            reference = base
        split = "the given files"
    report = {
        "evaluated_on": split,
        "files": len(evaluation),
        "model": model_scores(model, evaluation, reference),
        "baselines": baseline_cross_entropy(reference, evaluation),
        "baselines_top1": baseline_top1(reference, evaluation),
        # Beats models: step and duration NLL/top-1 baselines over the same rhythm classes.
        **({"rhythm_baselines": rhythm_baselines(reference, evaluation, model.cfg)} if model.cfg.beats else {}),
        **({"part_baselines": part_baselines(reference, evaluation)} if model.cfg.parts else {}),
        "losses_recorded_in_training": model.info.get("final", {}),
        # What its music is like: 3 pieces of 200 notes from the style's primer (seed 0) next to the
        # evaluation files, and the longest run each copies from the files the baselines were fitted on.
        "musical": musical_comparison(
            model, evaluation, reference, primer=bundled_primer_notes(primer, PRIMER_NOTES) if primer else None
        ),
    }
    print(json.dumps(report, indent=2))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """The bundled models: name, style, whether this copy has the file, data, licence, held-out figures."""
    from .styles import model_figures, registry

    models = registry()
    rows: list[dict] = [
        {
            "name": m.name,
            "title": m.title,
            "default": m.name == models.default,
            "file": str(m.file),
            "present": m.present,
            "megabytes": round(m.file.stat().st_size / 1e6, 2) if m.present else None,
            "data": m.data,
            "licence": m.licence,
            "held_out": model_figures(m),
        }
        for m in models.models.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = " (default)" if row["default"] else ""
        size = f"{row['megabytes']:.1f} MB" if row["present"] else "not in this copy"
        print(f"{row['name']}{mark}: {row['title']} · {size}")
        print(f"  data:     {row['data']}")
        print(f"  licence:  {row['licence']}")
        print(f"  held out: {_figures_text(row['held_out'])}")
    return 0


def _figures_text(figures: dict) -> str:
    if not figures:
        return "no figures recorded"
    parts = [f"{figures['files']} files, {figures['notes']} notes: pitch cross-entropy {figures['model']:.2f} nats"]
    parts += [
        f"{label} {figures[key]:.2f}"
        for key, label in (("chorales", "chorale model"), ("bigram", "bigram"))
        if key in figures
    ]
    text = ", ".join(parts) + " (lower is better)"
    return text + (f" · {figures['note']}" if figures.get("note") else "")
