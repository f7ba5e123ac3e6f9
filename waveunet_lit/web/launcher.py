"""``waveunet web`` (migrate, one worker, the server) and ``waveunet web-worker`` (one more worker).

Both take ``--data DIR`` (the private data folder) and ``--models DIR`` (checkpoints offered);
they pass them to Django's settings through the environment, so the server and its worker
processes see the same folders.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["web_command", "worker_command", "manage_command"]


def _environment(data: str | None, models: str | None) -> Path:
    """Set the settings' environment, create the data folder and its secret key (once)."""
    if data:
        os.environ["WAVEUNET_WEB_DATA"] = str(Path(data).expanduser().resolve())
    if models:
        folder = Path(models).expanduser().resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"models folder not found: {folder}")
        os.environ["WAVEUNET_WEB_MODELS"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waveunet_lit.web.settings")
    try:
        import django
    except ImportError:
        raise RuntimeError('the web app needs its extra: pip install "waveunet-lit[web]"') from None
    from django.conf import settings

    root = Path(settings.DATA_DIR)
    root.mkdir(parents=True, exist_ok=True)
    key = root / "secret_key"
    if not os.environ.get("DJANGO_SECRET_KEY") and not key.is_file():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
        settings.SECRET_KEY = key.read_text().strip()
    django.setup()
    return root


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="private data folder: database, secret key, files (default ~/.local/share/waveunet-web)")
    p.add_argument("--models", default=None, help="folder of .ckpt checkpoints to offer (default: those of the make demo runs, runs/demo/lightning_logs/version_N/checkpoints)")


def worker_command(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="waveunet web-worker", description="Run one more separation worker.")
    _common(p)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between looks at an empty queue")
    args = p.parse_args(argv)
    _environment(args.data, args.models)
    from django.core.management import call_command

    from .tasks import fail_stale_jobs

    failed = fail_stale_jobs()
    if failed:
        print(f"marked {failed} job(s) failed whose worker had stopped", flush=True)
    call_command("db_worker", queue_name="default", interval=args.interval, reload=False, startup_delay=False)
    return 0


def web_command(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="waveunet web", description="Start the web app: the server and one worker.")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="separation workers to start beside the server")
    args = p.parse_args(argv)
    root = _environment(args.data, args.models)
    from django.core.management import call_command

    from .catalog import available_models, missing_models_hint

    call_command("migrate", interactive=False, verbosity=0)
    if not available_models():
        print(f"warning: {missing_models_hint()}", flush=True)
    worker_argv = [sys.executable, "-m", "waveunet_lit.cli", "web-worker"]
    workers = [subprocess.Popen(worker_argv, env=os.environ.copy()) for _ in range(max(args.workers, 0))]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"waveunet-lit web app: http://{host}:{args.port}/  (data in {root}; Ctrl-C stops it)", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops the workers too (finally below)
    try:
        # Django's own server, threaded; it serves the app's static files with --insecure.
        # Behind a real front server use the WSGI app instead (see README).
        call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, insecure_serving=True, use_threading=True)
    except KeyboardInterrupt:
        pass
    finally:
        for w in workers:
            w.terminate()  # db_worker stops after its current task
        for w in workers:
            try:
                w.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()
    return 0


def manage_command(argv: list[str]) -> int:
    """``waveunet web-manage COMMAND ...``: any Django management command (createsuperuser,
    purge_jobs, ...) against the same data folder."""
    data = models = None
    if argv[:1] == ["--data"] and len(argv) > 1:
        data, argv = argv[1], argv[2:]
    _environment(data, models)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["waveunet web-manage", *argv])
    return 0
