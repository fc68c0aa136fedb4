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

  function facts(parts, rows) {
    const table = el("table", { class: "facts" });
    for (const [key, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      const tr = el("tr", { "data-field": key });
      tr.append(el("th", {}, T[key]), el("td", {}, value));
      table.append(tr);
    }
    parts.push(table);
  }

  // A presentation code's time (unix seconds) as HH:MM:SS UTC, and the fields the holder
  // chose to show, each with its value.
  function hms(seconds) {
    return new Date(seconds * 1000).toISOString().slice(11, 19) + " UTC";
  }
  // The server's note in this page's language (it writes the presentation's in English).
  function noteText(note) {
    const m = /^presented by the holder at (\d\d:\d\d:\d\d UTC)$/.exec(note);
    return m ? T.presented_at.replace("{t}", m[1]) : note;
  }
  function presented(parts, fields) {
    if (!fields || !Object.keys(fields).length) return;
    const table = el("table", { class: "facts", id: "presented-fields" });
    for (const [name, pair] of Object.entries(fields || {})) {
      const tr = el("tr", { "data-field": name });
      const value = Array.isArray(pair) ? pair[0] : pair; // offline [value, salt]; online value
      tr.append(el("th", {}, T["pf_" + name] || name), el("td", {}, value));
      table.append(tr);
    }
    parts.push(el("h3", {}, T.presented_fields), table);
  }

  function render(r, recheck) {
    const cls = stateOf(r.verdict);
    const head = el("div", { class: "verdict " + cls, id: "verdict", "data-verdict": r.verdict });
    head.append(el("span", { class: "state" }, T["state_" + cls]));
    head.append(el("span", { class: "code" }, r.verdict + " · " + (T[r.verdict] || "")));
    const parts = [head];
    if (recheck) parts.push(el("p", { id: "rechecked" }, T.rechecked_note));
    if (r.as_of) parts.push(el("p", { id: "as-of" }, T.as_of.replace("{t}", utc(r.as_of))));
    if (r.document_note) parts.push(el("p", { id: "document-note" }, noteText(r.document_note)));
    parts.push(el("p", { id: "reason" }, r.reason));
    if (r.presentation) presented(parts, r.presentation.fields);
    facts(parts, [
      ["f_licence", r.licence_id],
      ["f_type", r.type_name || r.type_code],
      [r.holder_full ? "f_holder_full" : "f_holder", r.holder_name],
      ["f_issuer", r.issuer && r.issuer + " (" + r.issuer_code + ")"],
      ["f_region", r.region],
      ["f_valid_until", r.valid_until],
      ["f_version", pad(r.version)],
      ["f_current", pad(r.current_version)],
      ["f_grade", r.trust_grade && T["grade_" + r.trust_grade]],
      ["f_status_since", utc(r.status_since)],
      ["f_anchored", utc(r.anchored_at)],
      ["f_block", r.anchor_block],
      ["f_batch", r.batch_id],
      ["f_tx", r.anchor_tx],
      ["checked_at", utc(r.checked_at)],
    ]);
    parts.push(el("h2", {}, T.checks));
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

  function addHistory(cls, label, detail, offline) {
    const li = el("li", offline ? { "data-offline": "" } : {});
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

  // ---- verification: the server's verdict, or offline the QR signature checked here
  let offlineSince = null; // when the network was first found down (null: online)
  const pending = []; // payloads checked offline, re-checked with the server once back online
  let trustList = null;
  const netStatus = document.getElementById("network-status");

  function wentOffline() {
    if (!offlineSince) offlineSince = new Date();
    netStatus.textContent = T.offline_banner.replace("{t}", utc(offlineSince.toISOString()));
    netStatus.hidden = false;
  }
  function backOnline() {
    offlineSince = null;
    netStatus.hidden = true;
  }

  // The answer of a verification endpoint; throws a TypeError when the network is down.
  async function ask(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
    const body = await response.json().catch(() => ({ detail: response.statusText }));
    backOnline();
    return { response: response, body: body };
  }
  function show(answer, recheck) {
    const { response, body } = answer;
    if (response.ok) {
      render(body, recheck);
      beep(body.verdict === "VALID");
    } else if (response.status === 429) {
      renderError(T.too_many + body.detail);
    } else {
      renderError(body.detail || String(response.status));
      beep(false);
    }
  }
  async function verifyPayload(payload) {
    box.setAttribute("aria-busy", "true");
    try {
      show(
        await ask("/verify/qr.json", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ payload: payload }),
        }),
      );
    } catch (e) {
      wentOffline();
      await verifyOffline(payload);
    } finally {
      box.removeAttribute("aria-busy");
    }
  }
  async function verifyFile(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    box.setAttribute("aria-busy", "true");
    try {
      show(await ask("/verify/pdf.json", { method: "POST", body: form }));
    } catch (e) {
      wentOffline();
      renderError(T.offline_pdf); // a PDF's checks need the server: scan its QR code instead
    } finally {
      box.removeAttribute("aria-busy");
    }
  }

  // ---- offline: the trust list cached by the service worker (and here), checked with WebCrypto
  function loadTrustList() {
    return fetch("/api/v1/trust-list", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((list) => {
        trustList = list;
        try {
          localStorage.setItem("ll_trust_list", JSON.stringify(list));
        } catch (e) {
          /* storage full or disabled: the service worker's copy remains */
        }
        document.documentElement.setAttribute("data-trust-list", list.as_of.block);
      })
      .catch(() => {
        const kept = localStorage.getItem("ll_trust_list");
        if (kept) trustList = JSON.parse(kept);
      });
  }
  async function verifyOffline(payload) {
    let outcome;
    try {
      outcome = await window.LLOffline.check(payload, trustList);
    } catch (e) {
      renderError(T.offline_no_crypto + e);
      return;
    }
    if (outcome.outcome === "UNREADABLE") {
      renderError(T["offline_" + outcome.why] || T.offline_damaged);
      beep(false);
      return;
    }
    pending.push(payload);
    renderOffline(outcome);
    beep(false); // never the VALID tone: the status was not checked
  }
  function renderOffline(o) {
    const c = o.claims;
    const genuine = o.outcome === "GENUINE";
    const cls = genuine ? "attention" : "invalid";
    const verdict = "OFFLINE_" + o.outcome;
    const since = offlineSince ? utc(offlineSince.toISOString()) : "";
    const head = el("div", { class: "verdict " + cls, id: "verdict", "data-verdict": verdict });
    head.append(el("span", { class: "state" }, T["offline_" + o.outcome].replace("{t}", since)));
    const parts = [head, el("p", { id: "reason" }, T["offline_why_" + o.outcome])];
    if (o.presentation) {
      parts.push(el("p", { id: "document-note" }, T.presented_at.replace("{t}", hms(c.s))));
    }
    const key = o.key || {};
    const x = c.x || "";
    const regions = (trustList && trustList.regions) || {};
    const types = (trustList && trustList.types) || {};
    facts(parts, [
      ["f_licence", c.i],
      ["f_type", types[c.t] || c.t],
      ["f_holder", c.h],
      ["f_issuer", key.agency_name ? key.agency_name + " (" + c.a + ")" : c.a],
      ["f_region", regions[String(c.r)] || c.r],
      ["f_valid_until", x && x.slice(0, 4) + "-" + x.slice(4, 6) + "-" + x.slice(6, 8)],
      ["f_compromised", utc(key.compromised_at)],
      ["f_retired", utc(key.revoked_at)],
      ["f_trust_list", trustList && trustList.as_of.block + " · " + utc(trustList.as_of.time)],
    ]);
    if (o.presentation) presented(parts, c.f);
    box.replaceChildren(...parts);
    addHistory(cls, T["offline_" + o.outcome].replace("{t}", since), c.i, "offline");
  }
  async function recheck() {
    while (pending.length) {
      const payload = pending[0];
      let answer;
      try {
        answer = await ask("/verify/qr.json", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ payload: payload }),
        });
      } catch (e) {
        return; // still offline: tried again on the next "online" event or tick
      }
      pending.shift();
      show(answer, true);
    }
    document.querySelectorAll("#history-list li[data-offline]").forEach((li) => {
      li.removeAttribute("data-offline");
      li.append(" ", el("span", { class: "rechecked" }, T.rechecked));
    });
  }
  window.addEventListener("online", recheck);
  setInterval(() => {
    if (pending.length) recheck();
  }, 3000);

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

  // ---- the offline counter: the service worker keeps this page and the trust list
  const ready = loadTrustList();
  if (!initial && location.pathname.startsWith("/v/")) {
    // a QR link opened offline: the service worker answered with the cached counter page
    ready.then(() => {
      wentOffline();
      verifyOffline(location.pathname);
    });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register("/sw.js", { scope: "/" })
      .then(() => navigator.serviceWorker.ready)
      .then(() => ready)
      .then(() => document.documentElement.setAttribute("data-offline-ready", ""))
      .catch((e) => console.warn("offline counter unavailable:", e));
  }
})();
