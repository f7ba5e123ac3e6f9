"""Background work, run by ``django-tasks``' database worker: separating a job's song,
rendering a mix, and failing the jobs of workers that died.

Tasks receive ids only (task arguments must be JSON) and keep their progress on the job row:
the task API has none. A running task cannot be aborted from outside, so the separation
checks the job's cancel flag between batches of tiles, through ``separate``'s ``on_tiles``.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import torch
from django.conf import settings
from django.utils import timezone
from django_tasks import task

from waveunet_lit.separate import read_audio, separate, write_audio
from waveunet_lit.song_folders import pid_alive

from . import catalog, files
from .models import Job, Mix

PEAKS = 600  # waveform columns per stem


class Cancelled(Exception):
    """Raised from the tile callback when the user pressed cancel."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def peaks(audio: torch.Tensor, n: int = PEAKS) -> list[float]:
    """Largest absolute sample in each of ``n`` equal slices of ``audio (C, T)``, rounded.

    Example:
        >>> peaks(torch.tensor([[0.0, 0.5, -1.0, 0.25]]), n=2)
        [0.5, 1.0]
    """
    x = audio.abs().amax(0)  # (T,)
    T = x.shape[-1]
    if T < n:
        x = torch.nn.functional.pad(x, (0, n - T))  # (n,): short sounds end in silence
    k = x.shape[-1] // n
    cols = x[: n * k].reshape(n, k).amax(1)  # (n,); the last T % n samples join the last column
    if x.shape[-1] > n * k:
        cols[-1] = torch.maximum(cols[-1], x[n * k :].max())
    return [round(float(v), 3) for v in cols]


def _encode_previews(wavs: list[Path]) -> None:
    """A compressed copy of each stem for playback (160 kbit/s MP3: every browser decodes it),
    all in one ffmpeg run; each appears under its name only when complete."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for wav in wavs:
        cmd += ["-i", str(wav)]
    for k, wav in enumerate(wavs):
        cmd += ["-map", f"{k}:a", "-c:a", "libmp3lame", "-b:a", "160k", "-f", "mp3", str(wav.with_name(f".{wav.stem}.mp3"))]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode the previews: {done.stderr.strip()[-300:]}")
    for wav in wavs:
        os.replace(wav.with_name(f".{wav.stem}.mp3"), wav.with_suffix(".mp3"))


_models: dict[tuple[str, float], torch.nn.Module] = {}


def _load_model(path: Path) -> torch.nn.Module:
    """The checkpoint's model, loaded once per worker process (and again when the file changes)."""
    from waveunet_lit.checkpoint import load_model

    key = (str(path), path.stat().st_mtime)
    if key not in _models:
        _models.clear()  # one model in memory at a time
        _models[key] = load_model(path)
    return _models[key]


def _update(job_id, **fields) -> int:
    """Write some fields of a job row without loading it (the page reads it meanwhile)."""
    return Job.objects.filter(pk=job_id).update(**fields)


@task()
def separate_job(job_id: str) -> str:
    """Separate a queued job's song into stems, previews and peaks; returns the final status."""
    now = timezone.now()
    if not Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started=now, heartbeat=now, worker=worker_name(), progress=1
    ):
        return "skipped"  # cancelled or deleted before a worker took it
    job = Job.objects.get(pk=job_id)
    folder = files.job_dir(job)
    partial = None
    try:
        info = catalog.find_model(job.model_name)
        if info is None:
            raise ValueError(f"the model {job.model_name!r} is no longer in the models folder")
        model = _load_model(info.path)
        mix, rate = read_audio(files.song_path(job))
        _update(job_id, progress=5, heartbeat=timezone.now())
        last = [0.0]

        def on_tiles(done: int, total: int) -> None:
            # at most a few writes a second; the cancel flag is read with the same cadence
            if time.monotonic() - last[0] < 0.2 and done < total:
                return
            last[0] = time.monotonic()
            if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
                raise Cancelled
            _update(job_id, progress=5 + 85 * done // total, heartbeat=timezone.now())

        # two tiles a batch: progress and the cancel check come often, at little cost in speed
        stems = separate(model, mix, rate, shifts=job.shifts, wiener=int(job.wiener), high_band=job.high_band,
                         batch_size=2, on_tiles=on_tiles)  # (S, C, T)
        del mix
        # everything goes to a hidden folder first and appears as stems/ in one rename
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
        levels = {}
        for source, audio in zip(model.sources, stems):
            write_audio(partial / f"{source}.wav", audio, rate)
            levels[source] = peaks(audio)
        _update(job_id, heartbeat=timezone.now())
        _encode_previews([partial / f"{source}.wav" for source in model.sources])
        (partial / "peaks.json").write_text(json.dumps(levels))
        if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
            raise Cancelled
        os.replace(partial, files.stems_dir(job))
        partial = None
        _update(job_id, status=Job.Status.DONE, progress=100, finished=timezone.now(), sources=list(model.sources),
                bytes_stored=files.folder_bytes(folder), message="")
        return Job.Status.DONE
    except Cancelled:
        _update(job_id, status=Job.Status.CANCELLED, finished=timezone.now(), message="cancelled")
        return Job.Status.CANCELLED
    except Exception as err:  # noqa: BLE001 - any failure becomes the job's message, not a retry
        _update(job_id, status=Job.Status.FAILED, finished=timezone.now(), message=f"separation failed: {err}")
        return Job.Status.FAILED
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)


@task()
def render_mix(mix_id: str) -> str:
    """Sum a finished job's full-quality stems with the mix's gains into one WAV file."""
    mix = Mix.objects.select_related("job").get(pk=mix_id)
    job = mix.job
    try:
        total, rate = None, None
        for source in job.sources:
            gain = float(mix.gains.get(source, 1.0))
            if gain == 0:
                continue
            audio, rate = read_audio(files.stem_path(job, source))
            total = audio * gain if total is None else total + audio * gain
        if total is None:  # every stem muted: silence of the song's length
            audio, rate = read_audio(files.stem_path(job, job.sources[0]))
            total = torch.zeros_like(audio)
        out = files.mix_path(mix)
        out.parent.mkdir(exist_ok=True)
        write_audio(out, total, rate)  # atomic
        Mix.objects.filter(pk=mix_id).update(status=Mix.Status.DONE)
        Job.objects.filter(pk=job.pk).update(bytes_stored=files.folder_bytes(files.job_dir(job)))
        return Mix.Status.DONE
    except Exception as err:  # noqa: BLE001
        Mix.objects.filter(pk=mix_id).update(status=Mix.Status.FAILED, message=f"mix failed: {err}")
        return Mix.Status.FAILED


def fail_stale_jobs(now=None) -> int:
    """Mark failed every running job whose worker is gone: one on this machine whose process
    no longer exists, or any whose heartbeat is older than ``WAVEUNET_STALE_SECONDS``. Called
    when a worker starts and when a page shows a running job; returns how many it failed.

    (A worker that dies leaves its task "running" forever in the task table; without this the
    job would stay "running" too.)
    """
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.WAVEUNET_STALE_SECONDS)
    host = socket.gethostname()
    failed = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING):
        w_host, _, pid = job.worker.rpartition(":")
        dead = w_host == host and pid.isdigit() and not pid_alive(int(pid))
        silent = job.heartbeat is None or job.heartbeat < limit
        if dead or silent:
            why = "its worker process ended" if dead else f"no sign of life from its worker since {job.heartbeat:%Y-%m-%d %H:%M} UTC"
            failed += Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
                status=Job.Status.FAILED, finished=now, message=f"the separation stopped: {why}; upload the song again to retry")
            if (files.job_dir(job)).is_dir():
                for partial in files.job_dir(job).glob(".partial-*"):
                    shutil.rmtree(partial, ignore_errors=True)
    return failed
