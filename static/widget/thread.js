// The comment thread inside the iframe: takes over the server-rendered page and makes it live.
import { createApi } from "./api.js";
import { connectToHost } from "./frame.js";
import { createReplyForm } from "./form.js";
import { describeError, setCatalogue, t, tn } from "./i18n.js";
import { createLogin } from "./login.js";
import { createRenderer, localiseDates, setLikes } from "./render.js";
import * as store from "./store.js";

const config = JSON.parse(document.getElementById("parley-config").textContent);
setCatalogue(config.lang, config.messages);

const limits = { max: config.maxBodyLength, links: config.maxLinks };
const list = document.getElementById("parley-comments");
const heading = document.getElementById("parley-title");
const sortSelect = document.getElementById("parley-sort");
const moreButton = document.querySelector('[data-action="more"]');
const status = document.getElementById("parley-status");
const newButton = document.querySelector('[data-action="show-new"]');
const state = {
  sort: sortSelect.value,
  cursor: config.page.next_cursor,
  count: config.page.thread.comment_count,
  highlighted: null,
};
// Every comment on screen, by id: what the buttons act on.
const comments = new Map();

const identity = {
  reader: () => store.get("reader"),
  setReader: (token) => store.set("reader", token),
  bearer: () => login.token(),
  expired: () => login.expired(),
};
const api = createApi(config.api, identity);
const login = createLogin({ api, store, providers: config.providers, lang: config.lang, onChange: loginChanged, announce });

// Guest authors prove authorship with the edit token the server returned; the body is kept
// with it because the API returns only the rendered HTML. A logged-in author needs no token,
// and the server sends them the Markdown of their own comments.
const edits = {
  get(id) {
    const entry = store.get(`edit:${id}`);
    if (entry?.until > Date.now()) return entry;
    const c = comments.get(id);
    return login.user() && c?.can_edit && typeof c.body === "string" ? { token: null, body: c.body } : null;
  },
  keep(id, token, body) {
    store.set(`edit:${id}`, { token, body, until: Date.now() + config.editWindowMinutes * 60_000 });
  },
  forget(id) {
    store.remove(`edit:${id}`);
  },
};

const renderer = createRenderer({
  pageUrl: config.url ?? config.page.thread.url ?? "",
  canPost: config.canPost,
  editable: (c) => c.can_edit && edits.get(c.id) !== null,
});

function announce(text) {
  // Emptied first, so the same words said twice are announced twice.
  status.textContent = "";
  setTimeout(() => { status.textContent = text; }, 60);
}

function index(tree) {
  for (const c of tree) {
    comments.set(c.id, c);
    index(c.replies ?? []);
  }
}

function setCount(count) {
  state.count = Math.max(0, count);
  heading.textContent = tn("count", state.count);
}

function bodyOf(li) {
  return li.querySelector(":scope > .comment-body");
}

function idOf(li) {
  return Number(li.dataset.id);
}

/** An error in words under `anchor`, replacing any earlier one there. */
function showErrorAfter(anchor, error) {
  let box = anchor.nextElementSibling;
  if (!box?.classList.contains("inline-error")) {
    box = document.createElement("p");
    box.className = "form-error inline-error";
    box.setAttribute("role", "alert");
    anchor.after(box);
  }
  box.textContent = typeof error === "string" ? error : describeError(error, limits);
}

function clearErrorAfter(anchor) {
  const box = anchor.nextElementSibling;
  if (box?.classList.contains("inline-error")) box.remove();
}

// Pages ------------------------------------------------------------------------------

function fetchPage(sort, cursor = null, v = null) {
  return api.thread({ site: config.site, url: config.url, thread_id: config.threadId, sort, cursor, limit: config.pageSize, v });
}

function showPage(page, append) {
  index(page.comments);
  const nodes = page.comments.map(renderer.comment);
  if (append) {
    // A comment the reader posted may already be on screen, ahead of its page.
    for (const c of page.comments) document.getElementById(`comment-${c.id}`)?.remove();
    list.append(...nodes);
  } else {
    form?.close(false);
    newButton.hidden = true;
    list.replaceChildren(...nodes);
    // The linked comment stays marked when the reader's own view of the page replaces the public one.
    document.querySelector(`#comment-${state.highlighted} > .comment-body`)?.classList.add("is-highlighted");
  }
  state.cursor = page.next_cursor;
  moreButton.hidden = !state.cursor;
  setCount(page.thread.comment_count);
  return nodes;
}

async function changeSort() {
  const sort = sortSelect.value;
  list.setAttribute("aria-busy", "true");
  try {
    showPage(await fetchPage(sort), false);
    state.sort = sort;
    clearErrorAfter(sortSelect.parentElement);
    announce(t("status.sorted", { sort: sortSelect.selectedOptions[0].textContent }));
  } catch (error) {
    sortSelect.value = state.sort;
    showErrorAfter(sortSelect.parentElement, error);
  } finally {
    list.removeAttribute("aria-busy");
  }
}

async function loadMore() {
  if (moreButton.getAttribute("aria-disabled") === "true") return;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
  moreButton.setAttribute("aria-disabled", "true");
  moreButton.textContent = t("more.loading");
  try {
    const nodes = showPage(await fetchPage(state.sort, state.cursor), true);
    clearErrorAfter(moreButton);
    announce(tn("status.loaded", nodes.length));
    if (nodes.length) bodyOf(nodes[0]).focus({ preventScroll: true });
  } catch (error) {
    showErrorAfter(moreButton, error);
  } finally {
    moreButton.removeAttribute("aria-disabled");
    moreButton.textContent = t("more.load");
  }
}

/** The page again as this reader sees it: their pending comments, their likes, their edit links. */
async function personalise() {
  try {
    showPage(await fetchPage(state.sort), false);
  } catch {
    // The public page is already on screen; it stays.
  }
}

// Posting ----------------------------------------------------------------------------

/** Where a reply goes: under its parent, or past the deepest level beside it, as the server nests it. */
function replyContainer(parentLi, depth) {
  let holder = parentLi;
  if (depth > config.maxDepth) {
    while (comments.get(idOf(holder))?.depth >= config.maxDepth && holder.parentElement.closest("li.comment")) {
      holder = holder.parentElement.closest("li.comment");
    }
  }
  let children = holder.querySelector(":scope > ol.children");
  if (!children) {
    children = renderer.children([]);
    holder.insertBefore(children, holder.querySelector(":scope > .comment-more-replies"));
  }
  return children;
}

/** The next piece of a long conversation, each reply placed under its parent as the server nests it. */
async function loadReplies(li, button) {
  if (button.getAttribute("aria-disabled") === "true") return;
  const label = button.textContent;
  button.setAttribute("aria-disabled", "true");
  button.textContent = t("more.loading");
  try {
    const piece = await api.replies(idOf(li), button.dataset.cursor);
    for (const c of piece.comments) {
      const parentLi = document.getElementById(`comment-${c.parent_id}`);
      if (!parentLi) continue;
      comments.set(c.id, c);
      replyContainer(parentLi, c.depth).append(renderer.comment(c));
    }
    clearErrorAfter(button.parentElement);
    announce(tn("status.loaded", piece.comments.length));
    if (piece.next_cursor) {
      button.dataset.cursor = piece.next_cursor;
      button.textContent = tn("more.replies", piece.more_replies);
    } else {
      button.parentElement.remove();
    }
  } catch (error) {
    button.textContent = label;
    showErrorAfter(button.parentElement, error);
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

// A form token for the next comment: asked for when the reader starts writing, and then given by each post's
// answer. The server takes each once, and holds a comment without one as a script's. The page itself
// carries none: a page the browser kept (a 304) would hand back one spent already.
const formToken = { value: null, at: 0, asking: null };

function keepFormToken(value) {
  if (!value) return;
  formToken.value = value;
  formToken.at = Date.now();
}

/** A token younger than half its life, asked for once however often the reader types meanwhile. */
function freshFormToken() {
  if (formToken.value && Date.now() - formToken.at < config.formTokenSeconds * 500) return Promise.resolve();
  formToken.asking ??= api.formToken(config.site)
    .then((answer) => keepFormToken(answer.form_token), () => {})  // without one the comment waits for a moderator
    .finally(() => { formToken.asking = null; });
  return formToken.asking;
}

async function send(comment, parentId) {
  await freshFormToken();  // asked for at the first keystroke: this waits only if that answer is still coming
  const result = await api.post({
    site: config.site, url: config.url, thread_id: config.threadId, title: config.title,
    parent_id: parentId, body: comment.body, author: comment.author,
    honeypot: comment.honeypot || null, form_token: formToken.value, notify: comment.notify, lang: config.lang,
  });
  keepFormToken(result.form_token);
  const c = result.comment;
  c.body = comment.body;
  edits.keep(c.id, result.edit_token, comment.body);
  const parent = parentId === null ? null : comments.get(parentId);
  if (parent && c.depth > config.maxDepth) c.in_reply_to = { id: parent.id, author: parent.author.name };
  comments.set(c.id, c);
  const li = renderer.comment(c);
  li.dataset.notifications = result.notifications || "";
  if (parent) replyContainer(document.getElementById(`comment-${parentId}`), c.depth).append(li);
  else if (state.sort === "newest") list.prepend(li);
  else list.append(li);
  if (c.status === "approved") setCount(state.count + 1);
  return { li, c };
}

function afterPost({ li, c }) {
  const article = bodyOf(li);
  article.classList.add("is-new");
  article.focus({ preventScroll: true });
  host.reveal(article);
  announce(t(c.status === "pending" ? "status.pending" : "status.posted"));
  if (!store.persistent) document.querySelector(".parley-notice").hidden = false;
  // A guest who asked for emails must confirm the address first: say so where they look.
  document.querySelector(".parley-confirm-notice").hidden = li.dataset.notifications !== "confirm";
}

// Acting on one comment -------------------------------------------------------------------

async function toggleLike(li, button) {
  if (button.getAttribute("aria-disabled") === "true") return;
  const c = comments.get(idOf(li));
  const liked = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-disabled", "true");
  try {
    const result = await api.like(c.id, liked);
    Object.assign(c, { likes: result.likes, liked_by_me: result.liked_by_me });
    setLikes(li, c.likes, c.liked_by_me);
    clearErrorAfter(button.parentElement);
    announce(t(liked ? "status.liked" : "status.unliked"));
  } catch (error) {
    showErrorAfter(button.parentElement, error);
  } finally {
    button.removeAttribute("aria-disabled");
  }
}

function cloneTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function setPartsHidden(article, hidden) {
  for (const part of article.querySelectorAll(":scope > .comment-content, :scope > .comment-actions")) part.hidden = hidden;
}

function openEdit(li) {
  const article = bodyOf(li);
  const open = article.querySelector(":scope > .comment-edit");
  if (open) return open.elements.body.focus();
  const entry = edits.get(idOf(li));
  if (!entry) return showErrorAfter(article.querySelector(".comment-actions"), t("error.invalid_edit_token"));
  clearErrorAfter(article.querySelector(".comment-actions"));
  const editor = cloneTemplate("parley-edit-template");
  const field = editor.elements.body;
  field.id = `parley-edit-${idOf(li)}`;
  editor.querySelector("label").htmlFor = field.id;
  field.value = entry.body;
  editor.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdit(li, editor);
  });
  setPartsHidden(article, true);
  article.querySelector(".comment-content").after(editor);
  field.focus();
}

function closeEdit(li) {
  const article = bodyOf(li);
  article.querySelector(":scope > .comment-edit")?.remove();
  setPartsHidden(article, false);
  article.querySelector('[data-action="edit"]')?.focus();
}

async function saveEdit(li, editor) {
  const id = idOf(li);
  const field = editor.elements.body;
  const save = editor.querySelector('[type="submit"]');
  const errorBox = editor.querySelector(".form-error");
  const fail = (error) => {
    errorBox.textContent = describeError(error, limits);
    errorBox.hidden = false;
    field.focus();
  };
  if (!field.value.trim()) return fail({ code: "empty_body" });
  if (field.value.length > limits.max) return fail({ code: "body_too_long" });
  const entry = edits.get(id);
  if (!entry) return fail({ code: "invalid_edit_token" });
  save.disabled = true;
  save.textContent = t("edit.saving");
  try {
    const { comment } = await api.edit(id, field.value, entry.token);
    if (entry.token) store.set(`edit:${id}`, { ...entry, body: field.value });
    const c = comments.get(id);
    Object.assign(c, { html: comment.html, edited_at: comment.edited_at, can_edit: comment.can_edit, body: field.value });
    renderer.redraw(li, c);
    bodyOf(li).querySelector('[data-action="edit"]')?.focus();
    announce(t("status.updated"));
  } catch (error) {
    save.disabled = false;
    save.textContent = t("edit.save");
    fail(error);
  }
}

function askDelete(li) {
  const article = bodyOf(li);
  if (article.querySelector(":scope > .comment-delete-confirm")) return;
  const question = cloneTemplate("parley-delete-template");
  article.querySelector(".comment-actions").hidden = true;
  article.append(question);
  question.querySelector('[data-action="cancel-delete"]').focus();
}

function closeDelete(li) {
  const article = bodyOf(li);
  article.querySelector(":scope > .comment-delete-confirm")?.remove();
  article.querySelector(".comment-actions").hidden = false;
  article.querySelector('[data-action="delete"]')?.focus();
}

/** Take a comment off screen; a deleted placeholder left with no replies goes too, as on the server. */
function removeComment(li) {
  const take = (node) => {
    const siblings = node.parentElement;
    node.remove();
    if (siblings.matches("ol.children") && !siblings.children.length) siblings.remove();
  };
  let holder = li.parentElement.closest("li.comment");
  take(li);
  while (holder && comments.get(idOf(holder))?.status === "deleted" && !holder.querySelector("li.comment")) {
    const gone = holder;
    holder = holder.parentElement.closest("li.comment");
    take(gone);
  }
  return holder;
}

async function confirmDelete(li, button) {
  const id = idOf(li);
  const c = comments.get(id);
  const entry = edits.get(id);
  const question = button.closest(".comment-delete-confirm");
  const errorBox = question.querySelector(".form-error");
  button.disabled = true;
  button.textContent = t("delete.deleting");
  try {
    if (!entry) throw { code: "invalid_edit_token" };
    await api.remove(id, entry.token);
  } catch (error) {
    button.disabled = false;
    button.textContent = t("delete.yes");
    errorBox.textContent = describeError(error, limits);
    errorBox.hidden = false;
    return;
  }
  edits.forget(id);
  if (c.status === "approved") setCount(state.count - 1);
  let focusAfter;
  if (li.querySelector("li.comment")) {
    Object.assign(c, { status: "deleted", html: "", can_edit: false });
    renderer.redraw(li, c);
    focusAfter = bodyOf(li);
  } else {
    const holder = removeComment(li);
    focusAfter = holder ? bodyOf(holder) : heading;
  }
  focusAfter.setAttribute("tabindex", "-1");
  focusAfter.focus({ preventScroll: true });
  announce(t("status.deleted"));
}

/** Edit and Delete go when the edit window closes; the server would refuse them then anyway. */
function expireEditLinks() {
  for (const button of list.querySelectorAll('[data-action="edit"]')) {
    const li = button.closest("li.comment");
    if (edits.get(idOf(li)) === null && !bodyOf(li).querySelector(".comment-edit")) {
      const c = comments.get(idOf(li));
      c.can_edit = false;
      renderer.redraw(li, c);
    }
  }
}

// Highlighting a linked comment -------------------------------------------------------------

async function highlight(id) {
  let li = document.getElementById(`comment-${id}`);
  // A link to a comment further down a long thread: load pages until it shows, a bounded number.
  for (let pages = 0; !li && state.cursor && pages < 10; pages++) {
    try {
      showPage(await fetchPage(state.sort, state.cursor), true);
    } catch {
      return;
    }
    li = document.getElementById(`comment-${id}`);
  }
  if (!li) return;
  for (const old of document.querySelectorAll(".is-highlighted")) old.classList.remove("is-highlighted");
  state.highlighted = id;
  const article = bodyOf(li);
  article.classList.add("is-highlighted");
  host.reveal(article, true);
}

// Live updates -------------------------------------------------------------------------------------

// The server says only that the thread changed (its version): the page is read again, and a bar offers
// what is new rather than moving the text under the reader's eyes. Changes that add nothing (edits,
// likes, removals) wait for the bar's next use or a reload.
const live = { seen: config.version, read: config.version, page: null, busy: false };

/** Ids of the page's comments not on screen yet (the reader's own are there already), in page order. */
function unseen(tree) {
  return tree.flatMap((c) => [...(comments.has(c.id) || c.status === "deleted" ? [] : [c.id]), ...unseen(c.replies ?? [])]);
}

async function catchUp() {
  if (live.busy) return;
  live.busy = true;
  try {
    while (live.read < live.seen) {
      const v = live.seen;
      // Spread over a moment the reads of everyone who heard the same news.
      await new Promise((done) => setTimeout(done, Math.random() * 1500));
      // v: a cache in front may keep a copy for a few seconds; this version's is new to it.
      live.page = await fetchPage(state.sort, null, v);
      live.read = v;
    }
    const n = unseen(live.page.comments).length;
    if (n) newButton.textContent = tn("live.new", n);
    newButton.hidden = !n;
  } catch {
    // The next change, or a reload, tries again.
  } finally {
    live.busy = false;
  }
}

/** The bar's button: the page as read, focus on the first comment that is new to the reader. */
function showNew() {
  const ids = unseen(live.page.comments);
  showPage(live.page, false);
  for (const id of ids) document.querySelector(`#comment-${id} > .comment-body`)?.classList.add("is-new");
  const li = document.getElementById(`comment-${ids[0]}`);
  // The button just went: focus goes to what it showed, or to the heading should that be gone again.
  const target = li ? bodyOf(li) : heading;
  target.setAttribute("tabindex", "-1");
  target.focus({ preventScroll: true });
  host.reveal(target);
}

function goLive() {
  const query = new URLSearchParams({ site: config.site, last_event_id: live.seen });
  if (config.url) query.set("url", config.url);
  if (config.threadId) query.set("thread_id", config.threadId);
  new EventSource(`${config.api}threads/live?${query}`).addEventListener("changed", (event) => {
    live.seen = Math.max(live.seen, JSON.parse(event.data).version);
    catchUp();
  });
}

// Wiring ------------------------------------------------------------------------------------------

// Logging in and out ----------------------------------------------------------------------------

/** After a login, a logout or a failed attempt: the form, the words, and the reader's own view. */
function loginChanged(user, problem) {
  form?.setLoggedIn(user);
  if (problem) form?.showError(problem);
  else personalise();
}

const ACTIONS = {
  login: (li, button) => login.start(button.dataset.provider),
  pair: () => login.pair(),
  "cancel-login": () => login.cancel(),
  logout: () => login.logout(),
  "change-login": () => login.change(),
  data: (li, button) => login.data(button.dataset.step, button),
  reply: (li) => form?.open(li, comments.get(idOf(li)).author.name),
  "cancel-reply": () => form?.close(),
  like: toggleLike,
  edit: openEdit,
  "cancel-edit": closeEdit,
  delete: askDelete,
  "cancel-delete": closeDelete,
  "confirm-delete": confirmDelete,
  more: loadMore,
  "show-new": showNew,
  "more-replies": loadReplies,
};

function onClick(event) {
  const target = event.target.closest("[data-action]");
  if (!target) return;
  if (target.dataset.action === "goto") {
    event.preventDefault();
    highlight(Number(target.getAttribute("href").slice("#comment-".length)));
    return;
  }
  const action = ACTIONS[target.dataset.action];
  if (action) action(target.closest("li.comment"), target);
}

function applyStyle(style) {
  // CSSOM, not a style attribute or element: the page's CSP allows no inline styles.
  for (const [name, value] of Object.entries(style)) document.documentElement.style.setProperty(`--parley-${name}`, value);
}

applyStyle(config.style);
index(config.page.comments);
localiseDates(document.getElementById("parley"));
const host = connectToHost(config.parentOrigin, { title: t("frame.title"), onHighlight: highlight });
const form = createReplyForm({ store, limits, send, afterPost, loggedIn: () => Boolean(login.user()) });
form?.setLoggedIn(login.user());
for (const type of ["focusin", "input"]) document.getElementById("respond")?.addEventListener(type, freshFormToken);
document.getElementById("parley").addEventListener("click", onClick);
// A provider's picture that fails to load leaves a blank circle, not a broken-image icon.
document.addEventListener("error", (event) => event.target.matches?.("img") && event.target.classList.add("is-broken"), true);
sortSelect.addEventListener("change", changeSort);
store.prune("edit:");
setInterval(expireEditLinks, 30_000);
if (identity.reader() || login.token()) personalise();
if (config.highlight) highlight(config.highlight);
goLive();
// The page is live: its buttons now answer.
document.documentElement.classList.add("is-live");
