"""The paper's Wave-U-Net: sizes, length arithmetic, and the bugs peers shipped."""

import pytest
import torch

from waveunet_lit.models import PRESETS, WaveUNet, center_crop
from waveunet_lit.models.wave_u_net import linear_upsample


SMALL = dict(sources=("vocals", "drums", "bass", "other"), channels=2, levels=3, features=4, down_kernel=5, up_kernel=3)


def small(**kw) -> WaveUNet:
    return WaveUNet(**{**SMALL, **kw})


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_m4_has_the_papers_parameter_count():
    assert n_params(WaveUNet.from_preset("M4")) == 10_263_390


def test_m1_takes_and_returns_16384_samples_as_in_the_paper():
    m1 = WaveUNet.from_preset("M1")
    assert m1.valid_length(16384) == 16384 and m1.output_length(16384) == 16384


def test_m4_lengths_match_the_paper():
    m4 = WaveUNet.from_preset("M4")
    assert m4.valid_length(16384) == 147443
    assert m4.output_length(147443) == 16389


def test_m4_forward_pass_agrees_with_the_arithmetic():
    m4 = WaveUNet.from_preset("M4")
    with torch.no_grad():
        out = m4(torch.zeros(1, 2, 147443))
    assert out.shape == (1, 2, 2, 16389)


def upsampled_channels(model: WaveUNet, n: int) -> list[int]:
    """Channels of every tensor that enters a learned interpolation, seen in a real forward pass."""
    seen = []
    hooks = [up.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[1])) for up in model.interpolate]
    with torch.no_grad():
        model(torch.zeros(1, model.channels, n))
    for h in hooks:
        h.remove()
    return seen


def check_one_weight_per_upsampled_channel(learned: WaveUNet, linear: WaveUNet) -> None:
    """Section 3.2.2: the learned interpolation adds one weight per channel it upsamples."""
    measured = upsampled_channels(learned, learned.valid_length(1))
    assert len(measured) == learned.levels
    assert n_params(learned) - n_params(linear) == sum(measured)


@pytest.mark.parametrize("levels, features", [(3, 4), (4, 5)])
def test_learned_upsampling_adds_one_weight_per_upsampled_channel(levels, features):
    check_one_weight_per_upsampled_channel(small(levels=levels, features=features, upsampling="learned"),
                                           small(levels=levels, features=features))


def test_m5_is_m4_plus_interpolation_weights():
    m5 = WaveUNet.from_preset("M5")
    assert n_params(m5) - n_params(WaveUNet.from_preset("M4")) == sum(up.weight.numel() for up in m5.interpolate)
    assert all(up.weight.dim() == 1 for up in m5.interpolate)  # a vector: one weight per channel


def test_one_shared_interpolation_weight_fails_the_check():
    broken = small(upsampling="learned")
    for up in broken.interpolate:
        up.weight = torch.nn.Parameter(torch.zeros(1))  # broadcasts: forward still runs
    with pytest.raises(AssertionError):
        check_one_weight_per_upsampled_channel(broken, small())


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


def check_skip_concatenated_once(model: WaveUNet) -> None:
    """Every up convolution reads the upsampled tensor plus its level's skip, once: channel
    counts measured on the tensors of a real forward pass (hooks), not from the constructor."""
    out_channels = {}

    def keep(name):
        return lambda mod, args, out: out_channels.__setitem__(name, out.shape[1])

    hooks = [conv.register_forward_hook(keep(("down", i))) for i, conv in enumerate(model.down)]
    hooks.append(model.bottleneck.register_forward_hook(keep("bottleneck")))
    hooks += [conv.register_forward_hook(keep(("up", i))) for i, conv in enumerate(model.up)]
    inputs = []
    hooks += [conv.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].shape[1])) for conv in model.up]
    with torch.no_grad():
        model(torch.randn(1, model.channels, model.valid_length(30)))
    for h in hooks:
        h.remove()
    L = model.levels
    for i, seen in enumerate(inputs):
        below = out_channels["bottleneck"] if i == 0 else out_channels[("up", i - 1)]
        skip = out_channels[("down", L - 1 - i)]
        assert seen == below + skip, f"up block {i} reads {seen} channels: {below} upsampled + {skip} skip expected"


class DoubleSkip(WaveUNet):
    """The bug of f90's PyTorch port (issue 14): the skip concatenated twice."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.up = torch.nn.ModuleList(
            torch.nn.Conv1d(conv.in_channels + skip.out_channels, conv.out_channels, conv.kernel_size[0])
            for conv, skip in zip(self.up, reversed(self.down))
        )

    def forward(self, mix):
        x, skips = mix, []
        for conv in self.down:
            x = torch.nn.functional.leaky_relu(conv(x), 0.2)
            skips.append(x)
            x = x[..., ::2]
        x = torch.nn.functional.leaky_relu(self.bottleneck(x), 0.2)
        for i, conv in enumerate(self.up):
            x = linear_upsample(x, True)
            skip = center_crop(skips[-1 - i], x.shape[-1])
            x = torch.nn.functional.leaky_relu(conv(torch.cat([skip, skip, x], dim=1)), 0.2)
        return x


def test_skip_is_concatenated_exactly_once_per_level():
    # f90's PyTorch port (issue 14) concatenated the skip again at depth > 1.
    for model in (small(features=4, levels=3), small(features=3, levels=4, upsampling="learned")):
        check_skip_concatenated_once(model)
    with pytest.raises(AssertionError, match="up block 0 reads"):
        check_skip_concatenated_once(DoubleSkip(**{**SMALL, "features": 4}))


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
