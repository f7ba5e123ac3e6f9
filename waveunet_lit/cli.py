"""Command line: ``waveunet`` (also installed as ``lightning``).

* ``waveunet fit|validate|test|predict -c CONFIG``: LightningCLI over any LightningModule and
  LightningDataModule named by class path in the config (e.g. ``waveunet_lit.Separator``).
* ``waveunet separate FILE... --checkpoint CKPT --out DIR``: one audio file per source.
* ``waveunet evaluate --checkpoint CKPT [--root MUSDB]``: museval SDR table vs. the mixture.
* ``waveunet info -c CONFIG``: parameters, receptive field, lengths, MACs per second of audio.
* ``waveunet toy-data DIR``: write the generated toy dataset (numpy, seconds).
* ``waveunet render-data [DIR]``: compose MIDI songs and render each stem with FluidSynth.
* ``waveunet prepare-data ROOT|previews --rate R``: decode and resample once into the cache.
* ``waveunet web [--port P] [--data DIR] [--models DIR]``: the web app (extra ``[web]``);
  ``waveunet web-worker`` adds a worker, ``waveunet web-manage CMD`` runs a Django command.

A config's relative paths are relative to the current folder; shipped configs live in
``waveunet_lit/configs/`` and work from any folder.
"""

import argparse
import json
import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.cli import LightningCLI

__all__ = ["WaveUNetCLI", "main"]

EXTRA_COMMANDS = ("separate", "evaluate", "info", "toy-data", "render-data", "prepare-data")
WEB_COMMANDS = ("web", "web-worker", "web-manage")


class WaveUNetCLI(LightningCLI):
    """LightningCLI accepting any LightningModule / LightningDataModule by class path."""

    def __init__(self, args: list[str] | None = None, run: bool = True):
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
        )


def _separate(argv: list[str]) -> int:
    from .separate import separate_file
    from .system import load_separator

    p = argparse.ArgumentParser(prog="waveunet separate", description="Separate audio files into one file per source.")
    p.add_argument("files", nargs="+", help="audio files (wav, flac, ogg; mp3, m4a ... through ffmpeg)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by `waveunet fit`")
    p.add_argument("--out", default="separated", help="output folder (one subfolder per input file)")
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="wav: 32-bit float; flac: 24-bit, clipped to [-1, 1]")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--segment", type=float, default=None, help="seconds of output per tile (default: about 3)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    p.add_argument("--overlap", type=float, default=0.25, help="tile cross-fade, for models without context (0 .. 0.9)")
    p.add_argument("--shifts", type=int, default=0, help="test-time shift averaging: passes with shifted input, averaged")
    p.add_argument("--shift-mode", choices=("fixed", "random"), default="fixed", help="evenly spaced or random shifts")
    p.add_argument("--seed", type=int, default=0, help="seed of the random shifts")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    model = load_separator(args.checkpoint, map_location=args.device).model
    segment = round(args.segment * model.sample_rate) if args.segment else None
    progress = not args.quiet and sys.stderr.isatty()
    failures = 0
    for file in args.files:
        try:
            paths = separate_file(model, file, args.out, ext=args.format, segment=segment, batch_size=args.batch_size,
                                  overlap=args.overlap, shifts=args.shifts, shift_mode=args.shift_mode, seed=args.seed,
                                  progress=progress)
            for path in paths:
                print(path)
        except (OSError, ValueError, RuntimeError) as err:
            failures += 1
            print(f"error: {file}: {err}", file=sys.stderr)
    return 1 if failures else 0


def _evaluate(argv: list[str]) -> int:
    from .data.toy import default_toy_root
    from .evaluate import evaluate, format_table
    from .system import load_separator

    p = argparse.ArgumentParser(prog="waveunet evaluate", description="Score a model on a MUSDB18-layout test set.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="a checkpoint written by `waveunet fit`")
    what.add_argument("--estimates", help="score stems separated elsewhere: ESTIMATES/<subset>/<track>/<source>.wav")
    p.add_argument("--sources", nargs="+", default=None, help="with --estimates: the sources (default: vocals drums bass other)")
    p.add_argument("--root", default=None, help="MUSDB18(-HQ) folder (default: the generated toy dataset)")
    p.add_argument("--out", default=None, help="folder for museval JSON per track, frames.csv, summary.csv, results.json, plots")
    p.add_argument("--subset", default="test", choices=("test", "train"))
    p.add_argument("--max-tracks", type=int, default=None)
    p.add_argument("--device", default="cpu", help="cpu, cuda ...: separation and the torch scorer run there")
    p.add_argument("--metric", choices=("torch", "museval"), default="torch",
                   help="torch: our BSSEval v4 (fast, same numbers); museval: the reference code")
    p.add_argument("--oracle", choices=("irm",), default=None, help="also score the ideal ratio mask oracle (reads the true sources)")
    p.add_argument("--segment", type=float, default=None, help="seconds of output per tile (default: about 3)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    p.add_argument("--shifts", type=int, default=0, help="test-time shift averaging passes")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--min-gain", type=float, default=None,
                   help="exit with status 1 unless the model beats the mixture by this many dB on every source")
    args = p.parse_args(argv)
    model = load_separator(args.checkpoint, map_location=args.device).model if args.checkpoint else None
    segment = round(args.segment * model.sample_rate) if args.segment and model is not None else None
    result = evaluate(
        model, args.root or default_toy_root(), out_dir=args.out, subset=args.subset, max_tracks=args.max_tracks,
        segment=segment, batch_size=args.batch_size, shifts=args.shifts, metric=args.metric, oracle=args.oracle,
        estimates_dir=args.estimates, sources=tuple(args.sources) if args.sources else None,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    print(format_table(result))
    if result["failed"]:
        print(f"{len(result['failed'])} track(s) failed: {', '.join(result['failed'])}", file=sys.stderr)
    if args.min_gain is not None:
        first = result["methods"][0]
        pairs = {s: (v, result["median"]["mixture"][s]) for s, v in result["median"][first].items()}
        gains = {s: v - b for s, (v, b) in pairs.items() if v is not None and b is not None}
        short = {s: round(g, 2) for s, g in gains.items() if not g >= args.min_gain}
        if short or len(gains) < len(pairs) or not gains:
            print(f"model does not beat the mixture by {args.min_gain} dB on: {short or 'any source (nothing scored)'}", file=sys.stderr)
            return 1
        print(f"model beats the mixture by at least {args.min_gain} dB on every source")
    return 1 if result["failed"] else 0


def _info(argv: list[str]) -> int:
    from .info import info_from_config

    p = argparse.ArgumentParser(prog="waveunet info", description="Parameters, receptive field, lengths and MACs of a config's model.")
    p.add_argument("-c", "--config", required=True, help="a YAML config (e.g. waveunet_lit/configs/m4.yaml)")
    p.add_argument("--seconds", type=float, default=1.0, help="output length to report the input length and MACs for")
    args = p.parse_args(argv)
    print(info_from_config(args.config, args.seconds))
    return 0


def _toy_data(argv: list[str]) -> int:
    from .data.toy import generate_toy_musdb

    p = argparse.ArgumentParser(prog="waveunet toy-data", description="Write the generated toy dataset.")
    p.add_argument("root")
    p.add_argument("--train-tracks", type=int, default=12)
    p.add_argument("--test-tracks", type=int, default=4)
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(generate_toy_musdb(a.root, a.train_tracks, a.test_tracks, a.seconds, seed=a.seed))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``waveunet`` and ``lightning`` commands."""
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in EXTRA_COMMANDS:
        from .data.cli_commands import prepare_data_command, render_data_command

        command = {
            "separate": _separate, "evaluate": _evaluate, "info": _info, "toy-data": _toy_data,
            "render-data": render_data_command, "prepare-data": prepare_data_command,
        }[words[0]]
        try:
            return command(words[1:])
        except (FileNotFoundError, ValueError, PermissionError, RuntimeError, ConnectionError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if words and words[0] in WEB_COMMANDS:
        from .web.launcher import manage_command, web_command, worker_command

        command = {"web": web_command, "web-worker": worker_command, "web-manage": manage_command}[words[0]]
        try:
            return command(words[1:])
        except (FileNotFoundError, ValueError, RuntimeError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if not words or words[0] in ("-h", "--help"):
        print(__doc__)
    WaveUNetCLI(args=argv)  # None: LightningCLI reads sys.argv itself
    return 0


if __name__ == "__main__":
    sys.exit(main())
