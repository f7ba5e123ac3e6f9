"""The Wave-U-Net family: strided, dilated (multiscale), mask-output and the PyTorch-port recipe.

For every variant: forward length == output_length over many input lengths, valid_length is
minimal and consistent, the computed receptive field equals a gradient probe's, shapes for mono
and stereo, and bad configurations fail at construction naming the argument.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from waveunet_lit.models.dilated import DilatedWaveUNet
from waveunet_lit.models.mask_unet import MaskUNet
from waveunet_lit.models.port import PortWaveUNet, SincResample, blackman_window, sinc_lowpass
from waveunet_lit.models.strided import StridedWaveUNet
from waveunet_lit.models.wave_u_net import WaveUNet
from waveunet_lit.receptive_field import measure_receptive_field, receptive_field

TWO = ("vocals", "accompaniment")
FOUR = ("vocals", "drums", "bass", "other")

# Small models, one per interesting configuration: (id, factory(channels) -> model).
VARIANTS = {
    "strided-k4s2p1": lambda C: StridedWaveUNet(sources=TWO, channels=C, levels=3, features=3, kernel_size=4, stride=2, padding=1),
    "strided-k7s3p0": lambda C: StridedWaveUNet(sources=FOUR, channels=C, levels=2, features=3, kernel_size=7, stride=3, padding=0),
    "strided-k8s4p2": lambda C: StridedWaveUNet(sources=TWO, channels=C, levels=2, features=2, kernel_size=8, stride=4, padding=2, bottleneck_kernel=5),
    "dilated": lambda C: DilatedWaveUNet(sources=TWO, channels=C, levels=2, features=2, depth=3),
    "dilated-multiscale": lambda C: DilatedWaveUNet(sources=FOUR, channels=C, levels=2, features=2, depth=2, kernel_size=5, dilation_growth=3, branches=(1, 4)),
    "mask": lambda C: MaskUNet(sources=FOUR, channels=1, levels=3, features=4, kernel_size=5, padding=2),
    "mask-k8s4": lambda C: MaskUNet(sources=TWO, channels=1, levels=2, features=2, kernel_size=8, stride=4, padding=2, mask="softmax"),
    "port-fixed": lambda C: PortWaveUNet(sources=TWO, channels=C, features=8, levels=3, strides=2, norm="none"),
    "port-fixed-s4-depth2-batch": lambda C: PortWaveUNet(sources=TWO, channels=C, features=8, levels=3, strides=4, kernel_size=3, depth=2, norm="batch", filter_taps=9),
    "port-learned-shared-add": lambda C: PortWaveUNet(sources=FOUR, channels=C, features=8, levels=3, strides=3, feature_growth="add", norm="none", resampling="learned", separate=False),
    "wave-u-net": lambda C: WaveUNet(sources=TWO, channels=C, levels=3, features=2, down_kernel=5, up_kernel=3),
}
MONO_ONLY = {"mask", "mask-k8s4"}


def period(model) -> int:
    """The resampling period along the output: receptive fields repeat with it."""
    return model.period


def accepts(model, n: int) -> bool:
    try:
        model.output_length(n)
        return True
    except ValueError:
        return False


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request):
    torch.manual_seed(0)
    channels = 1 if request.param in MONO_ONLY else 2
    return request.param, VARIANTS[request.param](channels).eval()


# ------------------------------------------------------------------ lengths
def test_forward_length_matches_output_length_over_many_lengths(variant):
    name, model = variant
    first = model.valid_length(1)
    lengths = sorted({first, first + 1, *(model.valid_length(n) for n in (7, 50, 123, 301, 512, 999))})
    lengths += [first + 2, first + 3, 257, 331]  # raw lengths: accepted or refused with ValueError
    for n in lengths:
        x = torch.randn(2, model.channels, n)
        if accepts(model, n):
            with torch.no_grad():
                out = model(x)
            assert out.shape == (2, len(model.sources), model.channels, model.output_length(n)), (name, n)
        else:
            with pytest.raises(ValueError, match="valid_length|too short|needs"):
                model(x)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=3000))
def test_valid_length_is_minimal_and_consistent(n):
    for make in VARIANTS.values():
        model = make(1)
        m = model.valid_length(n)
        assert model.output_length(m) >= n
        assert model.valid_length(model.output_length(m)) <= m
        # Minimal: every shorter input is refused or gives fewer than n samples.
        for shorter in range(max(1, m - 3 * period(model) - 40), m):
            assert not accepts(model, shorter) or model.output_length(shorter) < n, (model, n, shorter)


def test_too_short_input_raises_clearly(variant):
    name, model = variant
    if model.valid_length(1) == 1:
        pytest.skip("every length is accepted")
    with pytest.raises(ValueError, match="valid_length|too short|needs"):
        model(torch.zeros(1, model.channels, model.valid_length(1) - 1))


def test_same_length_models_return_the_input_length():
    for n in (5, 64, 1001, 1002, 4097):
        assert StridedWaveUNet(levels=2, kernel_size=4, stride=2, padding=1).output_length(n) == n
        assert MaskUNet(levels=3).output_length(n) == n


# ------------------------------------------------------------------ receptive field
def test_measured_receptive_field_equals_computed(variant):
    name, model = variant
    rf, P = receptive_field(model), period(model)
    n = model.valid_length(2 * rf + 4 * P)  # the probed outputs stay away from the borders
    assert measure_receptive_field(model, n, outputs=P) == rf, name


def test_receptive_field_grows_with_dilation_and_levels():
    base = DilatedWaveUNet(levels=2, depth=2).receptive_field()
    assert DilatedWaveUNet(levels=2, depth=3).receptive_field() > base
    assert DilatedWaveUNet(levels=3, depth=2).receptive_field() > base
    assert DilatedWaveUNet(levels=2, depth=2, branches=(1, 4)).receptive_field() > base
    assert DilatedWaveUNet(levels=2, depth=2, dilation_growth=1).receptive_field() < base


def test_probe_sees_a_too_small_formula():
    """The probe is independent of the formula: a model whose true field is larger is caught."""
    model = VARIANTS["strided-k4s2p1"](1)
    n = model.valid_length(4 * model.receptive_field())
    small = StridedWaveUNet(sources=TWO, channels=1, levels=2, features=3, kernel_size=4, stride=2, padding=1)
    assert measure_receptive_field(model, n, outputs=8) != small.receptive_field()


# ------------------------------------------------------------------ shapes, mono/stereo
@pytest.mark.parametrize("name", [k for k in VARIANTS if k not in MONO_ONLY])
@pytest.mark.parametrize("channels", [1, 2])
def test_shapes_mono_and_stereo(name, channels):
    model = VARIANTS[name](channels)
    n = model.valid_length(200)
    out = model(torch.randn(3, channels, n))
    assert out.shape == (3, len(model.sources), channels, model.output_length(n))
    with pytest.raises(ValueError, match=r"\(B, C=%d, T\)" % channels):
        model(torch.randn(3, 3 - channels, n))


def test_every_source_has_its_own_output_layer():
    """Peers shipped one output convolution shared by all sources; the estimates must differ."""
    for make in (VARIANTS["strided-k4s2p1"], VARIANTS["dilated"], VARIANTS["port-fixed"]):
        model = make(2)
        out = model(torch.randn(1, 2, model.valid_length(100)))
        assert not torch.allclose(out[:, 0], out[:, 1])


# ------------------------------------------------------------------ mask U-Net
def test_mask_unet_is_mono_and_says_so():
    with pytest.raises(ValueError, match="channels"):
        MaskUNet(channels=2)
    model = MaskUNet(levels=2, features=2)
    with pytest.raises(ValueError, match=r"C=1"):
        model(torch.zeros(1, 2, 64))


def test_mask_unet_output_is_a_mask_times_the_mixture():
    torch.manual_seed(0)
    model = MaskUNet(sources=FOUR, levels=3, features=4).eval()
    mix = torch.randn(2, 1, 300)
    out = model(mix)
    assert out.shape == (2, 4, 1, 300)
    assert torch.all(out.abs() <= mix.abs()[:, None] + 1e-6)  # sigmoid gains in [0, 1]
    assert torch.all(model(torch.zeros(2, 1, 300)) == 0)  # silence in, silence out
    soft = MaskUNet(sources=FOUR, levels=3, features=4, mask="softmax").eval()
    torch.testing.assert_close(soft(mix).sum(dim=1), mix)  # softmax masks: stems add up


def test_mask_unet_layers_follow_the_recipe():
    model = MaskUNet()  # 16 -> 512 filters, batch norm, dropout 0.5 in three decoder layers
    widths = [layer[0].out_channels for layer in model.encoder]
    assert widths == [16, 32, 64, 128, 256, 512]
    assert all(isinstance(layer[1], torch.nn.BatchNorm1d) for layer in model.encoder)
    assert sorted(d.p for d in model.dropout) == [0.0, 0.0, 0.5, 0.5, 0.5]
    assert model.decoder[0].out_channels == 4  # one mask per source


# ------------------------------------------------------------------ port recipe and its bugs
def test_port_skip_is_concatenated_once_when_depth_above_one():
    """f90/Wave-U-Net-Pytorch issue 14: the skip was concatenated again before each post conv."""
    depth = 3
    model = PortWaveUNet(sources=TWO, channels=1, features=8, levels=3, strides=2, depth=depth, norm="none")
    net = model.nets[0]
    seen: dict[int, list[int]] = {}
    for i, stack in enumerate(net.up_post):
        for conv in stack:
            conv.register_forward_pre_hook(lambda m, inputs, i=i: seen.setdefault(i, []).append(inputs[0].shape[1]))
    model(torch.randn(1, 1, model.valid_length(50)))
    for i, widths in seen.items():
        W = model.widths[i]
        assert widths == [2 * W] + [W] * (depth - 1), f"up block {i} saw {widths}"
    # And the parameters agree: only the first post conv of each up block reads 2 W channels.
    assert [c.conv.in_channels for c in net.up_post[0]] == [16, 8, 8]


def test_port_window_cosine_terms_vary_with_the_tap():
    """f90/Wave-U-Net-Pytorch issue 21: ``cos(4 pi M)`` is constant, turning Blackman into Hann."""
    for taps in (5, 15, 31):
        w = blackman_window(taps).numpy()
        np.testing.assert_allclose(w, np.blackman(taps + 2)[1:-1], atol=1e-12)  # a real Blackman window
        n = np.arange(1, taps + 1)
        second_term = w - (0.42 - 0.5 * np.cos(2 * np.pi * n / (taps + 1)))
        assert np.ptp(second_term) > 0.1  # varies with the tap index
        hann_like_bug = 0.42 - 0.5 * np.cos(2 * np.pi * n / (taps + 1)) + 0.08
        assert np.max(np.abs(w - hann_like_bug)) > 0.05


def test_sinc_resampling_keeps_a_constant_and_passes_low_frequencies():
    h = sinc_lowpass(15, 0.125)
    assert abs(float(h.sum()) - 1) < 1e-12 and torch.allclose(h, h.flip(0))
    down, up = SincResample(1, 4, 15, transpose=False), SincResample(1, 4, 15, transpose=True)
    x = torch.ones(1, 1, 4 * 30 + 1)
    y = down(x)
    assert y.shape[-1] == 31 and torch.allclose(y, torch.ones_like(y), atol=1e-5)
    z = up(y)
    # Away from the borders the level is kept; a 15-tap filter leaves a ripple of about 2 %
    # with period `stride` (the polyphase branches do not sum to exactly 1), as in the port.
    assert z.shape[-1] == 121 and torch.allclose(z[..., 8:-8], torch.ones(1, 1, 105), atol=0.03)
    assert abs(float(z[..., 8:-8].mean()) - 1) < 1e-3


def test_port_separate_or_shared():
    sep = PortWaveUNet(sources=FOUR, channels=2, features=8, levels=2, separate=True)
    shared = PortWaveUNet(sources=FOUR, channels=2, features=8, levels=2, separate=False)
    assert len(sep.nets) == 4 and all(net.output.out_channels == 2 for net in sep.nets)
    assert len(shared.nets) == 1 and shared.nets[0].output.out_channels == 8
    n = sep.valid_length(100)
    assert sep(torch.zeros(1, 2, n)).shape == shared(torch.zeros(1, 2, n)).shape == (1, 4, 2, sep.output_length(n))


@pytest.mark.parametrize("growth,widths", [("add", [8, 16, 24, 32]), ("double", [8, 16, 32, 64])])
def test_port_feature_growth(growth, widths):
    assert PortWaveUNet(features=8, levels=4, feature_growth=growth).widths == widths


def test_port_norm_choices_build_the_right_layers():
    for norm, cls in (("batch", torch.nn.BatchNorm1d), ("group", torch.nn.GroupNorm), ("none", torch.nn.Identity)):
        model = PortWaveUNet(features=8, levels=2, norm=norm)
        assert isinstance(model.nets[0].bottleneck[0].norm, cls)


# ------------------------------------------------------------------ bad configurations
BAD = [
    (StridedWaveUNet, dict(kernel_size=3, stride=4, padding=0), "kernel_size"),
    (StridedWaveUNet, dict(stride=1), "stride"),
    (StridedWaveUNet, dict(kernel_size=8, stride=4, padding=4), "padding"),
    (StridedWaveUNet, dict(levels=0), "levels"),
    (StridedWaveUNet, dict(levels=40), "levels"),
    (StridedWaveUNet, dict(bottleneck_kernel=4), "bottleneck_kernel"),
    (DilatedWaveUNet, dict(kernel_size=4), "kernel_size"),
    (DilatedWaveUNet, dict(branches=(1, 1)), "branches"),
    (DilatedWaveUNet, dict(branches=()), "branches"),
    (DilatedWaveUNet, dict(dilation_growth=0), "dilation_growth"),
    (DilatedWaveUNet, dict(levels=40), "levels"),
    (MaskUNet, dict(channels=2), "channels"),
    (MaskUNet, dict(kernel_size=2, stride=4, padding=0), "kernel_size"),
    (MaskUNet, dict(dropout=1.0), "dropout"),
    (MaskUNet, dict(mask="relu"), "mask"),
    (PortWaveUNet, dict(levels=1), "levels"),
    (PortWaveUNet, dict(kernel_size=4), "kernel_size"),
    (PortWaveUNet, dict(filter_taps=14), "filter_taps"),
    (PortWaveUNet, dict(strides=1), "strides"),
    (PortWaveUNet, dict(resampling="learned", kernel_size=3, strides=4), "kernel_size"),
    (PortWaveUNet, dict(norm="group", features=12), "features"),
    (PortWaveUNet, dict(norm="layer"), "norm"),
    (PortWaveUNet, dict(feature_growth="triple"), "feature_growth"),
    (PortWaveUNet, dict(resampling="nearest"), "resampling"),
    (PortWaveUNet, dict(levels=20), "levels"),
]


@pytest.mark.parametrize("cls,kwargs,argument", BAD, ids=[f"{c.__name__}-{a}-{i}" for i, (c, _, a) in enumerate(BAD)])
def test_bad_configs_fail_at_construction_naming_the_argument(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls(**kwargs)
