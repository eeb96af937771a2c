// The conversation with the loader on the host page: {parley: {v: 1, type, ...}} messages,
// sent only to the parent's origin (checked by the server) and accepted only from it.
export function connectToHost(parentOrigin, { title, onHighlight }) {
  const embedded = window.parent !== window;
  const send = (type, data) => {
    if (embedded) window.parent.postMessage({ parley: { v: 1, type, ...data } }, parentOrigin);
  };
  document.documentElement.classList.toggle("is-embedded", embedded);

  const root = document.getElementById("parley");
  let reported = 0;
  const reportHeight = () => {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== reported) {
      reported = height;
      send("resize", { height, title });
    }
  };
  new ResizeObserver(reportHeight).observe(root);

  window.addEventListener("message", (event) => {
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    const message = event.data?.parley;
    if (message?.v === 1 && message.type === "highlight" && Number.isInteger(message.id)) onHighlight(message.id);
    // The host page changed its scheme: follow it without a reload.
    if (message?.v === 1 && message.type === "theme" && /^(light|dark|auto)$/.test(message.theme)) {
      follow(message.theme, message.behind);
    }
  });

  // The server chose this page's first theme from the colours the host paints behind it (the loader sends
  // them where the site named no theme); when they change, it says which theme reads on the new ones.
  const given = new URLSearchParams(window.location.search);
  let look = `${given.get("theme")} ${given.get("behind")}`;
  function follow(theme, behind) {
    if (typeof behind !== "string") {
      document.documentElement.dataset.theme = theme;
      return;
    }
    const asked = `${theme} ${behind}`;
    if (asked === look) return;
    look = asked;
    const query = new URLSearchParams({ theme, behind, background: given.get("background") || "" });
    fetch(`theme?${query}`)
      .then((response) => response.json())
      .then((answer) => {
        if (look === asked && /^(light|dark|auto)$/.test(answer.theme)) document.documentElement.dataset.theme = answer.theme;
      })
      .catch(() => {});  // the theme it has stays
  }

  return {
    /** Bring an element into view: the frame never scrolls, so the host page has to. */
    reveal(element, force = false) {
      const box = element.getBoundingClientRect();
      if (!embedded) return element.scrollIntoView({ block: force ? "start" : "nearest" });
      // The frame must have its full height before the host page can scroll to a place inside it.
      reportHeight();
      send("scroll", { top: Math.round(box.top), height: Math.round(box.height), force });
    },
  };
}
