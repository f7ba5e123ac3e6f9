"""Jobs end to end with Django's immediate task backend and the tiny model: progress, stems,
previews, peaks, downloads, mix, cancel, stale-worker recovery, delete and retention."""

import io
import json
import zipfile
from datetime import timedelta

import numpy as np
import pytest
import soundfile as sf
from django.core.management import call_command
from django.utils import timezone
from web_helpers import csrf_token, song_bytes

from waveunet_lit.web import files, tasks
from waveunet_lit.web.models import Job, Mix

SOURCES = ["vocals", "drums", "bass", "other"]


def upload(client, tmp_path, name="tune.wav", django_capture_on_commit_callbacks=None, fields=None, **kw):
    token = csrf_token(client, "/upload/")
    song = io.BytesIO(song_bytes(tmp_path, **kw))
    song.name = name
    return client.post("/upload/", {"csrfmiddlewaretoken": token, "model": "best.ckpt", "shifts": "0", **(fields or {}), "song": song})


@pytest.fixture
def done_job(make_client, tmp_path, django_capture_on_commit_callbacks):
    """Alice's client and a job separated inline (the immediate backend runs on commit)."""
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):
        r = upload(client, tmp_path)
    assert r.status_code == 302
    return client, Job.objects.get()


def test_separation_writes_stems_previews_and_peaks(done_job):
    client, job = done_job
    assert job.status == "done" and job.progress == 100 and job.message == ""
    assert job.sources == SOURCES and job.bytes_stored > 0
    names = sorted(p.name for p in files.stems_dir(job).iterdir())
    assert names == sorted([f"{s}.wav" for s in SOURCES] + [f"{s}.mp3" for s in SOURCES] + ["peaks.json"])
    audio, rate = sf.read(files.stem_path(job, "bass"))
    assert rate == 8000 and audio.shape == (24000, 2)
    assert not list(files.job_dir(job).glob(".partial-*"))
    peaks = client.get(f"/jobs/{job.pk}/peaks.json").json()
    assert set(peaks) == set(SOURCES) and all(len(v) == tasks.PEAKS for v in peaks.values())
    assert max(max(v) for v in peaks.values()) > 0.01


def test_the_wiener_option_post_filters_the_stems(make_client, tmp_path, django_capture_on_commit_callbacks):
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tmp_path, name="plain.wav")
        upload(client, tmp_path, name="filtered.wav", fields={"wiener": "on"})
    jobs = {job.title: job for job in Job.objects.all()}
    assert [jobs[t].status for t in ("plain.wav", "filtered.wav")] == ["done", "done"]
    assert (jobs["plain.wav"].wiener, jobs["filtered.wav"].wiener) == (False, True)
    song, _ = sf.read(files.song_path(jobs["filtered.wav"]))  # (T, C): both jobs got the same song
    stems = {t: {s: sf.read(files.stem_path(job, s))[0] for s in SOURCES} for t, job in jobs.items()}
    assert np.abs(sum(stems["filtered.wav"].values()) - song).max() < 1e-3  # the filtered stems share out the song
    # the demo model's stems add up to the song too (its last stem is the difference), so what
    # tells the filter ran is that it moved every stem
    assert all(np.abs(stems["filtered.wav"][s] - stems["plain.wav"][s]).max() > 1e-3 for s in SOURCES)
    assert "Wiener filter" in client.get(f"/jobs/{jobs['filtered.wav'].pk}/").content.decode()
    assert "Wiener filter" not in client.get(f"/jobs/{jobs['plain.wav'].pk}/").content.decode()


def test_the_high_band_option_shares_out_what_the_model_cannot_hear(make_client, tmp_path, django_capture_on_commit_callbacks):
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):  # a 16 kHz song, the 8 kHz demo model
        upload(client, tmp_path, name="plain.wav", rate=16000)
        upload(client, tmp_path, name="filled.wav", rate=16000, fields={"high_band": "on"})
    jobs = {job.title: job for job in Job.objects.all()}
    assert [jobs[t].status for t in ("plain.wav", "filled.wav")] == ["done", "done"]
    assert (jobs["plain.wav"].high_band, jobs["filled.wav"].high_band) == (False, True)
    song, _ = sf.read(files.song_path(jobs["filled.wav"]))  # (T, C)
    freqs = np.fft.rfftfreq(len(song), 1 / 16000)

    def above(x):  # energy of (T, C) above 3.9 kHz
        return float((np.abs(np.fft.rfft(x, axis=0)[freqs > 3900]) ** 2).sum())

    rests = {t: above(sum(sf.read(files.stem_path(job, s))[0] for s in SOURCES) - song) for t, job in jobs.items()}
    assert rests["filled.wav"] < 0.01 * rests["plain.wav"]  # the clicks' high band is in the stems now
    assert "high band" in client.get(f"/jobs/{jobs['filled.wav'].pk}/").content.decode()
    assert "high band" not in client.get(f"/jobs/{jobs['plain.wav'].pk}/").content.decode()
    assert 'name="high_band" id="high_band" checked' in client.get("/upload/").content.decode()  # on unless unticked


def test_progress_advances_through_the_tile_callback(make_client, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    seen = []
    real_update = tasks._update

    def spy(job_id, **fields):
        if "progress" in fields:
            seen.append(fields["progress"])
        return real_update(job_id, **fields)

    monkeypatch.setattr(tasks, "_update", spy)
    monkeypatch.setattr(tasks.time, "monotonic", iter(range(100, 10**6, 10)).__next__)  # no throttling
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tmp_path, seconds=20.0, channels=1, rate=8000)
    assert seen == sorted(seen) and seen[-1] == 100
    assert len([p for p in seen if 5 < p < 100]) >= 3, seen  # several steps during separation


def test_status_json_and_downloads(done_job):
    client, job = done_job
    assert client.get(f"/jobs/{job.pk}/status.json").json()["status"] == "done"
    for fmt, magic in (("wav", b"RIFF"), ("flac", b"fLaC")):
        r = client.get(f"/jobs/{job.pk}/stem/drums.{fmt}")
        assert r.status_code == 200 and b"".join(r.streaming_content)[:4] == magic
        assert r["Content-Disposition"].startswith("attachment") and r["X-Content-Type-Options"] == "nosniff"
    r = client.get(f"/jobs/{job.pk}/preview/vocals.mp3")
    assert r.status_code == 200 and r["Content-Type"] == "audio/mpeg"
    z = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/jobs/{job.pk}/stems.zip").streaming_content)))
    assert sorted(z.namelist()) == sorted(f"tune - {s}.wav" for s in SOURCES)
    assert client.get(f"/jobs/{job.pk}/stem/guitar.wav").status_code == 404
    assert client.get(f"/jobs/{job.pk}/stem/drums.mp4").status_code == 404


def test_mix_renders_the_chosen_gains(done_job, django_capture_on_commit_callbacks):
    client, job = done_job
    token = client.cookies["csrftoken"].value
    gains = {"vocals": 0.0, "drums": 2.0, "bass": 0.5, "other": 1.0}
    assert client.post(f"/jobs/{job.pk}/mix/", json.dumps({"gains": gains}), content_type="application/json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/jobs/{job.pk}/mix/", json.dumps({"gains": gains}), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    status = client.get(r.json()["url"]).json()
    assert status["status"] == "done"
    mix, _ = sf.read(io.BytesIO(b"".join(client.get(status["download"]).streaming_content)))
    expected = sum(g * sf.read(files.stem_path(job, s))[0] for s, g in gains.items())
    assert abs(mix - expected).max() < 1e-5
    bad = client.post(f"/jobs/{job.pk}/mix/", json.dumps({"gains": {"drums": 99}}), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert bad.status_code == 400 and Mix.objects.count() == 1


def test_cancel_stops_between_tiles_and_leaves_no_stems(make_client, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    real_update = tasks._update

    def press_cancel_on_first_progress(job_id, **fields):
        if 5 < fields.get("progress", 0) < 100:
            Job.objects.filter(pk=job_id).update(cancel_requested=True)
        return real_update(job_id, **fields)

    monkeypatch.setattr(tasks, "_update", press_cancel_on_first_progress)
    monkeypatch.setattr(tasks.time, "monotonic", iter(range(100, 10**6, 10)).__next__)
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tmp_path, seconds=20.0, channels=1, rate=8000)
    job = Job.objects.get()
    assert job.status == "cancelled" and job.progress < 90
    assert not files.stems_dir(job).exists() and not list(files.job_dir(job).glob(".partial-*"))


def test_cancel_a_queued_job_with_csrf(make_client, tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client = make_client("alice")
    upload(client, tmp_path)
    job = Job.objects.get()
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403  # no token
    token = client.cookies["csrftoken"].value
    assert client.post(f"/jobs/{job.pk}/cancel/", HTTP_X_CSRFTOKEN=token).status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert tasks.separate_job.call(str(job.pk)) == "skipped"


def test_a_failed_separation_leaves_no_half_files(make_client, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    def broken_previews(wavs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tasks, "_encode_previews", broken_previews)
    client = make_client("alice")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tmp_path)
    job = Job.objects.get()
    assert job.status == "failed" and "disk full" in job.message
    assert sorted(p.name for p in files.job_dir(job).iterdir()) == ["song.wav"]


def test_stale_jobs_are_failed_when_a_worker_starts(make_client, tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client = make_client("alice")
    for _ in range(3):
        upload(client, tmp_path)
    dead, silent, alive = Job.objects.order_by("created")
    now = timezone.now()
    Job.objects.filter(pk=dead.pk).update(status="running", heartbeat=now, worker=f"{tasks.socket.gethostname()}:999999999")
    Job.objects.filter(pk=silent.pk).update(status="running", heartbeat=now - timedelta(hours=1), worker="elsewhere:12")
    Job.objects.filter(pk=alive.pk).update(status="running", heartbeat=now, worker="elsewhere:13")
    assert tasks.fail_stale_jobs() == 2
    statuses = {j.pk: (j.status, j.message) for j in Job.objects.all()}
    assert statuses[dead.pk][0] == statuses[silent.pk][0] == "failed"
    assert "worker process ended" in statuses[dead.pk][1] and "no sign of life" in statuses[silent.pk][1]
    assert statuses[alive.pk] == ("running", "")


def test_library_search_and_delete_removes_files(done_job):
    client, job = done_job
    assert "tune.wav" in client.get("/").content.decode()
    assert "tune.wav" not in client.get("/?q=nothing-like-it").content.decode()
    assert "tune.wav" in client.get("/?q=TUN").content.decode()
    folder = files.job_dir(job)
    assert folder.is_dir()
    token = csrf_token(client, "/")
    assert client.post(f"/jobs/{job.pk}/delete/").status_code == 403
    assert client.post(f"/jobs/{job.pk}/delete/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert not folder.exists() and Job.objects.count() == 0


def test_retention_command_deletes_only_old_finished_jobs(done_job, capsys):
    _, job = done_job
    call_command("purge_jobs", days=1)
    assert Job.objects.count() == 1
    Job.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(days=3))
    call_command("purge_jobs", days=1)
    assert Job.objects.count() == 0 and not files.job_dir(job).exists()
    assert "deleted 1 separation" in capsys.readouterr().out


@pytest.mark.django_db
def test_migrations_match_the_models():
    """A field added to a model without its migration fails here (makemigrations --check)."""
    call_command("makemigrations", "web", "--check", "--dry-run", verbosity=0)
