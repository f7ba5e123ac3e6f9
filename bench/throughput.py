"""Training throughput and separation speed of the paper's M4 and the demo model.

    .venv/bin/python bench/throughput.py [--steps 5] [--seconds 30]

Prints, per model and device: training examples/s (forward + backward + Adam step on random
batches of the model's training chunk) and the seconds of training audio that is per second,
and separation speed: seconds of stereo 44.1 kHz audio separated per second of wall time by
`waveunet_lit.separate.separate`. On a CUDA machine it also measures 16-mixed and bf16-mixed.
"""

import argparse
import platform
import time

import torch
import yaml

import waveunet_lit
from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate


def demo_model() -> tuple[WaveUNet, int, int]:
    cfg = yaml.safe_load(open(f"{waveunet_lit.__path__[0]}/configs/demo.yaml"))
    args = cfg["model"]["init_args"]["model"]["init_args"]
    data = cfg["data"]["init_args"]
    return WaveUNet(**args), data["segment"], data["batch_size"]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train_speed(model: WaveUNet, segment: int, batch: int, device: str, precision: str, steps: int) -> tuple[float, float]:
    """Examples per second and audio seconds per second of training."""
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    n_in = model.valid_length(segment)
    mix = torch.randn(batch, model.channels, n_in, device=device) * 0.1
    target = torch.randn(batch, len(model.sources), model.channels, model.output_length(n_in), device=device) * 0.1
    dtype = {"16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}.get(precision)
    scaler = torch.amp.GradScaler(enabled=precision == "16-mixed")

    def step():
        with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
            loss = torch.mean((model(mix) - target) ** 2)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    per_s = steps * batch / (time.perf_counter() - start)
    return per_s, per_s * segment / model.sample_rate


def separation_speed(model: WaveUNet, device: str, seconds: float) -> float:
    """Seconds of 44.1 kHz stereo audio separated per second."""
    model = model.to(device).eval()
    song = torch.randn(2, int(seconds * 44100)) * 0.1
    separate(model, song[:, :44100], 44100)  # warm-up
    sync(device)
    start = time.perf_counter()
    separate(model, song, 44100, batch_size=8 if device.startswith("cuda") else 2)
    sync(device)
    return seconds / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5, help="timed training steps per measurement")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the song to separate")
    args = p.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    if torch.cuda.is_available():
        print(f"gpu: {torch.cuda.get_device_name()}")
    demo, demo_segment, demo_batch = demo_model()
    rows = [("M4", WaveUNet.from_preset("M4"), 16384, 16), ("demo", demo, demo_segment, demo_batch)]
    print(f"{'model':<6}{'device':<7}{'precision':<12}{'batch':>6}{'train ex/s':>12}{'train audio s/s':>17}{'separate audio s/s':>20}")
    for name, model, segment, batch in rows:
        for device in devices:
            precisions = ["32-true"] + (["16-mixed", "bf16-mixed"] if device == "cuda" else [])
            b = batch if device == "cuda" else min(batch, 4)  # keep CPU runs short
            for precision in precisions:
                ex, audio = train_speed(model, segment, b, device, precision, args.steps)
                sep = separation_speed(model, device, args.seconds) if precision == "32-true" else float("nan")
                print(f"{name:<6}{device:<7}{precision:<12}{b:>6}{ex:>12.2f}{audio:>17.2f}{sep:>20.2f}", flush=True)


if __name__ == "__main__":
    main()
