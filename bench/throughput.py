"""Training throughput and separation speed of the paper's M4 and the demo model.

    .venv/bin/python bench/throughput.py [--steps 5] [--seconds 30]

Prints, per model and device: training examples/s (forward + backward + Adam step on random
batches of the model's training chunk) and the seconds of training audio that is per second,
and separation speed: seconds of stereo 44.1 kHz audio separated per second of wall time by
`waveunet_lit.separate.separate`. On a CUDA machine it also measures 16-mixed and bf16-mixed,
on a CPU with native bfloat16 bf16-mixed.
The timing loops are bench/gpu.py's (which adds torch.compile, MFU and more models).
"""

import argparse
import platform

import torch

from gpu import BUILDERS, CONFIGS, separation_speed, train_row
from waveunet_lit.config import load_config
from waveunet_lit.info import build_from_config
from waveunet_lit.precision import bf16_is_native


def rows() -> list[tuple[str, object, float, int]]:
    """``(name, build, seconds of training output per sample, batch)``: M4 as the paper trains it
    (16,384 samples at 22.05 kHz, batch 16), the demo as ``demo.yaml`` configures it."""
    demo = build_from_config(CONFIGS / "demo.yaml")
    data = load_config(CONFIGS / "demo.yaml")["data"]["init_args"]
    return [("M4", BUILDERS["M4"], 16384 / 22050, 16),
            ("demo", lambda: build_from_config(CONFIGS / "demo.yaml"), data["segment"] / demo.sample_rate, data["batch_size"])]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5, help="timed training steps per measurement")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the song to separate")
    args = p.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    if torch.cuda.is_available():
        print(f"gpu: {torch.cuda.get_device_name()}")
    print(f"{'model':<6}{'device':<7}{'precision':<12}{'batch':>6}{'train ex/s':>12}{'train audio s/s':>17}{'separate audio s/s':>20}")
    for name, build, segment_s, batch in rows():
        for device in devices:
            # bf16-mixed on a CPU only where it is native (AVX512-BF16 / AMX): emulated, it is slower
            precisions = ["32-true"] + (["16-mixed", "bf16-mixed"] if device == "cuda" else ["bf16-mixed"] * bf16_is_native("cpu"))
            b = batch if device == "cuda" else min(batch, 4)  # keep CPU runs short
            for precision in precisions:
                row = train_row(build, device, precision, False, segment_s, b, args.steps)
                audio = row["samples_s"] * row["n_out"] / row["sample_rate"]
                sep = separation_speed(build, device, args.seconds) if precision == "32-true" else float("nan")
                print(f"{name:<6}{device:<7}{precision:<12}{b:>6}{row['samples_s']:>12.2f}{audio:>17.2f}{sep:>20.2f}", flush=True)


if __name__ == "__main__":
    main()
