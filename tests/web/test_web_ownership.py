"""A user can never see, play, download, mix, cancel or delete another user's job: every URL
of Alice's job and files answers 404 to Bob (and sends anonymous visitors to log in)."""

import io
import json

import pytest
from web_helpers import csrf_token, song_bytes

from waveunet_lit.web.models import Job, Mix


@pytest.fixture
def alices_job(make_client, tmp_path, django_capture_on_commit_callbacks):
    alice = make_client("alice")
    token = csrf_token(alice, "/upload/")
    song = io.BytesIO(song_bytes(tmp_path, seconds=2.0))
    song.name = "secret song.wav"
    with django_capture_on_commit_callbacks(execute=True):
        alice.post("/upload/", {"csrfmiddlewaretoken": token, "model": "best.ckpt", "shifts": "0", "song": song})
    job = Job.objects.get()
    assert job.status == "done"
    with django_capture_on_commit_callbacks(execute=True):
        r = alice.post(f"/jobs/{job.pk}/mix/", json.dumps({"gains": {}}), content_type="application/json",
                       HTTP_X_CSRFTOKEN=alice.cookies["csrftoken"].value)
    assert r.status_code == 200
    return alice, job, Mix.objects.get()


def urls(job, mix):
    j = f"/jobs/{job.pk}"
    gets = [f"{j}/", f"{j}/status.json", f"{j}/peaks.json", f"{j}/preview/vocals.mp3", f"{j}/stem/vocals.wav",
            f"{j}/stem/vocals.flac", f"{j}/stems.zip", f"/mixes/{mix.pk}/status.json", f"/mixes/{mix.pk}/download/"]
    posts = [f"{j}/cancel/", f"{j}/delete/", f"{j}/mix/"]
    return gets, posts


def test_alice_can_open_every_url(alices_job):
    alice, job, mix = alices_job
    gets, _ = urls(job, mix)
    assert [alice.get(u).status_code for u in gets] == [200] * len(gets)


def test_bob_gets_404_on_every_url_of_alices_job(alices_job, make_client):
    _, job, mix = alices_job
    bob = make_client("bob")
    token = bob.cookies["csrftoken"].value
    gets, posts = urls(job, mix)
    assert {u: bob.get(u).status_code for u in gets} == {u: 404 for u in gets}
    assert {u: bob.post(u, HTTP_X_CSRFTOKEN=token).status_code for u in posts} == {u: 404 for u in posts}
    assert "secret song" not in bob.get("/").content.decode()
    assert "secret song" not in bob.get("/?q=secret").content.decode()
    job.refresh_from_db()
    assert job.status == "done" and not job.cancel_requested and Mix.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(alices_job, make_client):
    _, job, mix = alices_job
    anon = make_client()
    gets, _ = urls(job, mix)
    for u in [*gets, "/", "/upload/"]:
        r = anon.get(u)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), u
    assert anon.get("/signup/").status_code == 200 and anon.get("/login/").status_code == 200


def test_log_out_needs_a_post_with_csrf_and_log_in_works(alices_job):
    from web_helpers import PASSWORD

    alice, _, _ = alices_job
    assert alice.post("/logout/").status_code == 403
    assert alice.post("/logout/", {"csrfmiddlewaretoken": csrf_token(alice, "/")}).status_code == 302
    assert alice.get("/").status_code == 302
    token = csrf_token(alice, "/login/")
    assert alice.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 403
    r = alice.post("/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert "secret song.wav" in alice.get("/").content.decode()
