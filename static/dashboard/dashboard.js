// Parley dashboard: copy buttons, bulk selection, keyboard moderation, and actions without a page reload.
// Every form works without this script; it only makes a busy queue faster.
(function () {
  "use strict";

  var live = document.getElementById("live-status");

  function say(message, isError) {
    if (!live) return;
    live.textContent = message;
    live.className = "flash " + (isError ? "flash-error" : "flash-success");
    live.hidden = false;
  }

  // Copy buttons: data-copy names the element whose text (or value) is copied.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP dashboards have no async clipboard: copy through a selected, off-screen text area.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var text = "value" in source && source.tagName === "INPUT" ? source.value : source.textContent;
      var status = document.getElementById("copy-status");
      var label = button.textContent;
      copyText(text).then(function () {
        button.textContent = "Copied";
        if (status) status.textContent = "Copied to the clipboard.";
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        if (status) status.textContent = "Your browser refused to copy: select the text and copy it by hand.";
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    });
  });

  // Confirmations for actions that are hard to undo.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // Bulk selection -----------------------------------------------------------------------
  var bulkForm = document.getElementById("bulk-form");

  function selectedBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input.select:checked"));
  }

  function updateSelection() {
    if (!bulkForm) return;
    var count = selectedBoxes().length;
    var counter = bulkForm.querySelector(".selected-count");
    if (counter) counter.textContent = count ? count + " selected" : "";
    var all = bulkForm.querySelector(".select-all");
    var boxes = document.querySelectorAll("input.select");
    if (all) all.checked = boxes.length > 0 && count === boxes.length;
  }

  if (bulkForm) {
    var selectAll = bulkForm.querySelector(".select-all");
    if (selectAll) {
      selectAll.addEventListener("change", function () {
        document.querySelectorAll("input.select").forEach(function (box) { box.checked = selectAll.checked; });
        updateSelection();
      });
    }
    document.addEventListener("change", function (event) {
      if (event.target.classList && event.target.classList.contains("select")) updateSelection();
    });
    bulkForm.addEventListener("submit", function (event) {
      if (!selectedBoxes().length) {
        event.preventDefault();
        say("Select at least one comment first (x selects the current one).", true);
      }
    });
  }

  // Actions on one comment, sent in the background -----------------------------------------
  var isQueue = document.body.classList.contains("is-queue");

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".comment-row"));
  }

  var current = -1;

  function setCurrent(index, scroll) {
    var list = rows();
    if (!list.length) { current = -1; return; }
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (row) { row.classList.remove("is-current"); row.removeAttribute("aria-current"); });
    var row = list[index];
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    current = index;
    if (scroll !== false) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function updatePending(pending) {
    var badge = document.getElementById("pending-count");
    if (badge) {
      badge.textContent = String(pending);
      badge.hidden = pending === 0;
    }
    var summary = document.getElementById("queue-summary");
    if (summary && isQueue) {
      summary.textContent = pending
        ? pending + " comment" + (pending === 1 ? "" : "s") + " waiting for review, newest first"
        : "Nothing waiting";
    }
  }

  function send(form, action) {
    var row = form.closest(".comment-row");
    var data = new FormData(form);
    data.set("action", action);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    row.classList.add("is-leaving");
    // getAttribute: the buttons named "action" shadow form.action.
    return fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        throw new Error(result.body && result.body.error ? result.body.error.message : "The action failed.");
      }
      say(result.body.message, false);
      updatePending(result.body.pending);
      if (isQueue && result.body.status !== "pending") {
        var index = rows().indexOf(row);
        row.parentNode.removeChild(row);
        var left = rows();
        if (!left.length) {
          var empty = document.getElementById("queue-empty");
          if (empty) empty.hidden = false;
          if (bulkForm) bulkForm.hidden = true;
          current = -1;
        } else {
          setCurrent(Math.min(index, left.length - 1));
        }
        updateSelection();
      } else {
        window.location.reload();
      }
    }).catch(function (error) {
      row.classList.remove("is-leaving");
      buttons.forEach(function (b) { b.disabled = false; });
      say(error.message || "The action failed. Reload the page and try again.", true);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("js-action") || event.defaultPrevented) return;
    if (!window.fetch || !event.submitter) return;
    event.preventDefault();
    send(form, event.submitter.value);
  });

  // Import & export --------------------------------------------------------------------------
  // The form shows the options of the kind chosen, and uploads with its own progress bar; each
  // import waiting or running asks the server how it is doing every second until it ends.
  var importForm = document.getElementById("import-form");
  var STATUS_CLASSES = { done: "status-approved", failed: "status-spam" };

  function megabytes(count) {
    return (count / 1048576).toFixed(count < 10485760 ? 1 : 0) + " MB";
  }

  function showKind(kind) {
    importForm.querySelectorAll("[data-kinds]").forEach(function (part) {
      part.hidden = part.dataset.kinds.split(" ").indexOf(kind) < 0;
    });
    importForm.querySelectorAll("[data-source]").forEach(function (part) {
      part.hidden = !!kind && part.dataset.source !== kind;
    });
  }

  function showUploadErrors(message, errors) {
    importForm.querySelectorAll(".field-error").forEach(function (span) {
      var key = span.id.replace(/^err-/, "");
      span.textContent = (errors && errors[key]) || "";
      span.hidden = !span.textContent;
      importForm.querySelectorAll('[aria-describedby~="' + span.id + '"]').forEach(function (field) {
        if (span.hidden) { field.removeAttribute("aria-invalid"); } else { field.setAttribute("aria-invalid", "true"); }
      });
    });
    var banner = document.getElementById("import-errors");
    banner.textContent = errors && Object.keys(errors).length ? "Nothing was imported: see below." : message;
    banner.hidden = false;
  }

  function upload(event) {
    var file = importForm.querySelector("input[type=file]").files[0];
    var limit = Number(importForm.dataset.maxBytes);
    if (file && limit && file.size > limit) {
      event.preventDefault();
      showUploadErrors("", { file: "The file is larger than " + importForm.dataset.maxSize +
        ", the most this server takes. Its administrator can import it with the command line." });
      return;
    }
    if (!window.XMLHttpRequest || !window.FormData) return;  // the browser posts the form itself
    event.preventDefault();
    var button = document.getElementById("import-submit");
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var text = document.getElementById("upload-text");
    var request = new XMLHttpRequest();
    button.disabled = true;
    box.hidden = false;
    bar.removeAttribute("value");
    text.textContent = "Uploading…";
    request.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) return;
      var percent = Math.floor(progress.loaded * 100 / progress.total);
      bar.value = percent;
      text.textContent = "Uploading: " + megabytes(progress.loaded) + " of " + megabytes(progress.total) +
        " (" + percent + "%).";
    });
    request.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(request.responseText); } catch (e) { body = null; }
      if (request.status === 201 && body && body.location) {
        text.textContent = "Uploaded. Opening its progress…";
        var target = new URL(body.location, window.location.href);
        if (target.pathname === window.location.pathname && target.search === window.location.search) {
          window.location.hash = target.hash;  // only the #fragment differs: that alone would not load the page
          window.location.reload();
        } else {
          window.location.assign(target.href);
        }
        return;
      }
      button.disabled = false;
      box.hidden = true;
      showUploadErrors(body && body.error ? body.error.message : "The upload failed (HTTP " + request.status + ").",
        body && body.errors);
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      box.hidden = true;
      showUploadErrors("The upload failed: the connection to the server broke. Try again.", null);
    });
    request.open("POST", importForm.getAttribute("action"));
    request.setRequestHeader("Accept", "application/json");
    request.send(new FormData(importForm));
  }

  if (importForm) {
    var kindSelect = document.getElementById("import-kind");
    showKind(kindSelect.value);
    kindSelect.addEventListener("change", function () { showKind(kindSelect.value); });
    importForm.addEventListener("submit", upload);
  }

  function showImport(item, job) {
    var state = item.querySelector("[data-part=state]");
    state.textContent = job.state_label;
    state.className = "status " + (STATUS_CLASSES[job.state] || "status-pending");
    item.className = "import-job state-" + job.state;
    var bar = item.querySelector("[data-part=bar]");
    bar.hidden = !job.active;
    if (job.percent === null) { bar.removeAttribute("value"); } else { bar.value = job.percent; }
    var text = item.querySelector("[data-part=text]");
    if (text.textContent !== job.text) text.textContent = job.text;  // unchanged text is not read out again
    var list = item.querySelector("[data-part=lines]");
    list.textContent = "";
    job.lines.forEach(function (line) {
      var entry = document.createElement("li");
      entry.textContent = line.trim();
      if (/^\s/.test(line)) entry.className = "sub";
      list.appendChild(entry);
    });
    list.hidden = !job.lines.length;
  }

  function watchImport(item) {
    var failures = 0;
    function poll() {
      fetch(item.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          failures = 0;
          showImport(item, job);
          if (job.active) setTimeout(poll, 1000);
        })
        .catch(function () {
          failures += 1;
          if (failures < 5) {
            setTimeout(poll, 3000);
          } else {
            item.querySelector("[data-part=text]").textContent =
              "This page lost touch with the server: reload it to see how the import is doing.";
          }
        });
    }
    setTimeout(poll, 1000);
  }

  document.querySelectorAll(".import-job[data-status-url]").forEach(watchImport);

  // Keyboard shortcuts -----------------------------------------------------------------------
  if (!document.body.classList.contains("has-shortcuts")) return;

  var KEYS = { a: ["approve", "restore"], s: ["spam"], d: ["delete"], p: ["pin", "unpin"] };

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest(".comment-row");
    if (row) setCurrent(rows().indexOf(row), false);
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    var list = rows();
    if (!list.length) return;
    if (key === "j" || key === "k") {
      event.preventDefault();
      setCurrent(current < 0 ? 0 : current + (key === "j" ? 1 : -1));
      return;
    }
    if (current < 0) setCurrent(0);
    var row = rows()[current];
    if (!row) return;
    if (KEYS[key]) {
      var form = row.querySelector("form.js-action");
      var button = null;
      KEYS[key].some(function (action) {
        button = form && form.querySelector('button[value="' + action + '"]');
        return !!button;
      });
      if (button) {
        event.preventDefault();
        button.click();
      }
    } else if (key === "x") {
      var box = row.querySelector("input.select");
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
        updateSelection();
      }
    } else if (key === "e" || key === "o") {
      var link = row.querySelector(key === "e" ? "[data-action=edit]" : "a.author");
      if (link) {
        event.preventDefault();
        window.location.href = link.href;
      }
    }
  });

  if (isQueue && rows().length) setCurrent(0, false);
})();
