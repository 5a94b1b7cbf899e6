// The reviewer page: the queue, one case with its evidence, and the verdict.
// Every request carries the reviewer's key from sessionStorage (gone when the tab closes).
"use strict";

const KEY = "aigc.reviewerKey";
const $ = (id) => document.getElementById(id);
const VERDICTS = ["confirmed_misleading", "unverified", "ai_label_only", "cleared"];
const STATUS_WORDS = {
  open: "open", in_review: "in review", decided: "decided", appealed: "appealed",
};
let cases = [];
let current = -1;
let shown = null;
let blobs = [];

function key() { return sessionStorage.getItem(KEY) || ""; }

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${key()}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let message = `${response.status}`;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

async function image(img, url) {
  img.hidden = true;
  if (!url) return false;
  try {
    const blob = await (await api(url)).blob();
    const src = URL.createObjectURL(blob);
    blobs.push(src);
    img.src = src;
    img.hidden = false;
    return true;
  } catch (_) { return false; }
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
    dl.append(dt, dd);
  }
}

// one line per signal: its plain facts, not the raw hashes
function signalPairs(signals) {
  const pairs = [];
  for (const [name, value] of Object.entries(signals || {})) {
    if (!value || typeof value !== "object") { pairs.push([name, value]); continue; }
    const parts = Object.entries(value)
      .filter(([k, v]) => v !== null && v !== undefined && v !== "" && !/pdq|hash/.test(k)
        && typeof v !== "object")
      .map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`);
    pairs.push([name === "credentials" ? "manifest (C2PA)" : name, parts.join(" · ") || "—"]);
  }
  return pairs;
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  cases.forEach((item, i) => {
    const li = document.createElement("li");
    li.dataset.caseId = item.id;
    li.setAttribute("aria-current", i === current ? "true" : "false");
    const prio = document.createElement("span");
    prio.className = "prio";
    prio.textContent = item.priority;
    const text = document.createElement("span");
    const kind = item.kind === "upload" ? "" : ` [${item.kind}]`;
    text.textContent = `${(item.topics || []).join(", ") || "no topic"} · `
      + `${STATUS_WORDS[item.status] || item.status}${kind} · ${(item.reasons || []).join(", ")}`;
    li.append(prio, text);
    li.addEventListener("click", () => select(i));
    list.append(li);
  });
}

async function loadQueue() {
  if (!key()) return;
  fail("");
  const status = $("status").value;
  try {
    const page = await (await api(`/v1/cases?per_page=100${status ? `&status=${status}` : ""}`))
      .json();
    cases = page.items;
    $("queue-count").textContent = `${page.total}${page.total_capped ? "+" : ""} case(s)`;
    current = Math.min(current, cases.length - 1);
    renderQueue();
  } catch (error) { fail(`Could not load the queue: ${error.message}`); }
}

async function select(i) {
  if (i < 0 || i >= cases.length) return;
  current = i;
  renderQueue();
  try {
    show(await (await api(`/v1/cases/${cases[i].id}`)).json());
  } catch (error) { fail(`Could not open the case: ${error.message}`); }
}

function show(item) {
  shown = item;
  blobs.forEach((b) => URL.revokeObjectURL(b));
  blobs = [];
  $("case").hidden = false;
  $("decided").hidden = true;
  $("case-title").textContent = `Case ${item.id.slice(0, 8)} · ${STATUS_WORDS[item.status]}`
    + (item.retroactive ? " · found by a later bank entry" : "");
  $("case-meta").textContent = `priority ${item.priority} · ${item.kind} · opened ${item.created_at}`
    + (item.verdict ? ` · verdict ${item.verdict}` : "");
  image($("case-image"), item.thumbnail_url);
  const reasons = $("reasons");
  reasons.replaceChildren();
  for (const reason of item.reasons || []) {
    const li = document.createElement("li");
    li.textContent = reason.message || reason.code;
    li.title = reason.code;
    reasons.append(li);
  }
  facts($("signals"), signalPairs(item.signals));
  facts($("context"), Object.entries(item.context || {}));
  const entry = item.matched_entry;
  $("entry-figure").hidden = !entry;
  if (entry) {
    $("entry-caption").textContent = `Matched bank entry #${entry.id}`;
    image($("entry-image"), entry.thumbnail_url).then((ok) => { $("entry-noimage").hidden = ok; });
    facts($("entry-facts"), [
      ["category", entry.category], ["severity", entry.severity], ["source", entry.source],
      ["confirmed by a person", entry.confirmed ? "yes" : "no"],
      ["quarantined", entry.quarantined ? "yes" : null],
      ["distance", entry.distance], ["note", entry.note], ["fact-check", entry.reference_url],
    ]);
  }
  document.querySelectorAll(".verdicts button").forEach((b) => {
    b.disabled = item.status === "decided";
  });
}

async function claim() {
  if (!shown) return;
  try {
    show(await (await api(`/v1/cases/${shown.id}/claim`, { method: "POST" })).json());
  } catch (error) { fail(`Could not claim: ${error.message}`); }
}

async function decide(verdict) {
  if (!shown || shown.status === "decided") return;
  const body = { verdict, note: $("note").value || null };
  if ($("fact-check").value) body.fact_check_url = $("fact-check").value;
  try {
    const item = await (await api(`/v1/cases/${shown.id}/verdict`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    })).json();
    show(item);
    $("note").value = "";
    $("fact-check").value = "";
    $("decided").textContent = `Decided: ${verdict.replaceAll("_", " ")}`;
    $("decided").hidden = false;
    fail("");
    await loadQueue();
  } catch (error) { fail(`Verdict not recorded: ${error.message}`); }
}

function useKey(value) {
  if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
  $("key").value = "";
  $("key-forget").hidden = !key();
  $("key").placeholder = key() ? "key in use for this tab" : "aigc_…";
  cases = []; current = -1; shown = null;
  $("case").hidden = true;
  renderQueue();
  loadQueue();
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (e) => { e.preventDefault(); useKey($("key").value.trim()); });
  $("key-forget").addEventListener("click", () => useKey(""));
  $("refresh").addEventListener("click", loadQueue);
  $("status").addEventListener("change", loadQueue);
  document.querySelectorAll(".verdicts button").forEach((b) => {
    b.addEventListener("click", () => decide(b.dataset.verdict));
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select") || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "j") select(current + 1);
    else if (e.key === "k") select(Math.max(0, current - 1));
    else if (e.key === "c") claim();
    else if (e.key === "r") loadQueue();
    else if (["1", "2", "3", "4"].includes(e.key)) decide(VERDICTS[Number(e.key) - 1]);
    else return;
    e.preventDefault();
  });
  $("key-forget").hidden = !key();
  if (key()) $("key").placeholder = "key in use for this tab";
  loadQueue();
});
