// The counter page's script: scan with the camera (jsQR on canvas frames), paste a payload or
// drop a PDF, post it to the public verification API and render the verdict JSON. Every value
// from the server goes into the page as text, never as HTML.
"use strict";
(function () {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const box = document.getElementById("verdict-box");
  const video = document.getElementById("video");
  const status = document.getElementById("camera-status");
  const startBtn = document.getElementById("camera-start");
  const stopBtn = document.getElementById("camera-stop");
  const continuous = document.getElementById("continuous");
  const historyList = document.getElementById("history-list");
  const ATTENTION = ["PENDING", "SUSPENDED", "REPORTED_LOST", "CONFLICTING"];
  let stream = null;
  let lastPayload = null;
  let busy = false;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function stateOf(verdict) {
    if (verdict === "VALID") return "valid";
    return ATTENTION.includes(verdict) ? "attention" : "invalid";
  }
  function utc(iso) {
    return iso ? iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, "") + " UTC" : null;
  }
  function pad(n) {
    return n === null || n === undefined ? null : String(n).padStart(3, "0");
  }

  function render(r) {
    const cls = stateOf(r.verdict);
    const head = el("div", { class: "verdict " + cls, id: "verdict", "data-verdict": r.verdict });
    head.append(el("span", { class: "state" }, T["state_" + cls]));
    head.append(el("span", { class: "code" }, r.verdict + " · " + (T[r.verdict] || "")));
    const parts = [head];
    if (r.as_of) parts.push(el("p", { id: "as-of" }, T.as_of.replace("{t}", utc(r.as_of))));
    if (r.document_note) parts.push(el("p", { id: "document-note" }, r.document_note));
    parts.push(el("p", { id: "reason" }, r.reason));
    const rows = [
      ["f_licence", r.licence_id],
      ["f_type", r.type_name || r.type_code],
      ["f_holder", r.holder_name],
      ["f_issuer", r.issuer && r.issuer + " (" + r.issuer_code + ")"],
      ["f_region", r.region],
      ["f_valid_until", r.valid_until],
      ["f_version", pad(r.version)],
      ["f_current", pad(r.current_version)],
      ["f_grade", r.trust_grade && T["grade_" + r.trust_grade]],
      ["f_status_since", utc(r.status_since)],
      ["f_anchored", utc(r.anchored_at)],
      ["f_batch", r.batch_id],
      ["f_tx", r.anchor_tx],
      ["checked_at", utc(r.checked_at)],
    ];
    const facts = el("table", { class: "facts" });
    for (const [key, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      const tr = el("tr", { "data-field": key });
      tr.append(el("th", {}, T[key]), el("td", {}, value));
      facts.append(tr);
    }
    parts.push(facts, el("h2", {}, T.checks));
    const checks = el("table", { id: "checks" });
    for (const c of r.checks || []) {
      const tr = el("tr");
      tr.append(el("td", {}, c.ok ? "✔" : c.ok === false ? "✘" : "?"));
      tr.append(el("td", {}, c.name), el("td", {}, c.detail));
      checks.append(tr);
    }
    parts.push(checks);
    box.replaceChildren(...parts);
    addHistory(cls, r.verdict + " · " + (T[r.verdict] || ""), r.licence_id);
  }

  function renderError(message) {
    const head = el("div", { class: "verdict invalid", id: "verdict", "data-verdict": "ERROR" });
    head.append(el("span", { class: "state" }, T.cannot_verify));
    box.replaceChildren(head, el("p", { id: "reason" }, message));
    addHistory("invalid", T.cannot_verify, message.slice(0, 80));
  }

  function addHistory(cls, label, detail) {
    const li = el("li");
    li.append(el("time", {}, new Date().toLocaleTimeString()), " ");
    li.append(el("span", { class: cls }, label), " ", el("span", {}, detail || ""));
    historyList.prepend(li);
  }

  function beep(ok) {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.frequency.value = ok ? 880 : 220;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
    } catch (e) {
      /* no sound available: the colour says it */
    }
  }

  async function post(url, options) {
    box.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
      const body = await response.json().catch(() => ({ detail: response.statusText }));
      if (response.ok) {
        render(body);
        beep(body.verdict === "VALID");
      } else if (response.status === 429) {
        renderError(T.too_many + body.detail);
      } else {
        renderError(body.detail || String(response.status));
        beep(false);
      }
    } catch (e) {
      renderError(String(e));
    } finally {
      box.removeAttribute("aria-busy");
    }
  }
  function verifyPayload(payload) {
    return post("/api/v1/verify/qr", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ payload: payload }),
    });
  }
  function verifyFile(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return post("/api/v1/verify/pdf", { method: "POST", body: form });
  }

  // ---- camera: grab frames onto a canvas and decode them with jsQR
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  async function scanLoop() {
    if (!stream) return;
    if (!busy && video.readyState >= 2 && video.videoWidth > 0) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(frame.data, frame.width, frame.height, {
        inversionAttempts: "dontInvert",
      });
      if (code && code.data && code.data !== lastPayload) {
        lastPayload = code.data; // the same code held in front of the camera is checked once
        busy = true;
        await verifyPayload(code.data);
        busy = false;
        if (!continuous.checked) stopCamera();
      }
    }
    if (stream) setTimeout(scanLoop, 120);
  }
  async function startCamera() {
    if (typeof window.jsQR !== "function") {
      status.textContent = T.decoder_missing;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (e) {
      status.textContent = T.camera_failed + e;
      return;
    }
    lastPayload = null;
    video.srcObject = stream;
    video.setAttribute("data-on", "");
    await video.play();
    startBtn.hidden = true;
    stopBtn.hidden = false;
    status.textContent = T.camera_on;
    scanLoop();
  }
  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.removeAttribute("data-on");
    video.srcObject = null;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    status.textContent = T.camera_off;
  }
  startBtn.addEventListener("click", startCamera);
  stopBtn.addEventListener("click", stopCamera);

  // ---- paste or choose/drop a file: the form goes to the API instead of reloading the page
  const form = document.getElementById("verify-form");
  const fileInput = document.getElementById("file");
  const qrInput = document.getElementById("qr");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (fileInput.files.length) {
      verifyFile(fileInput.files[0]);
      fileInput.value = "";
    } else if (qrInput.value.trim()) {
      verifyPayload(qrInput.value.trim());
    }
  });
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) form.requestSubmit();
  });
  const drop = document.getElementById("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) verifyFile(file);
  });

  if (initial && initial.error) addHistory("invalid", T.cannot_verify, initial.error);
  else if (initial && initial.verdict) render(initial);
})();
