// The batch report's own script: render the embedded rows a page at a time,
// filter, search, sort, open a card's evidence, show near-duplicate groups.
// Every value from a row is set as text (textContent), never as HTML.
"use strict";
(function () {
  const read = (id) => JSON.parse(document.getElementById("data-" + id).textContent);
  const meta = read("meta");
  const reasons = read("reasons");
  const groups = read("groups");
  const rows = read("rows");
  const $ = (id) => document.getElementById(id);
  const rank = {};
  meta.severity.forEach((name, i) => (rank[name] = i));
  const thumbChunks = {};
  const state = { page: 0, per: 50, shown: [] };

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const credState = (r) => (r.c ? r.c.st || "present" : "absent");
  const codesOf = (r) => (r.r || []).map((n) => reasons[n][0]);

  function fillSelect(id, counts, label) {
    const select = $(id);
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .forEach(([value, n]) => {
        select.appendChild(el("option", { value }, (label ? label(value) : value) + " (" + n + ")"));
      });
  }

  function facets() {
    const tally = { action: {}, label: {}, reason: {}, category: {}, cred: {} };
    const bump = (m, k) => (m[k] = (m[k] || 0) + 1);
    for (const r of rows) {
      bump(tally.action, r.a);
      bump(tally.label, r.l || "no label");
      new Set(codesOf(r)).forEach((c) => bump(tally.reason, c));
      if (r.e) bump(tally.reason, "error: " + r.e[0]);
      if (r.m && r.m.cat) bump(tally.category, r.m.cat);
      bump(tally.cred, credState(r));
    }
    fillSelect("f-action", tally.action);
    fillSelect("f-label", tally.label);
    fillSelect("f-reason", tally.reason);
    fillSelect("f-category", tally.category);
    fillSelect("f-cred", tally.cred);
    const groupSelect = $("f-group");
    groups.forEach((g, i) => {
      const who = g.cr ? ", " + g.cr + " creators" : "";
      groupSelect.appendChild(el("option", { value: String(i) }, "#" + (i + 1) + " (" + g.n + " files" + who + ")"));
    });
  }

  function predicate() {
    const q = $("f-q").value.trim().toLowerCase();
    const action = $("f-action").value;
    const label = $("f-label").value;
    const reason = $("f-reason").value;
    const category = $("f-category").value;
    const cred = $("f-cred").value;
    const group = $("f-group").value;
    return (r) =>
      (!action || r.a === action) &&
      (!label || (r.l || "no label") === label) &&
      (!category || (r.m && r.m.cat === category)) &&
      (!cred || credState(r) === cred) &&
      (!group || String(r.g) === group) &&
      (!reason || codesOf(r).includes(reason) || (r.e && "error: " + r.e[0] === reason)) &&
      (!q || r.p.toLowerCase().includes(q));
  }

  const sorters = {
    severity: (a, b) => rank[rows[a].a] - rank[rows[b].a] || a - b,
    time: (a, b) => (rows[b].t || 0) - (rows[a].t || 0) || a - b,
    distance: (a, b) => dist(a) - dist(b) || rank[rows[a].a] - rank[rows[b].a] || a - b,
    path: (a, b) => a - b,
  };
  const dist = (i) => (rows[i].m && rows[i].m.d !== undefined ? rows[i].m.d : 1e9);

  function apply(keepPage) {
    const test = predicate();
    const shown = [];
    for (let i = 0; i < rows.length; i++) if (test(rows[i])) shown.push(i);
    shown.sort(sorters[$("f-sort").value] || sorters.severity);
    state.shown = shown;
    state.per = parseInt($("f-per").value, 10) || 50;
    if (!keepPage) state.page = 0;
    render();
  }

  function thumbnail(r) {
    const box = el("div", { class: "thumb" });
    if (r.th === undefined || r.th < 0) {
      box.textContent = r.th < 0 ? "no preview (report size limit)" : (r.mt || "no preview").split("/")[0];
      return box;
    }
    const img = el("img", { alt: "Preview of " + r.p, loading: "lazy", "data-th": String(r.th) });
    box.appendChild(img);
    return box;
  }

  function fillThumbs() {
    for (const img of document.querySelectorAll("#list img[data-th]")) {
      const n = parseInt(img.dataset.th, 10);
      const c = Math.floor(n / meta.chunk);
      if (!(c in thumbChunks)) {
        const node = document.getElementById("thumbs-" + c);
        if (!node) continue; // not parsed yet: filled again on DOMContentLoaded
        thumbChunks[c] = JSON.parse(node.textContent);
      }
      img.src = "data:image/jpeg;base64," + thumbChunks[c][n % meta.chunk];
      img.removeAttribute("data-th");
    }
  }

  const shown = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v));

  function pair(dl, name, value) {
    if (value === undefined || value === null || value === "") return;
    if (Array.isArray(value) && !value.length) return;
    dl.appendChild(el("dt", {}, name));
    dl.appendChild(el("dd", {}, Array.isArray(value) ? value.map(shown).join(", ") : shown(value)));
  }

  function manifest(c) {
    const box = el("div");
    box.appendChild(el("strong", {}, "Manifest"));
    // who signed, under which trust list, and the creators whose identity is verified
    const who = el("dl", { class: "ev" });
    pair(who, "in words", c.sx);
    pair(who, "trusted by", c.tr);
    pair(who, "identities", c.id);
    pair(who, "rubric class", c.rb);
    if (who.childNodes.length) box.appendChild(who);
    if (Array.isArray(c.ch) && c.ch.length) {
      const list = el("ol", { class: "chain" });
      for (const m of c.ch) {
        const item = el("li");
        const dl = el("dl", { class: "ev" });
        pair(dl, "signer", m.signer);
        pair(dl, "time", m.time);
        pair(dl, "claim generator", m.claim_generator);
        pair(dl, "actions", m.actions);
        pair(dl, "AI", m.ai);
        pair(dl, "state", m.state);
        item.appendChild(dl);
        list.appendChild(item);
      }
      box.appendChild(list);
      return box;
    }
    const dl = el("dl", { class: "ev" });
    pair(dl, "state", c.st);
    pair(dl, "signer", c.sg);
    pair(dl, "signed at", c.at);
    pair(dl, "AI", c.ai);
    pair(dl, "claim generator", c.cg);
    box.appendChild(dl);
    return box;
  }

  function evidence(r) {
    const details = el("details");
    details.appendChild(el("summary", {}, "Evidence"));
    const dl = el("dl", { class: "ev" });
    if (r.m) {
      pair(dl, r.m.near ? "near match, distance" : "match distance", r.m.d);
      pair(dl, "bank entry", r.m.e);
      pair(dl, "category", r.m.cat);
      pair(dl, "severity", r.m.sev);
      pair(dl, "hash", r.m.h);
      pair(dl, "entry note", r.m.note);
      pair(dl, "entry source", r.m.src);
      pair(dl, "fact check", r.m.ref);
      pair(dl, "confirmed by a person", r.m.cf ? "yes" : null);
    }
    if (r.w) {
      pair(dl, "watermark owner", r.w.o);
      pair(dl, "watermark p-value", r.w.pv);
      pair(dl, "watermark meaning", r.w.mn);
      pair(dl, "watermark payload", r.w.x);
    }
    if (r.c) {
      pair(dl, "signer", r.c.sg);
      pair(dl, "credentials state", r.c.st);
      pair(dl, "trust", r.c.tr);
      pair(dl, "failure codes", r.c.fc);
    }
    if (r.e) pair(dl, "error", r.e[0] + ": " + r.e[1]);
    pair(dl, "signal errors", r.se);
    pair(dl, "creator", r.cr);
    pair(dl, "media", [r.mt, r.wh ? r.wh.join("×") : null].filter(Boolean).join(" "));
    pair(dl, "finished", r.t ? new Date(r.t * 1000).toISOString().replace(".000Z", "Z") : null);
    pair(dl, "seconds", r.s);
    details.appendChild(dl);
    if (r.c) details.appendChild(manifest(r.c));
    return details;
  }

  function card(i) {
    const r = rows[i];
    const item = el("li", { class: "card a-" + r.a, "data-path": r.p, "data-row": String(i) });
    item.appendChild(thumbnail(r));
    const info = el("div", { class: "info" });
    info.appendChild(el("div", { class: "path" }, r.p));
    info.appendChild(el("span", { class: "tag t-" + r.a }, r.a === "error" ? r.st || "error" : r.a));
    if (r.l) info.appendChild(el("span", { class: "tag t-ai" }, r.l));
    if (r.g !== undefined) {
      const g = groups[r.g];
      const link = el("button", { type: "button", class: "tag t-group linkish", "data-group": String(r.g) });
      link.textContent = "near-duplicate group #" + (r.g + 1) + " (" + g.n + ")";
      info.appendChild(link);
    }
    const list = el("ul", { class: "reasons" });
    for (const n of r.r || []) {
      const li = el("li");
      li.appendChild(el("code", {}, reasons[n][0]));
      li.appendChild(document.createTextNode(" " + reasons[n][1]));
      list.appendChild(li);
    }
    if (r.e) {
      const li = el("li");
      li.appendChild(el("code", {}, r.e[0]));
      li.appendChild(document.createTextNode(" " + r.e[1]));
      list.appendChild(li);
    }
    info.appendChild(list);
    info.appendChild(evidence(r));
    item.appendChild(info);
    return item;
  }

  function render() {
    const total = state.shown.length;
    const pages = Math.max(1, Math.ceil(total / state.per));
    state.page = Math.min(state.page, pages - 1);
    const from = state.page * state.per;
    const to = Math.min(total, from + state.per);
    const fragment = document.createDocumentFragment();
    for (let k = from; k < to; k++) fragment.appendChild(card(state.shown[k]));
    $("list").replaceChildren(fragment);
    $("status").textContent = total
      ? total + " files match; showing " + (from + 1) + "–" + to
      : "No file matches these filters.";
    $("page-of").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    fillThumbs();
  }

  function renderGroups(limit) {
    const section = $("groups-section");
    if (!groups.length) return;
    section.hidden = false;
    const list = $("groups");
    list.replaceChildren();
    groups.slice(0, limit).forEach((g, i) => {
      const item = el("li", { "data-group": String(i) });
      const button = el("button", { type: "button", class: "linkish", "data-group": String(i) });
      button.textContent = "#" + (i + 1) + ": " + g.n + " files";
      item.appendChild(button);
      const parts = [];
      if (g.cr) parts.push(g.cr + " distinct creators");
      parts.push(Object.entries(g.a).map(([a, n]) => a + " " + n).join(", "));
      parts.push("e.g. " + g.first);
      item.appendChild(document.createTextNode(" · " + parts.join(" · ")));
      list.appendChild(item);
    });
    $("groups-more").hidden = groups.length <= limit;
    $("groups-more").onclick = () => renderGroups(limit + 25);
  }

  function showGroup(g) {
    $("f-group").value = String(g);
    apply();
    $("files-title").scrollIntoView();
  }

  let typing = null;
  $("f-q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => apply(), 150);
  });
  for (const id of ["f-action", "f-label", "f-reason", "f-category", "f-cred", "f-group", "f-sort", "f-per"]) {
    $(id).addEventListener("change", () => apply());
  }
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("f-reset").addEventListener("click", () => {
    $("filters").reset();
    apply();
  });
  $("prev").addEventListener("click", () => {
    state.page -= 1;
    render();
  });
  $("next").addEventListener("click", () => {
    state.page += 1;
    render();
  });
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-group]");
    if (target && target.tagName === "BUTTON") showGroup(target.dataset.group);
  });
  document.addEventListener("DOMContentLoaded", fillThumbs);

  facets();
  renderGroups(10);
  apply();
  document.body.dataset.ready = "true";
  if (window.performance && performance.mark) performance.mark("report-rendered");
})();
