// "Click an icon to log in": the provider's login runs in a popup on this server's origin, never
// in this frame. The popup hands back a one-time code. Where the provider cut the popup off from
// us, the server tells the frame (asked with its secret) that the login finished, and the reader
// types the pairing code the popup shows: the secret alone never releases a login.
import { ApiError } from "./api.js";
import { describeError, t } from "./i18n.js";

const POLL_EVERY = 1500;
const GIVE_UP_AFTER = 180_000;

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function createLogin({ api, store, providers, lang, onChange, announce }) {
  const box = document.querySelector(".comment-login");
  let attempt = null;
  let user = store.get("auth")?.user ?? null;

  const part = (selector) => box?.querySelector(selector);

  function show() {
    if (!box) return;
    box.dataset.loginState = user ? "user" : "guest";
    // Only a login proves which comments are someone's; a guest is sent to the site's owner.
    document.querySelector(".privacy-guest").hidden = Boolean(user);
    if (!user) setData(false);
    part(".login-intro").hidden = Boolean(user);
    part(".login-providers").hidden = Boolean(user);
    part(".logged-in").hidden = !user;
    if (user) {
      part(".logged-in-text").textContent = t("login.as", { name: user.name, provider: user.provider_label ?? "" });
      const avatar = part(".logged-in-avatar");
      avatar.hidden = !user.avatar_url;
      if (user.avatar_url) avatar.src = user.avatar_url;
    }
  }

  /** "Your data": open or closed, asking to confirm the deletion or not, and what went wrong. */
  function setData(open, asking = false, problem = null) {
    part(".your-data").hidden = !open;
    part('[data-step="toggle"]').setAttribute("aria-expanded", String(open));
    part(".your-data .comment-delete-confirm").hidden = !asking;
    const error = part(".your-data .form-error");
    error.textContent = problem ?? "";
    error.hidden = !problem;
  }

  async function data(step, button) {
    if (step === "toggle") return setData(part(".your-data").hidden);
    if (step === "ask" || step === "cancel") return setData(true, step === "ask");
    button.disabled = true;
    try {
      if (step === "download") {
        const link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([JSON.stringify(await api.myData(), null, 2)], { type: "application/json" }));
        link.download = "my-comments-data.json";
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
        announce(t("privacy.downloaded"));
      } else {
        const mode = part("#parley-keep-text").checked ? "anonymise" : "erase";
        await api.eraseMe(mode, lang);
        forget();
        announce(t(mode === "erase" ? "privacy.erased" : "privacy.anonymised"));
      }
    } catch (error) {
      if (user) setData(true, step === "erase", describeError(error));
    } finally {
      button.disabled = false;
    }
  }

  function setWaiting(waiting, blockedUrl = null) {
    if (!box) return;
    if (!waiting) setPairing(false);
    part(".login-waiting").hidden = !waiting || Boolean(blockedUrl);
    part(".login-blocked").hidden = !blockedUrl;
    if (blockedUrl) part(".login-blocked-link").href = blockedUrl;
    for (const button of box.querySelectorAll('[data-action="login"]')) button.setAttribute("aria-disabled", String(waiting));
  }

  const pairing = part(".login-pairing");
  const pairField = part(".login-pairing-code");
  const pairError = part("#parley-pairing-error");

  /** Ask for the code the login window shows (and say what was wrong with the last one). */
  function setPairing(shown, problem = null) {
    if (!pairing) return;
    pairing.hidden = !shown;
    pairError.textContent = problem ?? "";
    pairError.hidden = !problem;
    pairField.setAttribute("aria-invalid", String(Boolean(problem)));
    if (!shown) return;
    part(".login-waiting").hidden = part(".login-blocked").hidden = true;
    pairField.focus();
  }

  /** Stop waiting for the login in progress (the reader cancelled it, or it ended). */
  function abandon() {
    if (!attempt) return false;
    clearTimeout(attempt.timer);
    clearInterval(attempt.watch);
    window.removeEventListener("message", attempt.listener);
    attempt = null;
    setWaiting(false);
    return true;
  }

  function finish(result) {
    if (!abandon()) return;
    if (result instanceof Error || result?.code) {
      onChange(user, describeError(result));
      return;
    }
    user = result.user;
    store.set("auth", { token: result.token, user });
    show();
    announce(t("login.done", { name: user.name }));
    onChange(user, null);
  }

  async function redeem(current, code) {
    try {
      const result = await api.exchange(current.secret, code);
      if (attempt !== current) return;
      if (result?.status === "pending") {
        // A reader who closed the window long ago needs no word that it timed out.
        if (Date.now() - current.started > GIVE_UP_AFTER) current.closed ? abandon() : finish(new ApiError("login_timeout"));
        else current.timer = setTimeout(() => redeem(current), POLL_EVERY);
        return;
      }
      if (result?.status === "pairing") {
        // The login finished but its window could not reach us; a code it sent may still come.
        setPairing(true);
        announce(t("login.pairing_intro"));
        return;
      }
      finish(result);
    } catch (error) {
      // The popup's code and our polling may race: whichever lands second finds the code used.
      if (attempt === current) finish(error);
    }
  }

  /** The reader typed the code the login window shows. */
  async function pair() {
    const current = attempt;
    if (!current || pairing.getAttribute("aria-busy") === "true") return;
    const typed = pairField.value.trim();
    if (!typed) return setPairing(true, t("error.missing_pairing_code"));
    pairing.setAttribute("aria-busy", "true");
    try {
      const result = await api.exchange(current.secret, null, typed);
      if (attempt === current) finish(result);
    } catch (error) {
      if (attempt !== current) return;
      // A mistyped code can be corrected; a login voided by too many is over.
      if (error.code?.endsWith("pairing_code")) {
        setPairing(true, describeError(error));
        pairField.select();
      } else {
        finish(error);
      }
    } finally {
      pairing.removeAttribute("aria-busy");
    }
  }

  async function start(provider) {
    const chosen = providers.find((p) => p.name === provider);
    if (!chosen || (attempt && !attempt.closed)) return;
    abandon();
    if (!window.crypto?.subtle) return onChange(user, t("error.login_insecure"));
    const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
    // Opened before any await, while the click still counts as the reader's gesture. Unnamed ("_blank"):
    // the host page can look up a named window that its frame opened, and navigate it to a look-alike.
    const popup = window.open("about:blank", "_blank", "popup,width=520,height=680");
    const url = `${chosen.url}&s=${await sha256Hex(secret)}`;
    const current = { secret, started: Date.now(), timer: null, listener: null, watch: 0, closed: false, popup };
    current.listener = (event) => {
      // Only our own popup, on this server's origin, speaks this language.
      const message = event.data?.parley;
      if (event.origin !== window.location.origin || message?.v !== 1 || attempt !== current) return;
      if (popup && event.source !== popup) return;
      if (message.type === "login" && typeof message.code === "string") {
        clearTimeout(current.timer);
        redeem(current, message.code);
      } else if (message.type === "login-error") {
        redeem(current);  // the server bound the failure to our secret: collect it in words
      }
    };
    attempt = current;
    window.addEventListener("message", current.listener);
    if (popup) {
      popup.location.href = url;
      setWaiting(true);
      // Closed by the reader: stop waiting at once. The server is still asked a while longer, as a
      // provider that cuts the window off from us (COOP) makes it look closed while the reader logs in.
      current.watch = setInterval(() => {
        if (!popup.closed) return;
        clearInterval(current.watch);
        current.closed = true;
        if (attempt === current) setWaiting(false);
      }, 250);
    } else {
      setWaiting(true, url);  // blocked: a plain link opens it on the reader's next click
    }
    current.timer = setTimeout(() => redeem(current), POLL_EVERY);
  }

  async function logout(silent = false) {
    try {
      if (store.get("auth")) await api.logout();
    } catch {
      // Already ended on the server (expired or revoked): forgetting it here is all that is left.
    }
    forget();
    if (!silent) announce(t("login.logged_out"));
  }

  function forget() {
    store.remove("auth");
    user = null;
    show();
    onChange(null, null);
  }

  pairField?.addEventListener("keydown", (event) => {
    // Enter here finishes the login; it must not send the comment form around it.
    if (event.key !== "Enter") return;
    event.preventDefault();
    pair();
  });

  show();
  return {
    user: () => user,
    data,
    pair,
    token: () => store.get("auth")?.token ?? null,
    start,
    /** The Cancel button beside "Finish logging in in the window that opened". */
    cancel() {
      attempt?.popup?.close();
      abandon();
    },
    logout,
    /** The server said our token no longer works. */
    expired: () => { if (user) forget(); },
    async change() {
      await logout(true);
      box?.querySelector('[data-action="login"]')?.focus();
    },
  };
}
