// "Leave a Reply": one form, moved under a comment to reply to it, as in a classic blog.
// Nothing the reader typed is cleared until the server has stored the comment.
import { describeError, t } from "./i18n.js";

// Which field a server error is about, so it can be marked and focused.
const FIELD_OF = {
  empty_body: "body", missing_body: "body", body_too_long: "body", too_many_links: "body", invalid_body: "body",
  missing_name: "name", name_too_long: "name", invalid_name: "name", name_reserved: "name",
  missing_email: "email", invalid_email: "email", email_too_long: "email",
  invalid_website: "website", website_too_long: "website",
};
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

class Invalid extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

/** A website as typed ("example.com") made absolute, or Invalid. */
function website(value) {
  const text = value.trim();
  if (!text) return "";
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(absolute);
    if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname) return absolute;
  } catch {
    // Not a URL at all: reported below.
  }
  throw new Invalid("invalid_website");
}

export function createReplyForm({ store, limits, send, afterPost, loggedIn }) {
  const respond = document.getElementById("respond");
  if (!respond) return null;
  const form = respond.querySelector("form");
  const home = { parent: respond.parentNode, next: respond.nextSibling };
  // The guest fields are left out of the page where the site takes logged-in readers only.
  const guestDetails = form.querySelector(".guest-details");
  const { body, name, email, website: site, remember } = form.elements;
  const fields = guestDetails ? { body, name, email, website: site } : { body };
  const submit = form.querySelector('[type="submit"]');
  const errorBox = form.querySelector("#parley-form-error");
  const title = respond.querySelector(".reply-title-text");
  const cancel = respond.querySelector(".cancel-reply");
  let parent = null;

  function restoreGuest() {
    const guest = store.get("guest");
    if (!guest || !guestDetails) return;
    remember.checked = true;  // they chose to be remembered; the box starts unticked for everyone else
    for (const key of ["name", "email", "website"]) {
      if (!fields[key].value && typeof guest[key] === "string") fields[key].value = guest[key];
    }
  }

  function rememberGuest() {
    if (!guestDetails || loggedIn()) return;
    if (remember.checked) store.set("guest", { name: name.value.trim(), email: email.value.trim(), website: site.value.trim() });
    else store.remove("guest");
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    for (const field of Object.values(fields)) field.removeAttribute("aria-invalid");
  }

  function showError(message, fieldName) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    const field = fields[fieldName];
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", errorBox.id);
      field.focus();
    }
  }

  /** The comment to send, checked as the server will check it, or Invalid. */
  function readForm() {
    if (!body.value.trim()) throw new Invalid("empty_body");
    if (body.value.length > limits.max) throw new Invalid("body_too_long");
    // Hidden from people (and from screen readers): only a bot fills it in.
    const honeypot = form.querySelector("#parley-homepage").value;
    // "New comments on this post" includes the replies to one's own comment.
    const { notify_all: all, notify_replies: replies } = form.elements;  // absent where the server sends no email
    const notify = all?.checked ? "all" : replies?.checked ? "replies" : null;
    if (loggedIn()) return { body: body.value, honeypot, notify };
    if (!guestDetails) throw new Invalid("login_required");
    if (!name.value.trim()) throw new Invalid("missing_name");
    if (!email.value.trim()) throw new Invalid("missing_email");
    if (!EMAIL.test(email.value.trim())) throw new Invalid("invalid_email");
    site.value = website(site.value);
    const author = { name: name.value.trim(), email: email.value.trim() };
    if (site.value) author.website = site.value;
    return { body: body.value, author, honeypot, notify };
  }

  function setBusy(busy) {
    form.setAttribute("aria-busy", String(busy));
    submit.disabled = busy;
    submit.textContent = t(busy ? "form.posting" : "form.submit");
  }

  async function onSubmit(event) {
    event.preventDefault();
    if (submit.disabled) return;
    clearError();
    let comment;
    try {
      comment = readForm();
    } catch (error) {
      showError(describeError(error, limits), FIELD_OF[error.code]);
      return;
    }
    setBusy(true);
    let posted;
    try {
      posted = await send(comment, parent?.id ?? null);
    } catch (error) {
      setBusy(false);
      showError(describeError(error, limits), FIELD_OF[error.code]);
      return;
    }
    setBusy(false);
    rememberGuest();
    body.value = "";
    // Each comment asks afresh: the boxes start unticked, as the reader found them.
    for (const box of form.querySelectorAll(".comment-form-notify input")) box.checked = false;
    close(false);
    afterPost(posted);
  }

  /** Move the form under a comment to answer it. */
  function open(li, authorName) {
    parent = { id: Number(li.dataset.id) };
    li.querySelector(":scope > .comment-body").after(respond);
    title.textContent = t("form.reply_title", { name: authorName });
    cancel.hidden = false;
    clearError();
    body.focus();
  }

  /** Put the form back under the thread; focus returns to the Reply button it came from. */
  function close(restoreFocus = true) {
    if (!parent) return;
    const from = document.querySelector(`#comment-${parent.id} > .comment-body [data-action="reply"]`);
    parent = null;
    home.parent.insertBefore(respond, home.next);
    title.textContent = t("form.title");
    cancel.hidden = true;
    if (restoreFocus) from?.focus();
  }

  /** Logged in, the reader's account names them: the guest fields step aside. */
  function setLoggedIn(user) {
    if (guestDetails) guestDetails.hidden = Boolean(user);
    // A provider that gave no email address (GitHub's, say) leaves nowhere to send notifications.
    for (const box of form.querySelectorAll(".comment-form-notify")) box.hidden = Boolean(user) && !user.has_email;
  }

  restoreGuest();
  form.addEventListener("submit", onSubmit);
  return { open, close, setLoggedIn, showError: (message) => { clearError(); showError(message); },
           isOpenUnder: (id) => parent?.id === id };
}
