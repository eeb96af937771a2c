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
