"""The faster defaults of `separate` (tiles four times a long context, shortened to the fewest
equal tiles covering the song, a cap on input samples per forward pass) change no stem: they equal one forward pass over the whole padded song and the
former defaults (3 s tiles, 4 tiles per pass) within 1e-5."""

import pytest
import torch

from waveunet_lit.models import WaveUNet
from waveunet_lit.separate import separate, tile_plan


def long_context_net():
    """A 'valid' Wave-U-Net whose context (~1 s each side at 4 kHz) exceeds 3 s tiles' worth,
    as M4's does, small enough to run in a second."""
    torch.manual_seed(0)
    return WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=4000, levels=8, features=2).eval()


def one_pass(model, song):
    """The reference: one forward pass over the whole song, zero-padded by its context."""
    T = song.shape[-1]
    n_in = model.valid_length(T)
    offset = (n_in - model.output_length(n_in)) // 2
    padded = torch.nn.functional.pad(song, (offset, n_in - offset - T))  # (C, n_in)
    with torch.no_grad():
        return model(padded[None])[0, ..., :T]  # (S, C, T)


def test_default_tiles_cover_four_times_the_context():
    model = long_context_net()
    plan, former = tile_plan(model), tile_plan(model, segment=3 * model.sample_rate)
    assert plan["n_out"] >= 4 * (plan["n_in"] - plan["n_out"]) > former["n_out"]
    assert plan["hop"] % model.period == 0


def tile_lengths(model, song, **kwargs) -> list[int]:
    """Input samples of every tile `separate` runs (one tile per forward pass)."""
    seen = []
    hook = model.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[-1]))
    try:
        separate(model, song, rate=model.sample_rate, batch_size=1, **kwargs)
    finally:
        hook.remove()
    return seen


def test_default_tiles_are_the_fewest_equal_ones():
    model = long_context_net()
    plan = tile_plan(model)
    song = torch.randn(2, 3 * plan["hop"] + plan["hop"] // 3)  # 4 default hops, the last one mostly empty
    lengths = tile_lengths(model, song)
    assert len(lengths) == 4 and len(set(lengths)) == 1 and lengths[0] < plan["n_in"]
    # a segment that is asked for is kept as it is
    assert set(tile_lengths(model, song, segment=plan["hop"])) == {plan["n_in"]}


def test_faster_defaults_give_the_same_stems():
    model = long_context_net()
    torch.manual_seed(1)
    song = 0.3 * torch.randn(2, 40_000)  # 10 s: several tiles either way
    fast = separate(model, song, rate=4000)
    former = separate(model, song, rate=4000, segment=3 * 4000, batch_size=4, max_batch_samples=None)
    torch.testing.assert_close(fast, one_pass(model, song), atol=1e-5, rtol=0)
    torch.testing.assert_close(fast, former, atol=1e-5, rtol=0)
    # the check can fail: a one-sample misalignment of the song is far outside 1e-5
    shifted = separate(model, torch.roll(song, 1, -1), rate=4000)
    assert (shifted - fast).abs().max() > 1e-3


def test_faster_defaults_through_resampling():
    model = long_context_net()
    torch.manual_seed(2)
    song = 0.3 * torch.randn(2, 60_000)  # 44.1 kHz -> 4 kHz model -> 44.1 kHz
    fast = separate(model, song, rate=44100)
    former = separate(model, song, rate=44100, segment=3 * 4000, batch_size=4, max_batch_samples=None)
    torch.testing.assert_close(fast, former, atol=1e-5, rtol=0)


def test_batch_cap_bounds_tiles_per_pass():
    model = long_context_net()
    calls = []
    n_in = tile_plan(model)["n_in"]
    separate(model, torch.randn(2, 60_000), rate=4000, batch_size=4, max_batch_samples=n_in,
             on_tiles=lambda done, total: calls.append((done, total)))
    assert [d for d, _ in calls] == list(range(1, calls[-1][1] + 1))  # one tile per forward pass
    with pytest.raises(ValueError, match="max_batch_samples"):
        separate(model, torch.randn(2, 100), rate=4000, max_batch_samples=0)
