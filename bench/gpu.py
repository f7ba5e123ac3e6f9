"""GPU readiness: training speed, memory, model FLOP utilisation and separation speed of M4,
M6, the strided Wave-U-Net and the band-split RNN, in one run of under 10 minutes.

    .venv/bin/python bench/gpu.py --peak-tflops 989   # H100 SXM dense bf16; a T4: 65 (fp16)
    .venv/bin/python bench/gpu.py --cpu-smoke         # tiny sizes on the CPU: checks the script

For each model and precision (32-true, 16-mixed, bf16-mixed), eager and with
``torch.compile``: training samples/s (forward + backward + Adam on random batches, after
warm-up steps that include compilation), peak memory (CUDA: ``max_memory_allocated`` of that
row; CPU: the process's peak RSS so far, which only grows) and MFU: training FLOPs per second
(3 x 2 x MACs of one forward pass per sample, MACs from ``waveunet_lit.info.count_macs``, the
figure ``waveunet info`` prints) over ``--peak-tflops``. Then the separation speed of a
3-minute stereo 44.1 kHz song by ``waveunet_lit.separate.separate`` (32-true, eager). Rows
that would run past ``--budget-s`` are printed as skipped, never silently dropped.
"""

import argparse
import platform
import resource
import time
from pathlib import Path

import torch
from torch import nn

import waveunet_lit
from waveunet_lit.info import build_from_config, count_macs
from waveunet_lit.models import WaveUNet
from waveunet_lit.precision import AUTOCAST_DTYPES
from waveunet_lit.separate import separate

CONFIGS = Path(waveunet_lit.__path__[0]) / "configs"
BUILDERS = {
    "M4": lambda: WaveUNet.from_preset("M4"),
    "M6": lambda: WaveUNet.from_preset("M6"),
    "strided": lambda: build_from_config(CONFIGS / "strided.yaml"),
    "band_split_rnn": lambda: build_from_config(CONFIGS / "band_split_rnn.yaml"),
}
DTYPES = {name: AUTOCAST_DTYPES[name] for name in ("32-true", "16-mixed", "bf16-mixed")}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def train_row(build, device: str, precision: str, compiled: bool, segment_s: float, batch: int, steps: int) -> dict:
    """Samples/s, peak memory and MACs per sample of training one model at one precision."""
    torch.manual_seed(0)
    model = build().to(device).train()
    n_in = model.valid_length(max(1, round(segment_s * model.sample_rate)))
    n_out = model.output_length(n_in)
    macs = count_macs(model, n_in)  # one forward pass of one sample
    step_model = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    mix = 0.1 * torch.randn(batch, model.channels, n_in, device=device)  # (B, C, T_in)
    target = 0.1 * torch.randn(batch, len(model.sources), model.channels, n_out, device=device)  # (B, S, C, T_out)
    dtype = DTYPES[precision]
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=precision == "16-mixed")

    def step() -> None:
        with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
            loss = torch.mean((step_model(mix).float() - target) ** 2)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):  # warm-up: compilation, cuDNN's algorithm search, allocator
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    rate = steps * batch / (time.perf_counter() - start)
    return {"samples_s": rate, "peak_mb": peak_memory_mb(device), "macs": macs, "n_out": n_out, "sample_rate": model.sample_rate}


def separation_speed(build, device: str, seconds: float) -> float:
    """Seconds of stereo 44.1 kHz audio separated per second of wall time (32-true, eager)."""
    torch.manual_seed(0)
    model = build().to(device).eval()
    song = 0.1 * torch.randn(2, round(seconds * 44100))  # (C, T)
    separate(model, song[:, :44100], 44100)  # warm-up
    sync(device)
    start = time.perf_counter()
    separate(model, song, 44100, batch_size=8 if device.startswith("cuda") else 4)
    sync(device)
    return seconds / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    p.add_argument("--precisions", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's peak dense TFLOP/s at the precision, for MFU")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--segment", type=float, default=1.0, help="seconds of training output per sample")
    p.add_argument("--steps", type=int, default=10, help="timed steps per row")
    p.add_argument("--song-minutes", type=float, default=3.0)
    p.add_argument("--no-compile", action="store_true", help="eager rows only")
    p.add_argument("--budget-s", type=float, default=540.0, help="skip rows that would start after this many seconds")
    p.add_argument("--cpu-smoke", action="store_true", help="CPU, batch 1, 1 step, a 2 s song, no compile: checks the script")
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.cpu_smoke else "cpu"
    if args.cpu_smoke:
        args.batch, args.steps, args.segment, args.song_minutes, args.no_compile = 1, 1, 0.05, 2 / 60, True
    if args.batch < 1 or args.steps < 1 or args.segment <= 0 or args.song_minutes <= 0:
        p.error("--batch and --steps must be >= 1, --segment and --song-minutes > 0")
    if args.peak_tflops is not None and args.peak_tflops <= 0:
        p.error(f"--peak-tflops must be > 0, got {args.peak_tflops}")
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; batch {args.batch}, {args.segment:g} s output per sample, {args.steps} timed steps"
          + ("" if device == "cuda" else "; no GPU: CPU figures only check that the script runs"))
    print(f"{'model':<15}{'precision':<12}{'compile':<9}{'samples/s':>10}{'audio s/s':>11}{'peak MB':>9}{'GMACs/sample':>14}{'MFU %':>7}")
    start = time.perf_counter()
    for model_name in args.models:
        build = BUILDERS[model_name]
        for precision in args.precisions:
            for compiled in [False] + ([] if args.no_compile else [True]):
                label = f"{model_name:<15}{precision:<12}{'yes' if compiled else 'no':<9}"
                if time.perf_counter() - start > args.budget_s:
                    print(f"{label}skipped: past --budget-s {args.budget_s:g}", flush=True)
                    continue
                try:
                    r = train_row(build, device, precision, compiled, args.segment, args.batch, args.steps)
                except Exception as err:  # noqa: BLE001 - one failing row (e.g. no fp16 kernel) must not hide the others
                    print(f"{label}failed: {type(err).__name__}: {str(err).splitlines()[0][:80]}", flush=True)
                    continue
                mfu = "-" if args.peak_tflops is None else f"{100 * r['samples_s'] * 6 * r['macs'] / (args.peak_tflops * 1e12):.1f}"
                audio = r["samples_s"] * r["n_out"] / r["sample_rate"]
                print(f"{label}{r['samples_s']:>10.2f}{audio:>11.1f}{r['peak_mb']:>9.0f}{r['macs'] / 1e9:>14.4g}{mfu:>7}", flush=True)
        if time.perf_counter() - start > args.budget_s:
            print(f"{model_name:<15}separation skipped: past --budget-s {args.budget_s:g}")
            continue
        speed = separation_speed(build, device, args.song_minutes * 60)
        print(f"{model_name:<15}separation of a {args.song_minutes * 60:g} s song: {speed:.1f}x real time "
              f"({args.song_minutes * 60 / speed:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
