// Result page: every stem's compressed preview decoded into the Web Audio API, started on one
// clock so the stems stay in sync; per-stem gain, mute and solo; waveforms from server peaks;
// "download my mix" asks the server to render the same gains as a task and polls for it.
"use strict";
(function () {
  const player = document.getElementById("player");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const playButton = document.getElementById("play");
  const clock = document.getElementById("clock");
  const ctx = new (window.AudioContext || window.webkitAudioContext)();
  const stems = [...document.querySelectorAll(".stem")].map((el) => ({
    el, source: el.dataset.source, gain: ctx.createGain(), buffer: null, node: null,
    volume: el.querySelector(".volume"), mute: el.querySelector(".mute"), solo: el.querySelector(".solo"),
    canvas: el.querySelector("canvas"), peaks: [],
  }));
  let startedAt = 0, offset = 0, playing = false, duration = 0;

  const fmt = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, "0")}`;
  const position = () => (playing ? Math.min(ctx.currentTime - startedAt, duration) : offset);

  function applyGains() {
    const anySolo = stems.some((s) => s.solo.getAttribute("aria-pressed") === "true");
    for (const s of stems) {
      const muted = s.mute.getAttribute("aria-pressed") === "true";
      const soloed = s.solo.getAttribute("aria-pressed") === "true";
      const audible = !muted && (!anySolo || soloed);
      s.gain.gain.setTargetAtTime(audible ? Number(s.volume.value) : 0, ctx.currentTime, 0.01);
      s.effective = audible ? Number(s.volume.value) : 0;
    }
  }

  function draw(s) {
    const c = s.canvas, g = c.getContext("2d"), w = c.width, h = c.height, n = s.peaks.length;
    g.clearRect(0, 0, w, h);
    g.fillStyle = s.effective === 0 ? "#bbb" : "#3a6ea5";
    for (let i = 0; i < n; i++) {
      const v = Math.min(1, s.peaks[i] * (s.effective || 1)) * (h / 2);  // a muted stem keeps its shape, in grey
      g.fillRect((i * w) / n, h / 2 - v, Math.max(1, w / n - 1), 2 * v || 1);
    }
    if (duration) { g.fillStyle = "#c33"; g.fillRect((position() / duration) * w, 0, 2, h); }
  }

  function stopNodes() {
    for (const s of stems) if (s.node) { s.node.onended = null; s.node.stop(); s.node.disconnect(); s.node = null; }
  }

  function play() {
    ctx.resume();
    stopNodes();
    const when = ctx.currentTime + 0.05;  // one start time for every stem: they stay in sync
    for (const s of stems) {
      s.node = ctx.createBufferSource();
      s.node.buffer = s.buffer;
      s.node.connect(s.gain);
      s.node.start(when, offset);
    }
    stems[0].node.onended = () => { if (playing && position() >= duration - 0.05) { pause(); offset = 0; } };
    startedAt = when - offset;
    playing = true;
    playButton.textContent = "Pause";
    player.dataset.state = "playing";
  }

  function pause() {
    offset = position();
    playing = false;
    stopNodes();
    playButton.textContent = "Play";
    player.dataset.state = "paused";
  }

  const toggle = () => (playing ? pause() : play());

  function tick() {
    clock.textContent = fmt(position());
    player.dataset.position = position().toFixed(2);
    stems.forEach(draw);
    requestAnimationFrame(tick);
  }

  async function load() {
    const peaks = await (await fetch(player.dataset.peaksUrl, { credentials: "same-origin" })).json();
    await Promise.all(stems.map(async (s) => {
      s.peaks = peaks[s.source] || [];
      s.gain.connect(ctx.destination);
      const data = await (await fetch(s.el.dataset.preview, { credentials: "same-origin" })).arrayBuffer();
      s.buffer = await ctx.decodeAudioData(data);
    }));
    duration = Math.min(...stems.map((s) => s.buffer.duration));
    document.getElementById("length").textContent = fmt(duration);
    applyGains();
    playButton.disabled = false;
    playButton.textContent = "Play";
    player.dataset.state = "ready";
    tick();
  }

  for (const s of stems) {
    s.volume.addEventListener("input", applyGains);
    for (const b of [s.mute, s.solo]) b.addEventListener("click", () => {
      b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
      applyGains();
    });
    s.canvas.addEventListener("click", (e) => {
      const r = s.canvas.getBoundingClientRect();
      const was = playing;
      if (was) pause();
      offset = Math.max(0, Math.min(duration, ((e.clientX - r.left) / r.width) * duration));
      if (was) play();
    });
  }
  playButton.addEventListener("click", toggle);
  document.addEventListener("keydown", (e) => {
    const typing = e.target.tagName === "TEXTAREA" || (e.target.tagName === "INPUT" && !["range", "checkbox", "radio", "button"].includes(e.target.type));
    if (e.code !== "Space" || typing) return;
    e.preventDefault();  // also stops a focused button (mute, solo) from being pressed by the same key
    if (!playButton.disabled) toggle();
  });

  const mixButton = document.getElementById("mix"), mixStatus = document.getElementById("mix-status");
  mixButton.addEventListener("click", async () => {
    applyGains();
    const gains = Object.fromEntries(stems.map((s) => [s.source, s.effective]));
    mixButton.disabled = true;
    mixStatus.textContent = "rendering…";
    const r = await fetch(player.dataset.mixUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" }, body: JSON.stringify({ gains }),
    });
    const job = await r.json();
    if (!r.ok) { mixStatus.textContent = job.error; mixButton.disabled = false; return; }
    const poll = async () => {
      const m = await (await fetch(job.url, { credentials: "same-origin" })).json();
      if (m.status === "queued") return setTimeout(poll, 1000);
      mixButton.disabled = false;
      if (m.status === "done") { mixStatus.innerHTML = ""; const a = document.createElement("a"); a.href = m.download; a.id = "mix-download"; a.textContent = "my mix (WAV)"; mixStatus.append(a); }
      else mixStatus.textContent = m.message;
    };
    poll();
  });

  load().catch((err) => { playButton.textContent = "could not load the stems: " + err; });
})();
