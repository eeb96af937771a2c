/* Parley loader: puts each comment thread in an iframe, fills comment counts, names the Webmention endpoint. */
(() => {
  "use strict";
  // Read at once: document.currentScript is null after this script has run.
  const script = document.currentScript;
  if (!script || window.parley) return;
  const server = new URL(script.src).origin;
  const base = script.src.replace(/[^/?#]*([?#].*)?$/, "");
  const site = script.getAttribute("data-parley-site");
  const FRAME = "iframe.parley-frame";
  const frames = () => document.querySelectorAll(FRAME);

  const option = (element, name) =>
    element.getAttribute(`data-parley-${name}`) || script.getAttribute(`data-parley-${name}`);
  const target = () => (/^#comment-(\d+)$/.exec(location.hash) || [])[1];
  const send = (frame, message) =>
    frame.contentWindow && frame.contentWindow.postMessage({ parley: { v: 1, ...message } }, server);

  function mount(container, given) {
    const lang = option(container, "lang") || navigator.language;
    const style = getComputedStyle(container);
    const values = {
      site,
      origin: location.origin,
      // A relative data-parley-url is read against the page, as a link would be.
      url: new URL(given.url || option(container, "url") || location.href.split("#")[0], location.href).href,
      thread_id: given.threadId || option(container, "thread-id"),
      title: given.title || option(container, "title") || document.title,
      ...scheme(container),
      lang,
      highlight: target(),
    };
    // A site styles the widget with custom properties on the container; they cannot cross the frame by themselves.
    for (const name of ["accent", "accent-dark", "background", "font"]) values[name] = style.getPropertyValue(`--parley-${name}`).trim();
    const query = new URLSearchParams();
    for (const key in values) if (values[key]) query.set(key, values[key]);
    let frame = container.querySelector(FRAME);
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "parley-frame";
      // Until the frame names itself in the reader's language (its resize messages carry its title).
      frame.title = "Comments";
      frame.setAttribute("scrolling", "no");
      // CSSOM, not a style attribute: allowed by host pages whose CSP forbids inline styles.
      frame.style.cssText = "display:block;width:100%;height:150px;border:0;overflow:hidden;color-scheme:normal";
      container.appendChild(frame);
    }
    frame.src = `${base}embed/thread?${query}`;
    // A frame still silent after it loaded was refused (or never came): ask the server why, and say it
    // on the page, as text before the frame.
    frame.said = 0;
    frame.onload = () =>
      setTimeout(() => frame.said || fetch(`${base}api/v1/embed-check?site=${site}`)
        .then((r) => r.json(), () => ({ problem: { message: `Comments can't load here: ${server} can't be reached.` } }))
        .then(({ problem: p }) => p && !frame.said &&
          (frame.style.height = 0, frame.before(p.message), console.error(p.fix || p.message))), 2e3);
  }

  // data-parley-theme="light|dark" is taken as given. Otherwise ("auto", or no attribute) the frame learns
  // the page's declared color-scheme (CSS or <meta>: none or light paints light, dark paints dark, and
  // "light dark" follows the reader), and what the page paints behind the comments, to pick whichever theme
  // reads on it: the background colours under the container, innermost first, and over a picture or a
  // gradient the page's text colour there.
  function scheme(container) {
    const theme = option(container, "theme");
    if (/^(light|dark)$/.test(theme)) return { theme };
    const page = getComputedStyle(container).colorScheme + (document.querySelector("meta[name=color-scheme]") || {}).content;
    const layers = [];
    for (let element = container; element; element = element.parentElement) {
      const style = getComputedStyle(element);
      if (style.backgroundImage != "none") {
        layers.push("text " + style.color);
        break;
      }
      if (!/[,/] 0\)$/.test(style.backgroundColor)) layers.push(style.backgroundColor);
    }
    // "|" ends the list, so that a page that paints nothing still says so (and its frame can still follow
    // a colour the page paints later).
    return { theme: /dark/.test(page) ? (/light/.test(page) ? "auto" : "dark") : "light", behind: layers.join("|") + "|" };
  }

  function fillCounts() {
    const byUrl = new Map();
    for (const element of document.querySelectorAll("[data-parley-count]")) {
      const url = new URL(element.getAttribute("data-parley-count") || location.href, location.href).href;
      byUrl.set(url, (byUrl.get(url) || []).concat(element));
    }
    const urls = [...byUrl.keys()];
    const lang = option(script, "lang") || document.documentElement.lang || navigator.language;
    // One request for every count on the page (the API takes up to 100 URLs a call).
    for (let i = 0; i < urls.length && site; i += 100) {
      // The server words the counts ("6 Comments") in the page's language.
      const query = new URLSearchParams({ site, lang });
      for (const url of urls.slice(i, i + 100)) query.append("url", url);
      fetch(`${base}api/v1/counts?${query}`, { credentials: "omit" })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => {
          for (const [url, n] of Object.entries((data && data.counts) || {})) {
            for (const element of byUrl.get(url) || []) element.textContent = (data.labels || {})[url] || n;
          }
        })
        .catch(() => {}); // the links keep the text the page gave them
    }
  }

  // `fresh` leaves alone a container that already has its frame.
  const mountAll = (given, fresh) => {
    for (const container of document.querySelectorAll("#parley-thread, [data-parley-thread]"))
      if (!fresh || !container.querySelector(FRAME)) mount(container, given);
  };
  function load(given) {
    mountAll(given || {});
    fillCounts();
  }

  addEventListener("message", (event) => {
    const message = event.data && event.data.parley;
    if (event.origin !== server || !message || message.v !== 1) return;
    const frame = [...frames()].find((f) => f.contentWindow === event.source);
    if (!frame) return;
    frame.said = 1;
    if (message.type === "resize") {
      frame.style.height = `${Math.max(0, message.height | 0)}px`;
      if (typeof message.title === "string") frame.title = message.title;
    }
    if (message.type === "scroll") {
      const top = frame.getBoundingClientRect().top + (message.top | 0);
      if (message.force || top < 0 || top + (message.height | 0) > innerHeight) scrollTo(0, scrollY + top - 24);
    }
  });

  addEventListener("hashchange", () => {
    const id = target();
    if (id) for (const frame of frames()) send(frame, { type: "highlight", id: +id });
  });

  // Name the site's Webmention endpoint for parsers that run scripts (a page that names one keeps it);
  // pages read without scripts need the same <link> written into their HTML.
  if (site && !document.querySelector('link[rel~="webmention" i]')) {
    const link = document.createElement("link");
    link.rel = "webmention";
    link.href = `${base}webmention/${encodeURIComponent(site)}`;
    (document.head || document.documentElement).appendChild(link);
  }

  // A page that changes its scheme or its colours (a class, or data-parley-theme) changes the widget's, and
  // so does a stylesheet that came after the frame was made (this script may run first); the frame ignores
  // a theme it already has.
  const rescheme = () => {
    for (const frame of frames()) send(frame, { type: "theme", ...scheme(frame.parentNode) });
  };
  new MutationObserver(rescheme)
    .observe(document.documentElement, { attributes: true, subtree: true, attributeFilter: ["class", "data-parley-theme"] });
  addEventListener("load", rescheme);

  window.parley = { reload: load };
  // A container the parser has already reached gets its frame now, not after the rest of the page (its
  // scripts and images can hold DOMContentLoaded back for long); the rest, and the counts, at that event.
  if (document.readyState === "loading") {
    mountAll({}, 1);
    document.addEventListener("DOMContentLoaded", () => (mountAll({}, 1), fillCounts()));
  } else load();
})();
