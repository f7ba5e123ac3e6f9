"""Separation speed and peak memory of `waveunet separate` with the paper's M4, whole songs.

    OMP_NUM_THREADS=2 .venv/bin/python bench/separate_speed.py [--minutes 3 10] [--device cpu]

For each song length: a stereo 44.1 kHz song (noise with a slow envelope; the model's weights
are random, speed does not depend on them) is separated by `waveunet_lit.separate.separate`
with M4 (22.05 kHz, 2 sources: resampling both ways is included). Each length runs in a fresh
process, so that its peak resident memory (`ru_maxrss`, also sampled with psutil during the
separation) is its own. Printed: seconds of audio separated per second of wall time, peak RSS,
the RSS before separating (Python, torch, the model and the song) and what the song and its
stems take as float32 arrays, the floor of any method that returns the stems in memory.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time

RATE = 44100


def child(minutes: float, device: str, batch_size: int, segment: float | None, shifts: int) -> dict:
    import psutil
    import torch

    from waveunet_lit.models import WaveUNet
    from waveunet_lit.separate import separate

    torch.manual_seed(0)
    model = WaveUNet.from_preset("M4").eval().to(device)
    T = int(minutes * 60 * RATE)
    t = torch.arange(T, dtype=torch.float32) / RATE
    song = 0.1 * torch.randn(2, T) * (1 + torch.sin(2 * torch.pi * 0.5 * t))  # (C, T)
    del t
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seg = round(segment * model.sample_rate) if segment else None
    start = time.perf_counter()
    stems = separate(model, song, RATE, segment=seg, batch_size=batch_size, shifts=shifts)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    assert stems.shape == (2, 2, T)
    return {
        "minutes": minutes,
        "wall_s": wall,
        "speed": T / RATE / wall,
        "rss_before_mb": before / 2**20,
        "peak_rss_sampled_mb": peak[0] / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "song_and_stems_mb": (song.numel() + stems.numel()) * 4 / 2**20,
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[3.0, 10.0], help="song lengths")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--segment", type=float, default=None, help="seconds of output per tile (default: separate's)")
    p.add_argument("--shifts", type=int, default=0)
    p.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.device, args.batch_size, args.segment, args.shifts)))
        return
    print(f"M4 (10.3 M parameters, 22.05 kHz, stereo), stereo 44.1 kHz songs, device {args.device}, "
          f"{os.cpu_count()} CPU core(s), {platform.processor() or platform.machine()}, batch {args.batch_size}, shifts {args.shifts}")
    print(f"{'minutes':>8}{'wall s':>9}{'audio s/s':>11}{'peak RSS MB':>13}{'(sampled)':>11}{'RSS before':>12}{'song+stems MB':>15}")
    for minutes in args.minutes:
        cmd = [sys.executable, __file__, "--child", str(minutes), "--device", args.device, "--batch-size", str(args.batch_size),
               "--shifts", str(args.shifts)] + (["--segment", str(args.segment)] if args.segment else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{minutes:>8} failed:\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{minutes:>8g}{r['wall_s']:>9.1f}{r['speed']:>11.2f}{r['peak_rss_mb']:>13.0f}{r['peak_rss_sampled_mb']:>11.0f}"
              f"{r['rss_before_mb']:>12.0f}{r['song_and_stems_mb']:>15.0f}"
              + (f"   GPU peak {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] is not None else ""))


if __name__ == "__main__":
    main()
