"""Load test of the web app on this machine (loopback only, bounded): M users upload N songs
in all to one `waveunet web` server, with one and then two workers. Prints jobs per minute,
the 95th-percentile page response time while separations run, and that every job finished
with all its stems (none lost).

    python bench/web_load.py --models runs/demo --songs 8 --users 4 --seconds 20

Each run starts a fresh server with its own data folder in a temporary directory; songs are
generated (chords, bass, clicks), so nothing is downloaded or read from the repository.
"""

import argparse
import http.cookiejar
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

HOST = "127.0.0.1"  # loopback only: this never talks to another machine
PASSWORD = "bench passphrase 7731"


def song(seconds: float, seed: int, rate: int = 22050) -> bytes:
    """A stereo 16-bit WAV song: a bass line, a chord and clicks, different per seed."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    root = 55 * 2 ** (rng.integers(0, 12) / 12)
    x = 0.3 * np.sin(2 * np.pi * root * t) + 0.1 * sum(np.sin(2 * np.pi * root * 4 * r * t) for r in (1, 1.26, 1.5))
    x = x + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0.995)
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, 0.9 * x], 1).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class User:
    """One browser-like session: cookies, CSRF tokens, timed requests."""

    def __init__(self, base: str, name: str, timings: list):
        self.base, self.name, self.timings = base, name, timings
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None, timed: bool = False) -> tuple[int, bytes, str]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=60) as r:
                body, status, url = r.read(), r.status, r.url
        except urllib.error.HTTPError as err:
            body, status, url = err.read(), err.code, path
        if timed:
            self.timings.append((time.perf_counter(), time.perf_counter() - start))
        return status, body, url

    def token(self, path: str) -> str:
        html = self.request(path)[1].decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def sign_up(self) -> None:
        form = {"username": self.name, "password1": PASSWORD, "password2": PASSWORD, "csrfmiddlewaretoken": self.token("/signup/")}
        status, _, url = self.request("/signup/", urllib.parse.urlencode(form).encode())
        if status != 200 or "/signup/" in url:  # a success redirects to the library
            raise RuntimeError(f"sign-up of {self.name} failed ({status})")

    def upload(self, name: str, content: bytes, model: str) -> str:
        boundary = "benchb0undary"
        fields = {"csrfmiddlewaretoken": self.token("/upload/"), "model": model, "shifts": "0"}
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="song"; filename="{name}"\r\n'
                 "Content-Type: audio/wav\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        status, page, url = self.request("/upload/", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        match = re.search(r"/jobs/([0-9a-f-]{36})/", url)
        if not match:
            raise RuntimeError(f"upload of {name} refused ({status}): {re.findall(r'role=.alert.[^>]*>([^<]+)', page.decode())}")
        return match.group(1)

    def status(self, job: str) -> dict:
        return json.loads(self.request(f"/jobs/{job}/status.json", timed=True)[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run(workers: int, args, models: str) -> dict:
    """One server with ``workers`` workers; returns the measurements."""
    with tempfile.TemporaryDirectory(prefix="web-load-") as tmp:
        port = free_port()
        base = f"http://{HOST}:{port}"
        log = open(Path(tmp) / "server.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "waveunet_lit.cli", "web", "--host", HOST, "--port", str(port),
                                   "--data", str(Path(tmp) / "data"), "--models", models, "--workers", str(workers)],
                                  stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "WAVEUNET_WEB_MAX_QUEUED": str(args.songs)})
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(base + "/login/", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server did not start: " + (Path(tmp) / "server.log").read_text()[-2000:])
                    time.sleep(0.5)
            timings: list = []
            users = [User(base, f"user{k}", timings) for k in range(args.users)]
            for u in users:
                u.sign_up()
            probe = User(base, "user0", timings)
            probe.opener = users[0].opener
            model = re.search(r'name="model" value="([^"]+)"', probe.request("/upload/")[1].decode()).group(1)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.users) as pool:
                jobs = list(pool.map(lambda k: (users[k % args.users], users[k % args.users].upload(f"song {k}.wav", song(args.seconds, k), model)),
                                     range(args.songs)))
            done: dict[str, dict] = {}
            last = start
            while len(done) < len(jobs):
                if time.perf_counter() - start > args.timeout:
                    raise RuntimeError(f"{len(jobs) - len(done)} job(s) unfinished after {args.timeout} s")
                for user, job in jobs:
                    if job not in done:
                        s = user.status(job)  # the page's own poll: timed as a page response
                        if s["status"] not in ("queued", "running"):
                            done[job] = s
                            last = time.perf_counter()
                users[0].request("/", timed=True)  # the library page, as a user browsing meanwhile
                time.sleep(0.5)
            while_running = [d for t, d in timings if t <= last]
            complete = 0
            for user, job in jobs:
                s = done[job]
                ok = s["status"] == "done" and all(user.request(f"/jobs/{job}/preview/{src}.mp3")[0] == 200 for src in s["sources"])
                complete += ok
            return {"workers": workers, "jobs": len(jobs), "complete": complete, "seconds": last - start,
                    "jobs_per_minute": 60 * len(jobs) / (last - start),
                    "p95_ms": 1000 * statistics.quantiles(while_running, n=20)[-1] if len(while_running) >= 2 else float("nan"),
                    "requests": len(while_running)}
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="runs/demo", help="folder with .ckpt checkpoints (default: the make demo run)")
    p.add_argument("--songs", type=int, default=8, help="songs in all (1..50)")
    p.add_argument("--users", type=int, default=4, help="concurrent users (1..8)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each generated song (1..120)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare (1..4 each)")
    p.add_argument("--timeout", type=float, default=900, help="seconds a run may take")
    args = p.parse_args()
    if not (1 <= args.songs <= 50 and 1 <= args.users <= 8 and 1 <= args.seconds <= 120 and all(1 <= w <= 4 for w in args.workers)):
        p.error("keep it bounded: --songs 1..50, --users 1..8, --seconds 1..120, --workers 1..4")
    if not any(Path(args.models).rglob("*.ckpt")):
        p.error(f"no .ckpt below {args.models}: run `make demo` first or pass --models DIR")
    print(f"{args.songs} songs of {args.seconds:g} s from {args.users} users, model folder {args.models}")
    print(f"{'workers':>7} {'jobs/min':>9} {'p95 page ms':>12} {'requests':>9}  finished with all stems")
    failed = False
    for w in args.workers:
        r = run(w, args, args.models)
        print(f"{r['workers']:>7} {r['jobs_per_minute']:>9.1f} {r['p95_ms']:>12.0f} {r['requests']:>9}  "
              f"{r['complete']}/{r['jobs']}{'' if r['complete'] == r['jobs'] else '  (JOBS LOST OR FAILED)'}")
        failed |= r["complete"] != r["jobs"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
