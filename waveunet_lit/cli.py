"""Command line: ``waveunet`` (also installed as ``lightning``).

* ``waveunet fit|validate|test|predict -c CONFIG``: LightningCLI over any LightningModule and
  LightningDataModule named by class path in the config (e.g. ``waveunet_lit.Separator``).
* ``waveunet separate FILE... --checkpoint CKPT --out DIR``: one audio file per source.
* ``waveunet evaluate --checkpoint CKPT [--root MUSDB]``: museval SDR table vs. the mixture.
* ``waveunet info -c CONFIG``: parameters, receptive field, lengths, MACs per second of audio.
* ``waveunet toy-data DIR``: write the generated toy dataset (numpy, seconds).
* ``waveunet render-data [DIR]``: compose MIDI songs and render each stem with FluidSynth.
* ``waveunet prepare-data ROOT|previews --rate R``: decode and resample once into the cache.
* ``waveunet plot-logs RUN_DIR``: training curves (loss, validation SDR per source) to a PNG.
* ``waveunet demo``: train the demo config, separate a rendered song and score the test split.
* ``waveunet web [--port P] [--data DIR] [--models DIR]``: the web app (extra ``[web]``);
  ``waveunet web-worker`` adds a worker, ``waveunet web-manage CMD`` runs a Django command.

``-c``/``--config`` takes a path, or the name of a shipped config (``-c demo``, ``-c m4.yaml``)
when no file of that name exists: the configs travel inside the package, so this works from any
folder and on Colab.

Where runs write: ``fit`` writes below the *current* folder unless the config or
``--trainer.default_root_dir`` says otherwise (the demo config: ``runs/demo/lightning_logs/
version_N/`` with TensorBoard events and ``checkpoints/``, a new version every run; shipped
configs without a ``default_root_dir``: ``lightning_logs/version_N/``). ``separate`` writes to
``--out`` (default ``./separated``), ``demo`` to ``--out`` (default ``./runs/demo``).
Config files themselves may sit anywhere.
"""

import argparse
import importlib
import math
import os
import re
import sys
from pathlib import Path

__all__ = ["budget_flags", "main"]  # WaveUNetCLI: waveunet_lit.lightning_cli

EXTRA_COMMANDS = ("separate", "evaluate", "info", "toy-data", "render-data", "prepare-data", "plot-logs", "demo")
WEB_COMMANDS = ("web", "web-worker", "web-manage")


SHIPPED_CONFIGS = Path(__file__).parent / "configs"


def budget_flags(seconds: float, max_steps: int = -1) -> list[str]:
    """``fit`` flags that train for ``seconds`` of wall time (Lightning's ``max_time``, whole
    seconds, at least 1) or ``max_steps`` steps (-1: no limit), with no validation, logging,
    checkpoints or progress output: how the benches train recipes for an equal budget.

    Example:
        >>> budget_flags(90)[:2]
        ['--trainer.max_time=00:00:01:30', '--trainer.max_epochs=-1']
    """
    s = max(1, round(seconds))
    return [
        f"--trainer.max_time={s // 86400:02d}:{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}",
        "--trainer.max_epochs=-1", f"--trainer.max_steps={max_steps}",
        "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0", "--trainer.logger=false",
        "--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]


def resolve_config_names(words: list[str]) -> list[str]:
    """Replace the value of ``-c``/``--config`` of ``fit`` ... and ``info`` by a shipped
    config's path when it names one.

    A value that is an existing path is kept, and so is anything that is not a bare name (a
    path with folders, inline YAML). A bare name such as ``demo``, ``m4`` or ``m4.yaml`` becomes
    ``waveunet_lit/configs/<name>.yaml`` inside the installed package.

    Raises:
        FileNotFoundError: a bare name that is neither a file here nor a shipped config (the
            message lists the shipped ones).

    Example:
        >>> words = resolve_config_names(["fit", "-c", "demo", "--config=m4.yaml", "--trainer.fast_dev_run", "1"])
        >>> words[:2], words[4:]
        (['fit', '-c'], ['--trainer.fast_dev_run', '1'])
        >>> shipped = [Path(words[2]), Path(words[3].removeprefix("--config="))]
        >>> [(p.parent == SHIPPED_CONFIGS, p.name, p.is_file()) for p in shipped]
        [(True, 'demo.yaml', True), (True, 'm4.yaml', True)]
    """
    out = list(words)
    if out and out[0] in (*EXTRA_COMMANDS, *WEB_COMMANDS) and out[0] != "info":
        return out  # their -c is not a config (Django's shell -c takes code)
    for i, word in enumerate(out):
        if word in ("-c", "--config") and i + 1 < len(out):
            out[i + 1] = _shipped_config_path(out[i + 1])
        elif word.startswith("--config="):
            out[i] = "--config=" + _shipped_config_path(word.split("=", 1)[1])
    return out


def _shipped_config_path(value: str) -> str:
    if Path(value).exists() or not re.fullmatch(r"[\w.-]+", value):
        return value
    shipped = SHIPPED_CONFIGS / (value if value.endswith((".yaml", ".yml")) else f"{value}.yaml")
    if shipped.is_file():
        return str(shipped)
    names = ", ".join(sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))) or f"none in {SHIPPED_CONFIGS}"
    raise FileNotFoundError(f"config not found: {value} is no file here and not a shipped config ({names})")


def _separate(argv: list[str]) -> int:
    from .checkpoint import load_model
    from .separate import separate_file
    from .wiener import FRAME, frame_problem
    from .song_folders import file_digest, plan_folders

    p = argparse.ArgumentParser(
        prog="waveunet separate", description="Separate audio files into one file per source.",
        epilog="Each file's stems go to OUT/<stem>/ with a manifest.json (checkpoint and its sha256, settings, time). "
               "Files sharing a stem get OUT/<stem>-<extension>/ (song.wav -> song-wav, song.mp3 -> song-mp3), "
               "then a counter in command-line order (a/song.wav -> song-wav, b/song.wav -> song-wav-2); "
               "the names are printed before any work starts. A song's folder is replaced as a whole when its "
               "new stems are complete, so an interrupted run never leaves stems of two models in one folder.")
    p.add_argument("files", nargs="+", help="audio files (wav, flac, ogg; mp3, m4a ... through ffmpeg)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by `waveunet fit`")
    p.add_argument("--out", default="separated", help="output folder, one subfolder per input file (default: ./separated in the current folder)")
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="wav: 32-bit float; flac: 24-bit, clipped to [-1, 1]")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--segment", type=float, default=None, help="seconds of output per tile (default: about 3, or more for models with a long context, see separate.tile_plan)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    p.add_argument("--overlap", type=float, default=0.25, help="tile cross-fade, for models without context (0 .. 0.9)")
    p.add_argument("--shifts", type=int, default=0, help="test-time shift averaging: passes with shifted input, averaged")
    p.add_argument("--shift-mode", choices=("fixed", "random"), default="fixed", help="evenly spaced or random shifts")
    p.add_argument("--seed", type=int, default=0, help="seed of the random shifts")
    p.add_argument("--wiener", type=int, default=0, help="EM iterations of the multichannel Wiener post-filter (0: none; 1 is usual)")
    p.add_argument("--wiener-fft", type=int, default=FRAME,
                   help=f"the post-filter's STFT frame in samples at the song's rate, a multiple of 4 (default {FRAME}: {1000 * FRAME / 44100:.0f} ms at 44.1 kHz)")
    p.add_argument("--high-band", action="store_true",
                   help="a model at a lower rate than the song: share the band above its Nyquist frequency among the stems")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.segment is not None and not (math.isfinite(args.segment) and args.segment > 0):
        p.error(f"--segment must be a positive number of seconds, got {args.segment}")
    if args.batch_size < 1:
        p.error(f"--batch-size must be >= 1, got {args.batch_size}")
    if not 0 <= args.overlap <= 0.9:
        p.error(f"--overlap must be between 0 and 0.9, got {args.overlap}")
    if args.shifts < 0:
        p.error(f"--shifts must be >= 0, got {args.shifts}")
    if args.wiener < 0:
        p.error(f"--wiener must be >= 0 EM iterations, got {args.wiener}")
    if problem := frame_problem(args.wiener_fft):
        p.error(f"--wiener-fft {problem}")
    folders = plan_folders(args.files)  # decided before any work; a bad name fails here
    for file, name in folders.items():
        if name != file.stem:
            print(f"note: {file} -> {Path(args.out) / name}/ (another input has the stem {file.stem!r})", file=sys.stderr)
    if len(folders) < len(args.files):
        print(f"note: {len(args.files) - len(folders)} file(s) given twice, separated once", file=sys.stderr)
    model = load_model(args.checkpoint, map_location=args.device)
    manifest = {"checkpoint": str(Path(args.checkpoint).resolve()), "checkpoint_sha256": file_digest(args.checkpoint)}
    segment = max(1, round(args.segment * model.sample_rate)) if args.segment else None
    progress = not args.quiet and sys.stderr.isatty()
    failures = 0
    for file, name in folders.items():
        try:
            paths = separate_file(model, file, args.out, ext=args.format, folder_name=name, manifest=manifest,
                                  segment=segment, batch_size=args.batch_size, overlap=args.overlap, shifts=args.shifts,
                                  shift_mode=args.shift_mode, seed=args.seed, wiener=args.wiener, high_band=args.high_band,
                                  wiener_fft=args.wiener_fft, progress=progress)
            for path in paths:
                print(path)
        except (OSError, ValueError, RuntimeError) as err:
            failures += 1
            print(f"error: {file}: {err}", file=sys.stderr)
    return 1 if failures else 0


def _evaluate(argv: list[str]) -> int:
    from .checkpoint import load_model
    from .data.toy import default_toy_root
    from .evaluate import evaluate, format_table
    from .wiener import FRAME, frame_problem

    p = argparse.ArgumentParser(prog="waveunet evaluate", description="Score a model on a MUSDB18-layout test set.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="a checkpoint written by `waveunet fit`")
    what.add_argument("--estimates", help="score stems separated elsewhere: ESTIMATES/<subset>/<track>/<source>.wav")
    p.add_argument("--sources", nargs="+", default=None, help="with --estimates: the sources (default: vocals drums bass other)")
    p.add_argument("--root", default=None, help="MUSDB18(-HQ) folder (default: the generated toy dataset)")
    p.add_argument("--out", default=None, help="folder for museval JSON per track, frames.csv, summary.csv, results.json, plots; one per checkpoint: scores of another checkpoint found there are refused, not overwritten")
    p.add_argument("--subset", default="test", choices=("test", "train"))
    p.add_argument("--max-tracks", type=int, default=None)
    p.add_argument("--device", default="cpu", help="cpu, cuda ...: separation and the torch scorer run there")
    p.add_argument("--metric", choices=("torch", "museval"), default="torch",
                   help="torch: our BSSEval v4 (fast, same numbers); museval: the reference code")
    p.add_argument("--oracle", choices=("irm",), default=None, help="also score the ideal ratio mask oracle (reads the true sources)")
    p.add_argument("--segment", type=float, default=None, help="seconds of output per tile (default: about 3, or more for models with a long context, see separate.tile_plan)")
    p.add_argument("--batch-size", type=int, default=4, help="tiles per forward pass")
    p.add_argument("--shifts", type=int, default=0, help="test-time shift averaging passes")
    p.add_argument("--wiener", type=int, default=0, help="EM iterations of the multichannel Wiener post-filter (0: none)")
    p.add_argument("--wiener-fft", type=int, default=FRAME, help=f"the post-filter's STFT frame in samples (default {FRAME}; see waveunet separate)")
    p.add_argument("--high-band", action="store_true",
                   help="share the band above the model's Nyquist frequency among the stems (see waveunet separate)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--min-gain", type=float, default=None,
                   help="exit with status 1 unless the model beats the mixture by this many dB on every source")
    args = p.parse_args(argv)
    if args.max_tracks is not None and args.max_tracks < 1:
        p.error(f"--max-tracks must be >= 1, got {args.max_tracks}")
    if args.segment is not None and not (math.isfinite(args.segment) and args.segment > 0):
        p.error(f"--segment must be a positive number of seconds, got {args.segment}")
    if args.batch_size < 1 or args.shifts < 0:
        p.error(f"--batch-size must be >= 1 and --shifts >= 0, got {args.batch_size} and {args.shifts}")
    if args.wiener < 0:
        p.error(f"--wiener must be >= 0 EM iterations, got {args.wiener}")
    if problem := frame_problem(args.wiener_fft):
        p.error(f"--wiener-fft {problem}")
    if args.root is not None and not Path(args.root).is_dir():
        p.error(f"--root {args.root} is not a folder: expected a MUSDB18 / MUSDB18-HQ layout (train/, test/)")
    model = load_model(args.checkpoint, map_location=args.device) if args.checkpoint else None
    segment = max(1, round(args.segment * model.sample_rate)) if args.segment and model is not None else None
    result = evaluate(
        model, args.root or default_toy_root(), out_dir=args.out, subset=args.subset, max_tracks=args.max_tracks,
        segment=segment, batch_size=args.batch_size, shifts=args.shifts, wiener=args.wiener, high_band=args.high_band,
        wiener_fft=args.wiener_fft, metric=args.metric, oracle=args.oracle,
        estimates_dir=args.estimates, sources=tuple(args.sources) if args.sources else None,
        progress=not args.quiet and sys.stderr.isatty(), checkpoint=args.checkpoint,
    )
    print(format_table(result))
    if result["failed"]:
        print(f"{len(result['failed'])} track(s) failed:", file=sys.stderr)
        for track, reason in result["failed"].items():
            print(f"  {track}: {reason}", file=sys.stderr)
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
    p.add_argument("-c", "--config", required=True, help="a YAML config, or a shipped config's name (e.g. m4)")
    p.add_argument("--seconds", type=float, default=1.0, help="output length to report the input length and MACs for")
    args = p.parse_args(argv)
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        p.error(f"--seconds must be a positive number, got {args.seconds}")
    print(info_from_config(args.config, args.seconds))
    return 0


def _plot_logs(argv: list[str]) -> int:
    from .plot_logs import plot_logs

    p = argparse.ArgumentParser(prog="waveunet plot-logs", description="Draw train/val loss and val SDR per source of a run to a PNG.")
    p.add_argument("run_dir", help="a run folder (e.g. runs/demo): its newest logged version is drawn")
    p.add_argument("--out", default=None, help="PNG to write (default: curves.png in the logged version's folder)")
    args = p.parse_args(argv)
    print(plot_logs(args.run_dir, args.out))
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


def _elsewhere(module: str, name: str):
    """The command ``name`` of ``module`` (relative to this package), imported when it runs."""
    def command(argv: list[str]) -> int:
        return getattr(importlib.import_module(module, __package__), name)(argv)

    return command


#: Errors that mean "the input is wrong" (a path, a value, a file's content): one line, exit 2.
#: Anything else is a bug and keeps its traceback. Lightning's ``MisconfigurationException``
#: is one too, added by :func:`user_errors` once Lightning is loaded (``separate`` never loads it).
USER_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, ValueError,
               RuntimeError, ConnectionError)


def user_errors() -> tuple[type[Exception], ...]:
    """:data:`USER_ERRORS`, with Lightning's ``MisconfigurationException`` when Lightning is loaded."""
    if "lightning" not in sys.modules:
        return USER_ERRORS  # nothing can raise it
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    return (*USER_ERRORS, MisconfigurationException)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``waveunet`` and ``lightning`` commands.

    A user error (see :func:`user_errors`) prints ``error: <message>`` on one line and exits
    with status 2; ``--debug`` (anywhere) or ``WAVEUNET_DEBUG=1`` shows the traceback instead.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in words or os.environ.get("WAVEUNET_DEBUG", "") not in ("", "0")
    words = [w for w in words if w != "--debug"]
    try:
        words = resolve_config_names(words)
        if argv is None:
            sys.argv[1:] = words  # LightningCLI reads sys.argv itself
        return _run(words, None if argv is None else words)
    except user_errors() as err:  # evaluated when an exception arrives: Lightning loaded or not
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        print("(run with --debug or WAVEUNET_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2


def _run(words: list[str], cli_args: list[str] | None) -> int:
    if words and words[0] in (*EXTRA_COMMANDS, *WEB_COMMANDS):
        command = {
            "separate": _separate, "evaluate": _evaluate, "info": _info, "toy-data": _toy_data, "plot-logs": _plot_logs,
            "render-data": _elsewhere(".data.cli_commands", "render_data_command"),
            "prepare-data": _elsewhere(".data.cli_commands", "prepare_data_command"),
            "demo": _elsewhere(".demo", "demo_command"),
            "web": _elsewhere(".web.launcher", "web_command"),
            "web-worker": _elsewhere(".web.launcher", "worker_command"),
            "web-manage": _elsewhere(".web.launcher", "manage_command"),
        }[words[0]]
        return command(words[1:])
    if not words or words[0] in ("-h", "--help"):
        print(__doc__)
    from .lightning_cli import WaveUNetCLI

    WaveUNetCLI(args=cli_args)
    return 0


def __getattr__(name: str):
    """``waveunet_lit.cli.WaveUNetCLI`` (and ``find_last_checkpoint``), loaded with Lightning on first use."""
    if name in ("WaveUNetCLI", "find_last_checkpoint"):
        from . import lightning_cli

        return getattr(lightning_cli, name)
    raise AttributeError(f"module 'waveunet_lit.cli' has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
