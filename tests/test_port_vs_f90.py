"""bench/port_vs_f90.py: a clear error without an f90/Wave-U-Net-Pytorch checkout, our side of
its training step on a tiny port, and (only where F90_WAVE_U_NET names a real checkout) the
whole smoke run against f90's code. The port's in-place activations keep its gradients."""

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from waveunet_lit.models.port import ConvLayer, PortWaveUNet
from waveunet_lit.precision import bf16_is_native

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "port_vs_f90.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("port_vs_f90", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_checkout_is_a_clear_error(bench, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("F90_WAVE_U_NET", raising=False)
    assert bench.main(["--smoke"]) == 2
    assert "no f90/Wave-U-Net-Pytorch checkout given" in capsys.readouterr().err
    empty = tmp_path / "not-f90"
    empty.mkdir()
    assert bench.main(["--smoke", "--f90", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"{empty} is not an f90/Wave-U-Net-Pytorch checkout" in err
    assert "git clone https://github.com/f90/Wave-U-Net-Pytorch" in err and "F90_WAVE_U_NET" in err


def test_bad_steps_are_rejected(bench, tmp_path):
    with pytest.raises(SystemExit):
        bench.main(["--steps", "0", "--f90", str(tmp_path)])


def test_our_training_step_learns_and_is_timed(bench):
    """Our side of the bench on a tiny port: each timed step is an Adam step that lowers the loss."""
    cfg = bench.config("port")
    assert cfg["optimizer"]["lr"] == 1e-3 and cfg["data"]["batch_size"] == 4
    torch.manual_seed(0)
    model = PortWaveUNet(**{**cfg["model"], "features": 8, "levels": 3})
    mix, target = bench.batch_for(model, 1, 1000)
    assert mix.shape == (1, 2, model.valid_length(1000)) and target.shape[-1] >= 1000

    def loss():
        with torch.no_grad():
            return float(F.l1_loss(model(mix), target))

    before = loss()
    times = bench.time_alternating({"ours": bench.train_step(model, mix, target, adam=cfg["optimizer"])}, n=3)
    assert len(times["ours"]) == 3 and min(min(t) for t in times["ours"]) > 0
    assert loss() < before  # 4 Adam steps (1 warm-up + 3 timed) on one batch


@pytest.mark.skipif(not os.environ.get("F90_WAVE_U_NET"), reason="set F90_WAVE_U_NET to an f90/Wave-U-Net-Pytorch checkout")
def test_smoke_run_against_f90(bench, capsys):
    """Same parameter count, lengths and function as f90's code on the tiny configuration."""
    assert bench.main(["--smoke", "--steps", "1", "--no-m4"]) == 0
    out = capsys.readouterr().out
    assert float(re.search(r"max \|ours - f90\| = (\S+)", out).group(1)) < 1e-5  # float32 rounding only
    assert "f90 / ours 32-true = " in out and "x in CPU time" in out
    assert ("f90 / ours bf16-mixed = " in out) == bf16_is_native("cpu")  # emulated bfloat16 is left out by default
    sys.path.remove(str(Path(os.environ["F90_WAVE_U_NET"]).expanduser().resolve()))


@pytest.mark.parametrize("norm", ["none", "batch", "group"])
def test_in_place_activation_keeps_gradients(norm):
    """ConvLayer's in-place ReLU / LeakyReLU gives the output and gradients of the out-of-place
    formula, and the check sees a wrong slope."""
    torch.manual_seed(0)
    layer = ConvLayer(8, 16, 5, 1, norm)
    x = torch.randn(2, 8, 40, requires_grad=True)
    y = layer(x)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, layer.conv.weight], g)

    def reference(slope):
        z = layer.norm(layer.conv(x))
        return F.relu(z) if norm != "none" else F.leaky_relu(z, slope)

    ref = reference(0.01)
    assert torch.allclose(y, ref, atol=1e-6)
    for a, b in zip(grads, torch.autograd.grad(ref, [x, layer.conv.weight], g)):
        assert torch.allclose(a, b, atol=1e-5)
    if norm == "none":
        assert not torch.allclose(y, reference(0.2), atol=1e-3)
