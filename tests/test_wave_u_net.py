"""The paper's Wave-U-Net: sizes, length arithmetic, and the bugs peers shipped."""

import pytest
import torch

from waveunet_lit.models import PRESETS, WaveUNet, center_crop


def small(**kw) -> WaveUNet:
    args = dict(sources=("vocals", "drums", "bass", "other"), channels=2, levels=3, features=4, down_kernel=5, up_kernel=3)
    return WaveUNet(**{**args, **kw})


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_m4_has_the_papers_parameter_count():
    assert n_params(WaveUNet.from_preset("M4")) == 10_263_390


def test_m4_lengths_match_the_paper():
    m4 = WaveUNet.from_preset("M4")
    assert m4.valid_length(16384) == 147443
    assert m4.output_length(147443) == 16389


def test_m4_forward_pass_agrees_with_the_arithmetic():
    m4 = WaveUNet.from_preset("M4")
    with torch.no_grad():
        out = m4(torch.zeros(1, 2, 147443))
    assert out.shape == (1, 2, 2, 16389)


def test_learned_upsampling_adds_one_weight_per_channel_and_level():
    # M5 = M4 + one interpolation weight per feature channel of each upsampling input (Sec. 3.2.2)
    extra = sum(24 * (12 + 1 - i) for i in range(12))
    assert n_params(WaveUNet.from_preset("M5")) - n_params(WaveUNet.from_preset("M4")) == extra


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_builds_with_paper_settings(preset):
    m = WaveUNet.from_preset(preset)
    assert m.levels == 12 and m.kernels == (15, 5, 1)
    assert m.sample_rate == (44100 if preset == "M5-HighSR" else 22050)
    assert len(m.sources) == (4 if preset == "M6" else 2)


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("upsampling", ["linear", "learned"])
@pytest.mark.parametrize("channels", [1, 2])
def test_forward_length_equals_output_length_for_many_n(context, upsampling, channels):
    m = small(context=context, upsampling=upsampling, channels=channels)
    lo = m.valid_length(1)
    lengths = range(lo, lo + 70) if context else range(8, 8 * 12, 8)
    with torch.no_grad():
        for n in lengths:
            out = m(torch.randn(2, channels, n))
            assert out.shape == (2, 4, channels, m.output_length(n)), n


@pytest.mark.parametrize("context", [True, False])
def test_valid_length_is_the_smallest_input_that_covers_n(context):
    m = small(context=context)
    for n in range(1, 300, 7):
        v = m.valid_length(n)
        assert m.output_length(v) >= n
        try:
            shorter = m.output_length(v - 1)
        except ValueError:
            continue  # v - 1 is not an input the model takes: fine
        assert shorter < n


def test_too_short_input_raises_a_clear_error():
    m = small()
    with pytest.raises(ValueError, match="shorter than the model's context"):
        m(torch.zeros(1, 2, m.valid_length(1) - 1))


def test_same_padding_needs_a_multiple_of_two_to_the_levels():
    m = small(context=False)
    with pytest.raises(ValueError, match="multiple of 2\\*\\*levels = 8"):
        m(torch.zeros(1, 2, 100))


def test_wrong_channel_count_is_rejected():
    with pytest.raises(ValueError, match=r"\(B, C=2, T\)"):
        small()(torch.zeros(1, 1, 200))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(down_kernel=4), "down_kernel"),
        (dict(up_kernel=0), "up_kernel"),
        (dict(levels=0), "levels"),
        (dict(upsampling="cubic"), "upsampling"),
        (dict(output="mask"), "output"),
        (dict(sources=("vocals",)), "at least two sources"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small(**kwargs)


def test_difference_output_sums_to_the_cropped_mixture():
    m = small()
    mix = torch.randn(3, 2, m.valid_length(50))
    with torch.no_grad():
        out = m(mix)
    torch.testing.assert_close(out.sum(1), center_crop(mix, out.shape[-1]), atol=1e-5, rtol=0)


def test_each_source_has_its_own_output_convolution():
    # A TF2 port shared one output conv between sources: every source then came out the same.
    m = small(output="direct")
    assert len(m.heads) == 4
    assert len({id(h.weight) for h in m.heads}) == 4
    with torch.no_grad():
        out = m(torch.randn(1, 2, m.valid_length(40)))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_skip_is_concatenated_exactly_once_per_level():
    # f90's PyTorch port (issue 14) concatenated the skip again at depth > 1.
    m = small(features=4, levels=3)
    for i, conv in enumerate(m.up):
        upsampled, skip = 4 * (3 + 1 - i), 4 * (3 - i)
        assert conv.in_channels == upsampled + skip


def test_output_is_centred_on_the_input():
    """Gradient probe: output sample j depends on inputs symmetric around j + (T_in - T_out) // 2."""
    m = small(channels=1).double()
    n = m.valid_length(9)
    x = torch.randn(1, 1, n, dtype=torch.float64, requires_grad=True)
    out = m(x)
    j = out.shape[-1] // 2
    out[0, 0, 0, j].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    centre = (touched[0] + touched[-1]) / 2
    assert centre == j + (n - out.shape[-1]) // 2


def test_learned_interpolation_starts_as_linear_and_learns_per_channel():
    from waveunet_lit.models.wave_u_net import LearnedInterpolation, linear_upsample

    x = torch.randn(2, 3, 11)
    up = LearnedInterpolation(3, context=True)
    torch.testing.assert_close(up(x), linear_upsample(x, context=True))
    with torch.no_grad():
        up.weight[1] = 20.0  # sigmoid -> 1: channel 1 copies the left neighbour
    y = up(x)
    torch.testing.assert_close(y[:, 1, 1::2], x[:, 1, :-1], atol=1e-6, rtol=0)
    torch.testing.assert_close(y[:, 0], linear_upsample(x, context=True)[:, 0])
