"""Training-step time of a band-split RNN recipe: its bands run one by one (as the paper writes
them) against the batched bands the package runs, with Adam's per-parameter loop and with its
``foreach`` form (the recipes' choice; ``fused`` would be faster still, but Lightning refuses
gradient clipping with it), side by side.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bsrnn_step.py                    # cpu_10min, 10 steps each
    OMP_NUM_THREADS=1 .venv/bin/python bench/bsrnn_step.py --config cpu_2h --steps 5

One training step is what ``fit`` runs per batch: forward of a batch of random chunks shaped as
the config's data section makes them (batch x channels x segment samples), the config's loss,
backward and an Adam step (the config's learning rate), in the config's precision when this
device runs it natively (``bf16-mixed`` on a CPU with AVX512-BF16), else in float32. The
variants run in turn, ``--rounds`` times, on the same model (the loops and the batched bands
compute the same function from the same parameters), so that a change of load hits them alike;
each row gives the median seconds per step over the rounds.
"""

import argparse
import os
import platform
import statistics
import time

import torch

from waveunet_lit.cli import resolve_config_names
from waveunet_lit.config import instantiate, load_config
from waveunet_lit.info import build_from_config
from waveunet_lit.losses import MSELoss
from waveunet_lit.models.band_split_rnn import BandSplitRNN
from waveunet_lit.precision import autocast_dtype, train_precision

VARIANTS = ("bands one by one, Adam", "batched bands, Adam", "batched bands, foreach Adam")


def build(config: str) -> tuple[BandSplitRNN, torch.nn.Module, dict, str]:
    """The config's model, loss (its class with the config's arguments), data and precision."""
    path = resolve_config_names(["fit", "-c", config])[2]
    cfg = load_config(path)
    model = build_from_config(path)
    if not isinstance(model, BandSplitRNN):
        raise SystemExit(f"bsrnn_step: {config} builds a {type(model).__name__}, not a BandSplitRNN")
    loss_node = cfg["model"]["init_args"].get("loss")
    loss = instantiate(loss_node) if loss_node else MSELoss()  # the Separator's default otherwise
    lr = cfg["model"]["init_args"]["optimizer"]["init_args"]["lr"]
    data = cfg["data"]["init_args"]
    return model, loss, {"batch": data["batch_size"], "segment": data["segment"], "lr": lr}, cfg["trainer"].get("precision", "32-true")


def step_seconds(model: BandSplitRNN, loss_fn, batch, variant: str, lr: float, dtype, steps: int) -> float:
    """Median seconds of ``steps`` training steps (after one warm-up step) of one variant."""
    per_band = variant.startswith("bands one by one")
    split, masks = model.split_bands, model.estimate_masks
    if per_band:  # the same model, its bands run as the paper writes them
        model.split_bands, model.estimate_masks = model.split_bands_per_band, model.estimate_masks_per_band
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=variant.endswith("foreach Adam"))
    mix, target = batch
    times = []
    try:
        for i in range(steps + 1):
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                out = model(mix)
            loss = loss_fn(out.float(), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i:
                times.append(time.perf_counter() - start)
    finally:
        model.split_bands, model.estimate_masks = split, masks
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="cpu_10min", help="a band-split RNN config file or shipped name")
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant and round")
    p.add_argument("--rounds", type=int, default=2, help="times every variant runs, in turn")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, which follows OMP_NUM_THREADS)")
    args = p.parse_args(argv)
    for name in ("steps", "rounds", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be >= 1, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, loss_fn, data, precision = build(args.config)
    chosen, _ = train_precision(precision, "cpu")  # what `fit` trains in here: 32-true where bf16 is emulated
    dtype = autocast_dtype(chosen)
    if chosen != precision:
        precision = f"{chosen} (the config's {precision} is emulated on this CPU)"
    S, C = len(model.sources), model.channels
    batch = (torch.randn(data["batch"], C, data["segment"]), torch.randn(data["batch"], S, C, data["segment"]))
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            seconds[variant].append(step_seconds(model, loss_fn, batch, variant, data["lr"], dtype, args.steps))
    print(f"{args.config}: BandSplitRNN, {model.parameter_count():,} parameters, {len(model.band_widths)} bands "
          f"({len(set(model.band_widths))} widths), batch {data['batch']} x {C} x {data['segment']} samples, {precision}")
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
          f"load {os.getloadavg()[0]:.1f}; median of {args.rounds} rounds of {args.steps} steps")
    base = statistics.median(seconds[VARIANTS[0]])
    print(f"{'variant':<28}{'s / step':>10}{'speed-up':>10}")
    for variant in VARIANTS:
        s = statistics.median(seconds[variant])
        print(f"{variant:<28}{s:>10.3f}{base / s:>9.2f}x")


if __name__ == "__main__":
    main()
