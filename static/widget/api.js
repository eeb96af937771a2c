// The JSON API, same-origin from the iframe. Reader and login tokens ride in headers, never cookies.
export class ApiError extends Error {
  constructor(code, message, status, retryAfter = null) {
    super(message || code);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;  // seconds, when the server said how long to wait (429, 503)
  }
}

/** Retry-After as seconds from now: a number of seconds, or an HTTP date; null when absent or unreadable. */
function retryAfterSeconds(header) {
  if (!header) return null;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : null;
}

export function createApi(base, identity) {
  async function call(method, path, { query = {}, body, headers = {} } = {}) {
    const url = new URL(base + path, window.location.href);
    for (const [name, value] of Object.entries(query)) {
      if (value != null) url.searchParams.set(name, value);
    }
    const reader = identity.reader();
    if (reader) headers["X-Reader-Token"] = reader;
    const bearer = identity.bearer();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError("network", "", 0);
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = data?.error ?? {};
      const code = error.code ?? (response.status === 429 ? "rate_limited" : "server");
      if (response.status === 401 && bearer) identity.expired();
      throw new ApiError(code, error.message, response.status, retryAfterSeconds(response.headers.get("Retry-After")));
    }
    if (data?.reader_token) identity.setReader(data.reader_token);
    return data;
  }

  return {
    thread: (query) => call("GET", "threads", { query }),
    replies: (id, cursor) => call("GET", `comments/${id}/replies`, { query: { cursor } }),
    formToken: (site) => call("GET", "form-token", { query: { site } }),
    post: (payload) => call("POST", "comments", { body: payload }),
    // A logged-in author needs no edit token: their bearer token proves who they are.
    edit: (id, body, token) => call("PATCH", `comments/${id}`, { body: { body }, headers: token ? { "X-Edit-Token": token } : {} }),
    remove: (id, token) => call("DELETE", `comments/${id}`, { headers: token ? { "X-Edit-Token": token } : {} }),
    like: (id, liked) => call(liked ? "POST" : "DELETE", `comments/${id}/like`),
    exchange: (secret, code, pairingCode) => call("POST", "auth/exchange", {
      body: { secret, ...(code ? { code } : {}), ...(pairingCode ? { pairing_code: pairingCode } : {}) },
    }),
    logout: () => call("POST", "auth/logout"),
    myData: () => call("GET", "me/data"),
    eraseMe: (mode, lang) => call("DELETE", "me", { body: { mode, lang } }),
  };
}
