"""Separation speed and peak memory of `waveunet separate` with the paper's M4, whole songs.

    OMP_NUM_THREADS=2 .venv/bin/python bench/separate_speed.py [--minutes 3 10] [--device cpu] [--compare]

For each song length: a stereo 44.1 kHz song (noise with a slow envelope; the model's weights
are random, speed does not depend on them) is written as a float WAV file and separated by
`waveunet_lit.separate.separate_file`, what the command runs: read, resample to M4's 22.05 kHz,
separate, resample back, write two stem files (timed together). Each run is a fresh process,
so that its peak resident memory (`ru_maxrss`, also sampled with psutil during the
separation) is its own. The machine's load average is printed with each row: on a shared
machine compare rows of one run, not runs of different times.

`--compare` runs each length several ways, side by side:

* ``former``: 3 s tiles, 4 tiles per forward pass, the plain forward (before issue 17);
* ``before``: the code before issue 17's item 2: tiles of twice M4's context (262144 output
  samples) and the plain forward pass (``WaveUNet.fast_inference = False``);
* ``fastpath``: the same tiles with the no-grad fast path of ``WaveUNet.inference_forward``
  (time-major activations, in-place activations, preallocated concatenations): the gain of
  the model code alone;
* ``no-reuse``: the fast path and the current tiles, each tile's activations in fresh pages
  from the kernel (glibc's default for large blocks), as before
  :func:`waveunet_lit.heap.reuse_freed_memory`;
* ``current``: what `waveunet separate` runs now: the fast path, the current tiles (four
  times the context, then the fewest equal tiles covering the song: 8 for 3 minutes, not 16)
  and freed memory reused from tile to tile;
* ``cmd-noreuse`` and ``command``: the whole `waveunet separate SONG --checkpoint CKPT`
  process, started fresh, without and with that reuse: Python start, imports, checkpoint
  load, decode, resample, separate, write (wall time and peak RSS of that process; a
  random-weight M4 checkpoint is written first, untimed).

Printed: seconds of audio separated per second of wall time, speed-up against ``before``,
peak RSS, the RSS before separating (Python, torch, the model and the song: not Lightning, which
the command never imports, see `waveunet_lit.checkpoint`) and
what the song and its stems take as float32 arrays, the floor of any method that returns the
stems in memory.
"""

import argparse
import contextlib
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


def make_song(T: int):
    """``(2, T)`` noise with a slow envelope."""
    import torch

    t = torch.arange(T, dtype=torch.float32) / RATE
    return 0.1 * torch.randn(2, T) * (1 + torch.sin(2 * torch.pi * 0.5 * t))  # (C, T)


def make_inputs(minutes: float, folder: Path) -> None:
    """Write ``song.wav`` and a random-weight M4 checkpoint ``m4.ckpt`` into ``folder`` (untimed)."""
    import lightning as L
    import torch

    from waveunet_lit import Separator
    from waveunet_lit.audio import write_audio
    from waveunet_lit.models import WaveUNet

    torch.manual_seed(0)
    write_audio(folder / "song.wav", make_song(int(minutes * 60 * RATE)), RATE)
    trainer = L.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.strategy.connect(Separator(WaveUNet.from_preset("M4")))
    trainer.save_checkpoint(folder / "m4.ckpt")


def command(minutes: float, device: str, batch_size: int, segment: float | None, shifts: int,
            reuse: bool = True) -> dict:
    """Time the whole `waveunet separate` command in a fresh process; its peak RSS from wait4.
    ``reuse=False``: with :func:`waveunet_lit.heap.reuse_freed_memory` replaced by a no-op."""
    tmp = Path(tempfile.mkdtemp(prefix="separate-command-"))
    try:
        subprocess.run([sys.executable, __file__, "--make-inputs", str(tmp), "--minutes", str(minutes)], check=True,
                       capture_output=True)
        patch = "" if reuse else "import contextlib, waveunet_lit.separate as s; s.reuse_freed_memory = contextlib.nullcontext; "
        cmd = [sys.executable, "-c", patch + "import sys; from waveunet_lit.cli import main; sys.exit(main(sys.argv[1:]))",
               "separate", str(tmp / "song.wav"), "--checkpoint", str(tmp / "m4.ckpt"), "--out", str(tmp / "out"),
               "--device", device, "--batch-size", str(batch_size), "--shifts", str(shifts), "--quiet"]
        cmd += ["--segment", str(segment)] if segment else []
        with open(tmp / "stderr.txt", "w+") as err:  # a file, not a pipe: wait4 cannot deadlock on it
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)  # its own ru_maxrss, not the maximum over all children
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"waveunet separate failed: {err.read()[-2000:]}")
        assert sorted(p.name for p in (tmp / "out" / "song").iterdir()) == ["accompaniment.wav", "manifest.json", "vocals.wav"]
    finally:
        shutil.rmtree(tmp)
    T = int(minutes * 60 * RATE)
    return {"minutes": minutes, "wall_s": wall, "speed": T / RATE / wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "peak_rss_sampled_mb": None, "rss_before_mb": None, "song_and_stems_mb": 3 * 2 * T * 4 / 2**20,
            "gpu_peak_mb": None}


def before_segment() -> float:
    """Seconds of output per tile before the current defaults: M4's hop for outputs twice its context."""
    from waveunet_lit.models import WaveUNet
    from waveunet_lit.separate import tile_plan

    m4 = WaveUNet.from_preset("M4")
    short = tile_plan(m4, segment=3 * m4.sample_rate)
    return tile_plan(m4, segment=2 * (short["n_in"] - short["n_out"]))["hop"] / m4.sample_rate  # 262144 samples


def child(minutes: float, device: str, batch_size: int, segment: float | None, shifts: int, no_cap: bool,
          plain: bool, no_reuse: bool = False) -> dict:
    import psutil
    import torch

    import waveunet_lit.separate
    from waveunet_lit.models import WaveUNet
    from waveunet_lit.audio import write_audio
    from waveunet_lit.separate import separate_file

    if no_reuse:
        waveunet_lit.separate.reuse_freed_memory = contextlib.nullcontext

    torch.manual_seed(0)
    model = WaveUNet.from_preset("M4").eval().to(device)
    model.fast_inference = not plain
    T = int(minutes * 60 * RATE)
    song = make_song(T)
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
    p.add_argument("--plain", action="store_true", help="the plain forward pass (WaveUNet.fast_inference = False)")
    p.add_argument("--no-reuse", action="store_true", help="freed memory not reused from tile to tile (waveunet_lit.heap)")
    p.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--make-inputs", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.make_inputs is not None:
        make_inputs(args.minutes[0], args.make_inputs)
        return
    if args.child is not None:
        print(json.dumps(child(args.child, args.device, args.batch_size, args.segment, args.shifts, args.no_cap,
                               args.plain, args.no_reuse)))
        return
    print(f"M4 (10.3 M parameters, 22.05 kHz, stereo), stereo 44.1 kHz songs, device {args.device}, "
          f"{os.cpu_count()} CPU core(s), {platform.processor() or platform.machine()}, batch {args.batch_size}, shifts {args.shifts}")
    print(f"{'setting':>12}{'minutes':>8}{'wall s':>9}{'audio s/s':>11}{'x before':>10}{'peak RSS MB':>13}{'(sampled)':>11}"
          f"{'RSS before':>12}{'song+stems MB':>15}{'load 1 min':>12}")
    base = [sys.executable, __file__, "--device", args.device, "--batch-size", str(args.batch_size), "--shifts", str(args.shifts)]
    seg = ["--segment", str(args.segment)] if args.segment else []
    settings = [("current", base + seg)]
    if args.compare:
        old = ["--segment", repr(before_segment())]  # the tiles before this change: outputs twice the context
        settings = [("former", base + ["--segment", "3", "--no-cap", "--plain"]), ("before", base + old + ["--plain"]),
                    ("fastpath", base + old), ("no-reuse", base + seg + ["--no-reuse"]), *settings,
                    ("cmd-noreuse", False), ("command", True)]
    for minutes in args.minutes:
        walls = {}
        for name, cmd in settings:
            try:
                if isinstance(cmd, bool):  # the whole command, with (True) or without freed memory reused
                    r = command(minutes, args.device, args.batch_size, args.segment, args.shifts, reuse=cmd)
                else:
                    done = subprocess.run(cmd + ["--child", str(minutes)], capture_output=True, text=True)
                    if done.returncode != 0:
                        raise RuntimeError(done.stderr[-2000:])
                    r = json.loads(done.stdout.strip().splitlines()[-1])
            except (RuntimeError, subprocess.CalledProcessError) as err:
                print(f"{name:>12}{minutes:>8g} failed:\n{err}")
                continue
            load = os.getloadavg()[0]
            walls[name] = r["wall_s"]
            ratio = f"{walls['before'] / r['wall_s']:.2f}" if "before" in walls else "-"
            blank = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
            print(f"{name:>12}{minutes:>8g}{r['wall_s']:>9.1f}{r['speed']:>11.2f}{ratio:>10}{r['peak_rss_mb']:>13.0f}"
                  f"{blank(r['peak_rss_sampled_mb']):>11}{blank(r['rss_before_mb']):>12}{r['song_and_stems_mb']:>15.0f}{load:>12.1f}"
                  + (f"   GPU peak {r['gpu_peak_mb']:.0f} MB" if r["gpu_peak_mb"] is not None else ""), flush=True)
    if args.compare:
        print("x before: wall time of 'before' over this row's ('cmd-noreuse' and 'command' include Python start, imports and "
              "checkpoint loading, which the other rows leave out)")


if __name__ == "__main__":
    main()
