// Talking to the archive (same origin): one caption by GET ...?wait=S until it is final, and the
// channel's live WebSocket, joined at the heard trigger (`from_seq`: that caption as it stands
// comes first, so its first words show at once) and resumed by cursor after a drop. Both retry with doubling backoff while
// the archive is unreachable and report it once per outage; neither ever stops listening.

/**
 * @typedef {object} Caption   the archive's Caption JSON (docs/CONTRACTS.md)
 * @property {number} channel
 * @property {number} seq
 * @property {string} text
 * @property {boolean} final
 * @property {number} revision
 * @property {string|null} start_at
 * @property {string|null} end_at
 */

/** @typedef {(s: {down: boolean, retryS: number}) => void} StatusFn */

/** The one request shape the archive's nginx caches per caption (docs/archive.md): ?wait=10. */
export const WAIT_S = 10;
export const GIVE_UP_S = 30;
export const RETRY_INITIAL_S = 0.25;
export const RETRY_MAX_S = 5;

/**
 * Wait `s` seconds, less if the signal aborts or the link comes back up.
 * @param {number} s @param {AbortSignal} [signal] @param {Link} [link]
 */
function sleep(s, signal, link) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(id); link?.waiters.delete(done); resolve(undefined); };
    const id = setTimeout(done, s * 1000);
    signal?.addEventListener("abort", done, { once: true });
    link?.waiters.add(done);
  });
}

/** Reachability of the archive, shared by fetches and the live socket (one message per outage). */
export class Link {
  /** @param {StatusFn} onStatus */
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.down = false;
    /** performance.now() ms when the archive was last seen coming back (0: never down) */
    this.upSince = 0;
    /** @type {Set<() => void>} retries waiting out a backoff: woken when the archive is back */
    this.waiters = new Set();
  }

  /** @param {boolean} down @param {number} retryS */
  set(down, retryS = 0) {
    if (down !== this.down) {
      this.down = down;
      if (!down) {
        this.upSince = performance.now();
        for (const w of [...this.waiters]) w();
      }
      this.onStatus({ down, retryS });
    }
  }
}

/**
 * Fetch one caption until it is final, nothing exists after GIVE_UP_S, or the signal aborts.
 * @param {number} channel
 * @param {number} seq
 * @param {Link} link
 * @param {{signal?: AbortSignal, onPartial?: (c: Caption) => void, giveUpS?: number}} [opts]
 * @returns {Promise<{caption: Caption|null, reason: "ok"|"partial"|"missing"|"unreachable"|"unknown_channel"|"refused"}>}
 */
export async function fetchCaption(channel, seq, link, opts = {}) {
  const deadline = performance.now() + (opts.giveUpS ?? GIVE_UP_S) * 1000;
  let backoff = RETRY_INITIAL_S;
  /** @type {Caption|null} */
  let caption = null;
  /** @type {"ok"|"partial"|"missing"|"unreachable"|"unknown_channel"|"refused"} */
  let reason = "missing";
  while (!opts.signal?.aborted) {
    const left = (deadline - performance.now()) / 1000;
    if (left <= 0) break;
    let res;
    const asked = performance.now();
    // An answer without the final text that came at once (from a cache, max-age=1) is not asked
    // again at once: no spinning on a cached 404 or partial.
    const pace = () => (performance.now() - asked < 1000 ? sleep(1, opts.signal) : Promise.resolve());
    try {
      // no extra headers or cache mode: every phone's request for a caption is the same one
      res = await fetch(`/v1/channels/${channel}/captions/${seq}?wait=${WAIT_S}`, { signal: opts.signal });
    } catch {
      if (opts.signal?.aborted) break;
      reason = "unreachable";
      link.set(true, backoff);
      await sleep(backoff, opts.signal, link);
      backoff = Math.min(RETRY_MAX_S, backoff * 2);
      continue;
    }
    if (res.status >= 500 || res.status === 429) {
      reason = "unreachable";
      link.set(true, backoff);
      await sleep(backoff, opts.signal, link);
      backoff = Math.min(RETRY_MAX_S, backoff * 2);
      continue;
    }
    link.set(false);
    backoff = RETRY_INITIAL_S;
    if (res.status === 404) {
      /** @type {{code?: string}} */
      const body = await res.json().catch(() => ({}));
      if (body.code === "channel_not_found") return { caption: null, reason: "unknown_channel" };
      reason = caption ? "partial" : "missing";
      await pace();
      continue;
    }
    if (!res.ok) return { caption, reason: "refused" };
    caption = /** @type {Caption} */ (await res.json());
    if (caption.final) return { caption, reason: "ok" };
    reason = "partial";
    opts.onPartial?.(caption);
    await pace();
  }
  return { caption, reason };
}

/** Follows one channel's live WebSocket; resumes by cursor after a drop. */
export class LiveFollower {
  /**
   * @param {Link} link
   * @param {(c: Caption) => void} onCaption
   * @param {(channel: number) => void} onUnknownChannel
   */
  constructor(link, onCaption, onUnknownChannel) {
    this.link = link;
    this.onCaption = onCaption;
    this.onUnknownChannel = onUnknownChannel;
    /** @type {number|null} */
    this.channel = null;
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {Map<number, number>} last cursor seen per channel */
    this.cursor = new Map();
    /** @type {number|null} the trigger the channel was joined at (used until a cursor is seen) */
    this.fromSeq = null;
    this.backoff = RETRY_INITIAL_S;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
  }

  /**
   * Follow `channel` (a no-op if it is the one followed).
   * @param {number} channel
   * @param {number|null} [fromSeq]  the heard trigger that made us join: without a cursor for
   *   the channel yet, the socket starts with that caption as the archive has it now
   */
  follow(channel, fromSeq = null) {
    if (channel === this.channel) return;
    this.stop();
    this.channel = channel;
    this.fromSeq = fromSeq;
    this.connect();
  }

  stop() {
    this.channel = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    this.ws = null;
  }

  connect() {
    const ch = this.channel;
    if (ch === null) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const cur = this.cursor.get(ch);
    const q = cur !== undefined ? `?after_cursor=${cur}` : this.fromSeq !== null ? `?from_seq=${this.fromSeq}` : "";
    const ws = new WebSocket(`${proto}//${location.host}/v1/channels/${ch}/live${q}`);
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = RETRY_INITIAL_S;
      this.link.set(false);
    };
    ws.onmessage = (ev) => {
      /** @type {any} */
      let msg;
      try { msg = JSON.parse(String(ev.data)); } catch { return; }
      if (msg.type === "error") {
        // refused (no such channel, or an argument out of range): retrying will not help
        this.channel = null;
        ws.onclose = null;
        if (msg.code === "channel_not_found") this.onUnknownChannel(ch);
        return;
      }
      if (msg.type !== "caption" || typeof msg.cursor !== "number") return;
      this.cursor.set(ch, msg.cursor);
      this.onCaption(msg.caption);
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.channel !== ch) return;
      this.link.set(true, this.backoff);
      const retry = () => {
        if (this.timer === null) return;
        clearTimeout(this.timer);
        this.timer = null;
        this.link.waiters.delete(retry);
        if (this.channel === ch) this.connect();
      };
      this.timer = setTimeout(retry, this.backoff * 1000);
      this.link.waiters.add(retry);
      this.backoff = Math.min(RETRY_MAX_S, this.backoff * 2);
    };
  }
}
