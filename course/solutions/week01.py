"""Solution to week 1: each level loses `down_kernel - 1` samples, then decimation keeps
`ceil(n / 2)`; the bottleneck loses `down_kernel - 1`; each up level makes `2n - 1` samples and
loses `up_kernel - 1`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "week01"))
from exercise import check  # noqa: E402


def my_output_length(n: int, levels: int, down_kernel: int, up_kernel: int) -> int:
    for _ in range(levels):
        n = n - (down_kernel - 1)
        n = (n + 1) // 2
    n = n - (down_kernel - 1)
    for _ in range(levels):
        n = 2 * n - 1 - (up_kernel - 1)
    return n


if __name__ == "__main__":
    check(my_output_length)
