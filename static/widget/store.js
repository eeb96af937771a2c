// The reader's tokens and details. A third-party frame may be refused localStorage (reading it
// throws): then everything is kept in memory for the page's life, and the widget works on.
const PREFIX = "parley:";
const memory = new Map();

function openStorage() {
  try {
    const storage = window.localStorage;
    storage.setItem(`${PREFIX}probe`, "1");
    storage.removeItem(`${PREFIX}probe`);
    return storage;
  } catch {
    return null;
  }
}

const local = openStorage();

/** Whether what is stored outlives this page. */
export const persistent = local !== null;

export function get(key) {
  if (memory.has(key)) return memory.get(key);
  try {
    const text = local?.getItem(PREFIX + key);
    return text == null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

export function set(key, value) {
  memory.set(key, value);
  try {
    local?.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Full, or revoked since the probe: the copy in memory still serves this page.
  }
}

export function remove(key) {
  memory.delete(key);
  try {
    local?.removeItem(PREFIX + key);
  } catch {
    // As in set().
  }
}

/** Drop stored entries under `prefix` whose `until` time has passed. */
export function prune(prefix, now = Date.now()) {
  try {
    for (let i = (local?.length ?? 0) - 1; i >= 0; i--) {
      const key = local.key(i);
      if (!key?.startsWith(PREFIX + prefix)) continue;
      const value = JSON.parse(local.getItem(key));
      if (!(value?.until > now)) local.removeItem(key);
    }
  } catch {
    // Unreadable storage holds nothing worth pruning.
  }
}
