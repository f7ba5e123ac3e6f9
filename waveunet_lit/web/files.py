"""Each job's private folder: ``DATA/files/<user id>/<job id>/``.

Every name in it is fixed by the app (``song.<ext>``, ``stems/<source>.wav``, ...); none comes
from what a user typed or uploaded. The folder is written only by the worker, and its
``stems/`` subfolder appears in one rename when a separation is complete.
"""

import shutil
from pathlib import Path

from django.conf import settings

ALLOWED_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "m4a")


def files_root() -> Path:
    """``DATA/files``: all users' files (read from the settings at call time, so tests can move it)."""
    return Path(settings.DATA_DIR) / "files"


def job_dir(job) -> Path:
    """The job's folder; raises ``ValueError`` for an id or extension the app did not make."""
    if job.input_ext not in ALLOWED_EXTENSIONS:
        raise ValueError(f"job {job.pk}: unexpected input extension {job.input_ext!r}")
    return files_root() / str(int(job.owner_id)) / str(job.pk)  # UUID and int: no '/' or '..'


def song_path(job) -> Path:
    return job_dir(job) / f"song.{job.input_ext}"


def stems_dir(job) -> Path:
    return job_dir(job) / "stems"


def stem_path(job, source: str) -> Path:
    """Full-quality stem (32-bit float WAV); ``source`` must be one of the job's sources."""
    if source not in job.sources:
        raise ValueError(f"job {job.pk} has no source {source!r}")
    return stems_dir(job) / f"{source}.wav"


def preview_path(job, source: str) -> Path:
    """Compressed copy of a stem for playback (MP3, so long songs start quickly)."""
    return stem_path(job, source).with_suffix(".mp3")


def peaks_path(job) -> Path:
    return stems_dir(job) / "peaks.json"


def mix_path(mix) -> Path:
    return job_dir(mix.job) / "mixes" / f"{mix.pk}.wav"


def folder_bytes(folder: Path) -> int:
    """Bytes in all files below ``folder`` (0 when it does not exist)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def delete_job_files(job) -> None:
    """Remove the job's folder and everything in it (no error when it is already gone)."""
    shutil.rmtree(job_dir(job), ignore_errors=True)
