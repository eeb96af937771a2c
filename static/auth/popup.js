// The login popup's last page: hand the outcome to the comment frame that opened it.
(function () {
  "use strict";
  var data = document.getElementById("parley-login");
  var closeButton = document.getElementById("close");
  if (closeButton) closeButton.addEventListener("click", function () { window.close(); });
  if (!data) return;
  var result = JSON.parse(data.textContent);
  if (!window.opener) return; // Opener severed (COOP): the frame collects the result with its secret.
  var type = result.code ? "login" : "login-error";
  // Only the comment frame, which runs on this same server origin, may receive the code.
  window.opener.postMessage({ parley: { v: 1, type: type, code: result.code, error: result.error,
                                        message: result.message } }, result.origin);
  if (result.code) window.close();
})();
