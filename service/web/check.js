// The creator page: send the file to /v1/label-check and show the plain-words answer.
// No framework and no build step; the server's answer is shown as text, never as HTML.
"use strict";

(function () {
  const open = document.body.dataset.open === "true";
  const form = document.getElementById("check-form");
  const fileInput = document.getElementById("file");
  const drop = document.getElementById("drop");
  const preview = document.getElementById("preview");
  const dropText = document.getElementById("drop-text");
  const submit = document.getElementById("submit");
  const keyInput = document.getElementById("key");
  const result = document.getElementById("result");
  const errorBox = document.getElementById("error");
  let chosen = null;

  if (open) {
    document.getElementById("key-row").hidden = true;
  } else {
    keyInput.value = sessionStorage.getItem("aigc-creator-key") || "";
  }

  function choose(file) {
    chosen = file || null;
    submit.disabled = !chosen;
    result.hidden = true;
    errorBox.hidden = true;
    if (!chosen) return;
    dropText.textContent = chosen.name;
    if (chosen.type.startsWith("image/")) {
      preview.src = URL.createObjectURL(chosen);
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
  }

  function showAnswer(answer) {
    const badge = document.getElementById("badge");
    badge.className = "badge";
    if (answer.removed) {
      badge.textContent = "Will not be published";
      badge.classList.add("removed");
    } else if (answer.under_review) {
      badge.textContent = "Review before wide distribution";
      badge.classList.add("review");
    } else if (answer.will_label) {
      badge.textContent = "Label: " + answer.label_text;
      badge.classList.add("label");
    } else if (answer.disclosure_required) {
      badge.textContent = "Disclosure needed";
      badge.classList.add("disclose");
    } else {
      badge.textContent = "No label";
      badge.classList.add("none");
    }
    document.getElementById("headline").textContent = answer.headline;
    const why = document.getElementById("why");
    why.replaceChildren(
      ...answer.why.map((sentence) => {
        const item = document.createElement("li");
        item.textContent = sentence;
        return item;
      })
    );
    errorBox.hidden = true;
    result.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen) return;
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    for (const name of ["creator_disclosed_ai", "caption", "hashtags"]) {
      const value = form.elements[name].value.trim();
      if (value) body.append(name, value);
    }
    const headers = {};
    if (!open) {
      const key = keyInput.value.trim();
      if (!key) return showError("Please enter your creator key.");
      sessionStorage.setItem("aigc-creator-key", key);
      headers.Authorization = "Bearer " + key;
    }
    submit.disabled = true;
    submit.textContent = "Checking…";
    try {
      const response = await fetch("/v1/label-check", { method: "POST", body, headers });
      let payload = null;
      try {
        payload = await response.json();
      } catch (_) {
        payload = null;
      }
      if (!response.ok) {
        const message = payload && payload.error ? payload.error.message : response.statusText;
        showError("We could not check this file: " + message);
      } else {
        showAnswer(payload);
      }
    } catch (err) {
      showError("The check did not reach the server. Please try again.");
    } finally {
      submit.disabled = false;
      submit.textContent = "Check my upload";
    }
  });
})();
