// mediacore admin console: the few interactive parts. Every call goes to the console's own
// proxy routes with the session cookie and the CSRF token; the API token stays on the server.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function apiCall(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

// Shows what went wrong in a form's or an upload's status line, in the error style.
function showError(node, message) {
  node.textContent = message;
  node.classList.add("error");
}

// Calls `handler(form)` instead of submitting the form with this id, on a page that has one.
function onSubmit(id, handler) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    handler(form);
  });
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, value));
  children.forEach((child) => node.append(child));
  return node;
}

// -- maintenance ----------------------------------------------------------------------------------

function renderSummary(summary) {
  const section = document.getElementById("scan-result");
  section.hidden = false;
  section.querySelector(".when").textContent =
    `${summary.dry_run ? "dry run · " : ""}${summary.scanned_at}`;
  const body = section.querySelector("tbody");
  body.replaceChildren();
  const details = section.querySelector(".details");
  details.replaceChildren();
  for (const [key, part] of Object.entries(summary.categories)) {
    body.append(element("tr", { "data-category": key },
      element("th", {}, key), element("td", {}, String(part.files_found)),
      element("td", {}, String(part.files_scanned) + (part.limited ? " (limited)" : "")),
      element("td", { class: "added" }, String(part.added)),
      element("td", { class: "updated" }, String(part.updated)),
      element("td", { class: "unchanged" }, String(part.unchanged)),
      element("td", { class: "missing" }, String(part.missing)),
      element("td", {}, String(part.errors.length))));
    const lines = [
      ...part.missing_paths.map((path) => `missing: ${path}`),
      ...part.errors.map((error) => `error: ${error.path}: ${error.error}`),
      ...part.notes.map((note) => `note: ${note}`),
      ...(part.root_exists ? [] : ["folder not found"]),
    ];
    if (lines.length) {
      details.append(element("h3", {}, key), element("ul", {}, ...lines.map((line) => element("li", {}, line))));
    }
  }
  const totals = summary.totals;
  section.querySelector("tfoot").replaceChildren(element("tr", {},
    element("th", {}, "Total"), element("td", {}, String(totals.files_found)),
    element("td", {}, String(totals.files_scanned)), element("td", {}, String(totals.added)),
    element("td", {}, String(totals.updated)), element("td", {}, String(totals.unchanged)),
    element("td", {}, String(totals.missing)), element("td", {}, "")));
}

async function scan(form) {
  const status = form.querySelector(".status");
  const body = {
    categories: [...form.querySelectorAll('input[name="categories"]:checked')].map((box) => box.value),
    dry_run: form.querySelector('input[name="dry_run"]').checked,
    refresh: form.querySelector('input[name="refresh"]').checked,
  };
  const limit = form.querySelector('input[name="limit"]').value;
  if (limit) body.limit = Number(limit);
  status.textContent = "Scanning…";
  form.querySelector("button").disabled = true;
  try {
    renderSummary(await apiCall("POST", "/admin/media/maintenance-scan", body));
    status.textContent = body.dry_run ? "Dry run finished: nothing was written." : "Scan finished.";
  } catch (error) {
    showError(status, `Scan failed: ${error.message}`);
  } finally {
    form.querySelector("button").disabled = false;
  }
}

// -- upload ---------------------------------------------------------------------------------------

function uploadFile(file, category) {
  const row = element("li", { "data-file": file.name }, element("strong", {}, file.name));
  const bar = element("progress", { max: "100", value: "0" });
  const result = element("span", { class: "result" }, "waiting…");
  row.append(bar, result);
  document.getElementById("uploads").append(row);

  const data = new FormData();
  data.append("category", category);
  data.append("file", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", "/admin/media/upload");
  request.setRequestHeader("X-CSRF-Token", csrf());
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) {
      bar.value = Math.round((100 * event.loaded) / event.total);
      result.textContent = `${bar.value}%`;
    }
  });
  request.addEventListener("load", () => {
    let body = null;
    try { body = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
    if (request.status === 201 && body) {
      bar.value = 100;
      result.replaceChildren(element("a", { href: `/item/${body.id}`, class: "ok" }, `added: ${body.title || body.filename}`));
      row.dataset.status = "done";
    } else {
      showError(result, `failed: ${body && body.error ? body.error.message : `HTTP ${request.status}`}`);
      row.dataset.status = "failed";
    }
  });
  request.addEventListener("error", () => {
    showError(result, "failed: the connection was lost");
    row.dataset.status = "failed";
  });
  request.send(data);
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const zone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  const category = () => form.querySelector('select[name="category"]').value;
  const send = (files) => [...files].forEach((file) => uploadFile(file, category()));
  input.addEventListener("change", () => { send(input.files); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files);
  });
}

// -- refresh --------------------------------------------------------------------------------------

async function refresh(form) {
  const result = form.querySelector(".result");
  result.textContent = "Reading…";
  try {
    const answer = await apiCall("POST", `/admin/media/${form.dataset.id}/refresh`);
    if (answer.errors.length) {  // stays on screen: reload to see what was read
      showError(result, `Refreshed, with errors: ${answer.errors.join("; ")}`);
      return;
    }
    result.textContent = "Refreshed.";
    setTimeout(() => { window.location.reload(); }, 800);
  } catch (error) {
    showError(result, `Refresh failed: ${error.message}`);
  }
}

// -- delete ---------------------------------------------------------------------------------------

async function deleteItem(form) {
  const mode = form.querySelector('input[name="mode"]:checked').value;
  const words = { soft: "Hide this item?", hard: "Remove this item from the library?",
                  file: "Remove this item AND delete its file from disk? This cannot be undone." };
  if (!window.confirm(words[mode])) return;
  const query = mode === "soft" ? "?soft=true" : mode === "file" ? "?delete_file=true" : "";
  const result = form.querySelector(".result");
  try {
    const answer = await apiCall("DELETE", `/admin/media/${form.dataset.id}${query}`);
    result.textContent = `Deleted (${answer.deleted}${answer.file_deleted ? ", file removed" : ""}).`;
    setTimeout(() => { window.location.href = "/"; }, 800);
  } catch (error) {
    showError(result, `Delete failed: ${error.message}`);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  onSubmit("scan-form", scan);
  onSubmit("refresh-form", refresh);
  onSubmit("delete-form", deleteItem);
  setupUpload();
});
