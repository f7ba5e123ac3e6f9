"""waveunet_lit.precision: precision names, and the warning for emulated bfloat16."""

import pytest
import torch
from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator

from waveunet_lit import precision


def test_autocast_dtypes_and_a_bad_name():
    assert precision.autocast_dtype("bf16-mixed") is torch.bfloat16
    assert precision.autocast_dtype("16-mixed") is torch.float16
    assert precision.autocast_dtype("32-true") is None
    with pytest.raises(ValueError, match="precision 'bf17-mixed': expected one of 32-true, 16-mixed, bf16-mixed"):
        precision.autocast_dtype("bf17-mixed")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_warning_only_where_bf16_is_emulated(device, monkeypatch):
    monkeypatch.setattr(precision, "bf16_is_native", lambda d: True)
    assert precision.precision_warning("bf16-mixed", device) is None
    monkeypatch.setattr(precision, "bf16_is_native", lambda d: False)
    message = precision.precision_warning("bf16-mixed", device)
    assert f"this {device} has no native bfloat16" in message and "--trainer.precision" in message
    assert ("--trainer.precision 16-mixed" in message) == (device == "cuda")
    assert precision.precision_warning("32-true", device) is None


@pytest.mark.parametrize("accelerator, device", [("cpu", "cpu"), ("gpu", "cuda"), ("cuda", "cuda"), ("auto", "cpu")])
def test_bf16_falls_back_to_float32_only_on_a_cpu_that_emulates_it(accelerator, device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # "auto" picks the CPU
    assert precision.device_type(accelerator) == device
    assert precision.device_type(CPUAccelerator()) == "cpu" and precision.device_type(CUDAAccelerator()) == "cuda"
    monkeypatch.setattr(precision, "bf16_is_native", lambda d: False)
    chosen, warning = precision.train_precision("bf16-mixed", accelerator)
    if device == "cpu":
        assert chosen == "32-true" and "so this run trains in 32-true" in warning
    else:  # a GPU keeps what was asked for, and is told what would be faster
        assert chosen == "bf16-mixed" and "--trainer.precision 16-mixed" in warning
    assert precision.train_precision("16-mixed", accelerator) == ("16-mixed", None)
    monkeypatch.setattr(precision, "bf16_is_native", lambda d: True)
    assert precision.train_precision("bf16-mixed", accelerator) == ("bf16-mixed", None)


FIT = ["--data.init_args.num_workers=0", "--data.init_args.batch_size=2", "--data.init_args.valid_tracks=1",
       "--trainer.max_steps=2", "--trainer.limit_val_batches=0", "--trainer.logger=false",
       "--trainer.enable_progress_bar=false", "--trainer.precision=bf16-mixed", "--trainer.accelerator=cpu"]


def test_fit_says_it_trains_in_float32_where_the_cpu_emulates_bf16(monkeypatch, toy_root, tmp_path, capsys):
    """`waveunet fit` with bf16-mixed on a CPU without native bfloat16 says so on stderr and
    trains in 32-true (the trainer is built with it), to the end."""
    from waveunet_lit.cli import main, resolve_config_names
    from waveunet_lit.lightning_cli import WaveUNetCLI

    monkeypatch.setattr(precision, "bf16_is_native", lambda d: False)
    args = ["-c", "demo", f"--data.init_args.root={toy_root}", *FIT, "--data.init_args.segment=1024",
            "--model.init_args.model.init_args.levels=3", "--model.init_args.model.init_args.features=4",
            f"--trainer.default_root_dir={tmp_path}"]
    assert WaveUNetCLI(args=resolve_config_names(["fit", *args])[1:], run=False).trainer.precision == "32-true"
    assert main(["fit", *args]) == 0
    assert "warning: precision bf16-mixed: this cpu has no native bfloat16" in capsys.readouterr().err


def test_the_band_split_rnn_recipe_trains_as_shipped_in_bf16_mixed(toy_root, tmp_path):
    """cpu_10min's BLSTMs with its bf16-mixed, on whatever CPU this is: bfloat16 where it is
    native, 32-true where it is not (oneDNN's LSTM raised "could not create a primitive
    descriptor" under bf16 autocast on an AVX2 CPU before the fallback)."""
    from waveunet_lit.cli import main

    small = "--model.init_args.model.init_args."
    args = ["fit", "-c", "cpu_10min", f"--data.init_args.root={toy_root}", *FIT, "--data.init_args.segment=4096",
            "--data.init_args.in_memory=false", f"{small}features=8", f"{small}hidden=8", f"{small}mlp_hidden=8",
            f"--trainer.default_root_dir={tmp_path}", "--trainer.callbacks=[]"]
    assert main(args) == 0
