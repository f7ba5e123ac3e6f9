"""Train recipes for the same wall-clock budget on the rendered dataset; print SiSEC SDR tables.

    OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --budget-minutes 10 --threads 1 --configs cpu_10min demo
    OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --threads 1 --configs cpu_10min --wiener 1  # and post-filtered
    OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --threads 1 --configs cpu_10min --wiener 1 --shifts 4
    OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --threads 1 --configs cpu_10min --wiener 1 --high-band
    .venv/bin/python bench/quality.py --rescore runs/quality/run_0 --wiener 1 --wiener-fft 8192  # the filter's frame
    .venv/bin/python bench/quality.py --threads 2 --configs cpu_10min --seed 7       # another seed
    OMP_NUM_THREADS=2 .venv/bin/python bench/quality.py --threads 2 --train-songs 240 --configs cpu_10min --shifts 4 --wiener 1 --high-band  # its figures
    .venv/bin/python bench/quality.py --smoke                       # the whole pipeline in seconds
    .venv/bin/python bench/quality.py --rescore runs/quality/run_0 --wiener 1 --high-band  # saved weights, other rows

1. The data: a rendered FluidSynth dataset (:mod:`waveunet_lit.data.render`), by default 60
   training songs and 8 held-out test songs of 30 s at 44.1 kHz, made on first use below the
   data folder (``$WAVEUNET_DATA`` or ``~/.cache/waveunet-lit``); ``--train-songs N`` renders
   ``N`` training songs instead (the first 60 and the 8 test songs are the same songs for every
   ``N``, so scores stay comparable; a config's ``rendered_songs: N`` makes ``waveunet fit``
   train on the same set); ``--root`` takes any MUSDB18(-HQ) layout folder instead.
2. Each config (a path, or the name of a shipped one as ``-c NAME`` takes it) is built as
   ``lightning fit -c`` builds it and trained for ``--budget-minutes`` of wall time
   (Lightning's ``max_time``, counted from the first training step; the decode-once cache is
   made before). Its own model, loss, optimizer, LR schedule, data settings and callbacks are
   kept (an ``EMAWeightAveraging`` callback puts the averaged weights in the model at the
   end); checkpointing, early stopping and validation are switched off, so the whole budget
   trains and the final weights are scored (and saved as ``<config>/weights.pt``).
3. The model separates every test song (:func:`waveunet_lit.separate.separate`) and
   :func:`waveunet_lit.evaluate.evaluate` scores it with BSSEval v4 beside two references:
   ``mixture`` (the mixture itself as every source's estimate, evaluate's baseline) and
   ``oracle-irm`` (the ideal ratio mask computed from the true sources: a ceiling for masking
   methods, not a method). SDR is SiSEC's: median over 1 s frames, then median over tracks;
   "avg" is the mean of the per-source values, "gap" is avg minus the IRM's avg. With
   ``--wiener N`` each model is scored a second time, its stems post-filtered by ``N`` EM
   iterations of the multichannel Wiener filter (:mod:`waveunet_lit.wiener`): a second row.
   With ``--shifts N`` it is scored with ``N``-pass test-time shift averaging too
   (:func:`waveunet_lit.separate.separate`'s ``shifts``), alone and with the post-filter: up
   to four rows, one training. ``--high-band`` scores each of them once more with the band
   above the model's Nyquist frequency shared out among the stems
   (:mod:`waveunet_lit.high_band`; before the Wiener filter): up to eight rows.
   ``--wiener-fft N`` sets the filter's STFT frame (default 4096 samples, 93 ms at 44.1 kHz).

``--rescore RUN`` trains nothing: it scores the weights an earlier run saved
(``RUN/<config>/weights.pt``, built from ``RUN/<config>/config.yaml``) on that run's test songs,
with this run's ``--shifts`` / ``--wiener`` / ``--wiener-fft`` / ``--high-band`` rows, into a new run folder.

The machine may be shared: the 1-minute load average is printed before and after every
training, and the CPU seconds the training got (this process and its loader workers), since
a loaded CPU trains fewer steps in the same budget. Compare recipes measured
side by side in one run. ``--smoke`` trains CPU-sized models (:data:`waveunet_lit.config.SMALL`)
for seconds on a tiny rendered set (or ``--root``): a check that everything runs, not a result.
"""

import argparse
import json
import os
import resource
import time
import warnings
from pathlib import Path

import torch
import yaml

from waveunet_lit.cli import budget_flags, resolve_config_names
from waveunet_lit.config import load_config, model_flags, model_node, small_args
from waveunet_lit.lightning_cli import WaveUNetCLI
from waveunet_lit.data.render import QUALITY_TRAIN_SONGS, quality_root, render_dataset, render_quality_set
from waveunet_lit.evaluate import evaluate
from waveunet_lit.wiener import FRAME, frame_problem
from waveunet_lit.info import build_from_config

#: Callbacks that need validation or write checkpoints: the bench scores the final weights.
DROPPED_CALLBACKS = ("ModelCheckpoint", "EarlyStopping")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-minutes", type=float, default=None, help="training wall time per config (default 10; --smoke: 0.05)")
    p.add_argument("--max-steps", type=int, default=-1,
                   help="also stop after this many optimizer steps (load-independent comparisons; default: no limit)")
    p.add_argument("--configs", nargs="+", default=["demo"], help="config files or shipped names (default: demo)")
    p.add_argument("--root", type=Path, default=None, help=f"dataset folder (default: {quality_root()}, rendered if missing)")
    p.add_argument("--train-songs", type=int, default=None,
                   help=f"training songs of the default rendered set (default {QUALITY_TRAIN_SONGS}; the test songs are the same for any number)")
    p.add_argument("--max-tracks", type=int, default=None, help="score only the first test songs")
    p.add_argument("--out", type=Path, default=Path("runs/quality"), help="a new run_N folder below it holds configs and scores")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, which follows OMP_NUM_THREADS)")
    p.add_argument("--accelerator", default="cpu")
    p.add_argument("--wiener", type=int, default=0,
                   help="also score each trained model with this many EM iterations of the multichannel Wiener post-filter (a second row, same weights)")
    p.add_argument("--wiener-fft", type=int, default=FRAME,
                   help=f"the post-filter's STFT frame in samples at the songs' rate (default {FRAME}; other frames name their rows: wiener1fft8192, say)")
    p.add_argument("--high-band", action="store_true",
                   help="also score every row with the band above the model's Nyquist frequency shared out (waveunet_lit.high_band)")
    p.add_argument("--shifts", type=int, default=0,
                   help="also score each trained model with this many passes of test-time shift averaging (more rows, same weights)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed_everything for every config (default: each config's own); runs of one recipe differ by a few tenths of a dB")
    p.add_argument("--rescore", type=Path, default=None,
                   help="train nothing: score the weights saved in an earlier run folder (RUN/<config>/weights.pt) again")
    p.add_argument("--smoke", action="store_true", help="tiny models, data and budget: checks the pipeline in seconds")
    args = p.parse_args(argv)
    if args.budget_minutes is None:
        args.budget_minutes = 0.05 if args.smoke else 10.0
    if not args.budget_minutes > 0:
        p.error(f"--budget-minutes must be > 0, got {args.budget_minutes}")
    if args.max_steps == 0 or args.max_steps < -1:
        p.error(f"--max-steps must be >= 1 (or -1: no limit), got {args.max_steps}")
    if args.max_tracks is not None and args.max_tracks < 1:
        p.error(f"--max-tracks must be >= 1, got {args.max_tracks}")
    if args.train_songs is not None and args.train_songs < 1:
        p.error(f"--train-songs must be >= 1, got {args.train_songs}")
    if args.train_songs is not None and (args.root is not None or args.smoke):
        p.error("--train-songs sets the default rendered set: it does not go with --root or --smoke")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be >= 1, got {args.threads}")
    if args.wiener < 0:
        p.error(f"--wiener must be >= 0 EM iterations, got {args.wiener}")
    if problem := frame_problem(args.wiener_fft):
        p.error(f"--wiener-fft {problem}")
    if args.shifts < 0 or args.shifts == 1:
        p.error(f"--shifts must be 0 (none) or >= 2 passes, got {args.shifts}")
    if args.root is not None and not (args.root / "test").is_dir():
        p.error(f"--root {args.root} has no test/ folder: expected a MUSDB18(-HQ) layout (train/, test/)")
    if args.rescore is not None:
        return rescore_args(p, args)
    try:  # the same name resolution as `waveunet fit -c NAME`
        args.configs = [Path(resolve_config_names(["fit", "-c", c])[2]) for c in args.configs]
    except FileNotFoundError as err:
        p.error(str(err))
    missing = [str(c) for c in args.configs if not c.is_file()]
    if missing:
        p.error(f"config file(s) not found: {', '.join(missing)}")
    return args


def rescore_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """``--rescore RUN``: the configs, dataset and budget of that run (its ``quality.json``)."""
    report = args.rescore / "quality.json"
    if not report.is_file():
        p.error(f"--rescore {args.rescore} has no quality.json: expected a run folder of bench/quality.py")
    if args.smoke or args.train_songs is not None:
        p.error("--rescore scores an earlier run's weights on its test songs: it does not go with --smoke or --train-songs")
    old = json.loads(report.read_text())
    args.configs = sorted(w.parent / "config.yaml" for w in args.rescore.glob("*/weights.pt"))
    if not args.configs:
        p.error(f"--rescore {args.rescore} holds no <config>/weights.pt")
    args.root = args.root or Path(old["root"])
    args.budget_minutes, args.max_steps = old["budget_minutes"], old["max_steps"]
    args.trained = {r["name"]: r["info"] for r in old["rows"]}
    return args


def rescore(config: Path, args: argparse.Namespace) -> dict:
    """The weights an earlier run saved beside ``config``, as :func:`train` returns a model."""
    model = build_from_config(config)
    model.load_state_dict(torch.load(config.parent / "weights.pt", map_location="cpu"))
    return {"model": model.eval(), "info": f"{args.trained.get(config.parent.name, 'no record')}; weights of {config.parent}"}


def dataset(args: argparse.Namespace, run: Path) -> Path:
    """The dataset folder: ``--root``, a tiny rendered set in the run folder (``--smoke``), or
    the default held-out set with ``--train-songs`` training songs (rendered on first use,
    kept for the next runs)."""
    if args.root is not None:
        return args.root
    if args.smoke:  # 3 songs to train (1 more held out for validation), 1 to test, 3 s each
        return render_dataset(run / "data", train_tracks=4, test_tracks=1, seconds=3.0, progress=False)
    return render_quality_set(args.train_songs or QUALITY_TRAIN_SONGS)


def bench_config(config: Path, folder: Path, seed: int | None = None) -> Path:
    """The config with checkpoint and early-stopping callbacks removed (and ``seed_everything``
    set to ``seed`` if given), written to ``folder`` (what was trained, for the record); every
    other key is kept."""
    cfg = load_config(config)
    if seed is not None:
        cfg["seed_everything"] = seed
    trainer = cfg.setdefault("trainer", {}) or {}
    callbacks = trainer.get("callbacks") or []
    trainer["callbacks"] = [c for c in callbacks if str(c.get("class_path", "")).rpartition(".")[2] not in DROPPED_CALLBACKS]
    cfg["trainer"] = trainer
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children (loader workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def train(config: Path, root: Path, folder: Path, args: argparse.Namespace) -> dict:
    """Train one config for the budget; returns the model (eval mode) and what the run did."""
    overrides = [
        f"--data.init_args.root={root}", *budget_flags(60 * args.budget_minutes, args.max_steps),
        f"--trainer.accelerator={args.accelerator}", "--trainer.devices=1", f"--trainer.default_root_dir={folder}",
    ]
    if args.smoke:
        overrides += model_flags(small_args(model_node(load_config(config))))
        overrides += ["--data.init_args.segment=2048", "--data.init_args.batch_size=2", "--data.init_args.num_workers=0",
                      "--data.init_args.valid_tracks=1", "--trainer.precision=32-true"]
    cli = WaveUNetCLI(args=["-c", str(bench_config(config, folder, args.seed)), *overrides], run=False)
    system, trainer = cli.model, cli.trainer
    load_before = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    trainer.fit(system, datamodule=cli.datamodule)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    model = system.model.eval()
    torch.save(model.state_dict(), folder / "weights.pt")  # the scored weights, to look at again
    params, load_after = sum(p.numel() for p in model.parameters()), os.getloadavg()[0]
    return {"model": model, "info": f"{trainer.global_step} steps, {seconds:.0f} s ({cpu:.0f} CPU s), {params:,} params, "
                                    f"{model.sample_rate} Hz, load {load_before:.1f}->{load_after:.1f}"}


def sdr_row(name: str, median: dict, sources: list[str], irm_avg: float | None, info: str = "") -> dict:
    """One table row: per-source SiSEC SDR, their mean, the gap to the IRM's mean."""
    values = [median[s] for s in sources]
    avg = sum(values) / len(values) if all(v is not None for v in values) else None
    gap = avg - irm_avg if avg is not None and irm_avg is not None else None
    return {"name": name, "sdr": dict(zip(sources, values)), "avg": avg, "gap_to_irm": gap, "info": info}


def format_rows(rows: list[dict], sources: list[str]) -> str:
    def f(v):
        return f"{v:8.2f}" if v is not None else f"{'n/a':>8}"

    w = max([28] + [len(r["name"]) + 2 for r in rows])  # the method column: "cpu_10min +shifts4 +highband +wiener1" too
    head = f"{'method':<{w}}" + "".join(f"{s:>8}" for s in sources) + f"{'avg':>8}{'gap':>8}  run"
    return "\n".join([head] + [f"{r['name']:<{w}}" + "".join(f(r["sdr"][s]) for s in sources) + f(r["avg"]) + f(r["gap_to_irm"])
                               + f"  {r['info']}" for r in rows])


def scorings(args: argparse.Namespace) -> list[tuple[int, bool, int]]:
    """``(shifts, high_band, wiener)`` of every scoring of a trained model, the plain one first.

    Example:
        >>> scorings(argparse.Namespace(shifts=4, wiener=1, high_band=False))
        [(0, False, 0), (4, False, 0), (0, False, 1), (4, False, 1)]
        >>> scorings(argparse.Namespace(shifts=0, wiener=1, high_band=True))
        [(0, False, 0), (0, True, 0), (0, False, 1), (0, True, 1)]
    """
    return [(s, h, w) for w in sorted({0, args.wiener}) for h in sorted({False, args.high_band}) for s in sorted({0, args.shifts})]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # the bench passes the configs to LightningCLI itself; its own command line is not theirs
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    n = 0
    while (args.out / f"run_{n}").exists():  # never mix these scores with an earlier run's
        n += 1
    run = args.out / f"run_{n}"
    run.mkdir()
    root = dataset(args, run)
    names = [c.parent.name if args.rescore is not None else c.stem for c in args.configs]  # rescored: RUN/<name>/config.yaml
    if len(set(names)) < len(names):
        raise SystemExit(f"error: two configs share the name {names}: rename one")
    results, references, sources = {}, None, None
    for config, name in zip(args.configs, names):
        if args.rescore is not None:
            trained = rescore(config, args)
        else:
            print(f"training {name} for {args.budget_minutes:g} min (load {os.getloadavg()[0]:.1f}) ...", flush=True)
            torch.manual_seed(0)
            trained = train(config, root, run / name, args)
        model = trained.pop("model")
        scores = evaluate(model, root, out_dir=run / name / "eval", max_tracks=args.max_tracks,
                          oracle="irm" if references is None else None)
        if scores["failed"]:
            raise SystemExit(f"error: {name}: test track(s) failed: {scores['failed']}")
        sources = scores["sources"]
        if references is None:
            references = {m: scores["median"][m] for m in ("mixture", "oracle-irm")}
        results[name] = {**trained, "median": scores["median"]["model"], "tracks": len(scores["tracks"])}
        fft = f"fft{args.wiener_fft}" if args.wiener_fft != FRAME else ""  # in the filtered rows' names
        for shifts, high_band, wiener in scorings(args)[1:]:  # the same weights, shift-averaged and/or post-filtered
            parts = [f"shifts{shifts}"] * bool(shifts) + ["highband"] * high_band + [f"wiener{wiener}{fft}"] * bool(wiener)
            label = "".join(" +" + part for part in parts)  # e.g. " +shifts4 +highband +wiener1", in eval_shifts4_highband_wiener1
            again = evaluate(model, root, out_dir=run / name / ("eval_" + "_".join(parts)),
                             max_tracks=args.max_tracks, shifts=shifts, wiener=wiener, high_band=high_band,
                             wiener_fft=args.wiener_fft)
            if again["failed"]:
                raise SystemExit(f"error: {name}{label}: test track(s) failed: {again['failed']}")
            results[name + label] = {**results[name], "median": again["median"]["model"], "tracks": len(again["tracks"])}
        print(f"  {trained['info']}", flush=True)

    irm_avg = sdr_row("", references["oracle-irm"], sources, None)["avg"]
    rows = [sdr_row(name, r["median"], sources, irm_avg, r["info"]) for name, r in results.items()]
    rows.append(sdr_row("mixture", references["mixture"], sources, irm_avg, "the mixture as every estimate"))
    rows.append(sdr_row("oracle-irm", references["oracle-irm"], sources, irm_avg, "ideal ratio mask (reads the true sources)"))
    tracks = min(r["tracks"] for r in results.values())
    print(f"\nBSSEval v4 SDR (dB), SiSEC: median over 1 s frames, median over {tracks} test songs of {root}")
    print(f"budget {args.budget_minutes:g} min" + (f" or {args.max_steps} steps" if args.max_steps > 0 else "") + f" per config, {torch.get_num_threads()} torch threads, {args.accelerator}"
          + (", SMOKE (tiny models and data: not a result)" if args.smoke else ""))
    print(format_rows(rows, sources))
    (run / "quality.json").write_text(json.dumps({"budget_minutes": args.budget_minutes, "max_steps": args.max_steps, "root": str(root), "smoke": args.smoke,
                                                   "threads": torch.get_num_threads(), "tracks": tracks, "rows": rows}, indent=1))
    print(f"\nscores and configs: {run}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
