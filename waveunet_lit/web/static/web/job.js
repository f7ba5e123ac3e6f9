// Job page: poll the status every 2 s while the job waits or runs; reload once it is done,
// so the page shows the player. The cancel button posts with the page's CSRF token.
"use strict";
(function () {
  const box = document.getElementById("job");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const show = (s) => {
    document.getElementById("status").textContent = s.status;
    document.getElementById("message").textContent = s.message;
    document.getElementById("progress").value = s.progress;
    document.getElementById("percent").textContent = s.progress + " %";
  };
  const active = (s) => s === "queued" || s === "running";
  const poll = async () => {
    const r = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!r.ok) return;
    const s = await r.json();
    show(s);
    if (active(s.status)) setTimeout(poll, 2000);
    else if (s.status === "done") window.location.reload();
    else { const c = document.getElementById("cancel"); if (c) c.remove(); }
  };
  if (active(document.getElementById("status").textContent)) setTimeout(poll, 2000);
  const cancel = document.getElementById("cancel");
  if (cancel) cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    const r = await fetch(box.dataset.cancelUrl, { method: "POST", headers: { "X-CSRFToken": csrf, Accept: "application/json" }, credentials: "same-origin" });
    if (r.ok) show(await r.json());
  });
})();
