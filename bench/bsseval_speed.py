"""Speed and peak memory of BSSEval v4: museval against waveunet_lit.bsseval (CPU, and CUDA when
present), on the same 4-source stereo tracks at 44.1 kHz.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bsseval_speed.py                 # 30 s and 4 min
    OMP_NUM_THREADS=1 .venv/bin/python bench/bsseval_speed.py --durations 30  # 30 s only

Each measurement runs in a fresh process, so that its peak resident memory (ru_maxrss, minus the
process's size before scoring) is its own. The 4-minute museval run takes minutes and ~7 GB.
The last columns give the largest difference between our per-source medians and museval's.
"""

import argparse
import multiprocessing as mp
import resource
import time

import numpy as np

METRICS = ("SDR", "ISR", "SIR", "SAR")


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
    if method == "museval":
        import museval

        base = _rss_mb()
        start = time.perf_counter()
        scores = museval.evaluate(ref, est)
        elapsed = [time.perf_counter() - start]
        peak = _rss_mb() - base
        medians = {m: np.nanmedian(s, axis=1) for m, s in zip(METRICS, scores)}
    else:
        import torch

        from waveunet_lit.bsseval import bss_eval_v4

        device = "cuda" if method == "cuda" else "cpu"
        e = torch.from_numpy(est).permute(0, 2, 1).to(device)  # (S, C, T)
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
        medians = {m: np.nanmedian(scores[m].cpu().numpy(), axis=1) for m in METRICS}
        method = f"{method} ({torch.get_num_threads()} threads)" if device == "cpu" else method
    queue.put((method, min(elapsed), peak, medians))


def measure(method: str, seconds: float, sources: int, channels: int, repeat: int):
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the fastest counts")
    parser.add_argument("--no-museval", action="store_true", help="only time ours")
    args = parser.parse_args()
    import torch

    methods = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"{args.sources} sources, {args.channels} channels, 44.1 kHz, museval.evaluate defaults "
          "(1 s windows and hops, 512-tap filters, v4)")
    header = f"{'track':>7}  {'method':<22} {'seconds':>9} {'x faster':>9} {'peak MB':>9}  max |median diff| dB"
    print(header)
    print("-" * len(header))
    for seconds in args.durations:
        reference = None
        if not args.no_museval:
            reference = measure("museval", seconds, args.sources, args.channels, 1)
            name, t_ref, peak, _ = reference
            print(f"{seconds:>6.0f}s  {name:<22} {t_ref:>9.2f} {1.0:>9.1f} {peak:>9.0f}", flush=True)
        for method in methods:
            name, t, peak, medians = measure(method, seconds, args.sources, args.channels, args.repeat)
            ratio = f"{reference[1] / t:>9.1f}" if reference else f"{'-':>9}"
            diff = ""
            if reference:
                diff = "  ".join(f"{m} {np.max(np.abs(medians[m] - reference[3][m])):.1e}" for m in METRICS)
            print(f"{seconds:>6.0f}s  {name:<22} {t:>9.2f} {ratio} {peak:>9.0f}  {diff}", flush=True)


if __name__ == "__main__":
    main()
