"""BSSEval v4 in torch: the numbers ``museval.evaluate`` gives, batched, on CPU or GPU.

BSSEval (Vincent, Gribonval & Févotte, IEEE TASLP 14(4), 2006) splits an estimate ``e`` of
the image ``s_j`` of source ``j`` into ``e = s_j + e_spat + e_interf + e_artif`` by least
squares on delayed copies of the references. Version 4 (Liutkus, Stöter & Ito, "The 2018
Signal Separation Evaluation Campaign", LVA/ICA 2018) estimates the distortion filters once per
track instead of once per frame; this is the default of ``museval.evaluate`` and of every
SiSEC/MUSDB18 table. What museval computes, and so what this module computes:

1. For each estimate ``j`` two multichannel FIR filter banks with ``L = 512`` taps, found on
   the *whole* track by least squares (the normal equations ``G c = D``, with ``G`` the Gram
   matrix of all delayed reference channels, plus ``eps * I`` as museval adds):
   ``C_all``, from every reference channel to every channel of ``e_j``, and ``C_own``, from
   the channels of reference ``j`` only.
2. Frames of ``window`` samples every ``hop`` samples (1 s and 1 s by default); only whole
   frames (a trailing partial frame is dropped, as in museval), or one frame with the whole
   track when it is not longer than ``window``.
3. In each frame, with the references cut to the frame (zero outside) and filtered (full
   convolution, ``W + L - 1`` samples), ``P_own = C_own * s_j`` and ``P_all = C_all * s``::

       SDR = 10 log10(||s_j||^2 / ||e - s_j||^2)
       ISR = 10 log10(||s_j||^2 / ||P_own - s_j||^2)
       SIR = 10 log10(||P_own||^2 / ||P_all - P_own||^2)
       SAR = 10 log10(||P_all||^2 / ||e - P_all||^2)

   sums over channels and the ``W + L - 1`` samples; a zero denominator gives ``+inf``.
4. A frame where any reference or any estimate is silent (its sum over channels is exactly
   zero at every sample of the frame) is NaN for all metrics and sources.

How it is fast (53-68x less time than museval on a 4-minute 4-source stereo track, one thread
each, side by side in ``bench/bsseval_speed.py`` on a shared 2-core machine, three runs: 2.1-2.8 s
against 145-147 s; about 300 MB of memory where museval takes 5 GB): everything comes from the
correlations, at lags ``0 .. L-1``, of every reference channel ``x_p`` with every reference
channel and every error channel ``d_q = e_q - x_q``, computed once per frame and never as
filtered signals.

- The energy of a filtered frame is a quadratic form in the frame's correlations:
  ``||h * x||^2 = sum_k sum_{p,p'} rho_{pp'}[k] K_{pp'}[k]`` with ``K`` the correlation of the
  filter taps (the frame is zero outside, so the full convolution needs no edge terms), and
  ``||e - P_all||^2 = ||d||^2 - 2 <d, P_all - s> + ||P_all - s||^2``, whose cross term is
  linear in the correlations of ``x`` with ``d``. Working with the error ``d`` rather than
  ``e`` keeps all three terms as small as the error itself (a perfect estimate gives zeros, not
  the rounding noise of differences of large energies). So the metrics
  of all frames are one matrix product of the frames' correlations ``(N, L P 2P)`` with a
  weight matrix ``(L P 2P, 6 S)`` made from the filters.
- A frame's correlations come from short FFTs: the frame is cut into blocks of about 1500
  samples, each reference block zero-padded to 2048 and correlated (one batched matrix
  product per frequency bin) with the same block of ``(x, d)`` extended by the samples that
  follow it in the frame; one inverse FFT per frame gives the lags. The frame is stored
  channel by channel, so the blocks of ``(x, d)`` are transformed where they lie, reading
  contiguous samples, and ducc0's FFTs write the spectra straight into the layout the products
  read (bins first).
- With the default ``hop == window`` the frames tile the track, so the whole-track
  correlations that fill ``G`` and ``D`` are the sum of the frames' plus, for the pairs of
  samples that straddle two frames, short FFTs of the ``L - 1`` samples on each side of every
  boundary: one pass over the audio, which is read where it lies (no copy of the track).
- ``G`` is block Toeplitz (block ``(a, b)`` is ``R[a - b]``, ``R[-k] = R[k]^T``) and
  symmetric, so the normal equations are solved with the block Levinson recursion (Whittle
  1963; Wiggins & Robinson 1965) in ``O(L^2 (SC)^3)`` instead of a dense ``O((L S C)^3)`` LU;
  symmetry makes the backward reflection the transpose of the forward one, so each of the
  ``L`` steps is one long matrix product and a few ``SC x SC`` ones (a dense solve is the
  fallback if the recursion breaks down).
- On CPU the arrays are numpy's: ducc0's FFTs (with torch's thread count) are about twice as
  fast here as ``scipy.fft``'s and torch's, and the recursion's thousands of small-matrix
  calls cost a few microseconds each instead of tens; the many small complex products of
  the frames go to torch's batched GEMM (on the same memory), which beats a loop of BLAS calls.

Everything runs in float64.

Example:
    >>> g = torch.Generator().manual_seed(0)
    >>> references = torch.randn(2, 2, 3 * 8000, generator=g, dtype=torch.float64)
    >>> estimates = references + 0.1 * torch.randn(2, 2, 3 * 8000, generator=g, dtype=torch.float64)
    >>> scores = bss_eval_v4(estimates, references, rate=8000)
    >>> scores["SDR"].shape  # (S, frames)
    torch.Size([2, 3])
    >>> bool((scores["SDR"] - 20).abs().max() < 0.5)  # error energy is 1% of the signal's
    True
"""

import math

import numpy as np
import ducc0
import torch

__all__ = ["bss_eval_v4", "bss_eval_v4_batch", "METRICS"]

#: Names of the four BSSEval metrics, in museval's order.
METRICS = ("SDR", "ISR", "SIR", "SAR")

# numpy's float64 machine epsilon, which museval adds to the diagonal of the Gram matrix.
_EPS = torch.finfo(torch.float64).eps
# The FFT buffers of one group of blocks stay under about this many bytes (in cache, and
# below glibc's mmap threshold so that they are not page-faulted in anew for every frame) ...
_GROUP_BYTES = 1 << 24
# ... and the frames' correlations are kept between the filter pass and the metric pass up
# to this many bytes (4-source stereo: 0.5 MB per frame, 512 frames); beyond, they are made twice.
_KEEP_BYTES = 1 << 28


def bss_eval_v4(
    estimates: torch.Tensor,
    references: torch.Tensor,
    rate: int = 44100,
    window: int | None = None,
    hop: int | None = None,
    filter_length: int = 512,
) -> dict[str, torch.Tensor]:
    """BSSEval v4 of one track, as ``museval.evaluate(references, estimates)`` computes it.

    Args:
        estimates: ``(S, C, T)`` estimated source images, in the order of ``references``.
        references: ``(S, C, T)`` true source images. No source may be all zeros (museval
            raises for that too: the decomposition would be ambiguous).
        rate: sample rate in Hz; only used for the default ``window`` and ``hop``.
        window: frame length in samples; default one second (``rate``).
        hop: frame hop in samples; default one second (``rate``).
        filter_length: taps of the distortion filters (museval: 512).

    Returns:
        ``{"SDR", "ISR", "SIR", "SAR"}`` -> float64 tensors ``(S, N)`` in dB on the input's
        device, ``N`` frames; NaN in frames where a reference or an estimate is silent.

    Raises:
        ValueError: shapes differ or are not ``(S, C, T)``, values are not finite, a source is
            all zeros, or a bad ``window``/``hop``/``filter_length``.
    """
    _check_inputs(estimates, references, 3, "(S, C, T)")
    scores = bss_eval_v4_batch(estimates[None], references[None], rate, window, hop, filter_length)
    return {name: value[0] for name, value in scores.items()}  # (S, N) each


def bss_eval_v4_batch(
    estimates: torch.Tensor,
    references: torch.Tensor,
    rate: int = 44100,
    window: int | None = None,
    hop: int | None = None,
    filter_length: int = 512,
) -> dict[str, torch.Tensor]:
    """:func:`bss_eval_v4` for a batch of equally long tracks: ``(B, S, C, T)`` inputs,
    ``(B, S, N)`` outputs. Each track gets its own filters, exactly as if scored alone.

    Example:
        >>> g = torch.Generator().manual_seed(1)
        >>> ref = torch.randn(3, 2, 2, 4000, generator=g, dtype=torch.float64)
        >>> bss_eval_v4_batch(ref + 0.01 * ref.flip(1), ref, window=1000, hop=500)["SIR"].shape
        torch.Size([3, 2, 7])
    """
    _check_inputs(estimates, references, 4, "(B, S, C, T)")
    window = rate if window is None else window
    hop = rate if hop is None else hop
    for name, value in (("rate", rate), ("window", window), ("hop", hop), ("filter_length", filter_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"bss_eval_v4: {name} must be a positive int, got {value!r}")
    ops = _NumpyOps if estimates.device.type == "cpu" else _TorchOps
    est = ops.from_torch(estimates)  # (B, S, C, T) float64, read where it lies (no copy on CPU)
    ref = ops.from_torch(references)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf input: a ValueError says so
        energies = _bss_energies(ops, est, ref, window, hop, filter_length)
    return _scores({name: ops.to_torch(value, estimates.device) for name, value in energies.items()})


def _check_inputs(estimates: torch.Tensor, references: torch.Tensor, dims: int, shape: str) -> None:
    if not isinstance(estimates, torch.Tensor) or not isinstance(references, torch.Tensor):
        raise ValueError("bss_eval_v4 expects torch tensors for estimates and references")
    if estimates.shape != references.shape or estimates.dim() != dims or estimates.shape[-1] == 0:
        raise ValueError(
            f"bss_eval_v4 expects estimates and references of the same shape {shape}, "
            f"got {tuple(estimates.shape)} and {tuple(references.shape)}"
        )
    if estimates.is_complex() or references.is_complex():
        raise ValueError("bss_eval_v4: estimates and references must be real and finite (found complex)")


# ---------------------------------------------------------------------------------------------
# 1. the whole computation, on numpy arrays (CPU) or torch tensors (GPU); see the two Ops below


def _bss_energies(ops, est, ref, window: int, hop: int, L: int) -> dict:
    """The energies behind the four metrics, per source and frame, and the silent frames.

    ``est``, ``ref``: ``(B, S, C, T)`` float64 arrays of ``ops``. Returns ``(B, S, N)`` arrays
    ``"target"`` (``||s_j||^2``), ``"error"`` (``||e - s_j||^2``), ``"own"``, ``"spat"``,
    ``"interf"``, ``"all"``, ``"artif"`` (``||P_own||^2``, ``||P_own - s_j||^2``,
    ``||P_all - P_own||^2``, ``||P_all||^2``, ``||e - P_all||^2``) and ``"silent"`` ``(B, N)``.

    Raises:
        ValueError: a value is NaN or infinite, or a source is all zeros.
    """
    B, S, C, T = ref.shape
    P = S * C
    # museval's Framing: whole frames only, or one frame with the whole signal.
    n_frames = (T - window + hop) // hop if window < T else 1
    W = min(window, T)
    starts = [t * hop for t in range(n_frames)]
    # With hop == window the frames tile the track (plus a shorter tail) and are the tiles of
    # the whole-track correlations; otherwise the track is tiled on its own.
    tiling = W == T or (hop == W and W >= L - 1)
    keep = n_frames * B * L * P * 2 * P * 8 <= _KEEP_BYTES
    kept = ops.zeros((n_frames, B, L, P, 2 * P), like=ref) if keep else None
    total = ops.zeros((B, L, P, 2 * P), like=ref)  # whole-track correlations
    energy, silent, tile_silent = [], [], []
    for t, rho, frame_energy, frame_silent in _frame_correlations(ops, ref, est, starts, W, L):
        energy.append(frame_energy)  # (B, 2, S)
        silent.append(frame_silent)  # (B, 2, S)
        if keep:
            kept[t] = rho
        if tiling:
            total += rho
            tile_silent.append(frame_silent)
    if tiling:  # the frames are done: only the tail after the last one is left
        tiles, boundaries = [([starts[-1] + W], T - starts[-1] - W)], starts[1:]
    else:
        size = max(L - 1, 1 << 15)
        whole = list(range(0, T - size + 1, size))
        tiles, boundaries = [(whole, size), ([len(whole) * size], T - len(whole) * size)], []
    for tile_starts, size in tiles:
        if size <= 0 or not tile_starts:
            continue
        for _, rho, _, tile in _frame_correlations(ops, ref, est, tile_starts, size, L):
            total += rho
            tile_silent.append(tile)
        boundaries += [s for s in tile_starts if s > 0]
    total += _straddling_correlations(ops, ref, est, boundaries, L)
    _check_values(ops, total, ops.stack(tile_silent, axis=-1), P)

    gram = ops.contiguous(total[..., :P])  # (B, L, P, P): R[k][p, q] = <x_p, x_q delayed by k>
    rhs = total[..., :P] + total[..., P:]  # (B, L, P, P): D[a][p, q] = <x_p, e_q delayed by a>
    c_all, c_own = _distortion_filters(ops, gram, rhs, S, C)
    weights = _metric_weights(ops, c_all, c_own, S, C)  # (B, L P 2P, 6 S)

    if keep:
        flat = kept.reshape(n_frames, B, -1)
        sums = ops.stack([flat[:, b] @ weights[b] for b in range(B)], axis=0)  # (B, N, 6 S)
    else:  # the frames' correlations once more, each straight into its metrics
        sums = ops.zeros((B, n_frames, 6 * S), like=ref)
        for t, rho, _, _ in _frame_correlations(ops, ref, est, starts, W, L):
            sums[:, t] = (rho.reshape(B, 1, -1) @ weights)[:, 0]
    sums = ops.permute(sums.reshape(B, n_frames, 6, S), (2, 0, 3, 1))  # (6, B, S, N)
    energy = ops.stack(energy, axis=-1)  # (B, 2, S, N)
    error = energy[:, 1]
    # ||e - P_all||^2 = ||d - (P_all - s)||^2 with d = e - s; rounding may leave it a hair below 0
    artif = error - 2 * sums[5] + sums[4]
    own, spat, interf, all_ = (ops.clamp_min0(value) for value in sums[:4])
    return {
        "target": energy[:, 0],
        "error": error,
        "own": own,
        "spat": spat,
        "interf": interf,
        "all": all_,
        "artif": ops.clamp_min0(artif),
        "silent": ops.any(ops.stack(silent, axis=-1).reshape(B, 2 * S, n_frames), axis=1),  # (B, N)
    }


def _check_values(ops, total, silent, P: int) -> None:
    """Raise for NaN/inf (which reach every correlation of their tile) and for silent sources.

    ``total``: ``(B, L, P, 2P)`` whole-track correlations; ``silent``: ``(B, 2, S, tiles)``
    (reference / estimate source whose channel sum is zero throughout the tile)."""
    if not ops.all_finite(total[..., :P]):
        raise ValueError("bss_eval_v4: references must be real and finite (found NaN or inf)")
    if not ops.all_finite(total[..., P:]):
        raise ValueError("bss_eval_v4: estimates must be real and finite (found NaN or inf)")
    silent = ops.to_torch(ops.all(silent, axis=-1), "cpu")  # (B, 2, S), museval's _any_source_silent
    for k, what in enumerate(("reference", "estimate")):
        if silent[:, k].any():
            b, s = (int(i) for i in silent[:, k].nonzero()[0])
            raise ValueError(
                f"bss_eval_v4: {what} source {s} (track {b}) is all zeros; BSSEval is undefined "
                "for silent sources (museval raises here too)"
            )


def _scores(energy: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SDR, ISR, SIR, SAR ``(B, S, N)`` from :func:`_bss_energies` (as torch tensors)."""
    scores = {
        "SDR": _db(energy["target"], energy["error"]),
        "ISR": _db(energy["target"], energy["spat"]),
        "SIR": _db(energy["own"], energy["interf"]),
        "SAR": _db(energy["all"], energy["artif"]),
    }
    silent = energy["silent"][:, None, :]  # (B, 1, N)
    return {name: scores[name].masked_fill(silent, float("nan")) for name in METRICS}


def _db(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``10 log10(num / den)``, ``+inf`` where ``den == 0`` (museval's ``_safe_db``)."""
    return torch.where(den == 0, torch.inf, 10 * torch.log10(num / den))




# ---------------------------------------------------------------------------------------------
# 2. correlations of frames, from short block spectra


def _block_plan(size: int, L: int) -> tuple[int, int, int]:
    """``(blocks, block, n_fft)`` for correlating a frame of ``size`` samples at lags below
    ``L``: ``blocks`` blocks of ``block`` samples (the last one shorter) cover the frame, and
    ``n_fft >= block + L - 1`` holds a block and the ``L - 1`` samples after it.
    FFTs of about 2048 points cost the least per sample here, counting the inverse ones.

    Example:
        >>> _block_plan(44100, 512)
        (29, 1521, 2048)
    """
    longest = max(3 * L + 1, 2049 - L)
    blocks = -(-size // longest)
    block = -(-size // blocks)
    fast, pow2 = _fast_length(block + L - 1), _pow2(block + L - 1)
    return blocks, block, pow2 if pow2 <= 1.1 * fast else fast  # powers of two invert faster


def _frame_correlations(ops, ref, est, starts: list, size: int, L: int):
    """Correlations inside frames ``[start, start + size)`` (each inside the track).

    ``ref``, ``est``: ``(B, S, C, T)``. With the frame's reference channels ``x_p`` and error
    channels ``d_q = e_q - x_q`` (zero outside the frame) and ``z = (x, d)``, yields for each
    frame ``(i, rho, energy, silent)``: ``rho`` ``(B, L, P, 2P)`` with
    ``rho[b, k, p, q] = sum_n x_p[n] z_q[n + k]``; ``energy`` ``(B, 2, S)``: ``||x_j||^2`` and
    ``||d_j||^2``; ``silent`` ``(B, 2, S)``: whether the channel sum of reference / estimate
    ``j`` is zero at every sample of the frame.

    The frame is cut into blocks. Each block of ``x`` is zero-padded to ``n_fft`` and each
    block of ``z`` is read with the ``n_fft - block`` samples that follow it in the frame, so
    that the circular correlation of the two at lags ``0 .. L-1`` is the linear one of the
    block with the rest of the frame. The ``x`` block is written circularly reversed
    (``x[-n mod n_fft]``), whose FFT is ``conj(X)``, so the sum over blocks of ``conj(X) Z^T``
    (one small matrix product per frequency bin) has the frame's lags as its inverse FFT.
    The frame is stored channel by channel (``(B, 2P, samples)``): it is filled with two
    array operations on contiguous rows, the blocks of ``z`` are transformed where they lie
    (never copied), and the spectra are written bins first, as contiguous matrices for the
    products.
    """
    B, S, C, _ = ref.shape
    P = S * C
    n_blocks, block, n_fft = _block_plan(size, L)
    F = n_fft // 2 + 1
    group = max(1, min(n_blocks, _GROUP_BYTES // (16 * B * 3 * P * F)))  # blocks per FFT call
    frame = ops.zeros((B, 2 * P, (n_blocks - 1) * block + n_fft), like=ref)  # (x, d), zero past the frame
    parts = frame.reshape(B, 2, S, C, -1)  # a view: (x, d) of each source
    windows = ops.windows(frame, n_fft, block)  # (B, 2P, blocks, n_fft): views of the frame
    reversed_x = ops.zeros((B, P, group, n_fft), like=ref)  # x[-n mod n_fft] of each block
    # the spectra, bins first: conj(X) (B, F, P, g) and Z (B, F, g, 2P), and their products
    spec_x = ops.empty((B, F, P, group), like=ref, complex=True)
    spec_z = ops.empty((B, F, group, 2 * P), like=ref, complex=True)
    cross = ops.empty((B, F, P, 2 * P), like=ref, complex=True)
    for i, start in enumerate(starts):
        x = ref[..., start : start + size]  # (B, S, C, size), wherever it lies in memory
        e = est[..., start : start + size]
        ops.copy_into(x, parts[:, 0, ..., :size])
        ops.subtract(e, x, out=parts[:, 1, ..., :size])
        energy = ops.sum_squares(frame).reshape(B, 2, S, C).sum(-1)  # (B, 2, S)
        # museval's test on the inputs themselves (e, not x + d: exact zeros must stay exact)
        silent = ops.stack([_silent_sources(ops, x), _silent_sources(ops, e)], axis=1)
        for g0 in range(0, n_blocks, group):
            g = min(group, n_blocks - g0)
            z = windows[:, :, g0 : g0 + g]  # (B, 2P, g, n_fft)
            ops.copy_into(z[:, :P, :, :1], reversed_x[:, :, :g, :1])
            ops.copy_into(ops.flip(z[:, :P, :, 1:block], axis=-1), reversed_x[:, :, :g, n_fft - block + 1 :])
            ops.rfft(reversed_x[:, :, :g], n_fft, -1, out=ops.permute(spec_x[..., :g], (0, 2, 3, 1)))
            ops.rfft(z, n_fft, -1, out=ops.permute(spec_z[:, :, :g], (0, 3, 2, 1)))
            if g0 == 0:
                ops.matmul(spec_x[..., :g], spec_z[:, :, :g], out=cross)  # (B, F, P, 2P)
            else:
                cross += ops.matmul(spec_x[..., :g], spec_z[:, :, :g])
        yield i, ops.irfft(cross, n_fft, axis=1)[:, :L], energy, silent  # (B, L, P, 2P)


def _silent_sources(ops, x):
    """``(B, S, C, W) -> (B, S)``: the sum over channels is zero at every sample. Sounding
    sources almost always show it in their first samples: only the rest get the full test."""
    head = ops.zero_channel_sum(x[..., :64])
    return ops.zero_channel_sum(x) if head.any() else head


def _straddling_correlations(ops, ref, est, boundaries: list, L: int):
    """``sum_n x_p[n] z_q[n + k]`` over the pairs of samples with ``n < beta <= n + k`` for
    each boundary ``beta`` (at least ``L - 1`` after the previous one), ``z = (x, d)``:
    ``(B, L, P, 2P)``, or 0 without boundaries.

    They are the correlations of the ``m = L - 1`` samples of ``x`` before ``beta`` with the
    ``m`` of ``z`` from ``beta`` on, at lags ``k - m``: circular ones of ``2m`` points.
    """
    m = L - 1
    if not boundaries or m == 0:
        return 0
    B, S, C, T = ref.shape
    P = S * C
    n_edge = _pow2(2 * m)
    total = 0
    for first in range(0, len(boundaries), 256):  # at most about 50 MB at a time
        chunk = boundaries[first : first + 256]
        edges = ops.zeros((len(chunk), B, 3, S, C, n_edge), like=ref)
        for i, beta in enumerate(chunk):
            n = min(m, T - beta)
            ops.copy_into(ref[..., beta - m : beta], edges[i, :, 0, :, :, :m])
            ops.copy_into(ref[..., beta : beta + n], edges[i, :, 1, :, :, :n])
            ops.subtract(est[..., beta : beta + n], ref[..., beta : beta + n], out=edges[i, :, 2, :, :, :n])
        spec = ops.rfft(edges.reshape(len(chunk), B, 3 * P, n_edge), n_edge, axis=-1)  # (n, B, 3P, F')
        u = ops.conj(ops.permute(spec[:, :, :P], (1, 3, 2, 0)))  # (B, F', P, n)
        v = ops.permute(spec[:, :, P:], (1, 3, 0, 2))  # (B, F', n, 2P)
        total = total + ops.matmul(u, v)  # (B, F', P, 2P)
    edge = ops.irfft(total, n_edge, axis=1)  # (B, n_edge, P, 2P)
    # lag k of the straddling pairs is lag k - m of (u, v): indices n_edge - m .. n_edge - 1, 0
    return ops.concat([edge[:, n_edge - m :], edge[:, :1]], axis=1)  # (B, L, P, 2P)


# ---------------------------------------------------------------------------------------------
# 3. distortion filters, estimated once per track, and the metrics' weights


def _distortion_filters(ops, gram, rhs, S: int, C: int):
    """Least-squares FIR filters from the references onto each estimate, on the whole track.

    ``gram``: ``(B, L, P, P)``, ``gram[:, k, p, q] = <x_p, x_q delayed by k>`` (``R[k]``);
    ``rhs``: ``(B, L, P, P)``, ``rhs[:, a, p, q] = <x_p delayed by a, e_q>``.
    Returns ``c_all`` ``(B, L, P, P)``: tap ``a`` from reference channel ``p = (i, ci)`` to
    estimate channel ``q = (j, c)``; and ``c_own`` ``(B, S, L, C, C)``: tap ``a`` from channel
    ``ci`` of reference ``j`` to channel ``c`` of estimate ``j``.
    """
    B, L, P, _ = gram.shape
    # Gram matrix G[(a, p), (b, q)] = <ref_p delayed by a, ref_q delayed by b> = R[a - b][p, q]
    gram[:, 0] += _EPS * ops.eye(P, like=gram)
    c_all = _solve_block_toeplitz(ops, gram, rhs)  # (B, L, P, P)
    if S == 1:  # the same system: reuse it so that P_all == P_own exactly (SIR = inf, as museval)
        return c_all, c_all[:, None]
    # The diagonal source blocks: reference j's channels only, estimate j's channels only.
    gram = gram.reshape(B, L, S, C, S, C)
    rhs = rhs.reshape(B, L, S, C, S, C)
    gram_own = ops.stack([gram[:, :, j, :, j] for j in range(S)], axis=1)  # (B, S, L, C, C)
    rhs_own = ops.stack([rhs[:, :, j, :, j] for j in range(S)], axis=1)  # (B, S, L, C, C)
    return c_all, _solve_block_toeplitz(ops, gram_own, rhs_own)  # (B, L, P, P), (B, S, L, C, C)


def _solve_block_toeplitz(ops, R, d):
    """Solve ``sum_b R[a - b] x[b] = d[a]`` for ``a, b = 0 .. L-1``, where ``R[-k] = R[k]^T``
    and ``R[0]`` is symmetric (a symmetric block Toeplitz matrix).

    ``R``: ``(..., L, P, P)`` blocks for lags ``k >= 0``; ``d``: ``(..., L, P, Q)``. Returns
    ``x`` ``(..., L, P, Q)``. Block Levinson recursion: forward and backward predictors ``A``
    and ``Bk`` of growing order ``n`` with ``T_n A = [Ef, 0, ..., 0]`` and
    ``T_n Bk = [0, ..., 0, Eb]`` (``T_n`` the leading ``n x n`` blocks), and the solution of
    ``T_n x = d[:n]`` updated with ``Bk``. For a symmetric ``T`` the backward mismatch
    ``[A, 0]^T T [0, Bk]`` is the transpose of the forward one, so one product per step gives
    both. Everything is kept transposed (rows of ``L P`` columns) so that the long products
    read contiguous rows. A singular leading block (e.g. a track shorter than ``L P`` samples)
    falls back to a dense solve.
    """
    try:
        x = _block_levinson(ops, R, d)
    except (np.linalg.LinAlgError, RuntimeError):  # torch's LinAlgError is a RuntimeError
        x = None
    if x is None or not ops.all_finite(x):
        x = ops.from_torch(_dense_solve(ops.to_torch(R), ops.to_torch(d)))
    return x


def _block_levinson(ops, R, d):
    """The recursion of :func:`_solve_block_toeplitz` (raises if a leading block is singular)."""
    *batch, L, P, _ = R.shape
    Q = d.shape[-1]
    # [R[L-1]^T; ...; R[1]^T; R[0]^T] as (..., L P, P); rows (L-1-n) P .. (L-1) P are
    # [R[n]^T; ...; R[1]^T], which multiply blocks 0 .. n-1 of a predictor.
    past = ops.contiguous(ops.flip(R.swapaxes(-1, -2), axis=-3)).reshape(*batch, L * P, P)
    # rows [x^T; A^T] (both from block 0 on) and Bk^T (right-aligned: block k of n at L - n + k)
    xa = ops.zeros((*batch, Q + P, L * P), like=R)
    xt, at = xa[..., :Q, :], xa[..., Q:, :]
    bt = ops.zeros((*batch, P, L * P), like=R)
    eye = ops.eye(P, like=R)
    at[..., :P] = eye
    bt[..., (L - 1) * P :] = eye
    ef = eb = R[..., 0, :, :]
    xt[..., :P] = ops.solve(ef, d[..., 0, :, :]).swapaxes(-1, -2)
    for n in range(1, L):  # from n blocks to n + 1
        m = n * P
        mismatch = xa[..., :m] @ past[..., (L - 1 - n) * P : (L - 1) * P, :]  # (..., Q + P, P)
        px_t, df_t = mismatch[..., :Q, :], mismatch[..., Q:, :]  # (T_{n+1} [x, 0])[n]^T, delta_f^T
        df = df_t.swapaxes(-1, -2)  # delta_f; delta_b = delta_f^T
        # k_f = Eb^-1 delta_f, k_b = Ef^-1 delta_b (solves: inverses lose digits when T is
        # ill-conditioned, e.g. a nearly silent source)
        k = ops.solve(ops.stack([eb, ef], axis=-3), ops.stack([df, df_t], axis=-3))  # (..., 2, P, P)
        kf, kb = k[..., 0, :, :], k[..., 1, :, :]
        ef = ef - df_t @ kf
        eb = eb - df @ kb
        a_old = at[..., : m + P]  # (..., P, (n + 1) P), last block zero
        b_old = bt[..., (L - n - 1) * P :]  # (..., P, (n + 1) P), first block zero
        a_step = kf.swapaxes(-1, -2) @ b_old
        b_old -= kb.swapaxes(-1, -2) @ a_old
        a_old -= a_step
        gain = ops.solve(eb, d[..., n, :, :] - px_t.swapaxes(-1, -2))  # (..., P, Q)
        xt[..., : m + P] += gain.swapaxes(-1, -2) @ b_old
    return ops.permute(xt.reshape(*batch, Q, L, P), (*range(len(batch)), -2, -1, -3))  # (..., L, P, Q)


def _dense_solve(R: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Fallback of :func:`_solve_block_toeplitz`: build the dense matrix and solve it (LU as
    museval, least squares if singular)."""
    *batch, L, P, Q = d.shape
    lag = torch.arange(L, device=R.device)
    diff = lag[:, None] - lag[None, :]  # (L, L): a - b
    blocks = torch.where(
        (diff >= 0)[:, :, None, None],
        R[..., diff.clamp(min=0), :, :],
        R[..., (-diff).clamp(min=0), :, :].transpose(-1, -2),
    )  # (..., L, L, P, P)
    G = blocks.transpose(-3, -2).reshape(*batch, L * P, L * P)  # rows (a, p), columns (b, q)
    rhs = d.reshape(*batch, L * P, Q)
    try:
        sol = torch.linalg.solve(G, rhs)
    except RuntimeError:  # exactly singular
        sol = torch.linalg.lstsq(G.cpu(), rhs.cpu(), driver="gelsd").solution.to(G.device)
    return sol.reshape(*batch, L, P, Q)




def _metric_weights(ops, c_all, c_own, S: int, C: int):
    """The matrix that turns a frame's correlations into its energies: ``(B, L P 2P, 6 S)``.

    Columns ``k S + j``: for ``k = 0 .. 4`` the energy of source ``j``'s output channels of
    the filter bank ``P_own``, ``P_own - s_j``, ``P_all - P_own``, ``P_all``, ``P_all - s_j``
    (``||h * x||^2 = sum_k sum_{p,p'} rho_{pp'}[k] (2 - [k = 0]) sum_a h_p[a] h_p'[a - k]``, the
    frame being zero outside), and for ``k = 5`` the cross term ``<d_j, (P_all - s_j)>``.
    Rows follow :func:`_frame_correlations`' ``rho`` ``(L, P, 2P)``.
    """
    B, L, P, _ = c_all.shape
    own = ops.zeros((B, L, S, C, S, C), like=c_all)
    for j in range(S):
        own[:, :, j, :, j, :] = c_own[:, j]
    own = own.reshape(B, L, P, P)
    unit = ops.zeros((L, P, P), like=c_all)  # the identity filter: s_j itself
    unit[0] = ops.eye(P, like=c_all)
    banks = ops.stack([own, own - unit, c_all - own, c_all, c_all - unit], axis=1)  # (B, 5, L, P, Q)
    n_taps = _pow2(2 * L - 1)  # no wrap-around for lags -(L-1) .. L-1
    spec = ops.rfft(banks, n_taps, axis=2).reshape(B, 5, -1, P, S, C)  # (B, 5, F, P, S, C)
    spec = ops.permute(spec, (0, 1, 4, 2, 3, 5))  # (B, 5, S, F, P, C)
    taps = ops.matmul(spec, ops.conj(spec).swapaxes(-1, -2))  # (B, 5, S, F, P, P), summed over c
    taps = ops.irfft(taps, n_taps, axis=3)[:, :, :, :L]  # (B, 5, S, L, P, P): sum_a h_p[a] h_p'[a - k]
    taps[:, :, :, 1:] *= 2  # lag k and lag -k (rho[-k] = rho[k]^T)
    weights = ops.zeros((B, L, P, 2 * P, 6, S), like=c_all)
    weights[:, :, :, :P, :5] = ops.permute(taps, (0, 3, 4, 5, 1, 2))
    cross = ops.zeros((B, L, P, S, C, S), like=c_all)  # <d_q, y_q> = sum h[a, p, q] rho_pd_q[a]
    error_bank = banks[:, 4].reshape(B, L, P, S, C)
    for j in range(S):
        cross[:, :, :, j, :, j] = error_bank[:, :, :, j]
    weights[:, :, :, P:, 5] = cross.reshape(B, L, P, P, S)
    return weights.reshape(B, L * P * 2 * P, 6 * S)


# ---------------------------------------------------------------------------------------------
# 4. the array operations of the two paths


class _NumpyOps:
    """CPU path: numpy arrays. ducc0's FFTs are faster here than ``scipy.fft``'s and torch's, and
    numpy's small-matrix calls cost a few microseconds where torch's cost tens (the recursion
    makes about 15 per tap)."""

    @staticmethod
    def from_torch(x: torch.Tensor) -> np.ndarray:
        # a view where the tensor is float64 already: the frames are copied out of it one by one
        return x.detach().to(torch.float64).cpu().numpy()

    @staticmethod
    def to_torch(x: np.ndarray, device="cpu") -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x)).to(device)

    @staticmethod
    def zeros(shape, like, complex=False):
        return np.zeros(shape, dtype=np.complex128 if complex else np.float64)

    @staticmethod
    def empty(shape, like, complex=False):
        return np.empty(shape, dtype=np.complex128 if complex else np.float64)

    @staticmethod
    def eye(n, like):
        return np.eye(n)

    @staticmethod
    def rfft(x, n, axis, out=None):
        """Real FFT of ``n`` points (zero-padded) along ``axis``, into ``out`` if given: any
        view with the spectra's shape, e.g. a transposed one, so that they are written
        straight into the layout a later product reads."""
        axis %= x.ndim
        if x.shape[axis] < n:  # ducc0 transforms what it is given: pad here
            pad = [(0, 0)] * x.ndim
            pad[axis] = (0, n - x.shape[axis])
            x = np.pad(x, pad)
        return ducc0.fft.r2c(x, axes=(axis,), out=out, nthreads=torch.get_num_threads())

    @staticmethod
    def irfft(x, n, axis):
        """Inverse of :meth:`rfft`: ``n`` real points along ``axis``."""
        return ducc0.fft.c2r(x, axes=(axis % x.ndim,), lastsize=n, forward=False, inorm=2,
                             nthreads=torch.get_num_threads())

    @staticmethod
    def windows(x, size, step):
        """``(B, K, T) -> (B, K, n, size)``: windows of ``size`` samples every ``step`` (views)."""
        return np.lib.stride_tricks.sliding_window_view(x, size, axis=-1)[:, :, ::step]

    @staticmethod
    def copy_into(x, out):
        np.copyto(out, x)

    @staticmethod
    def subtract(a, b, out):
        np.subtract(a, b, out=out)

    @staticmethod
    def sum_squares(x):
        """``(B, K, T) -> (B, K)``, as dot products (BLAS: about 3x faster than einsum)."""
        return (x[..., None, :] @ x[..., :, None])[..., 0, 0]

    @staticmethod
    def zero_channel_sum(x):
        """``(B, S, C, W) -> (B, S)``: the sum over channels is zero at every sample."""
        return ~np.any(x.sum(axis=2) != 0, axis=-1)

    @staticmethod
    def all_finite(x):
        return bool(np.isfinite(x).all())

    @staticmethod
    def clamp_min0(x):
        return np.maximum(x, 0.0)

    @staticmethod
    def any(x, axis):
        return x.any(axis=axis)

    @staticmethod
    def all(x, axis):
        return x.all(axis=axis)

    @staticmethod
    def matmul(a, b, out=None):
        """``a @ b``; a stack of complex products goes to torch (one batched GEMM call
        instead of numpy's loop of BLAS calls: about twice as fast for the frames' 8 x 29 by
        29 x 16 products per bin)."""
        if a.dtype == np.complex128 and a.ndim > 2:
            a, b = torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b))
            return torch.matmul(a, b, out=None if out is None else torch.from_numpy(out)).numpy()
        return np.matmul(a, b, out=out)

    permute = staticmethod(np.transpose)
    contiguous = staticmethod(np.ascontiguousarray)
    conj = staticmethod(np.conj)
    solve = staticmethod(np.linalg.solve)
    stack = staticmethod(np.stack)
    concat = staticmethod(np.concatenate)
    flip = staticmethod(np.flip)


class _TorchOps:
    """GPU path: torch tensors on the inputs' device."""

    @staticmethod
    def from_torch(x: torch.Tensor) -> torch.Tensor:
        return x.detach().to(torch.float64)

    @staticmethod
    def to_torch(x: torch.Tensor, device=None) -> torch.Tensor:
        return x if device is None else x.to(device)

    @staticmethod
    def zeros(shape, like, complex=False):
        return torch.zeros(shape, dtype=torch.complex128 if complex else torch.float64, device=like.device)

    @staticmethod
    def empty(shape, like, complex=False):
        return torch.empty(shape, dtype=torch.complex128 if complex else torch.float64, device=like.device)

    @staticmethod
    def eye(n, like):
        return torch.eye(n, dtype=torch.float64, device=like.device)

    @staticmethod
    def rfft(x, n, axis, out=None):
        spec = torch.fft.rfft(x, n=n, dim=axis)
        return spec if out is None else out.copy_(spec)

    @staticmethod
    def irfft(x, n, axis):
        return torch.fft.irfft(x, n=n, dim=axis)

    @staticmethod
    def windows(x, size, step):
        return x.unfold(-1, size, step)

    @staticmethod
    def copy_into(x, out):
        out.copy_(x)

    @staticmethod
    def subtract(a, b, out):
        out.copy_(a - b)

    @staticmethod
    def sum_squares(x):
        return (x * x).sum(dim=-1)

    @staticmethod
    def zero_channel_sum(x):
        return (x.sum(dim=2) == 0).all(dim=-1)

    @staticmethod
    def all_finite(x):
        return bool(torch.isfinite(x).all())

    @staticmethod
    def clamp_min0(x):
        return x.clamp(min=0.0)

    @staticmethod
    def any(x, axis):
        return x.any(dim=axis)

    @staticmethod
    def all(x, axis):
        return x.all(dim=axis)

    @staticmethod
    def matmul(a, b, out=None):
        return torch.matmul(a, b, out=out)

    @staticmethod
    def permute(x, dims):
        return x.permute(dims)

    @staticmethod
    def contiguous(x):
        return x.contiguous()

    @staticmethod
    def conj(x):
        return x.conj().resolve_conj()

    solve = staticmethod(torch.linalg.solve)

    @staticmethod
    def stack(xs, axis):
        return torch.stack(xs, dim=axis)

    @staticmethod
    def concat(xs, axis):
        return torch.cat(xs, dim=axis)

    @staticmethod
    def flip(x, axis):
        return x.flip(axis)


def _pow2(n: int) -> int:
    """Smallest power of two ``>= n`` (at least 2)."""
    return max(2, 1 << (n - 1).bit_length())


def _fast_length(n: int) -> int:
    """Smallest even number ``>= n`` with no prime factor above 5 (fast FFT sizes)."""
    m = n + (n % 2)
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2
