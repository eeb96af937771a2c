// Words come from the catalogue the server put in the page, in the reader's language.
let language = "en";
let messages = {};
let plurals = new Intl.PluralRules("en");
let dates = null;

export function setCatalogue(lang, catalogue) {
  language = lang;
  messages = catalogue;
  plurals = new Intl.PluralRules(lang);
  dates = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" });
}

export function t(key, values = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

/** `key.zero` for none where the catalogue has it, else the form for n's plural category, with {n} filled. */
export function tn(key, n) {
  if (n === 0 && `${key}.zero` in messages) return t(`${key}.zero`, { n });
  const forms = messages[key] || {};
  return (forms[plurals.select(n)] ?? forms.other ?? key).replace("{n}", n);
}

export function formatDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dates.format(date);
}

/** A wait in words, in the reader's language: "in 30 seconds", "in 57 minutes", "in 2 hours". Rounded up,
 * so that a reader who comes back when told is let in. */
export function inWords(seconds) {
  const say = new Intl.RelativeTimeFormat(language, { numeric: "always" });
  if (seconds < 60) return say.format(Math.max(1, Math.ceil(seconds)), "second");
  if (seconds <= 90 * 60) return say.format(Math.ceil(seconds / 60), "minute");
  if (seconds <= 48 * 3600) return say.format(Math.ceil(seconds / 3600), "hour");
  return say.format(Math.ceil(seconds / 86400), "day");
}

/** Words for a failed request: the catalogue's for known codes, else the server's own message. */
export function describeError(error, limits = {}) {
  if (error.code === "rate_limited" && error.retryAfter) {
    return t("error.rate_limited_for", { wait: inWords(error.retryAfter) });
  }
  const key = `error.${error.code}`;
  if (key in messages) return t(key, limits);
  if (error.status >= 500 || !error.message) return t("error.server");
  return error.message;
}
