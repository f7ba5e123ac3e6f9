"""``waveunet demo`` (what ``make demo`` runs): train, separate and score in one run.

1. ``lightning fit -c waveunet_lit/configs/demo.yaml``, below ``--out`` (default ``runs/demo``
   in the current folder); Lightning makes a new ``lightning_logs/version_N`` for every run.
2. The checkpoint *this* run wrote (its ``ModelCheckpoint``'s best model, never a file an
   earlier run left behind) separates the first rendered test song into ``<version>/separated``.
3. ``waveunet evaluate`` scores the rendered test split into ``<version>/eval`` and fails
   unless the model beats the mixture baseline by ``--min-gain`` dB on every source.
4. ``waveunet plot-logs`` draws the training curves to ``<version>/curves.png``.
"""

import argparse
from pathlib import Path

import waveunet_lit

__all__ = ["demo_command"]

CONFIG = Path(waveunet_lit.__file__).parent / "configs" / "demo.yaml"


def demo_command(argv: list[str]) -> int:
    from .cli import main
    from .lightning_cli import WaveUNetCLI
    from .plot_logs import plot_logs

    p = argparse.ArgumentParser(prog="waveunet demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo in the current folder)")
    p.add_argument("--min-gain", type=float, default=3.0, help="dB the model must beat the mixture by, per source")
    p.add_argument("fit_args", nargs="*", help="extra `fit` arguments after --, e.g. -- --trainer.max_epochs 1")
    args = p.parse_args(argv)
    cli = WaveUNetCLI(args=["fit", "-c", str(CONFIG), f"--trainer.default_root_dir={args.out}", *args.fit_args])
    checkpoint = cli.trainer.checkpoint_callback.best_model_path if cli.trainer.checkpoint_callback else ""
    if not checkpoint or not Path(checkpoint).is_file():
        raise RuntimeError(f"the demo run wrote no checkpoint below {args.out}")
    run = Path(checkpoint).parent.parent  # <out>/lightning_logs/version_N
    print(f"checkpoint written and scored by this run: {checkpoint}", flush=True)
    data = Path(cli.datamodule.dataset_root)
    song = sorted((data / "test").glob("*/mixture.wav"))[0]
    code = main(["separate", str(song), "--checkpoint", checkpoint, "--out", str(run / "separated")])
    code = code or main(["evaluate", "--checkpoint", checkpoint, "--root", str(data), "--out", str(run / "eval"),
                         "--min-gain", str(args.min_gain)])
    print(f"training curves: {plot_logs(run)}")
    print(f"scored checkpoint: {checkpoint}")
    return code
