"""Helpers of the web tests: generated songs, CSRF tokens, sign-up."""

import re
from pathlib import Path

import numpy as np
import soundfile as sf

PASSWORD = "a long passphrase 42"


def song_bytes(tmp_path: Path, seconds: float = 3.0, channels: int = 2, rate: int = 8000, fmt: str = "wav") -> bytes:
    """A generated song (a bass line, a chord and clicks) encoded as ``fmt`` (wav or flac)."""
    t = np.arange(int(seconds * rate)) / rate
    bass = 0.3 * np.sin(2 * np.pi * 55 * t)
    chord = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    clicks = 0.5 * (np.sin(2 * np.pi * 2 * t) > 0.995)
    mono = (bass + chord + clicks).astype(np.float32)
    data = np.stack([mono * (0.8 + 0.2 * c / max(channels, 1)) for c in range(channels)], axis=1)  # (T, C)
    path = tmp_path / f"generated.{fmt}"
    sf.write(path, data, rate)
    return path.read_bytes()


def csrf_token(client, url: str) -> str:
    """GET ``url`` and return the CSRF token of its form (as a browser would send it back)."""
    html = client.get(url).content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_up(client, username: str) -> None:
    token = csrf_token(client, "/signup/")
    r = client.post("/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD, "csrfmiddlewaretoken": token})
    assert r.status_code == 302, r.content.decode()[:2000]
