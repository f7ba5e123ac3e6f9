"""waveunet_lit.models.channels_last: the 1-D layers on (B, C, 1, n) channels-last tensors compute
what nn.Conv1d & co compute on (B, C, n), keep the layout, and keep it in the gradients; the
port model run that way is the same function as its layers run on plain (B, C, n), and runs
that way in bfloat16 on a CPU only (layout_for)."""

import pytest
import torch
from torch import nn

from waveunet_lit.models import port as port_module
from waveunet_lit.models.channels_last import BatchNorm1d, Conv1d, ConvTranspose1d, crop, is_channels_last, layout_for
from waveunet_lit.models.common import center_crop
from waveunet_lit.models.port import PortWaveUNet

CL = torch.channels_last


def time_major(x: torch.Tensor) -> torch.Tensor:
    """(B, C, n) -> (B, C, 1, n) in channels-last memory, a leaf that requires grad."""
    return x.detach().unsqueeze(2).contiguous(memory_format=CL).requires_grad_()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Conv1d(3, 5, 5),
        lambda: Conv1d(3, 6, 3, stride=2, padding=1, dilation=2, groups=3),
        lambda: Conv1d(3, 5, 5, padding="same"),
        lambda: Conv1d(3, 5, 4, padding="same"),  # three zeros: one on the left, two on the right
        lambda: Conv1d(3, 5, 5, padding="valid"),
        lambda: Conv1d(3, 5, 5, padding=2, padding_mode="reflect"),
        lambda: Conv1d(3, 5, 4, padding=3, padding_mode="replicate", stride=2),
        lambda: Conv1d(3, 5, 5, padding=2, padding_mode="circular"),
        lambda: ConvTranspose1d(3, 5, 5, stride=4, padding=4),
        lambda: BatchNorm1d(3),
    ],
    ids=["conv", "conv-strided-dilated-grouped", "conv-same", "conv-same-even", "conv-valid", "conv-reflect",
         "conv-replicate-strided", "conv-circular", "transposed", "batchnorm"],
)
def test_layers_equal_their_1d_originals(make):
    torch.manual_seed(0)
    layer = make().double()
    x = torch.randn(2, 3, 41, dtype=torch.float64, requires_grad=True)
    x4 = time_major(x)
    y, y4 = layer(x), layer(x4)
    assert y4.shape == (y.shape[0], y.shape[1], 1, y.shape[2]) and y4.is_contiguous(memory_format=CL)
    assert torch.allclose(y4.squeeze(2), y)
    assert torch.allclose(layer(x.detach().unsqueeze(2)).squeeze(2), y)  # (B, C, 1, n) in the usual layout too
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, *layer.parameters()], g)
    grads4 = torch.autograd.grad(y4, [x4, *layer.parameters()], g.unsqueeze(2))
    assert torch.allclose(grads4[0].squeeze(2), grads[0])
    for a, b in zip(grads4[1:], grads[1:]):
        assert torch.allclose(a, b)


def test_layers_are_their_nn_originals():
    """Same class for isinstance checks (waveunet info counts MACs by them) and the same state dict."""
    assert isinstance(Conv1d(2, 3, 5), nn.Conv1d) and isinstance(ConvTranspose1d(2, 3, 5), nn.ConvTranspose1d)
    ours, theirs = BatchNorm1d(4), nn.BatchNorm1d(4)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    assert Conv1d(2, 3, 5).weight.shape == nn.Conv1d(2, 3, 5).weight.shape == (3, 2, 5)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected .* got \(2, 4, 1, 1, 5\)"):
        BatchNorm1d(4)(torch.zeros(2, 4, 1, 1, 5))


def test_crop_is_center_crop_and_its_gradient_stays_channels_last():
    x = time_major(torch.randn(2, 4, 30))
    h = x * 2  # not a leaf: a leaf's .grad follows its own layout whatever the backward returns
    assert torch.equal(crop(h, 21), center_crop(h, 21))
    wide = torch.randn(2, 8, 1, 21).contiguous(memory_format=CL)[:, :4]  # a channel slice, as torch.cat's backward gives

    def grad_of_h(cropper):
        (g,) = torch.autograd.grad(cropper(h, 21), h, wide)
        return g

    ours, sliced = grad_of_h(crop), grad_of_h(center_crop)
    assert torch.equal(ours, sliced)
    assert ours.is_contiguous(memory_format=CL)
    assert not sliced.is_contiguous(memory_format=CL)  # what crop is for: plain slicing loses the layout


def test_crop_rejects_impossible_lengths():
    x = torch.zeros(1, 2, 1, 10)
    for n in (0, 11):
        with pytest.raises(ValueError, match=f"crop: cannot crop 10 samples to {n}"):
            crop(x, n)


@pytest.mark.parametrize("norm,resampling", [("group", "fixed"), ("batch", "learned"), ("none", "fixed")])
def test_port_model_is_the_function_of_its_plain_layers(norm, resampling):
    """PortWaveUNet's nets on (B, C, 1, n) channels-last (its layout in bf16 on a CPU) and on
    (B, C, n) give the same estimates and weight gradients, and the model itself (float64 here:
    the usual layout) and its nets on (B, C, 1, n) in the usual layout the same estimates."""
    torch.manual_seed(0)
    model = PortWaveUNet(sources=("a", "b"), features=8, levels=3, strides=4, norm=norm, resampling=resampling).double()
    mix = torch.randn(2, 2, model.valid_length(300), dtype=torch.float64)
    out = torch.cat([net(time_major(mix)) for net in model.nets], 1).reshape(2, 2, 2, -1)  # (B, S, C, n)
    ref = torch.cat([net(mix) for net in model.nets], 1).reshape(out.shape)  # the plain (B, C, n) path
    assert torch.allclose(out, ref)
    own = model(mix)  # float64: the usual layout
    assert own.is_contiguous() and torch.allclose(own, ref)
    usual_layout = torch.cat([net(mix.unsqueeze(2)) for net in model.nets], 1)  # (B, C, 1, n) not channels-last
    assert torch.allclose(usual_layout.reshape(out.shape), ref)
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(out.square().sum(), params), torch.autograd.grad(ref.square().sum(), params)):
        assert torch.allclose(a, b)


def conv_inputs(model: PortWaveUNet, mix: torch.Tensor) -> list[torch.Tensor]:
    """The input of every convolution in one forward pass of ``model``."""
    inputs = []
    handles = [m.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
               for m in model.modules() if isinstance(m, port_module.ConvLayer)]
    model(mix)
    for h in handles:
        h.remove()
    return inputs


def test_layout_for_is_channels_last_only_for_bfloat16_on_the_cpu():
    x = torch.zeros(1, 2, 8)
    assert layout_for(x) == layout_for(x.double()) == torch.contiguous_format
    assert layout_for(x.bfloat16()) == CL
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layout_for(x) == CL
        assert layout_for(torch.zeros(1, 2, 8, device="meta")) == torch.contiguous_format  # not a CPU tensor
    with torch.autocast("cpu", dtype=torch.float16):
        assert layout_for(x) == torch.contiguous_format


def test_port_runs_float32_in_the_usual_layout_and_bfloat16_channels_last():
    """In float32 no convolution's input is channels-last (oneDNN's float32 convolutions are
    faster without); under bf16 autocast every one is."""
    torch.manual_seed(0)
    model = PortWaveUNet(sources=("a",), features=8, levels=3, strides=4)
    mix = torch.randn(2, 2, model.valid_length(400))
    fp32 = conv_inputs(model, mix)
    assert len(fp32) == 9 and not any(is_channels_last(x) for x in fp32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = conv_inputs(model, mix)
    assert len(bf16) == 9 and all(is_channels_last(x) for x in bf16)  # channels innermost (crops are views)


def conv_input_grads(model: PortWaveUNet, mix: torch.Tensor) -> list[torch.Tensor]:
    """The gradient reaching the input of every convolution in one bf16-mixed training step."""
    grads, handles = [], []

    def keep(module, args):
        if args[0].requires_grad:
            args[0].register_hook(grads.append)

    for m in model.modules():
        if isinstance(m, port_module.ConvLayer):
            handles.append(m.register_forward_pre_hook(keep))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(mix)
    out.float().square().mean().backward()
    for h in handles:
        h.remove()
    return grads


def test_port_gradients_stay_channels_last(monkeypatch):
    """Every gradient of a bf16-mixed step is channels-last (none converted to and fro); with
    plain slicing for the crops some are not, so the check can fail."""
    torch.manual_seed(0)
    model = PortWaveUNet(sources=("a",), features=8, levels=3, strides=4)
    mix = torch.randn(2, 2, model.valid_length(400))
    grads = conv_input_grads(model, mix)
    assert len(grads) == 8 and all(g.is_contiguous(memory_format=CL) for g in grads)  # 9 layers; the first one's input, the mix, needs none
    monkeypatch.setattr(port_module, "crop", center_crop)
    assert not all(g.is_contiguous(memory_format=CL) for g in conv_input_grads(model, mix))
