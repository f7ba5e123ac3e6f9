"""End to end in a real browser: `waveunet web` (server + one worker, as a user starts it)
driven by Playwright on Debian's Chromium. Sign up, upload a generated song, watch the
progress reach 100 %, play, change a stem's volume, download a stem and the mix, log out
and back in and find the song; a second user does not see it. Screenshots of the upload,
job and result pages go to a folder the test prints."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf
from web_helpers import PASSWORD, song_bytes

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (make test installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, models_dir):
    """`waveunet web` on a free loopback port with its own data folder; stopped afterwards."""
    port, data = free_port(), tmp_path / "webdata"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "waveunet_lit.cli", "web", "--port", str(port), "--data", str(data),
                             "--models", str(models_dir)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the server did not start:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.3)
    yield url, data
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def sign_up(page, url, name):
    page.goto(f"{url}/signup/")
    page.fill("#id_username", name)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def test_sign_up_separate_listen_mix_download_and_find_it_again(server, page, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    url, data = server
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600  # generated on first start, private
    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    song = tmp_path / "browser song.wav"
    song.write_bytes(song_bytes(tmp_path, seconds=8.0, channels=2, rate=8000))
    page.set_default_timeout(30_000)

    sign_up(page, url, "carol")
    page.goto(f"{url}/upload/")
    assert "best.ckpt" in page.content() and "vocals, drums, bass, other" in page.content()
    page.set_input_files("#song", str(song))
    page.screenshot(path=shots / "upload.png", full_page=True)
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job_url = page.url

    seen = set()
    deadline = time.monotonic() + 60
    while not page.locator("#player").count():
        if page.locator("#percent").count():
            seen.add(page.locator("#percent").inner_text())
        if time.monotonic() > deadline:
            pytest.fail(f"separation did not finish; progress seen: {seen}")
        if len(seen) == 2:
            page.screenshot(path=shots / "job.png", full_page=True)
        time.sleep(0.2)
    assert page.locator("#percent").inner_text() == "100 %"
    assert (shots / "job.png").exists() or page.screenshot(path=shots / "job.png", full_page=True)

    page.wait_for_function("document.getElementById('player').dataset.state === 'ready'")
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('player').dataset.position) > 0.3")
    drums = page.locator(".stem[data-source=drums] .volume")
    drums.fill("0.25")
    page.locator(".stem[data-source=vocals] .mute").click()
    page.screenshot(path=shots / "result.png", full_page=True)
    page.locator("body").press("Space")
    page.wait_for_function("document.getElementById('player').dataset.state === 'paused'")

    with page.expect_download() as stem_download:
        page.locator(".stem[data-source=bass] a.download", has_text="WAV").click()
    stem_file = tmp_path / "bass.wav"
    stem_download.value.save_as(stem_file)
    audio, rate = sf.read(stem_file)
    assert rate == 8000 and audio.shape == (8 * 8000, 2)
    assert stem_download.value.suggested_filename == "browser song - bass.wav"

    page.click("#mix")
    with page.expect_download() as mix_download:
        page.click("#mix-download")
    mix_file = tmp_path / "mix.wav"
    mix_download.value.save_as(mix_file)
    assert sf.read(mix_file)[0].shape == (8 * 8000, 2)
    with sqlite3.connect(data / "db.sqlite3") as db:
        (gains,) = db.execute("select gains from web_mix").fetchone()
    assert gains == '{"vocals": 0.0, "drums": 0.25, "bass": 1.0, "other": 1.0}'

    page.click("#logout")
    page.wait_for_url(re.compile(r"/login/"))
    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    assert page.locator("table.jobs").inner_text().count("browser song.wav") == 1

    page.click("#logout")
    sign_up(page, url, "dave")
    assert "browser song" not in page.content()
    assert page.goto(job_url).status == 404
