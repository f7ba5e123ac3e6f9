"""Every bad upload gets a clear message and creates no job (nothing on disk either)."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from waveunet_lit.web.models import Job

from web_helpers import csrf_token, song_bytes


def multipart(fields: dict, filename: str, content: bytes, boundary: str = "b0und4ry") -> bytes:
    """A multipart body built by hand: Django's test client would strip folders from the name."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="song"; filename="{filename}"\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def post_song(client, filename: str, content: bytes):
    token = csrf_token(client, "/upload/")
    body = multipart({"csrfmiddlewaretoken": token, "model": "best.ckpt", "shifts": "0"}, filename, content)
    return client.post("/upload/", data=body, content_type="multipart/form-data; boundary=b0und4ry")


def mp3_bytes(tmp_path, seconds=3.0) -> bytes:
    wav = tmp_path / "s.wav"
    wav.write_bytes(song_bytes(tmp_path, seconds=seconds))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-b:a", "128k", str(tmp_path / "s.mp3")], check=True)
    return (tmp_path / "s.mp3").read_bytes()


def eight_channels(tmp_path) -> bytes:
    path = tmp_path / "eight.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.1, 0.1, (12000, 8)), 8000, subtype="PCM_16")
    return path.read_bytes()


BAD = {
    "empty file": ("empty.wav", lambda tmp: b"", "is empty"),
    "text renamed .mp3": ("notes.mp3", lambda tmp: b"these are my lyrics, not audio\n" * 50, "could not be decoded as audio"),
    "over the size cap": ("big.wav", lambda tmp: song_bytes(tmp, seconds=8.0), "larger than the"),
    "over the duration cap": ("long.wav", lambda tmp: song_bytes(tmp, seconds=12.0, channels=1, rate=8000), "the limit is 10 s"),
    "truncated mp3": ("cut.mp3", lambda tmp: mp3_bytes(tmp)[: len(mp3_bytes(tmp)) // 2], "looks truncated"),
    "0.1 s file": ("blip.wav", lambda tmp: song_bytes(tmp, seconds=0.1), "upload at least 1 s"),
    "8 channels": ("surround.wav", eight_channels, "has 8 channels"),
    "path traversal name": ("../../../etc/evil.wav", lambda tmp: song_bytes(tmp), "contains folders"),
    "backslash traversal": ("..\\..\\evil.wav", lambda tmp: song_bytes(tmp), "contains folders"),
    "extension not allowed": ("song.exe", lambda tmp: song_bytes(tmp), "not accepted"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_upload_is_refused_with_a_clear_message(case, make_client, settings, tmp_path, web_data):
    settings.WAVEUNET_MAX_UPLOAD_BYTES = 200_000  # an 8 s stereo 8 kHz 16-bit WAV is 256 kB
    settings.WAVEUNET_MAX_SECONDS = 10
    name, content, expected = BAD[case]
    client = make_client("alice")
    r = post_song(client, name, content(tmp_path))
    text = r.content.decode()
    assert r.status_code == 400, text[:500]
    assert expected in text, f"{case}: expected {expected!r} in the page"
    assert Job.objects.count() == 0
    leftovers = [p for p in (web_data / "files").rglob("*") if p.is_file()] if (web_data / "files").exists() else []
    assert leftovers == []


def test_a_good_upload_makes_one_job_with_our_own_file_name(make_client, tmp_path, web_data, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # queued, not run
    client = make_client("alice")
    r = post_song(client, "My Song.flac", song_bytes(tmp_path, fmt="flac"))
    assert r.status_code == 302, r.content.decode()[:500]
    job = Job.objects.get()
    assert (job.title, job.input_ext, job.status, job.channels) == ("My Song.flac", "flac", "queued", 2)
    assert abs(job.duration - 3.0) < 1e-3
    stored = [p.name for p in (web_data / "files").rglob("*") if p.is_file()]
    assert stored == ["song.flac"]


def test_the_queue_limit_refuses_a_fourth_song(make_client, tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.WAVEUNET_MAX_QUEUED = 2
    client = make_client("alice")
    for _ in range(2):
        assert post_song(client, "a.wav", song_bytes(tmp_path)).status_code == 302
    r = post_song(client, "a.wav", song_bytes(tmp_path))
    assert r.status_code == 400 and "at most 2" in r.content.decode()
    assert Job.objects.count() == 2


def test_the_storage_quota_is_enforced(make_client, tmp_path, settings):
    settings.WAVEUNET_QUOTA_BYTES = 100_000
    r = post_song(make_client("alice"), "a.wav", song_bytes(tmp_path))
    assert r.status_code == 400 and "storage quota" in r.content.decode()
    assert Job.objects.count() == 0


def test_a_form_without_a_file_says_so(make_client):
    client = make_client("alice")
    r = client.post("/upload/", {"csrfmiddlewaretoken": csrf_token(client, "/upload/"), "model": "best.ckpt", "shifts": "0"})
    assert r.status_code == 400 and "choose a song file" in r.content.decode()
    r = client.post("/upload/", b"--x\r\nbroken", content_type="multipart/form-data; boundary=")
    assert r.status_code == 400 and Job.objects.count() == 0
