// s3api console: the copy buttons and the upload through a presigned link. No framework; htmx does the rest.
"use strict";
document.addEventListener("click", function (event) {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  const done = function () { button.textContent = "Copied"; button.setAttribute("aria-label", "Copied"); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { fallback(source, done); });
  } else {
    fallback(source, done);
  }
});

function fallback(source, done) {
  select(source);
  try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the user copies by hand */ }
}

function select(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function csrf() {
  try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; } catch (e) { return ""; }
}

document.addEventListener("submit", async function (event) {
  const upload = event.target.closest("#upload-form");
  if (!upload) return;
  event.preventDefault();
  const status = document.getElementById("upload-status");
  const file = upload.querySelector("input[type=file]").files[0];
  if (!file) { status.textContent = "Choose a file first."; return; }
  let prefix = upload.querySelector("[name=prefix]").value.trim();
  if (prefix && !prefix.endsWith("/")) prefix += "/";
  const key = prefix + file.name;
  status.textContent = "Uploading " + key + "…";
  const body = new URLSearchParams({ key: key, csrf: csrf() });
  try {
    const linked = await fetch(upload.dataset.link, {
      method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" },
    });
    const answer = await linked.json();
    if (!linked.ok) {
      status.textContent = "Refused: " + answer.message + (answer.request_id ? " (request id " + answer.request_id + ")" : "");
      return;
    }
    const put = await fetch(answer.Url, { method: "PUT", body: file });
    if (!put.ok) { status.textContent = "The upload failed: S3 answered " + put.status + "."; return; }
    status.textContent = "Uploaded " + key + ".";
    const here = new URL(window.location.href);
    here.searchParams.set("notice", "Uploaded " + key + ".");
    window.location.assign(here.toString());
  } catch (e) {
    status.textContent = "The upload failed: " + e;
  }
});
