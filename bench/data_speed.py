"""Data loading speed: chunks/s from the decode-once cache vs. direct reads, beside the rate at
which the paper's M4 Wave-U-Net consumes chunks in training on this machine's CPU.

    OMP_NUM_THREADS=1 .venv/bin/python bench/data_speed.py [--root MUSDB] [--chunks 200] [--long 3000]

Without ``--root`` (or ``MUSDB_PATH``) it builds a small dataset first: generated WAV tracks
at 44.1 kHz and the same tracks as ``.stem.mp4`` files. The loaders use 2 worker processes
and M4's chunk: ``valid_length(16384)`` = 147,443 input samples at 22,050 Hz, stereo,
vocals + accompaniment. ``--long N`` then reads N chunks from the cache and prints the
workers' memory (RSS) along the way: it must stay flat.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from waveunet_lit.data import MusdbDataModule, generate_toy_musdb
from waveunet_lit.models import WaveUNet


def build_dataset(folder: Path, tracks: int, seconds: float) -> tuple[Path, Path]:
    import soundfile as sf
    import stempeg

    wav = generate_toy_musdb(folder / "wav", train_tracks=tracks, test_tracks=1, seconds=seconds, sample_rate=44100)
    mp4 = folder / "mp4"
    for track in sorted(wav.glob("*/*")):
        target = mp4 / track.parent.name / f"{track.name}.stem.mp4"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        stems = [sf.read(track / f"{n}.wav", dtype="float32")[0] for n in ("mixture", "drums", "bass", "other", "vocals")]
        stempeg.write_stems(str(target), np.stack(stems), sample_rate=44100)
    return wav, mp4


def loader_rate(dataset: Dataset, chunks: int, workers: int = 2) -> float:
    """Chunks per second through a DataLoader with ``workers`` processes (after a warm-up)."""
    loader = DataLoader(dataset, batch_size=1, num_workers=workers, persistent_workers=True, prefetch_factor=2)
    it = iter(loader)
    for _ in range(workers):  # start-up and first items
        next(it)
    start = time.perf_counter()
    for _ in range(chunks):
        next(it)
    return chunks / (time.perf_counter() - start)


class MusdbPackageReads(Dataset):
    """Random chunks read the way ``musdb`` documents it: ``track.chunk_start`` and
    ``track.chunk_duration``, then ``track.targets[name].audio`` (stempeg, ffmpeg)."""

    def __init__(self, root: Path, seconds: float, items: int):
        import musdb

        self.db = musdb.DB(root=str(root), subsets=["train"], is_wav=False, sample_rate=22050)
        self.seconds, self.items = seconds, items

    def __len__(self):
        return self.items

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        track = self.db.tracks[int(rng.integers(len(self.db.tracks)))]
        track.chunk_duration = self.seconds
        track.chunk_start = float(rng.uniform(0, max(track.duration - self.seconds, 0)))
        sources = np.stack([track.targets[name].audio.T for name in ("vocals", "accompaniment")])  # (S, C, T)
        return torch.from_numpy(sources.astype(np.float32))


def model_rate(batch: int, steps: int) -> float:
    """Chunks per second that M4 trains on (forward, backward, Adam step) on the CPU."""
    net = WaveUNet.from_preset("M4")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    T = net.valid_length(16384)
    mix, target = torch.randn(batch, 2, T) * 0.1, torch.randn(batch, 2, 2, 16384) * 0.1
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.mse_loss(net(mix)[..., :16384], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:  # the first step allocates
            times.append(time.perf_counter() - start)
    return batch / float(np.median(times))


def rss_mib(pids: list[int]) -> float:
    import psutil

    return sum(psutil.Process(p).memory_info().rss for p in pids) / 2**20


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.environ.get("MUSDB_PATH"), help="a MUSDB18 or MUSDB18-HQ folder")
    p.add_argument("--chunks", type=int, default=100, help="chunks timed per loader")
    p.add_argument("--direct-chunks", type=int, default=20, help="chunks timed for the slow direct reads")
    p.add_argument("--long", type=int, default=3000, help="chunks of the long epoch (memory check); 0 skips it")
    p.add_argument("--tracks", type=int, default=4)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--model-steps", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))

    tmp = Path(tempfile.mkdtemp(prefix="data_speed_"))
    try:
        if args.root:
            roots = {"given": Path(args.root)}
        else:
            print(f"building {args.tracks} tracks of {args.seconds:.0f} s (WAV and .stem.mp4) in {tmp} ...", flush=True)
            wav, mp4 = build_dataset(tmp, args.tracks, args.seconds)
            roots = {"wav": wav, "mp4": mp4}
        net = WaveUNet.from_preset("M4")
        rows = []

        def datamodule(root, cache):
            dm = MusdbDataModule(
                str(root), segment=16384, num_workers=0, samples_per_epoch=10**6, valid_tracks=1, cache=cache,
                cache_dir=str(tmp / f"cache-{root.name}") if cache else None, min_rms=0, min_active=0,
            ).configure_for(net)
            dm.setup("fit")
            return dm

        for name, root in roots.items():
            start = time.perf_counter()
            cached = datamodule(root, True)
            rows.append((f"{name}: prepare cache (once)", f"{time.perf_counter() - start:.1f} s"))
            rows.append((f"{name}: cache, 2 workers", f"{loader_rate(cached.train_set, args.chunks):.1f} chunks/s"))
            direct = datamodule(root, False)
            rows.append((f"{name}: direct reads, 2 workers", f"{loader_rate(direct.train_set, args.direct_chunks):.2f} chunks/s"))
            if name == "mp4" and shutil.which("ffmpeg"):
                reads = MusdbPackageReads(root, 147443 / 22050, 10**6)
                rows.append(("mp4: musdb.DB chunk reads, 2 workers", f"{loader_rate(reads, args.direct_chunks):.2f} chunks/s"))
        for batch in (1, 2):
            rows.append((f"M4 training step, batch {batch}, CPU", f"{model_rate(batch, args.model_steps):.2f} chunks/s"))
        width = max(len(r[0]) for r in rows)
        print(f"\nchunk = {net.valid_length(16384)} samples at 22050 Hz, stereo, sources vocals + accompaniment")
        for label, value in rows:
            print(f"{label:<{width}}  {value}")

        if args.long:
            dataset = datamodule(next(iter(roots.values())), True).train_set
            loader = DataLoader(dataset, batch_size=1, num_workers=2, persistent_workers=True)
            it = iter(loader)
            next(it)
            pids = [w.pid for w in it._workers] + [os.getpid()]
            marks = []
            for i in range(1, args.long + 1):
                next(it)
                if i in (args.long // 10, args.long // 2, args.long):
                    marks.append((i, rss_mib(pids)))
            print(f"\nlong epoch from the cache, RSS of main + 2 workers: " + ", ".join(f"{m:.0f} MiB after {i} chunks" for i, m in marks))
            print(f"growth from {marks[0][0]} to {marks[-1][0]} chunks: {marks[-1][1] - marks[0][1]:+.1f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
