"""waveunet_lit.precision: precision names, and the warning for emulated bfloat16."""

import pytest
import torch

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


def test_fit_prints_the_warning_and_trains_in_bf16(monkeypatch, toy_root, tmp_path, capsys):
    """`waveunet fit` with bf16-mixed where bfloat16 is not native says so on stderr, then trains."""
    from waveunet_lit.cli import main

    monkeypatch.setattr(precision, "bf16_is_native", lambda d: False)
    args = ["fit", "-c", "demo", f"--data.init_args.root={toy_root}", "--data.init_args.num_workers=0",
            "--data.init_args.batch_size=2", "--data.init_args.valid_tracks=1", "--data.init_args.segment=1024",
            "--model.init_args.model.init_args.levels=3", "--model.init_args.model.init_args.features=4",
            "--trainer.max_steps=2", "--trainer.limit_val_batches=0", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--trainer.precision=bf16-mixed", "--trainer.accelerator=cpu",
            f"--trainer.default_root_dir={tmp_path}"]
    assert main(args) == 0
    assert "warning: precision bf16-mixed: this cpu has no native bfloat16" in capsys.readouterr().err
