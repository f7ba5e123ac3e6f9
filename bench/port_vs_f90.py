"""Training step of our port recipe against f90/Wave-U-Net-Pytorch's own, side by side.

    python bench/port_vs_f90.py --f90 DIR [--steps 3] [--threads 1 2] [--smoke]

DIR is a checkout of https://github.com/f90/Wave-U-Net-Pytorch (``git clone`` it anywhere;
its code is not part of this package); the default is the environment variable
``F90_WAVE_U_NET``. Both networks are built with the hyper-parameters of
``waveunet_lit/configs/port.yaml`` (one network per source, group norm, fixed sinc
resampling), the same batch, the same input and output length, L1 loss and Adam. The script

* prints both parameter counts and input/output lengths (they must agree),
* copies f90's weights (and its sinc filters, whose window differs: its issue 21) into ours and
  checks that both compute the same function in training mode,
* warms both up, then times ``--steps`` training steps each (forward + backward + Adam step),
  alternating between the two in this one process, for every ``--threads`` count,
* reports wall and CPU seconds per step, samples/s, the ratios f90 / ours, and the paper's M4
  (``WaveUNet.from_preset("M4")`` at the segment of ``configs/m4.yaml``, by default at the
  port's batch to keep CPU runs short; ``--m4-batch 16`` for its config's batch).

On a machine shared with other jobs, the CPU-time ratio is the one to read: wall time then
mostly measures how long each step waited for a core.

Measured on a quiet 2-core AMD EPYC with AVX512-BF16, torch 2.11, full port recipe (70 M
parameters, batch 4, 53929 -> 44377 samples), 3 timed steps each (``--threads 1 2``): f90
12.1 s of CPU per step with 1 thread; ours at 32-true 15.9 s (0.76x; 0.94x with 2 threads:
the same convolutions, so about the same cost); ours at the recipe's bf16-mixed 6.6 s,
**1.85x** f90 with 1 thread and 1.73x with 2 (bfloat16 convolutions through oneDNN, and the
fixed resampling filters as polyphase convolutions: :mod:`waveunet_lit.models.polyphase`).
M4 (32-true) at batch 4 takes 4.3 s. Without native bfloat16 (``note:`` line) bf16-mixed is
emulated and slower.

On a 2-core Intel Xeon with AVX512-BF16 and AMX the same ratio was 1.45x / 1.24x until the
port ran its signals in channels-last memory (:mod:`waveunet_lit.models.channels_last`: oneDNN
had converted every bfloat16 convolution's input, output and gradient to that layout and
back); now (``--steps 5 --threads 1 2``, load 1.0-1.9) f90 15.0 s, ours 16.8 s at 32-true and
7.2 s at bf16-mixed with 1 thread: **2.08x**; 9.4 s, 9.5 s and 5.3 s with 2: **1.77x**. That
machine's step times vary by up to 30 % from minute to minute; the ratios, measured
alternating, vary less (1.76x-2.08x with 1 thread over three runs, one of them with a
larger oneDNN primitive cache).

On a 2-core AMD EPYC with AVX2 only (no bfloat16, so ``fit`` trains the port in 32-true; the
default then leaves out the emulated bf16-mixed row, which took over 20 minutes), the float32
step ran in channels-last memory too until 2026-12-07 and took 22.3 s against f90's 11.3 s
with 2 threads (**0.51x**); float32 now runs in the usual layout
(:func:`waveunet_lit.models.channels_last.layout_for`): ``--steps 3 --threads 1 2 --precision
32-true --no-m4`` gave f90 20.6 s, ours 21.5 s with 1 thread (0.96x), 12.2 s and 11.7 s with 2
(1.05x). In float32 both run the same convolutions, so about 1x is what the layout can give.

f90's step is its ``model.utils.compute_loss(..., compute_grad=True)`` between
``optimizer.zero_grad()`` and ``optimizer.step()``, as in its ``train.py`` (without its
learning-rate schedule and TensorBoard logging). It back-propagates one L1 loss per source;
ours back-propagates the mean over sources, so our gradients are 1/S of its: the same work.

``--smoke`` uses a tiny network (8 features, 3 levels) and a short output so the whole script
runs in seconds.
"""

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from waveunet_lit.cli import SHIPPED_CONFIGS
from waveunet_lit.config import load_config, model_node
from waveunet_lit.losses import L1Loss, MSELoss
from waveunet_lit.models import WaveUNet
from waveunet_lit.models.port import PortWaveUNet
from waveunet_lit.precision import autocast_dtype, bf16_is_native

HOW_TO_GET_F90 = (
    "clone it with `git clone https://github.com/f90/Wave-U-Net-Pytorch DIR` and pass "
    "`--f90 DIR` or set F90_WAVE_U_NET=DIR"
)


def config(name: str) -> dict:
    """``model``, ``optimizer`` (Adam's keyword arguments) and ``data`` init_args of a shipped config."""
    cfg = load_config(SHIPPED_CONFIGS / f"{name}.yaml")
    system = cfg["model"]["init_args"]
    if system["optimizer"]["class_path"] != "torch.optim.Adam":
        raise ValueError(f"configs/{name}.yaml: expected torch.optim.Adam, got {system['optimizer']['class_path']}")
    return {
        "model": model_node(cfg)["init_args"], "optimizer": system["optimizer"].get("init_args", {}),
        "data": cfg["data"]["init_args"], "precision": cfg.get("trainer", {}).get("precision", "32-true"),
    }


def load_f90(directory: str | None):
    """Import ``Waveunet`` and ``compute_loss`` from an f90/Wave-U-Net-Pytorch checkout.

    Raises:
        FileNotFoundError: no directory given, or it holds no ``model/waveunet.py``.
    """
    if not directory:
        raise FileNotFoundError(f"no f90/Wave-U-Net-Pytorch checkout given: {HOW_TO_GET_F90}")
    root = Path(directory).expanduser().resolve()
    if not (root / "model" / "waveunet.py").is_file() or not (root / "model" / "utils.py").is_file():
        raise FileNotFoundError(f"{root} is not an f90/Wave-U-Net-Pytorch checkout (no model/waveunet.py): {HOW_TO_GET_F90}")
    sys.path.insert(0, str(root))  # its modules import each other as the top-level package `model`
    from model.utils import compute_loss
    from model.waveunet import Waveunet

    return Waveunet, compute_loss


def build_f90(Waveunet, ours: PortWaveUNet, output_length: int):
    """f90's ``Waveunet`` with the hyper-parameters of ``ours`` (prints its own lengths line)."""
    conv_type = {"group": "gn", "batch": "bn", "none": "normal"}[ours.init_args["norm"]]
    if ours.filter_taps != 15:  # f90 hard-codes 15 taps
        raise ValueError(f"f90's resampling filter has 15 taps, ours {ours.filter_taps}")
    return Waveunet(
        ours.channels, list(ours.widths), ours.channels, list(ours.sources), ours.kernel_size, output_length,
        conv_type, ours.resampling, separate=ours.separate, depth=ours.depth, strides=ours.strides,
    )


def f90_to_ours(f90_state: dict, ours: PortWaveUNet) -> tuple[dict, dict]:
    """Map f90's state dict onto ours: ``(state_dict for ours, sinc filters by our buffer name)``.

    f90's up block ``idx`` is our up stage ``levels - 2 - idx``; its fixed filters are
    parameters without gradient, ours non-persistent buffers, so they come back separately.
    """
    n = ours.levels - 1
    nets = list(ours.sources) if ours.separate else ["ALL"]
    mapped, filters = {}, {}
    for key, value in f90_state.items():
        parts = key.split(".")
        s = nets.index(parts[1])
        kind, rest = parts[2], parts[3:]
        if kind == "downsampling_blocks":
            i, part = int(rest[0]), rest[1]
            if part == "downconv":
                new = [f"downsample.{i}", *rest[2:]]
            else:
                new = [f"down_{'pre' if part == 'pre_shortcut_convs' else 'post'}.{i}", *rest[2:]]
        elif kind == "upsampling_blocks":
            i, part = n - 1 - int(rest[0]), rest[1]
            if part == "upconv":
                new = [f"upsample.{i}", *rest[2:]]
            else:
                new = [f"up_{'pre' if part == 'pre_shortcut_convs' else 'post'}.{i}", *rest[2:]]
        elif kind == "bottlenecks":
            new = ["bottleneck", *rest]
        elif kind == "output_conv":
            new = ["output", *rest]
        else:
            raise KeyError(f"unexpected key in f90's state dict: {key}")
        name = ".".join(["nets", str(s), *new]).replace(".filter.weight", ".conv.weight").replace(".filter.bias", ".conv.bias")
        (filters if name.endswith(".filter") else mapped)[name] = value
    return mapped, filters


def same_function(f90, ours: PortWaveUNet) -> float:
    """Largest |difference| of the two outputs, after copying f90's weights and filters into ours."""
    mapped, filters = f90_to_ours(f90.state_dict(), ours)
    ours.load_state_dict(mapped)
    with torch.no_grad():
        for name, h in filters.items():
            ours.get_buffer(name).copy_(h)
    f90.train(), ours.train()  # f90 clamps to [-1, 1] in eval mode only
    mix = torch.randn(1, ours.channels, f90.input_size, generator=torch.Generator().manual_seed(0)) * 0.3
    with torch.no_grad():
        theirs = torch.stack([f90(mix, s)[s] for s in ours.sources], 1) if ours.separate else None
        if theirs is None:
            out = f90(mix)
            theirs = torch.stack([out[s] for s in ours.sources], 1)
        return float((ours(mix) - theirs).abs().max())


def train_step(model, mix: torch.Tensor, target: torch.Tensor, f90_compute_loss=None, loss_fn=None, adam=None,
               precision: str = "32-true"):
    """A closure doing one training step (forward, backward, Adam) of ``model`` on fixed data.

    Ours (``f90_compute_loss=None``) uses ``loss_fn`` (default :class:`L1Loss`) under the
    autocast of Lightning's ``precision`` (``bf16-mixed``: the forward pass in bfloat16, the
    loss in float32, as Lightning runs it); f90's model goes through its ``compute_loss`` with
    ``torch.nn.L1Loss``, in float32 (its ``train.py`` has no mixed precision). ``adam``:
    keyword arguments of ``torch.optim.Adam`` (default ``lr=1e-3``, as f90's ``train.py``).
    """
    opt = torch.optim.Adam(model.parameters(), **(adam or {"lr": 1e-3}))
    model.train()
    if f90_compute_loss is None:
        loss_fn = loss_fn or L1Loss()
        dtype = autocast_dtype(precision)
        if dtype is torch.float16:
            raise ValueError("train_step: 16-mixed needs a gradient scaler; time it with bench/gpu.py")

        def step():
            opt.zero_grad()
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                estimate = model(mix)
            loss_fn(estimate.float(), target).backward()
            opt.step()
    else:
        criterion = torch.nn.L1Loss()
        targets = {s: target[:, i] for i, s in enumerate(model.instruments)}

        def step():
            opt.zero_grad()
            f90_compute_loss(model, mix, targets, criterion, compute_grad=True)
            opt.step()

    return step


def time_alternating(steps: dict, n: int, warmup: int = 1) -> dict:
    """``(wall s, CPU s)`` of each of ``n`` calls of every closure in ``steps``, taking turns.

    CPU seconds are this process's (all its threads): on a machine shared with other jobs the
    wall time mostly measures the wait for a core, the CPU time the work done.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for _ in range(n):
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def batch_for(model, batch: int, output_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    n_in = model.valid_length(output_length)
    mix = torch.randn(batch, model.channels, n_in, generator=g) * 0.1
    target = torch.randn(batch, len(model.sources), model.channels, model.output_length(n_in), generator=g) * 0.1
    return mix, target


def count(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--f90", default=os.environ.get("F90_WAVE_U_NET"), help="f90/Wave-U-Net-Pytorch checkout (default: $F90_WAVE_U_NET)")
    p.add_argument("--steps", type=int, default=3, help="timed training steps per model and thread count")
    p.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts to measure")
    p.add_argument("--no-m4", action="store_true", help="skip the M4 row")
    p.add_argument("--m4-batch", type=int, default=None, help="M4's batch (default: the port's; configs/m4.yaml trains with 16)")
    p.add_argument("--precision", nargs="+", default=None, choices=["32-true", "bf16-mixed"],
                   help="our precisions to time (default: 32-true and the port recipe's, where this CPU runs it natively)")
    p.add_argument("--smoke", action="store_true", help="tiny network and output, for a quick check")
    args = p.parse_args(argv)
    if args.steps < 1 or min(args.threads) < 1:
        p.error(f"--steps and --threads must be >= 1, got {args.steps} and {args.threads}")
    try:
        Waveunet, compute_loss = load_f90(args.f90)
    except FileNotFoundError as err:
        print(f"port_vs_f90: {err}", file=sys.stderr)
        return 2

    cfg = config("port")
    model_args, batch, output_length = dict(cfg["model"]), cfg["data"]["batch_size"], cfg["data"]["segment"]
    if args.smoke:
        model_args.update(features=8, levels=3)
        batch, output_length = 1, 1000
    torch.manual_seed(0)
    ours = PortWaveUNet(**model_args)
    f90 = build_f90(Waveunet, ours, output_length)
    n_in = ours.valid_length(output_length)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, torch {torch.__version__}")
    print(f"port recipe: {model_args}, Adam {cfg['optimizer']} (f90: Adam lr 1e-3)")
    print(f"batch {batch}, output >= {output_length} samples")
    print(f"{'':8}{'params':>12}{'input':>9}{'output':>9}")
    print(f"{'f90':8}{count(f90):>12,}{f90.input_size:>9}{f90.output_size:>9}")
    print(f"{'ours':8}{count(ours):>12,}{n_in:>9}{ours.output_length(n_in):>9}")
    if (count(f90), f90.input_size, f90.output_size) != (count(ours), n_in, ours.output_length(n_in)):
        print("port_vs_f90: the two networks differ in parameters or lengths", file=sys.stderr)
        return 1
    err = same_function(f90, ours)
    print(f"same function with f90's weights and filters copied in: max |ours - f90| = {err:.2e}")
    if err > 1e-4:
        print("port_vs_f90: the two networks compute different functions", file=sys.stderr)
        return 1

    mix, target = batch_for(ours, batch, output_length)
    precisions = list(dict.fromkeys(args.precision or ["32-true", cfg["precision"]]))
    if "bf16-mixed" in precisions and not bf16_is_native("cpu"):
        if args.precision:
            print("note: this CPU has no native bfloat16 (AVX512-BF16/AMX): bf16-mixed is emulated here")
        else:  # `fit` trains in 32-true here, and the emulated step takes many times as long
            precisions.remove("bf16-mixed")
            print("note: this CPU has no native bfloat16 (AVX512-BF16/AMX), where `fit` trains the port in 32-true: "
                  "bf16-mixed left out (--precision bf16-mixed times its emulation)")
    steps = {"f90": train_step(f90, mix, target, compute_loss)}
    for precision in precisions:  # a copy of the model each: every closure has its own Adam
        steps[f"ours {precision}"] = train_step(copy.deepcopy(ours), mix, target, adam=cfg["optimizer"], precision=precision)
    print(f"ours at {', '.join(precisions)} (the recipe: {cfg['precision']}); f90 at 32-true")
    m4 = None
    if not args.no_m4:
        m4_cfg = config("m4")
        m4 = WaveUNet.from_preset("M4", levels=3) if args.smoke else WaveUNet.from_preset("M4")
        m4_batch, m4_segment = (1, 1000) if args.smoke else (args.m4_batch or batch, m4_cfg["data"]["segment"])
        steps["M4"] = train_step(m4, *batch_for(m4, m4_batch, m4_segment), loss_fn=MSELoss(), adam=m4_cfg["optimizer"],
                                 precision=m4_cfg["precision"])
        print(f"M4: {count(m4):,} params, batch {m4_batch} (its config: {m4_cfg['data']['batch_size']}), segment {m4_segment}, "
              f"MSE loss, Adam {m4_cfg['optimizer']}, {m4_cfg['precision']}")

    print("step = forward + backward + Adam; medians over the timed steps (min-max); samples/s from wall time")
    print(f"{'threads':>7}{'model':>18}{'batch':>6}{'wall s':>9}{'(min-max)':>16}{'CPU s':>9}{'(min-max)':>16}{'samples/s':>11}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        times = time_alternating(steps, args.steps)
        med = {}
        for name, t in times.items():
            b = m4_batch if name == "M4" else batch
            wall, cpu = [w for w, _ in t], [c for _, c in t]
            med[name] = statistics.median(wall), statistics.median(cpu)
            print(
                f"{threads:>7}{name:>18}{b:>6}{med[name][0]:>9.2f}{f'({min(wall):.2f}-{max(wall):.2f})':>16}"
                f"{med[name][1]:>9.2f}{f'({min(cpu):.2f}-{max(cpu):.2f})':>16}{b / med[name][0]:>11.2f}"
            )
        for precision in precisions:
            ours_med = med[f"ours {precision}"]
            print(
                f"threads {threads}: f90 / ours {precision} = {med['f90'][0] / ours_med[0]:.2f}x in wall time, "
                f"{med['f90'][1] / ours_med[1]:.2f}x in CPU time; load average now {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
