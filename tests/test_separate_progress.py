"""separate()'s tile callback: counts every tile of every pass, and an exception it raises
stops the separation (how the web app cancels a job between tiles)."""

import pytest
import torch

from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate


def _net():
    torch.manual_seed(0)
    return WaveUNet(sources=("vocals", "accompaniment"), channels=1, sample_rate=8000, levels=3, features=4).eval()


@pytest.mark.parametrize("shifts", [0, 2])
def test_on_tiles_counts_up_to_the_total(shifts):
    calls = []
    separate(_net(), torch.randn(1, 9000), rate=8000, segment=1000, batch_size=2, shifts=shifts,
             on_tiles=lambda done, total: calls.append((done, total)))
    totals = {t for _, t in calls}
    assert len(totals) == 1 and calls[-1][0] == calls[-1][1] > 2
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert all(b - a <= 2 for a, b in zip([0] + done, done))  # one call per batch of <= 2 tiles


def test_an_exception_from_on_tiles_stops_the_separation():
    class Stop(Exception):
        pass

    seen = []

    def stop_after_first(done, total):
        seen.append(done)
        raise Stop

    with pytest.raises(Stop):
        separate(_net(), torch.randn(1, 9000), rate=8000, segment=1000, batch_size=1, on_tiles=stop_after_first)
    assert seen == [1]
