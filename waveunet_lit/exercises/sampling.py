"""Checks for ``03_down_and_up_sampling``: the matrix of a strided convolution and its
transpose, and the lengths of one level of a :class:`~waveunet_lit.models.StridedWaveUNet`.

The matrix is checked against ``F.conv1d`` and its transpose against ``F.conv_transpose1d``;
the lengths against the real layers of a ``StridedWaveUNet``.
"""

import torch
from torch.nn import functional as F

from ..models import StridedWaveUNet
from . import call, expect

__all__ = ["CHECKS", "check_conv_matrix", "check_level_lengths"]

# (kernel, stride, n): stride 1 first, then strides that do and do not divide n - kernel.
MATRIX_SETTINGS = ((3, 1, 7), (2, 2, 8), (3, 2, 9), (4, 2, 10), (5, 3, 14), (4, 3, 12), (6, 4, 21))


def check_conv_matrix(fn) -> str:
    """``fn(h, n, stride)``: the ``(m, n)`` matrix ``W`` with ``W @ x == F.conv1d(x, h, stride)``
    for every ``x`` of ``n`` samples (no padding); then ``W.T @ y`` must equal
    ``F.conv_transpose1d(y, h, stride)``, zero-extended to ``n`` samples."""
    gen = torch.Generator().manual_seed(0)
    for k, s, n in MATRIX_SETTINGS:
        h = torch.randn(k, generator=gen, dtype=torch.float64)
        x = torch.randn(n, generator=gen, dtype=torch.float64)
        want = F.conv1d(x[None, None], h[None, None], stride=s)[0, 0]  # (m,)
        m = want.shape[-1]
        W = call(fn, h.clone(), n, s)
        where = f"kernel {k}, stride {s}, n = {n}: "
        try:
            W = torch.as_tensor(W, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            expect(False, where + f"return a tensor or array of shape (m, n), got {type(W).__name__}")
        expect(tuple(W.shape) != (n, m) or m == n, where + f"W has shape {tuple(W.shape)}: that is W.T. "
               f"W maps n = {n} input samples to m = {m} outputs, so it has m rows and n columns.")
        expect(tuple(W.shape) == (m, n), where + f"W should have shape (m, n) = ({m}, {n}), got {tuple(W.shape)}. "
               "m = floor((n - k) / s) + 1: the first output, then one per stride that still fits.")
        if not torch.allclose(W @ x, want, atol=1e-8):
            flipped = F.conv1d(x[None, None], h.flip(0)[None, None], stride=s)[0, 0]
            expect(not torch.allclose(W @ x, flipped, atol=1e-8), where + "W @ x is a convolution (kernel flipped); "
                   "conv1d correlates: row o holds h[0], ..., h[k-1] in columns o*s, ..., o*s + k - 1.")
            expect(False, where + "W @ x differs from F.conv1d(x, h, stride). Row o reads the input from "
                   "column o * stride on: W[o, o * stride + j] = h[j].")
        y = torch.randn(m, generator=gen, dtype=torch.float64)
        up = F.conv_transpose1d(y[None, None], h[None, None], stride=s)[0, 0]  # ((m - 1) s + k,) <= n
        up = F.pad(up, (0, n - up.shape[-1]))  # the last (n - k) % s inputs are read by no output
        expect(torch.allclose(W.T @ y, up, atol=1e-8), where + "W @ x is right but W.T @ y differs from "
               "conv_transpose1d: that cannot happen for a real matrix; did you return a view that changed?")
    return (f"right: W @ x == conv1d and W.T @ y == conv_transpose1d for {len(MATRIX_SETTINGS)} kernels "
            "and strides: a transposed convolution is the transpose of the convolution's matrix")


# (n, kernel_size, stride, padding) for one StridedWaveUNet level.
LEVEL_SETTINGS = ((64, 4, 2, 1), (101, 8, 4, 2), (100, 8, 4, 2), (37, 5, 2, 2), (50, 3, 3, 0), (77, 6, 3, 1), (1000, 8, 4, 2), (99, 7, 2, 3))


def _real_level(n: int, k: int, s: int, p: int) -> tuple[int, int, int]:
    net = StridedWaveUNet(sources=("a",), channels=1, levels=1, features=1, kernel_size=k, stride=s, padding=p)
    with torch.no_grad():
        down = net.down[0](torch.zeros(1, 1, n))  # (1, 1, m)
        cat = torch.zeros(1, net.up[0].in_channels, down.shape[-1])  # what the decoder reads
        plain = net.up[0](cat).shape[-1]  # ConvTranspose1d without output_size
        fixed = net.up[0](cat, output_size=[n]).shape[-1]
    assert fixed == n
    return down.shape[-1], plain, n - plain


WRONG_M = (  # (n, k, s, p) -> a wrong m, and its hint
    (lambda n, k, s, p: (n + 2 * p - k) // s, "m is off by one: floor((n + 2p - k) / s) + 1."),
    (lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1, "Round down: a last window that does not fit is dropped."),
    (lambda n, k, s, p: (n - k) // s + 1, "The strided convolution pads p zeros on both sides."),
)
WRONG_T = (  # (m, k, s, p) -> a wrong t, and its hint
    (lambda m, k, s, p: (m - 1) * s + k, "The transposed convolution's padding p removes p samples at both ends: "
     "t = (m - 1) s - 2p + k."),
    (lambda m, k, s, p: m * s, "Not m * s: each of the m inputs stamps k samples, s apart, so t = (m - 1) s + k "
     "before the padding, and padding p crops 2p."),
)


def check_level_lengths(fn) -> str:
    """``fn(n, kernel_size, stride, padding)`` -> ``(m, t, extra)``: for one level of a
    ``StridedWaveUNet``, the length ``m`` after its strided ``Conv1d``, the length ``t`` its
    ``ConvTranspose1d`` gives back from ``m`` samples, and the ``output_padding`` (``n - t``) that
    ``output_size=[n]`` adds to get ``n`` again."""
    answers = [call(fn, *setting) for setting in LEVEL_SETTINGS]
    for setting, got in zip(LEVEL_SETTINGS, answers):
        n, k, s, p = setting
        want = _real_level(n, k, s, p)
        where = f"n={n}, kernel_size={k}, stride={s}, padding={p}: the real layers give (m, t, extra) = {want}, you said {got}. "
        expect(isinstance(got, tuple) and len(got) == 3, where + "Return a tuple of three ints.")
        m, t, extra = got
        if m != want[0]:  # name the wrong formula that explains every m the student gave
            for wrong, hint in WRONG_M:
                expect(not all(a[0] == wrong(*c) for c, a in zip(LEVEL_SETTINGS, answers)), where + hint)
            expect(False, where + "m = floor((n + 2p - k) / s) + 1.")
        if t != want[1]:
            for wrong, hint in WRONG_T:
                expect(not all(a[1] == wrong(a[0], *c[1:]) for c, a in zip(LEVEL_SETTINGS, answers)), where + hint)
            expect(False, where + "t = (m - 1) s - 2p + k.")
        expect(extra == want[2], where + f"extra = n - t = {n} - {t}; it is between 0 and s - 1 "
               "because s input lengths give the same m.")
    return (f"right: you predicted all {len(LEVEL_SETTINGS)} levels; output_size picks one of the s lengths "
            "that the strided convolution maps to the same m")


CHECKS = {"conv_matrix": check_conv_matrix, "level_lengths": check_level_lengths}
