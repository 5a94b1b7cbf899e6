// The creator page: send the file to /v1/label-check and show the plain-words answer.
// No framework and no build step; the server's answer is shown as text, never as HTML.
//
// Sign-in: the platform embeds this page with a short-lived creator token that its
// backend minted (POST /v1/creator-tokens), either in the URL fragment
// (/check#token=ct1....; a fragment never reaches a server's logs) or, when the page
// is in an iframe, by postMessage({type: "aigc-creator-token", token}) from the parent
// after the page announced itself with {type: "aigc-creator-ready"}.
"use strict";

(function () {
  const open = document.body.dataset.open === "true";
  const form = document.getElementById("check-form");
  const fileInput = document.getElementById("file");
  const drop = document.getElementById("drop");
  const preview = document.getElementById("preview");
  const dropText = document.getElementById("drop-text");
  const submit = document.getElementById("submit");
  const result = document.getElementById("result");
  const errorBox = document.getElementById("error");
  const signin = document.getElementById("signin");
  const TOKEN_KEY = "aigc-creator-token";
  let chosen = null;
  let token = null;

  function takeToken(value) {
    if (typeof value !== "string" || !value.startsWith("ct1.")) return;
    token = value;
    sessionStorage.setItem(TOKEN_KEY, value); // a reload of this tab keeps working
    signin.hidden = true;
    submit.disabled = !chosen;
  }

  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    takeToken(fragment.get("token"));
    // out of the address bar and the history: the token is a credential
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    takeToken(sessionStorage.getItem(TOKEN_KEY));
  }
  window.addEventListener("message", (event) => {
    // only the page that embeds this one may hand it a token
    if (event.source !== window.parent || window.parent === window) return;
    const data = event.data || {};
    if (data.type === "aigc-creator-token") takeToken(data.token);
  });
  if (window.parent !== window) window.parent.postMessage({ type: "aigc-creator-ready" }, "*");
  if (!open && !token) signin.hidden = false;

  const ready = () => Boolean(chosen) && (open || Boolean(token));

  function choose(file) {
    chosen = file || null;
    submit.disabled = !ready();
    result.hidden = true;
    errorBox.hidden = true;
    if (!chosen) return;
    dropText.textContent = chosen.name;
    if (chosen.type.startsWith("image/")) {
      preview.src = URL.createObjectURL(chosen);
      preview.alt = "Preview of " + chosen.name;
      preview.hidden = false;
    } else {
      preview.hidden = true;
    }
  }

  fileInput.addEventListener("change", () => choose(fileInput.files[0]));
  ["dragenter", "dragover"].forEach((name) =>
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    })
  );
  ["dragleave", "drop"].forEach((name) =>
    drop.addEventListener(name, () => drop.classList.remove("over"))
  );
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
  });

  function showError(message) {
    result.hidden = true;
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: "center" });
  }

  function headers() {
    return token ? { Authorization: "Bearer " + token } : {};
  }

  function badgeFor(answer) {
    if (answer.removed) return ["Will not be published", "removed"];
    if (answer.under_review) return ["Review before wide distribution", "review"];
    if (answer.will_label) return ["Label: " + answer.label_text, "label"];
    if (answer.disclosure_required) return ["Disclosure needed", "disclose"];
    return ["No label", "none"];
  }

  // the label as viewers get it: the EU common AI icon, the words in the viewer's language,
  // when it is shown and what it rests on (with the verified identities of the creator)
  function showDisplay(display) {
    const box = document.getElementById("shown");
    box.hidden = !display;
    if (!display) return;
    const texts = display.text || {};
    const lang = (navigator.language || "en").slice(0, 2).toLowerCase();
    document.getElementById("shown-text").textContent = texts[lang] || texts.en || "";
    document.getElementById("shown-icon").setAttribute("aria-label", display.icon_meaning || "AI");
    document.getElementById("shown-when").textContent = display.first_exposure
      ? "Shown the first time someone sees your post."
      : "Shown with your post.";
    let source = "Based on " + display.source + ".";
    for (const identity of display.identities || []) source += " " + identity + ".";
    document.getElementById("shown-source").textContent = source;
  }

  function showAnswer(answer, disclosed) {
    const badge = document.getElementById("badge");
    let [text, kind] = badgeFor(answer);
    // the creator already answered "no AI": nothing more is asked of them
    if (kind === "disclose" && disclosed === "false") [text, kind] = ["No label: you said no AI was used", "none"];
    badge.textContent = text;
    badge.className = "badge " + kind;
    document.getElementById("headline").textContent = answer.headline;
    const why = document.getElementById("why");
    why.replaceChildren(
      ...answer.why.map((sentence) => {
        const item = document.createElement("li");
        item.textContent = sentence;
        return item;
      })
    );
    showDisplay(answer.display);
    document.getElementById("review").hidden = !answer.under_review;
    document.getElementById("cases").hidden = true;
    errorBox.hidden = true;
    result.hidden = false;
    // on a phone the answer is below the form: bring it up and read it out
    result.scrollIntoView({ block: "start" });
    result.focus({ preventScroll: true });
  }

  async function call(path, options) {
    const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (response.status === 401 && token && window.parent !== window) {
      // expired or revoked: the embedding page may mint a new one and post it again
      window.parent.postMessage({ type: "aigc-creator-token-rejected" }, "*");
    }
    if (!response.ok) {
      const message = payload && payload.error ? payload.error.message : response.statusText;
      throw new Error(message);
    }
    return payload;
  }

  function caseItem(item) {
    const li = document.createElement("li");
    const when = new Date(item.created_at).toLocaleDateString();
    const state = item.verdict ? item.status + " (" + item.verdict.replace(/_/g, " ") + ")" : item.status;
    li.append("Upload of " + when + ": " + state + " ");
    if (item.appealable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "appeal";
      button.dataset.caseId = item.id;
      button.textContent = "Appeal this decision";
      li.append(button);
    }
    return li;
  }

  async function showCases() {
    const box = document.getElementById("cases");
    try {
      const page = await call("/v1/creator/cases", { method: "GET" });
      const list = document.getElementById("case-list");
      list.replaceChildren(...page.items.map(caseItem));
      document.getElementById("cases-empty").hidden = page.items.some((c) => c.appealable);
      box.hidden = false;
      document.getElementById("cases-title").focus();
    } catch (err) {
      showError("We could not load your reviewed uploads: " + err.message);
    }
  }

  async function appeal(button) {
    const reason = document.getElementById("appeal-reason").value.trim();
    button.disabled = true;
    try {
      await call("/v1/cases/" + encodeURIComponent(button.dataset.caseId) + "/appeal", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(reason ? { reason } : {}),
      });
      button.replaceWith("Appeal sent: another person will look at it again.");
    } catch (err) {
      button.disabled = false;
      showError("The appeal was not sent: " + err.message);
    }
  }

  document.getElementById("appeal-open").addEventListener("click", showCases);
  document.getElementById("case-list").addEventListener("click", (event) => {
    const button = event.target.closest("button.appeal");
    if (button) appeal(button);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen) return;
    if (!open && !token) return showError("This page was opened without a sign-in from your platform.");
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    for (const name of ["creator_disclosed_ai", "caption", "hashtags"]) {
      const value = form.elements[name].value.trim();
      if (value) body.append(name, value);
    }
    submit.disabled = true;
    submit.textContent = "Checking…";
    try {
      showAnswer(await call("/v1/label-check", { method: "POST", body }), form.elements.creator_disclosed_ai.value);
    } catch (err) {
      showError("We could not check this file: " + err.message);
    } finally {
      submit.disabled = !ready();
      submit.textContent = "Check my upload";
    }
  });
})();
