"""Web app fixtures: a tiny checkpoint trained here (seconds), generated songs, users, and a
test client that enforces CSRF like a browser would."""

import shutil
from pathlib import Path

import pytest
from web_helpers import sign_up

import waveunet_lit
from waveunet_lit.cli import main

DEMO = Path(waveunet_lit.__file__).parent / "configs" / "demo.yaml"


@pytest.fixture(scope="session")
def models_dir(toy_root, tmp_path_factory) -> Path:
    """A models folder holding ``best.ckpt``: the demo config shrunk (3 levels, 8 features)
    and trained for one short epoch on the toy data."""
    run = tmp_path_factory.mktemp("webrun")
    folder = tmp_path_factory.mktemp("webmodels")
    m = "--model.init_args.model.init_args"
    args = [
        "fit", "-c", str(DEMO), f"{m}.levels=3", f"{m}.features=8",
        f"--data.init_args.root={toy_root}", "--data.init_args.num_workers=0",
        "--data.init_args.samples_per_epoch=8", "--data.init_args.batch_size=4", "--data.init_args.valid_tracks=1",
        "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", "--trainer.logger=false",
        f"--trainer.default_root_dir={run}",
    ]
    assert main(args) == 0
    shutil.copy(next(run.rglob("best.ckpt")), folder / "best.ckpt")
    return folder


@pytest.fixture(autouse=True)
def web_data(request, tmp_path, settings, models_dir):
    """Every web test gets its own data folder and the tiny model; tasks run inline."""
    settings.DATA_DIR = tmp_path / "data"
    settings.MODELS_DIR = str(models_dir)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
    return settings.DATA_DIR


@pytest.fixture
def make_client(db):
    from django.test import Client

    def make(username: str | None = None):
        client = Client(enforce_csrf_checks=True)
        if username:
            sign_up(client, username)
        return client

    return make


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (no browser download here), kept off the network."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"],
    }
