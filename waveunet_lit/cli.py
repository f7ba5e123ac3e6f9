"""Command line: ``waveunet`` (also installed as ``lightning``).

* ``waveunet fit|validate|test|predict -c CONFIG``: LightningCLI over any LightningModule and
  LightningDataModule named by class path in the config (e.g. ``waveunet_lit.Separator``).
* ``waveunet separate FILE... --checkpoint CKPT --out DIR``: one audio file per source.
* ``waveunet evaluate --checkpoint CKPT [--root MUSDB]``: museval SDR table vs. the mixture.
* ``waveunet toy-data DIR``: write the generated toy dataset.

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

EXTRA_COMMANDS = ("separate", "evaluate", "toy-data")


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
    p.add_argument("files", nargs="+", help="audio files (wav, flac, ogg, mp3 ...)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by `waveunet fit`")
    p.add_argument("--out", default="separated", help="output folder (one subfolder per input file)")
    p.add_argument("--format", choices=("wav", "flac"), default="wav")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    args = p.parse_args(argv)
    model = load_separator(args.checkpoint, map_location=args.device).model
    failures = 0
    for file in args.files:
        try:
            for path in separate_file(model, file, args.out, ext=args.format):
                print(path)
        except (OSError, ValueError) as err:
            failures += 1
            print(f"error: {file}: {err}", file=sys.stderr)
    return 1 if failures else 0


def _evaluate(argv: list[str]) -> int:
    from .data.toy import default_toy_root
    from .evaluate import evaluate, format_table
    from .system import load_separator

    p = argparse.ArgumentParser(prog="waveunet evaluate", description="Score a model on a MUSDB18-layout test set.")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--root", default=None, help="MUSDB18-HQ-layout folder (default: the generated toy dataset)")
    p.add_argument("--out", default=None, help="folder for museval JSON files and results.json")
    p.add_argument("--subset", default="test")
    p.add_argument("--max-tracks", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--min-gain", type=float, default=None,
                   help="exit with status 1 unless the model beats the mixture by this many dB on every source")
    args = p.parse_args(argv)
    model = load_separator(args.checkpoint, map_location=args.device).model
    result = evaluate(model, args.root or default_toy_root(), out_dir=args.out, subset=args.subset, max_tracks=args.max_tracks)
    print(format_table(result))
    if args.out:
        Path(args.out, "results.json").write_text(json.dumps(result, indent=2))
    if args.min_gain is not None:
        gains = {s: v - result["median"]["mixture"][s] for s, v in result["median"].get("model", {}).items()}
        short = {s: round(g, 2) for s, g in gains.items() if not g >= args.min_gain}
        if short or not gains:
            print(f"model does not beat the mixture by {args.min_gain} dB on: {short or 'any source'}", file=sys.stderr)
            return 1
        print(f"model beats the mixture by at least {args.min_gain} dB on every source")
    return 1 if result["failed"] else 0


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
        command = {"separate": _separate, "evaluate": _evaluate, "toy-data": _toy_data}[words[0]]
        try:
            return command(words[1:])
        except (FileNotFoundError, ValueError, PermissionError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if not words or words[0] in ("-h", "--help"):
        print(__doc__)
    WaveUNetCLI(args=argv)  # None: LightningCLI reads sys.argv itself
    return 0


if __name__ == "__main__":
    sys.exit(main())
