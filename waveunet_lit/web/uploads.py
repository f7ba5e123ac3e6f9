"""Checks on an uploaded song before any job exists: its size, its name, and that its content
decodes (with the library's ``read_audio``) to a song of a sensible length and channel count.

Every check raises :class:`UploadError` with a message for the user that names the file and
what was expected.
"""

import json
import shutil
import subprocess
from pathlib import Path

import soundfile as sf
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParser

from waveunet_lit.separate import read_audio

from .files import ALLOWED_EXTENSIONS


class UploadError(ValueError):
    """An upload that cannot become a job; ``str(err)`` is shown to the user."""


class SizeCapHandler(FileUploadHandler):
    """Stops reading a file once it passes the size cap (Django would otherwise take any size);
    the rest of the body is read and dropped, so the form fields before the file (the CSRF
    token) still arrive and the user gets a page that says why."""

    def __init__(self, request=None, cap: int = 0):
        super().__init__(request)
        self.cap, self.exceeded = cap, False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.cap:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


class NameKeepingParser(MultiPartParser):
    """Django's multipart parser, remembering each file name as sent, before Django strips
    its folders, so that a name like ``../../x.wav`` is refused instead of silently shortened."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw_names: list[str] = []

    def sanitize_file_name(self, file_name):
        self.raw_names.append(file_name)
        return super().sanitize_file_name(file_name)


def check_name(raw_name: str) -> tuple[str, str]:
    """``(title, extension)`` of an uploaded file name; refuses folders and unknown types.

    Example:
        >>> check_name("My Song.MP3")
        ('My Song.MP3', 'mp3')
    """
    if any(c in raw_name for c in "/\\\x00") or raw_name.strip() in ("", ".", ".."):
        raise UploadError(f"the file name {raw_name!r} contains folders or is empty: upload a file with a plain name")
    ext = Path(raw_name).suffix.lower().lstrip(".")
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadError(f"{raw_name!r}: files ending in .{ext or '(nothing)'} are not accepted; "
                          f"upload one of: {', '.join('.' + e for e in ALLOWED_EXTENSIONS)}")
    title = "".join(c for c in raw_name if c.isprintable())[:200]
    return title, ext


def _declared_frames(path: Path) -> tuple[float, int] | None:
    """``(seconds, channels)`` the file's header announces, without decoding it (soundfile,
    else ffprobe); None when neither can tell."""
    try:
        info = sf.info(str(path))
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate, info.channels
    except Exception:  # noqa: BLE001 - not a format libsndfile knows: ask ffprobe
        pass
    if shutil.which("ffprobe") is None:
        return None
    cmd = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels:format=duration", "-of", "json", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    try:
        probe = json.loads(done.stdout)
        return float(probe["format"]["duration"]), int(probe["streams"][0]["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def check_audio(path: Path, shown_name: str) -> dict:
    """Decode the saved upload and check it; returns ``{"duration", "sample_rate", "channels"}``.

    The header is read first, so an over-long song is refused before it is decoded; then the
    whole file is decoded, which catches files that are not audio and truncated ones (fewer
    samples than the header announces).
    """
    max_s, min_s, max_c = settings.WAVEUNET_MAX_SECONDS, settings.WAVEUNET_MIN_SECONDS, settings.WAVEUNET_MAX_CHANNELS
    declared = _declared_frames(path)
    if declared is not None:
        seconds, channels = declared
        if seconds > max_s:
            raise UploadError(f"{shown_name!r} lasts {seconds:.0f} s; the limit is {max_s:.0f} s")
        if channels > max_c:
            raise UploadError(f"{shown_name!r} has {channels} channels; upload a mono or stereo file (at most {max_c})")
    try:
        audio, rate = read_audio(path)
    except (ValueError, RuntimeError) as err:
        detail = str(err).replace(str(path), "the file")
        raise UploadError(f"{shown_name!r} could not be decoded as audio ({detail})") from None
    C, T = audio.shape
    seconds = T / rate
    if C > max_c:
        raise UploadError(f"{shown_name!r} has {C} channels; upload a mono or stereo file (at most {max_c})")
    if seconds > max_s:
        raise UploadError(f"{shown_name!r} lasts {seconds:.0f} s; the limit is {max_s:.0f} s")
    if seconds < min_s:
        raise UploadError(f"{shown_name!r} lasts {seconds:.2f} s; upload at least {min_s:g} s of audio")
    if declared is not None and seconds < 0.97 * declared[0] - 0.05:
        raise UploadError(f"{shown_name!r} looks truncated: its header announces {declared[0]:.1f} s "
                          f"but only {seconds:.1f} s decode; upload the complete file")
    return {"duration": seconds, "sample_rate": rate, "channels": C}
