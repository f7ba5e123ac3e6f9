"""Checks of notebook 11 (separating a song).

``count_tiles(model, length, segment) -> int``: how many tiles :func:`waveunet_lit.separate.separate`
runs for a song of ``length`` samples (at the model's rate) through a 'valid' Wave-U-Net, one
pass, ``segment`` output samples wanted per tile. The reference is :func:`tile_plan`.
"""

import math

from ..models.wave_u_net import WaveUNet
from ..separate import tile_plan
from . import call, expect

__all__ = ["CHECKS", "check_count_tiles", "tiles_of"]

#: (levels, segment, song lengths) tried by the check: outputs that are and are not multiples
#: of the period, songs shorter than a tile, exactly a tile, a sample more, and long ones.
CASES = ((3, 1001, (1, 999, 1000, 1001, 1003, 44_100)), (5, 3000, (100, 3007, 3008, 3009, 20_000)), (4, 333, (336, 337, 7777)))


def tiles_of(model, length: int, segment: int) -> int:
    """The number of tiles :func:`~waveunet_lit.separate.separate` runs, from :func:`tile_plan`.

    Example:
        >>> net = WaveUNet(sources=("a", "b"), channels=1, sample_rate=8000, levels=3, features=4)
        >>> tiles_of(net, 5000, 1001), tile_plan(net, 1001)["hop"]
        (5, 1000)
    """
    plan = tile_plan(model, segment)
    if plan["overlap_add"]:
        raise ValueError("tiles_of counts the tiles of 'valid' models (context=True) only")
    return max(math.ceil(length / plan["hop"]), 1)


def check_count_tiles(count_tiles) -> str:
    """Compare ``count_tiles`` with :func:`tiles_of` on the :data:`CASES`."""
    for levels, segment, lengths in CASES:
        net = WaveUNet(sources=("vocals", "accompaniment"), channels=1, sample_rate=8000, levels=levels, features=4)
        plan = tile_plan(net, segment)
        for length in lengths:
            want = tiles_of(net, length, segment)
            got = call(count_tiles, net, length, segment)
            expect(
                got == want,
                f"levels={levels}, segment={segment}, a song of {length} samples: separate runs {want} tile(s), "
                f"you said {got}. Each tile keeps hop = output_length(valid_length(segment)) rounded down to a "
                f"multiple of the period 2 ** levels ({plan['n_out']} -> {plan['hop']} here), and the tiles must "
                "cover every sample of the song",
            )
    return "your tile counts match tile_plan on every case: well done"


CHECKS = {"count_tiles": check_count_tiles}
