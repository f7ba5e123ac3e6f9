"""Separation speed and peak memory of `waveunet separate` with the paper's M4, whole songs.

    OMP_NUM_THREADS=2 .venv/bin/python bench/separate_speed.py [--minutes 3 10] [--device cpu] [--compare]

For each song length: a stereo 44.1 kHz song (noise with a slow envelope; the model's weights
are random, speed does not depend on them) is written as a float WAV file and separated by
`waveunet_lit.separate.separate_file`, what the command runs: read, resample to M4's 22.05 kHz,
separate, resample back, write two stem files (timed together). Each run is a fresh process,
so that its peak resident memory (`ru_maxrss`, also sampled with psutil during the
separation) is its own. `--compare` runs each length twice, side by side: the former
defaults (3 s tiles, 4 tiles per forward pass) and the current ones; the machine's load
average is printed with each row. Printed: seconds of audio separated per second of wall time, peak RSS,
the RSS before separating (Python, torch, the model and the song) and what the song and its
stems take as float32 arrays, the floor of any method that returns the stems in memory.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RATE = 44100


def child(minutes: float, device: str, batch_size: int, segment: float | None, shifts: int, no_cap: bool) -> dict:
    import psutil
    import torch

    from waveunet_lit.models import WaveUNet
    from waveunet_lit.audio import write_audio
    from waveunet_lit.separate import separate_file

    torch.manual_seed(0)
    model = WaveUNet.from_preset("M4").eval().to(device)
    T = int(minutes * 60 * RATE)
    t = torch.arange(T, dtype=torch.float32) / RATE
    song = 0.1 * torch.randn(2, T) * (1 + torch.sin(2 * torch.pi * 0.5 * t))  # (C, T)
    del t
    tmp = Path(tempfile.mkdtemp(prefix="separate-speed-"))
    write_audio(tmp / "song.wav", song, RATE)
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
    paths = separate_file(model, tmp / "song.wav", tmp / "out", segment=seg, batch_size=batch_size, shifts=shifts,
                          **({"max_batch_samples": None} if no_cap else {}))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    assert [p.name for p in paths] == ["vocals.wav", "accompaniment.wav"], paths
    stems_numel = 2 * song.numel()
    shutil.rmtree(tmp)
    return {
        "minutes": minutes,
        "wall_s": wall,
        "speed": T / RATE / wall,
        "rss_before_mb": before / 2**20,
        "peak_rss_sampled_mb": peak[0] / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "song_and_stems_mb": (song.numel() + stems_numel) * 4 / 2**20,
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
    p.add_argument("--compare", action="store_true", help="also run the former defaults (3 s tiles, batch 4), side by side")
    p.add_argument("--no-cap", action="store_true", help="no max_batch_samples cap (the former behaviour)")
    p.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.device, args.batch_size, args.segment, args.shifts, args.no_cap)))
        return
    print(f"M4 (10.3 M parameters, 22.05 kHz, stereo), stereo 44.1 kHz songs, device {args.device}, "
          f"{os.cpu_count()} CPU core(s), {platform.processor() or platform.machine()}, batch {args.batch_size}, shifts {args.shifts}")
    print(f"{'setting':>9}{'minutes':>8}{'wall s':>9}{'audio s/s':>11}{'peak RSS MB':>13}{'(sampled)':>11}{'RSS before':>12}"
          f"{'song+stems MB':>15}{'load 1 min':>12}")
    base = [sys.executable, __file__, "--device", args.device, "--batch-size", str(args.batch_size), "--shifts", str(args.shifts)]
    settings = [("current", base + (["--segment", str(args.segment)] if args.segment else []))]
    if args.compare:
        settings.insert(0, ("former", base + ["--segment", "3", "--no-cap"]))
    for minutes in args.minutes:
        for name, cmd in settings:
            done = subprocess.run(cmd + ["--child", str(minutes)], capture_output=True, text=True)
            load = os.getloadavg()[0]
            if done.returncode != 0:
                print(f"{name:>9}{minutes:>8} failed:\n{done.stderr[-2000:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:>9}{minutes:>8g}{r['wall_s']:>9.1f}{r['speed']:>11.2f}{r['peak_rss_mb']:>13.0f}{r['peak_rss_sampled_mb']:>11.0f}"
                  f"{r['rss_before_mb']:>12.0f}{r['song_and_stems_mb']:>15.0f}{load:>12.1f}"
                  + (f"   GPU peak {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] is not None else ""))


if __name__ == "__main__":
    main()
