"""A run killed at a random moment resumes with `--ckpt_path last` from the step it saved,
with the optimizer state it saved; `--ckpt_path last` with nothing to resume is an error."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import waveunet_lit
from resume_probe import StartProbe
from waveunet_lit.cli import main

DEMO = Path(waveunet_lit.__file__).parent / "configs" / "demo.yaml"


def _fit_args(root: Path, run: Path) -> list[str]:
    return [
        "fit", "-c", str(DEMO), f"--data.init_args.root={root}", "--data.init_args.num_workers=0",
        "--data.init_args.samples_per_epoch=64", "--data.init_args.batch_size=2", "--data.init_args.valid_tracks=1",
        "--data.init_args.segment=1024", "--model.init_args.model.init_args.levels=3",
        "--model.init_args.model.init_args.features=4", "--trainer.max_epochs=1000", "--trainer.logger=false",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", f"--trainer.default_root_dir={run}",
    ]


def _kill_at_random(root: Path, run: Path, rng: np.random.Generator) -> Path:
    """Start `fit` in a subprocess, SIGKILL it at a random moment after its first last.ckpt."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "waveunet_lit.cli", *_fit_args(root, run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not list(run.rglob("last*.ckpt")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no last.ckpt within 300 s"
            time.sleep(0.2)
        time.sleep(rng.uniform(0.0, 3.0))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return max(run.rglob("last*.ckpt"), key=lambda p: p.stat().st_mtime)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(3))
def test_a_killed_fit_resumes_from_its_saved_step_and_optimizer_state(trial, toy_root, tmp_path):
    rng = np.random.default_rng([20261201, trial])
    last = _kill_at_random(toy_root, tmp_path, rng)
    saved = torch.load(last, map_location="cpu", weights_only=False)  # intact: Lightning writes it atomically
    step = saved["global_step"]
    assert step > 0  # written every 20 steps (demo.yaml) and at each epoch end
    StartProbe.seen.clear()
    args = _fit_args(toy_root, tmp_path) + ["--ckpt_path", "last", f"--trainer.max_steps={step + 3}",
                                           "--trainer.callbacks+=resume_probe.StartProbe"]
    assert main(args) == 0
    (start_step, optimizer), = StartProbe.seen
    assert start_step == step
    expected = saved["optimizer_states"][0]["state"]
    assert expected and optimizer["state"].keys() == expected.keys()
    for key, state in expected.items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(optimizer["state"][key][name]), torch.as_tensor(value)), (key, name)


def test_ckpt_path_last_with_nothing_to_resume_names_the_folder(toy_root, tmp_path, capsys):
    assert main(_fit_args(toy_root, tmp_path) + ["--ckpt_path", "last", "--trainer.max_steps=1"]) == 2
    err = capsys.readouterr().err
    assert "no last.ckpt below" in err and str(tmp_path.resolve()) in err
    assert "Traceback" not in err
