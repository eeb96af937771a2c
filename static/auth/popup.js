// The login popup's last page: hand the outcome to the comment frame that opened it.
(function () {
  "use strict";
  var data = document.getElementById("parley-login");
  var closeButton = document.getElementById("close");
  if (closeButton) closeButton.addEventListener("click", function () { window.close(); });
  if (!data) return;
  var result = JSON.parse(data.textContent);
  // No opener: the provider cut this window off from the page (COOP), or it was opened as a plain
  // link. The pairing code stays on screen for the reader to type into their comment form.
  if (!window.opener) return;
  var type = result.code ? "login" : "login-error";
  // Only a document on this server's own origin receives the code: the comment frame. If
  // another site opened this window, the browser drops the message, and the login stays unusable.
  window.opener.postMessage({ parley: { v: 1, type: type, code: result.code, error: result.error,
                                        message: result.message } }, result.origin);
  if (!result.code) return;
  var pairing = document.getElementById("pairing");
  if (pairing) pairing.hidden = true;
  document.getElementById("closing").hidden = false;
  window.close();
})();
