"""Every user error of every command is one clear line (exit 2), checked before anything is
read or written; an internal error keeps its traceback."""

from pathlib import Path

import pytest
import soundfile as sf
import torch

import waveunet_lit
from waveunet_lit.cli import main

CONFIGS = Path(waveunet_lit.__file__).parent / "configs"


@pytest.fixture
def song(tmp_path) -> Path:
    path = tmp_path / "song.wav"
    sf.write(path, torch.zeros(8000).numpy(), 8000)
    return path


def _run(argv, capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--segment", "0"], "--segment must be a positive number of seconds, got 0.0"),
    (["--segment", "inf"], "--segment must be a positive number of seconds, got inf"),
    (["--segment", "-2"], "--segment must be a positive number of seconds"),
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--overlap", "0.95"], "--overlap must be between 0 and 0.9, got 0.95"),
    (["--shifts", "-1"], "--shifts must be >= 0, got -1"),
    (["--wiener", "-1"], "--wiener must be >= 0 EM iterations, got -1"),
    (["--wiener-fft", "1001"], "--wiener-fft must be a multiple of 4 samples (the hop is a quarter of it), got 1001"),
])
def test_separate_checks_its_arguments_before_reading_anything(flags, message, song, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _run(["separate", str(song), "--checkpoint", str(tmp_path / "missing.ckpt"), "--out", str(out), *flags], capsys)
    assert code == 2 and message in err  # not "checkpoint not found": the flags are checked first
    assert not out.exists()


@pytest.mark.parametrize("flags, message", [
    (["--max-tracks", "-1"], "--max-tracks must be >= 1, got -1"),
    (["--max-tracks", "0"], "--max-tracks must be >= 1, got 0"),
    (["--segment", "nan"], "--segment must be a positive number of seconds"),
    (["--root", "/no/such/musdb"], "--root /no/such/musdb is not a folder"),
    (["--wiener-fft", "2"], "--wiener-fft must be a multiple of 4 samples (the hop is a quarter of it), got 2"),
])
def test_evaluate_checks_its_arguments_before_writing(flags, message, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _run(["evaluate", "--checkpoint", str(tmp_path / "missing.ckpt"), "--out", str(out), *flags], capsys)
    assert code == 2 and message in err
    assert not out.exists()


def _config(tmp_path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "is a folder, expected a YAML config file"),
    (lambda d: d / "none.yaml", "config not found"),
    (lambda d: _config(d, "model: [1, 2\n"), "is not valid YAML"),
    (lambda d: _config(d, "- a list\n"), "must hold a mapping"),
    (lambda d: _config(d, "model:\n  class_path: waveunet_lit.models.NoSuchNet\n"), "NoSuchNet"),
    (lambda d: _config(d, "model:\n  class_path: waveunet_lit.models.WaveUNet\n  init_args: {levelz: 3}\n"), "levelz"),
    (lambda d: _config(d, "model:\n  class_path: waveunet_lit.models.WaveUNet\n  init_args: {levels: many}\n"), "levels"),
    (lambda d: _config(d, "trainer: {}\n"), "no 'model' with a class_path"),
])
def test_info_config_errors_are_one_line(make, message, tmp_path, capsys):
    code, err = _run(["info", "-c", str(make(tmp_path))], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_info_rejects_a_non_positive_length(capsys):
    code, err = _run(["info", "-c", str(CONFIGS / "m4.yaml"), "--seconds", "-1"], capsys)
    assert code == 2 and "--seconds must be a positive number, got -1.0" in err


@pytest.mark.parametrize("content", [7, None, torch.zeros(3), {"hyper_parameters": 1}, {"state_dict": {}}],
                         ids=["int", "none", "tensor", "bad-hparams", "no-config"])
def test_checkpoints_that_hold_no_model_are_one_line(content, song, tmp_path, capsys):
    path = tmp_path / "odd.ckpt"
    torch.save(content, path)
    code, err = _run(["separate", str(song), "--checkpoint", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "holds no waveunet-lit model configuration" in err and "Traceback" not in err


def test_a_checkpoint_naming_a_missing_module_is_one_line(song, tmp_path, capsys):
    path = tmp_path / "moved.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"model": {"class_path": "gone_package.Net"}}}, path)
    code, err = _run(["separate", str(song), "--checkpoint", str(path)], capsys)
    assert code == 2 and "gone_package.Net" in err


def test_fit_data_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    args = ["fit", "-c", str(CONFIGS / "demo.yaml"), f"--data.init_args.root={tmp_path / 'nowhere'}",
            f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false", "--trainer.max_steps=1"]
    code, err = _run(args, capsys)
    assert code == 2 and "dataset root not found" in err and "Traceback" not in err
    assert err.count("\n") <= 3, err  # the message, the --debug hint, no 40 lines of traceback
    with pytest.raises(FileNotFoundError, match="dataset root not found"):
        main(args + ["--debug"])


def test_an_internal_error_keeps_its_traceback(monkeypatch):
    import waveunet_lit.info as info

    def broken(*args, **kwargs):
        raise KeyError("a bug, not a user error")

    monkeypatch.setattr(info, "info_from_config", broken)
    with pytest.raises(KeyError):
        main(["info", "-c", str(CONFIGS / "m4.yaml")])
