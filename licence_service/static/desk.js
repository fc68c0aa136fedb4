/* The agency desk's pages: per-field errors while the person types on forms marked
   data-validate (required fields, dates, the check character of a citizen ID number or a
   unified social credit code), and the live progress of a CSV import. The server checks every
   field again and is the authority; this only saves a round trip. No dependencies. */
"use strict";

const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const CITIZEN_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CITIZEN_CHECK = "10X98765432";

/* "" when the ID is well formed, else "length", "chars" or "check". */
function idProblem(kind, raw) {
  const text = raw.trim().toUpperCase();
  if (text.length !== 18) return "length";
  if (kind === "uscc") {
    let total = 0;
    for (let i = 0; i < 18; i++) {
      const v = USCC_ALPHABET.indexOf(text[i]);
      if (v < 0) return "chars";
      if (i < 17) total += v * USCC_WEIGHTS[i];
    }
    return USCC_ALPHABET[(31 - (total % 31)) % 31] === text[17] ? "" : "check";
  }
  if (!/^\d{17}[\dX]$/.test(text)) return "chars";
  let total = 0;
  for (let i = 0; i < 17; i++) total += Number(text[i]) * CITIZEN_WEIGHTS[i];
  return CITIZEN_CHECK[total % 11] === text[17] ? "" : "check";
}

function realDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function problem(input, form) {
  const value = input.value;
  if (!value.trim()) return input.required ? form.dataset.msgRequired : "";
  const check = input.dataset.check;
  if (check === "date" && !realDate(value)) return form.dataset.msgDate;
  if (check === "uscc" || check === "citizen_id") {
    const found = idProblem(check, value);
    if (found === "length") return form.dataset.msgLength;
    if (found === "chars") return form.dataset.msgChars;
    if (found === "check") return form.dataset.msgCheck;
  }
  return "";
}

function show(input, form) {
  const message = problem(input, form);
  const box = document.getElementById(input.id + "-error");
  if (box) box.textContent = message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return message;
}

function watchForm(form) {
  const inputs = Array.from(form.querySelectorAll("input[id]:not([type=hidden])"));
  for (const input of inputs) {
    input.addEventListener("input", () => show(input, form));
    input.addEventListener("blur", () => show(input, form));
  }
  form.addEventListener("submit", (event) => {
    const bad = inputs.filter((input) => show(input, form));
    if (bad.length) {
      event.preventDefault();
      bad[0].focus();
    }
  });
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

function watchImport(box) {
  const bar = document.getElementById("progress");
  const state = document.getElementById("import-state");
  const errors = document.getElementById("import-errors");
  const template = box.dataset.texts;
  async function poll() {
    let data;
    try {
      const response = await fetch(box.dataset.progress, { credentials: "same-origin" });
      data = await response.json();
    } catch (err) {
      setTimeout(poll, 1000);
      return;
    }
    bar.max = Math.max(data.total, 1);
    bar.value = data.done;
    state.dataset.state = data.state;
    state.textContent = template
      .replace("{done}", data.done).replace("{total}", data.total)
      .replace("{issued}", data.issued).replace("{failed}", data.failed)
      .replace("{state}", box.dataset[data.state] || data.state);
    document.getElementById("import-error").textContent = data.error || "";
    while (errors.rows.length > 1) errors.deleteRow(1);
    for (const e of data.errors) {
      const row = errors.insertRow();
      cell(row, String(e.row));
      cell(row, e.field);
      cell(row, e.error);
    }
    if (data.state === "running") setTimeout(poll, 400);
    else if (data.state === "done") {
      for (const id of ["result-file", "result-xlsx"]) document.getElementById(id).hidden = false;
    }
  }
  poll();
}

document.querySelectorAll("form[data-validate]").forEach(watchForm);
const job = document.getElementById("import-job");
if (job) watchImport(job);
