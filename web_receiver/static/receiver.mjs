// The receiver's logic, as receiver_app/app.py does it: channel from the triggers (or a pin),
// repeats cost nothing, captions go to the display in the order their triggers were heard (a late
// one holds later ones at most ORDER_HOLD_S), live partials shown at once and replaced in place,
// stale captions (on air over STALE_AFTER_S ago) not shown as live unless asked for, marked.
// No DOM here: the view gets display events through `onEvents`, messages through `onMessage`.
//
// False IDs (the decoder very rarely reports an ID nobody broadcast) never show or disturb
// anything, by the rule receiver_app/app.py keeps too (docs/receiver.md): a channel is *trusted*
// once the archive confirmed it (a fetch or the live socket brought a caption of it) or one of its
// triggers was heard twice (real triggers repeat every 2.5 s; a false ID does not); a pinned one
// from the start. A trigger on a channel not trusted does not switch the followed channel (except
// the first channel heard, joined at once so the first caption is fast: a refusal is then not
// told), does not hold later captions, and, when the archive has no caption or no such channel,
// is counted (`unconfirmedTriggers`) and told only once the channel is heard again.

import { CaptionDisplay } from "./display.mjs";
import { GIVE_UP_S, Link, LiveFollower, fetchCaption } from "./archive.mjs";

/** @typedef {import("./archive.mjs").Caption} Caption */
/** @typedef {import("./display.mjs").DisplayEvent} DisplayEvent */
/** @typedef {{channel: number, seq: number, profile?: string, startS?: number, endS?: number, snrDb?: number}} Detection */
/** @typedef {{level: "info"|"warn", key: string, vars?: Record<string, string|number>}} Message */

export const STALE_AFTER_S = 60;
export const ORDER_HOLD_S = 3;
const CACHE_SIZE = 512;

/**
 * @typedef {object} Heard
 * @property {number} channel
 * @property {number} seq
 * @property {number} heardAt   performance.now() ms when the trigger was handed over
 * @property {number|null} lastSampleMs  wall clock (timeOrigin + now) of the trigger's last sample
 * @property {{caption: Caption|null, reason: string}|null} result
 * @property {boolean} delivered
 * @property {boolean} [dropped]  left the order unresolved, untrusted: delivered when it resolves
 */

export class Receiver {
  /**
   * @param {{onEvents: (ev: DisplayEvent[]) => void, onMessage: (m: Message) => void,
   *          onChannel?: (ch: number|null) => void, now?: () => number}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.now = hooks.now ?? (() => performance.now() / 1000);
    this.display = new CaptionDisplay();
    this.link = new Link(({ down, retryS }) => {
      this.hooks.onMessage(down ? { level: "warn", key: "archive_down", vars: { s: retryS } } : { level: "info", key: "archive_back" });
      if (!down) this.schedule();
    });
    this.live = new LiveFollower(this.link, (c) => this.onLive(c), (ch) => this.unknownChannel(ch));
    /** @type {number|null} */
    this.pin = null;
    /** @type {number|null} */
    this.channel = null;
    this.showRecorded = false;
    /** @type {Map<string, Heard>} */
    this.heard = new Map();
    /** @type {Heard[]} */
    this.order = [];
    /** @type {Map<string, Caption>} newest revision per caption (fetches and the live socket) */
    this.cache = new Map();
    /** @type {Set<number>} */
    this.unknown = new Set();
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    this.ignoredOtherChannel = 0;
    this.staleSuppressed = 0;
    /** triggers of an untrusted channel the archive had no caption for (likely false IDs) */
    this.unconfirmedTriggers = 0;
    /** @type {Set<number>} channels not a false ID's (see the top of this file) */
    this.trusted = new Set();
    /** @type {Map<number, number>} triggers heard (repeats included) per untrusted channel */
    this.hearings = new Map();
    /** @type {Map<number, Message[]>} messages about an untrusted channel, told once trusted */
    this.untold = new Map();
    /** @type {number|null} channel of the trigger heard last */
    this.newestChannel = null;
    /** @type {number|null} channel of the caption delivered last */
    this.shownChannel = null;
    /** seconds after a trigger before its caption counts as never coming (a test shortens it) */
    this.giveUpS = GIVE_UP_S;
  }

  /** Pin to a channel (null: follow the triggers). @param {number|null} ch */
  setPin(ch) {
    this.pin = ch;
    if (ch !== null) {
      this.trusted.add(ch); // the viewer's choice: what the archive says of it is told at once
      this.setChannel(ch);
    }
  }

  /**
   * @param {number} ch
   * @param {number|null} [seq]  the trigger heard on it, if that is why: the live socket joins
   *   there (its caption as it stands comes first, so the first words show at once)
   */
  setChannel(ch, seq = null) {
    if (ch === this.channel) return;
    this.channel = ch;
    this.live.follow(ch, seq);
    this.hooks.onChannel?.(ch);
  }

  /**
   * A trigger heard by the decoder.
   * @param {Detection} det
   * @param {number|null} [lastSampleMs]  wall-clock ms of its last sample (for the latency bench)
   */
  onDetection(det, lastSampleMs = null) {
    const { channel, seq } = det;
    if (this.pin !== null && channel !== this.pin) {
      this.ignoredOtherChannel += 1;
      this.hooks.onMessage({ level: "info", key: "other_channel", vars: { ch: channel, pin: this.pin } });
      return;
    }
    if (this.unknown.has(channel)) return;
    this.newestChannel = channel;
    if (!this.trusted.has(channel)) {
      const n = (this.hearings.get(channel) ?? 0) + 1;
      this.hearings.set(channel, n);
      if (n >= 2) this.trust(channel, seq); // heard twice: no false ID
      if (this.unknown.has(channel)) return;
    }
    const key = `${channel}/${seq}`;
    if (this.heard.has(key)) return;
    // the first channel heard is joined at once; another one once it is trusted
    if (this.channel === null || this.trusted.has(channel)) this.setChannel(channel, seq);
    /** @type {Heard} */
    const h = { channel, seq, heardAt: performance.now(), lastSampleMs, result: null, delivered: false };
    this.heard.set(key, h);
    if (this.heard.size > 4 * CACHE_SIZE) {
      const done = [...this.heard.entries()].filter(([, v]) => v.delivered).map(([k]) => k);
      for (const k of done.slice(0, done.length / 2)) this.heard.delete(k);
    }
    this.order.push(h);
    const cached = this.cache.get(key);
    if (cached && cached.final) {
      h.result = { caption: cached, reason: "cached" };
      this.release();
      return;
    }
    if (cached) h.result = { caption: cached, reason: "partial" };
    this.release();
    fetchCaption(channel, seq, this.link, { giveUpS: this.giveUpS }).then((r) => this.onFetched(h, r));
  }

  /** @param {Heard} h @param {{caption: Caption|null, reason: string}} r */
  onFetched(h, r) {
    if (r.reason === "unknown_channel") {
      this.unknownChannel(h.channel);
    }
    if (r.caption) {
      this.remember(r.caption);
      this.trust(h.channel, h.seq);
    }
    const newest = r.caption ? this.cache.get(`${h.channel}/${h.seq}`) ?? r.caption : null;
    if (h.result !== null && h.delivered) {
      if (newest) this.update(newest);
      return;
    }
    h.result = newest ? { caption: newest, reason: r.reason } : h.result?.caption ? h.result : { caption: null, reason: r.reason };
    if (h.dropped) {
      h.dropped = false;
      this.deliver(h);
      return;
    }
    this.release();
  }

  /**
   * Channel `ch` is real (the archive has a caption of it, or it was heard twice): followed if
   * the newest trigger heard is on it; what was held back about it is told now.
   * @param {number} ch @param {number} seq
   */
  trust(ch, seq) {
    if (this.trusted.has(ch)) return;
    this.trusted.add(ch);
    this.hearings.delete(ch);
    if (this.newestChannel === ch && !this.unknown.has(ch)) this.setChannel(ch, seq);
    const held = this.untold.get(ch) ?? [];
    this.untold.delete(ch);
    for (const m of held) this.tell(ch, m);
  }

  /**
   * Tell the viewer `m` about channel `ch`: now if it is trusted, else once it is.
   * @param {number} ch @param {Message} m
   */
  tell(ch, m) {
    if (!this.trusted.has(ch)) {
      const held = this.untold.get(ch) ?? [];
      if (!held.some((x) => x.key === m.key)) held.push(m);
      this.untold.set(ch, held);
      return;
    }
    if (m.key === "unknown_channel") {
      if (this.unknown.has(ch)) return;
      this.unknown.add(ch);
    }
    this.hooks.onMessage(m);
  }

  /** @param {number} ch */
  unknownChannel(ch) {
    this.tell(ch, { level: "warn", key: "unknown_channel", vars: { ch } });
  }

  /** @param {Caption} c */
  remember(c) {
    const key = `${c.channel}/${c.seq}`;
    const old = this.cache.get(key);
    if (old && old.revision > c.revision) return;
    this.cache.delete(key);
    this.cache.set(key, c);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(/** @type {string} */ (this.cache.keys().next().value));
  }

  /** A message of the live WebSocket. @param {Caption} c */
  onLive(c) {
    this.remember(c);
    if (c.channel === this.channel) this.trust(c.channel, c.seq); // the live join succeeded
    const h = this.heard.get(`${c.channel}/${c.seq}`);
    if (!h) return;
    if (!h.delivered) {
      if (h.result === null && !c.final) {
        h.result = { caption: c, reason: "partial" };
        this.release();
      } else if (h.result !== null) {
        h.result = { caption: c, reason: h.result.reason };
      }
      return;
    }
    this.update(c);
  }

  /** @param {Caption} c */
  isStale(c) {
    const t = Date.parse(c.end_at ?? c.start_at ?? "");
    return Number.isFinite(t) && (Date.now() - t) / 1000 > STALE_AFTER_S;
  }

  /** @param {Caption} c */
  item(c) {
    return { channel: c.channel, seq: c.seq, text: c.text, final: c.final, marker: this.isStale(c) ? "recorded" : null };
  }

  /** A caption already delivered changed (partial grew, final, correction). @param {Caption} c */
  update(c) {
    if (this.isStale(c) && !this.showRecorded) return;
    this.emit(this.display.offer(this.item(c), this.now()));
  }

  release() {
    const now = performance.now();
    while (this.order.length) {
      const head = this.order[0];
      if (head.result === null) {
        // A late answer holds later captions at most ORDER_HOLD_S, counted while the archive is
        // reachable: after an outage every fetch retries at once and gets its turn.
        const laterDone = this.order.slice(1).some((h) => h.result !== null);
        if (laterDone && !this.trusted.has(head.channel)) {
          // an untrusted trigger (perhaps a false ID) holds nothing
          this.order.shift();
          head.dropped = true;
          continue;
        }
        const since = Math.max(head.heardAt, this.link.upSince);
        if (!(laterDone && !this.link.down && now - since > ORDER_HOLD_S * 1000)) break;
      }
      this.order.shift();
      if (head.result !== null) this.deliver(head);
    }
    this.schedule();
  }

  /** @param {Heard} h */
  deliver(h) {
    h.delivered = true;
    const c = /** @type {{caption: Caption|null, reason: string}} */ (h.result).caption;
    if (!c) {
      const reason = /** @type {{reason: string}} */ (h.result).reason;
      if (!this.trusted.has(h.channel) && reason !== "unreachable") this.unconfirmedTriggers += 1;
      if (reason !== "unknown_channel") this.tell(h.channel, { level: "warn", key: "caption_missing", vars: { ch: h.channel, seq: h.seq } });
      return;
    }
    if (this.isStale(c) && !this.showRecorded) {
      this.staleSuppressed += 1;
      this.hooks.onMessage({ level: "info", key: "stale", vars: { ch: h.channel, seq: h.seq, s: STALE_AFTER_S } });
      return;
    }
    // said when the screen changes channel (in trigger order), so never of a channel only a
    // false ID was heard on
    if (this.shownChannel !== null && h.channel !== this.shownChannel) this.hooks.onMessage({ level: "info", key: "following", vars: { ch: h.channel } });
    this.shownChannel = h.channel;
    this.emit(this.display.offer(this.item(c), this.now()));
  }

  /** @param {DisplayEvent[]} events */
  emit(events) {
    if (events.length) this.hooks.onEvents(events);
    this.schedule();
  }

  schedule() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = this.now();
    const times = [];
    const d = this.display.nextDeadline(now);
    if (d !== null) times.push(d);
    if (this.order.length && this.order[0].result === null && !this.link.down) {
      times.push(Math.max(this.order[0].heardAt, this.link.upSince) / 1000 + ORDER_HOLD_S + 0.01);
    }
    if (!times.length) return;
    const ms = Math.max(0, (Math.min(...times) - now) * 1000) + 5;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.release();
      const ev = this.display.tick(this.now());
      if (ev.length) this.hooks.onEvents(ev);
      this.schedule();
    }, ms);
  }
}
