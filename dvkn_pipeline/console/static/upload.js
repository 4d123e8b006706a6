// Send a report straight to the object store: ask the console to sign a PUT of this
// file's size to its own key, PUT the file to the store with it, then open the receipt page
// (which reloads itself until the receipt is there). No framework, no build.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var status = document.getElementById("upload-status");
  var button = document.getElementById("upload-button");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function fail(text) {
    status.textContent = form.dataset.failed + ": " + text;
    status.className = "alert";
    button.disabled = false;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("upload-file").files[0];
    if (!file) return;
    if (file.size > Number(form.dataset.maxBytes)) { fail(file.name + " > " + form.dataset.maxBytes + " B"); return; }
    button.disabled = true;
    status.className = "muted";
    status.textContent = form.dataset.sending;
    fetch(form.dataset.signUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ filename: file.name, size: file.size })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.status);
        return body;
      });
    }).then(function (signed) {
      return fetch(signed.url, { method: "PUT", body: file, mode: "cors" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        var etag = (r.headers.get("ETag") || "").replace(/"/g, "");
        window.location.href = signed.receipt_page + "?key=" + encodeURIComponent(signed.key) +
          (etag ? "&etag=" + encodeURIComponent(etag) : "");
      });
    }).catch(function (err) { fail(String(err.message || err)); });
  });
})();
