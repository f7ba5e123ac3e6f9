"""WaveUNet.inference_forward (the no-grad fast path: time-major activations, in-place
activations, one preallocated buffer per concatenation) gives the plain forward's numbers, and
training keeps its gradients."""

import pytest
import torch

import waveunet_lit.models.wave_u_net as wave_u_net
from waveunet_lit.models import WaveUNet, center_crop
from waveunet_lit.models.time_major import Conv1d, empty_time_major, is_time_major, to_time_major
from waveunet_lit.models.wave_u_net import linear_upsample
from waveunet_lit.separate import separate

SMALL = dict(sources=("vocals", "drums", "bass", "other"), channels=2, levels=3, features=4, down_kernel=5, up_kernel=3)


def small(**kw) -> WaveUNet:
    torch.manual_seed(0)
    net = WaveUNet(**{**SMALL, **kw}).eval()
    for up in net.interpolate:  # learned weights away from their 0.5 start, so they matter
        torch.nn.init.normal_(up.weight)
    return net


def plain(net: WaveUNet, mix: torch.Tensor) -> torch.Tensor:
    """The reference: the straightforward forward of the paper's layers, under no_grad."""
    net.fast_inference = False
    try:
        with torch.no_grad():
            return net(mix)
    finally:
        net.fast_inference = True


def fast(net: WaveUNet, mix: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return net(mix)


@pytest.mark.parametrize("context", [True, False])
@pytest.mark.parametrize("upsampling", ["linear", "learned"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("output, activation", [("difference", "tanh"), ("direct", "identity")])
def test_fast_path_equals_the_plain_forward(context, upsampling, channels, output, activation):
    net = small(context=context, upsampling=upsampling, channels=channels, output=output, output_activation=activation)
    torch.manual_seed(1)
    n = net.valid_length(200) + (3 if context else 0)  # an odd surplus: crops drop a sample at the end
    mix = torch.randn(3, channels, n)
    got = fast(net, mix)
    assert got.shape == (3, 4, channels, net.output_length(n)) and got.is_contiguous()
    torch.testing.assert_close(got, plain(net, mix), atol=1e-6, rtol=0)


def test_fast_path_of_m4_equals_the_plain_forward_within_1e_5():
    torch.manual_seed(0)
    m4 = WaveUNet.from_preset("M4").eval()
    mix = 0.3 * torch.randn(1, 2, m4.valid_length(4096))
    torch.testing.assert_close(fast(m4, mix), plain(m4, mix), atol=1e-5, rtol=0)


def test_the_comparison_catches_a_skip_cropped_one_sample_off(monkeypatch):
    net = small()
    mix = torch.randn(2, 2, net.valid_length(100))
    reference = plain(net, mix)

    def crop_one_late(x, length):
        return center_crop(x[..., 2:], length)  # starts one sample later, whatever the surplus's parity

    monkeypatch.setattr(wave_u_net, "center_crop", crop_one_late)  # the fast path reads it from there
    assert (fast(net, mix) - reference).abs().max() > 1e-3


def test_separation_with_the_fast_path_gives_the_plain_stems():
    torch.manual_seed(0)
    net = WaveUNet(sources=("vocals", "accompaniment"), channels=2, sample_rate=4000, levels=6, features=4).eval()
    song = 0.3 * torch.randn(2, 30_000)
    got = separate(net, song, rate=44100)
    net.fast_inference = False
    want = separate(net, song, rate=44100)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_training_keeps_its_gradients():
    net = small().train()
    mix = torch.randn(2, 2, net.valid_length(50), requires_grad=True)
    out = net(mix)  # grad enabled: the plain forward, nothing in place
    assert out.requires_grad
    out.square().mean().backward()
    assert mix.grad is not None and all(p.grad is not None for p in net.parameters())
    with pytest.raises(RuntimeError, match="torch.no_grad"):
        net.inference_forward(mix)


def test_time_major_conv_equals_nn_conv1d_and_stays_time_major():
    torch.manual_seed(0)
    conv, ref = Conv1d(6, 5, 7, padding=3), torch.nn.Conv1d(6, 5, 7, padding=3)
    ref.load_state_dict(conv.state_dict())  # the same parameters, by the same names
    x = torch.randn(2, 6, 101)
    with torch.no_grad():
        for inp in (x, to_time_major(x), to_time_major(x)[..., ::2]):  # plain, time-major, decimated view
            y = conv(inp)
            torch.testing.assert_close(y, ref(inp.contiguous()), atol=1e-5, rtol=0)
            assert is_time_major(y) == is_time_major(inp)


def test_linear_upsampling_into_a_buffer_slice_gives_the_same_numbers():
    x = torch.randn(2, 3, 9)
    for context, n in ((True, 17), (False, 18)):
        buf = empty_time_major(2, 5, n, like=x)  # (B, 2 + 3, n): the upsampled part in channels 2..4
        linear_upsample(x, context, out=buf[:, 2:])
        assert torch.equal(buf[:, 2:], linear_upsample(x, context))
