"""Speed and peak memory of BSSEval v4: museval against waveunet_lit.bsseval (CPU, and CUDA when
present), on the same 4-source stereo tracks at 44.1 kHz, side by side in one run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bsseval_speed.py                 # 30 s and 4 min
    OMP_NUM_THREADS=1 .venv/bin/python bench/bsseval_speed.py --durations 30  # 30 s only
    .venv/bin/python bench/bsseval_speed.py --threads 2                       # both sides 2 threads

Each measurement runs in a fresh process, so that its peak resident memory (ru_maxrss, minus the
process's size before scoring) is its own. Both sides get the same threads: those the environment
gives (``OMP_NUM_THREADS``), or ``--threads`` for BLAS, OpenMP, torch and our FFTs. museval runs
once; ours ``--repeat`` times and the median counts. The machine is shared, so the load average
is printed with each row: compare ratios taken under similar load. The 4-minute museval run takes
minutes and ~7 GB. The last column gives the largest difference between our scores and museval's
over every frame and source (inf if they disagree on which frames are NaN).
"""

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import time

import numpy as np

METRICS = ("SDR", "ISR", "SIR", "SAR")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def make_track(seconds: float, sources: int, channels: int, seed: int = 0):
    """(S, T, C) references and imperfect estimates (noise plus leakage of the other sources)."""
    rng = np.random.default_rng(seed)
    T = int(seconds * 44100)
    ref = rng.standard_normal((sources, T, channels))
    ref[:, 1:] += 0.9 * ref[:, :-1]  # coloured, not white
    est = ref + 0.3 * rng.standard_normal(ref.shape) + 0.2 * np.roll(ref, 1, axis=0)
    return ref, est


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(method: str, seconds: float, sources: int, channels: int, repeat: int, queue) -> None:
    ref, est = make_track(seconds, sources, channels)
    import torch

    threads = torch.get_num_threads()
    if method == "museval":
        import museval

        base = _rss_mb()
        start = time.perf_counter()
        scores = museval.evaluate(ref, est)
        elapsed = [time.perf_counter() - start]
        peak = _rss_mb() - base
        scores = dict(zip(METRICS, scores))
    else:
        from waveunet_lit.bsseval import bss_eval_v4

        device = "cuda" if method == "cuda" else "cpu"
        e = torch.from_numpy(est).permute(0, 2, 1).to(device)  # (S, C, T), as a user's arrays
        r = torch.from_numpy(ref).permute(0, 2, 1).to(device)
        if device == "cuda":
            bss_eval_v4(e[..., : 44100 * 2], r[..., : 44100 * 2])  # warm-up (kernels, cuFFT plans)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        base = _rss_mb()
        elapsed = []
        for _ in range(repeat):
            start = time.perf_counter()
            scores = bss_eval_v4(e, r)
            if device == "cuda":
                torch.cuda.synchronize()
            elapsed.append(time.perf_counter() - start)
        peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else _rss_mb() - base
        scores = {m: scores[m].cpu().numpy() for m in METRICS}
    queue.put((statistics.median(elapsed), peak, scores, threads))


def frame_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest |ours - museval| over all frames and sources; inf if the NaN frames differ."""
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)):
        return float("inf")
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities (a lone source's SIR) differ by 0
        gap = np.where(ours == theirs, 0.0, np.abs(ours - theirs))
    return float(np.nanmax(gap, initial=0.0))


def measure(method: str, seconds: float, sources: int, channels: int, repeat: int):
    """(seconds, peak MB, {metric: (S, N) scores}, torch threads) of one method in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(method, seconds, sources, channels, repeat, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--durations", type=float, nargs="+", default=[30.0, 240.0], help="seconds")
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the median counts")
    parser.add_argument("--threads", type=int, default=None, help="threads for both sides (default: the environment's)")
    parser.add_argument("--no-museval", action="store_true", help="only time ours")
    args = parser.parse_args()
    if args.threads is not None:  # inherited by the measuring processes, read when they start
        for name in THREAD_VARIABLES:
            os.environ[name] = str(args.threads)
    import torch

    cuda = torch.cuda.is_available()
    env = ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in THREAD_VARIABLES)
    print(f"{args.sources} sources, {args.channels} channels, 44.1 kHz, museval.evaluate defaults "
          f"(1 s windows and hops, 512-tap filters, v4); {env}")
    header = (f"{'track':>6} | {'museval s':>9} {'MB':>6} | {'ours s':>7} {'MB':>6} {'x faster':>8} |"
              + (f" {'cuda s':>7} {'MB':>6} {'x faster':>8} |" if cuda else "")
              + f" {'load 1 min':>10} | max |diff| over frames and sources, dB")
    print(header)
    print("-" * len(header))
    for seconds in args.durations:
        load = os.getloadavg()[0]
        t_ref = peak_ref = scores_ref = None
        if not args.no_museval:
            t_ref, peak_ref, scores_ref, _ = measure("museval", seconds, args.sources, args.channels, 1)
        t_cpu, peak_cpu, scores, threads = measure("cpu", seconds, args.sources, args.channels, args.repeat)
        row = f"{seconds:>5.0f}s | "
        row += f"{t_ref:>9.2f} {peak_ref:>6.0f} | " if t_ref else f"{'-':>9} {'-':>6} | "
        row += f"{t_cpu:>7.2f} {peak_cpu:>6.0f} {t_ref / t_cpu if t_ref else float('nan'):>8.1f} |"
        if cuda:
            t_gpu, peak_gpu, _, _ = measure("cuda", seconds, args.sources, args.channels, args.repeat)
            row += f" {t_gpu:>7.3f} {peak_gpu:>6.0f} {t_ref / t_gpu if t_ref else float('nan'):>8.1f} |"
        row += f" {load:>4.1f}->{os.getloadavg()[0]:<4.1f} |"
        if scores_ref:
            row += " " + " ".join(f"{m} {frame_difference(scores[m], scores_ref[m]):.0e}" for m in METRICS)
        print(row, flush=True)
    print(f"ours on CPU: {threads} torch thread(s), ducc0 FFT threads = torch threads; MB: peak RSS growth "
          "(CUDA: peak allocated)")


if __name__ == "__main__":
    main()
