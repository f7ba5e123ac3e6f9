"""waveunet_lit.models.polyphase: the fast strided filters equal torch's depthwise convolutions,
their hand-written backward passes are the true gradients, and SincResample's bfloat16 path
computes the float32 function to bfloat16 accuracy."""

import pytest
import torch
from torch.autograd import gradcheck
from torch.nn import functional as F

from waveunet_lit.models.polyphase import FilterDown, FilterUp, strided_filter, stuffed_filter
from waveunet_lit.models.port import SincResample


@pytest.mark.parametrize("stride,taps", [(2, 15), (4, 15), (3, 7), (4, 4), (1, 5)])
@pytest.mark.parametrize("n", [17, 18, 25])
def test_filters_equal_torch_depthwise_convolutions(stride, taps, n):
    g = torch.Generator().manual_seed(stride * 100 + taps + n)
    h = torch.randn(taps, generator=g, dtype=torch.float64)
    x = torch.randn(2, 3, n, generator=g, dtype=torch.float64)
    kernel = h.expand(3, 1, taps)
    assert torch.allclose(strided_filter(x, h, stride), F.conv1d(x, kernel, stride=stride, groups=3))
    assert torch.allclose(stuffed_filter(x, h, stride), F.conv_transpose1d(x, kernel, stride=stride, groups=3))


@pytest.mark.parametrize("stride,taps", [(4, 15), (3, 7)])
def test_filters_on_4d_signals(stride, taps):
    """(B, D, 1, n), as the port model holds its signals: the same values as (B, D, n), the
    layout kept (both the strided and the interleaved output)."""
    g = torch.Generator().manual_seed(stride + taps)
    h = torch.randn(taps, generator=g, dtype=torch.float64)
    x = torch.randn(2, 3, 29, generator=g, dtype=torch.float64)
    for channels_last in (True, False):  # the port's layout on a CPU, and on a GPU
        x4 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        for f in (strided_filter, stuffed_filter):
            y4 = f(x4, h, stride)
            assert torch.allclose(y4.squeeze(2), f(x, h, stride))
            assert (y4.stride(1) == 1) == channels_last  # channels innermost or not, as given
        v = x4.clone(memory_format=torch.preserve_format).requires_grad_()
        assert gradcheck(lambda t: FilterDown.apply(t, h, stride), (v,), fast_mode=True)  # fast: a random projection
        assert gradcheck(lambda t: FilterUp.apply(t, h, stride), (v,), fast_mode=True)


@pytest.mark.parametrize("stride,n", [(4, 33), (4, 35), (3, 20)])
def test_backward_passes_are_the_gradients(stride, n):
    """gradcheck compares each hand-written backward with finite differences (n = 35: the two
    samples past the last window of FilterDown get zero gradient)."""
    g = torch.Generator().manual_seed(n)
    h = torch.randn(15, generator=g, dtype=torch.float64)
    x = torch.randn(2, 3, n, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda v: FilterDown.apply(v, h, stride), (x,))
    assert gradcheck(lambda v: FilterUp.apply(v, h, stride), (x,))


def test_a_wrong_backward_fails_gradcheck():
    """The check above can fail: a backward that forgets to zero-pad the tail, or flips the filter."""

    class Flipped(FilterUp):
        @staticmethod
        def backward(ctx, grad):
            (h,) = ctx.saved_tensors
            return strided_filter(grad, h.flip(0), ctx.stride), None, None

    h = torch.arange(1.0, 8.0, dtype=torch.float64)
    x = torch.randn(1, 2, 9, dtype=torch.float64, requires_grad=True)
    assert not gradcheck(lambda v: Flipped.apply(v, h, 2), (x,), raise_exception=False)


@pytest.mark.parametrize("transpose", [False, True])
def test_sinc_resample_bf16_path_matches_float32(transpose):
    """Under bf16 autocast SincResample takes the polyphase path; output and input gradient
    agree with the float32 path to bfloat16's precision (8 bits: about 0.4 % of the scale)."""
    torch.manual_seed(0)
    layer = SincResample(16, stride=4, taps=15, transpose=transpose)
    x = torch.randn(2, 16, 4 * 40 + 1, requires_grad=True)
    y32 = layer(x)
    (g32,) = torch.autograd.grad(y32.pow(2).sum(), x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y16 = layer(x)
    assert y16.dtype == torch.bfloat16 and y16.shape == y32.shape
    (g16,) = torch.autograd.grad(y16.float().pow(2).sum(), x)
    assert (y16.float() - y32).abs().max() < 0.02 * y32.abs().max()
    assert (g16 - g32).abs().max() < 0.02 * g32.abs().max()
