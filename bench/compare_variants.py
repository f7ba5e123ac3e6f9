"""Train every recipe (Wave-U-Nets, spectrogram models, NMF) for the same short budget on generated data; print one table.

    OMP_NUM_THREADS=1 .venv/bin/python bench/compare_variants.py --budget-seconds 60
    .venv/bin/python bench/compare_variants.py --full --budget-seconds 600   # config sizes, on a GPU

Columns: parameters, receptive field (samples and ms), training throughput (output samples
per second of wall time), separation speed (seconds of audio separated per second, whole-song
tiling of :func:`waveunet_lit.separate.separate`), SDR per source ("new SDR" of the MDX
challenge, mean over the test chunks of the generated dataset) and the mixture baseline (the
mixture itself as every estimate). Without ``--full`` each model is shrunk by the overrides in
:data:`waveunet_lit.config.SMALL` so that a CPU run finishes in minutes; the numbers compare designs at equal
wall-clock budget, not the recipes' final quality.
"""

import argparse
import time
from pathlib import Path

import lightning as L
import torch

import waveunet_lit
from waveunet_lit.audio import default_data_root, model_device
from waveunet_lit.cli import budget_flags
from waveunet_lit.config import load_config, model_flags, model_node, small_args
from waveunet_lit.data import generate_toy_musdb
from waveunet_lit.lessons.training import score_chunks
from waveunet_lit.lightning_cli import WaveUNetCLI
from waveunet_lit.receptive_field import receptive_field
from waveunet_lit.separate import separate

CONFIGS = Path(waveunet_lit.__file__).parent / "configs"
RECIPES = {
    "wave_u_net": "m6", "strided": "strided", "dilated": "dilated", "mask_unet": "mask_unet", "port": "port",
    "spec_unet": "spec_unet", "band_split_rnn": "band_split_rnn", "nmf": "nmf",
}

class Throughput(L.Callback):
    """Counts training examples and the wall time of the training loop."""

    def __init__(self):
        self.examples, self.seconds, self._t0 = 0, 0.0, 0.0

    def on_train_start(self, trainer, pl_module):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.examples += batch[0].shape[0]

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self._t0


def build(recipe: str, args) -> WaveUNetCLI:
    """The recipe's config built exactly as `lightning fit -c` builds it (model, loss, optimizer,
    LR scheduler, gradient clipping, data), with the bench's overrides: model size (unless
    --full), data, and a time budget with no validation, logging or checkpoints."""
    config = CONFIGS / f"{RECIPES[recipe]}.yaml"
    overrides = [
        f"--data.init_args.root={args.root}", "--data.init_args.num_workers=0", "--data.init_args.samples_per_epoch=1000000",
        *budget_flags(args.budget_seconds), "--trainer.callbacks=[]",
        f"--trainer.accelerator={args.accelerator}", "--trainer.precision=32-true",
    ]
    if args.segment:
        overrides.append(f"--data.init_args.segment={args.segment}")
    if args.batch_size:
        overrides.append(f"--data.init_args.batch_size={args.batch_size}")
    model_args = {} if args.full else small_args(model_node(load_config(config)))
    if args.sample_rate:
        model_args["sample_rate"] = args.sample_rate
    overrides += model_flags(model_args)
    return WaveUNetCLI(args=["-c", str(config), *overrides], run=False)


def run(recipe: str, args) -> dict:
    torch.manual_seed(0)
    cli = build(recipe, args)
    system, data, trainer = cli.model, cli.datamodule, cli.trainer
    model = system.model
    segment, batch_size = data.segment, data.batch_size
    counter = Throughput()
    trainer.callbacks.append(counter)
    trainer.fit(system, datamodule=data)
    model.eval()
    device = model_device(model)

    # SDR on the fixed test chunks, and the mixture baseline on the same chunks.
    sdr, baseline = score_chunks(model, data)  # {source: dB}

    # Separation speed: a 20 s song through the tiled whole-song inference.
    song = torch.randn(model.channels, 20 * model.sample_rate) * 0.1
    t0 = time.perf_counter()
    separate(model, song.to(device), model.sample_rate)
    speed = 20 / (time.perf_counter() - t0)
    try:
        rf = receptive_field(model)
    except TypeError:  # spectrogram models: the STFT frame and the network decide; not computed
        rf = None
    return {
        "recipe": recipe,
        "params": sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if "dictionar" in n),
        "rf": rf,
        "rf_ms": 1000 * rf / model.sample_rate if rf else None,
        "train": counter.examples * model.output_length(model.valid_length(segment)) / max(counter.seconds, 1e-9),
        "steps": counter.examples // batch_size,
        "speed": speed,
        "sdr": sdr,
        "baseline": baseline,
    }


def table(rows: list[dict]) -> str:
    sources = list(rows[0]["sdr"])
    head = ["recipe", "params", "RF samples", "RF ms", "train samples/s", "steps", "separate x RT"]
    head += [f"SDR {s}" for s in sources] + ["SDR mean", "mix baseline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        sdr = [r["sdr"].get(s, float("nan")) for s in sources]
        rf, rf_ms = (str(r["rf"]), f"{r['rf_ms']:.0f}") if r["rf"] else ("n/a", "n/a")
        cells = [r["recipe"], f"{r['params']:,}", rf, rf_ms, f"{r['train']:,.0f}", str(r["steps"]), f"{r['speed']:.1f}"]
        cells += [f"{v:.2f}" for v in sdr] + [f"{sum(sdr) / len(sdr):.2f}", f"{sum(r['baseline'].values()) / len(sources):.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-seconds", type=float, default=60.0, help="training wall time per recipe")
    parser.add_argument("--models", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--full", action="store_true", help="use the configs' model sizes (GPU)")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (default: a generated toy set)")
    parser.add_argument("--segment", type=int, default=None, help="output samples per example (default: 8192 small, config full)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8 small, config full")
    parser.add_argument("--sample-rate", type=int, default=None, help="override every model's rate (e.g. 11025 on CPU)")
    parser.add_argument("--accelerator", default="auto")
    args = parser.parse_args()
    if not args.full:
        args.segment = args.segment or 8192
        args.batch_size = args.batch_size or 8
    if args.root is None:
        args.root = generate_toy_musdb(default_data_root() / "bench-toy", train_tracks=8, test_tracks=3, seconds=10.0)
    rows = []
    for recipe in args.models:
        print(f"training {recipe} for {args.budget_seconds:.0f} s ...", flush=True)
        rows.append(run(recipe, args))
    print(f"\nbudget {args.budget_seconds:.0f} s per recipe, {'config sizes' if args.full else 'small CPU sizes'}, "
          f"data {args.root}, device {args.accelerator}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
