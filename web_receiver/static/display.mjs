// Caption display rules: a line-for-line port of receiver_app/display.py (pure, clock-driven; the
// caller passes `now` in seconds on a monotonic clock). Both are held to the same cases by
// tests/data/display_cases.json. The browser wraps the text itself; the line estimate here only
// decides how many captions fit the roll-up, with line lengths the page measures from the screen.

/**
 * @typedef {object} DisplayRules
 * @property {number} maxLines          lines on screen at once (roll-up), 1-5
 * @property {number} cjkLineFullwidth  line length of Japanese/Korean text, full-width characters
 * @property {number} latinLineChars    line length of text without full-width characters
 * @property {number} minDisplayS       shortest time a caption stays before later text pushes it, s
 * @property {number} displaySPerChar   added minimum time per character, s
 * @property {number} maxMinDisplayS    cap on the minimum display time, s
 * @property {number} maxHoldS          a waiting caption is shown after this long regardless, s
 * @property {number} clearAfterS       the screen clears after this long with nothing new, s
 * @property {number} historySize       captions kept for scrolling back
 */

/**
 * @typedef {object} CaptionItem
 * @property {number} channel
 * @property {number} seq
 * @property {string} text
 * @property {boolean} final
 * @property {string|null} marker   "recorded" for a stale caption shown on request, else null
 */

/** @typedef {{kind: "shown"|"updated"|"cleared", item: CaptionItem|null, at: number}} DisplayEvent */
/** @typedef {{text: string, channel: number, seq: number, final: boolean, marker: string|null}} ScreenLine */

/** @type {DisplayRules} */
export const DEFAULT_RULES = Object.freeze({
  maxLines: 2,
  cjkLineFullwidth: 15.5,
  latinLineChars: 42,
  minDisplayS: 1.0,
  displaySPerChar: 0.07,
  maxMinDisplayS: 5.0,
  maxHoldS: 2.0,
  clearAfterS: 8.0,
  historySize: 500,
});

/**
 * Validate and complete display rules (the limits of receiver_app.settings.DisplayRules).
 * @param {Partial<DisplayRules>} [r]
 * @returns {DisplayRules}
 */
export function makeRules(r = {}) {
  const out = { ...DEFAULT_RULES, ...r };
  if (!(out.maxLines >= 1 && out.maxLines <= 5)) throw new RangeError(`maxLines must be 1-5, got ${out.maxLines}`);
  if (!(out.cjkLineFullwidth >= 4 && out.cjkLineFullwidth <= 60)) {
    throw new RangeError(`cjkLineFullwidth must be 4-60, got ${out.cjkLineFullwidth}`);
  }
  if (!(out.latinLineChars >= 8 && out.latinLineChars <= 120)) {
    throw new RangeError(`latinLineChars must be 8-120, got ${out.latinLineChars}`);
  }
  return Object.freeze(out);
}

// Characters that may not start a line (kinsoku shori) and that may not end one.
const NO_LINE_START = new Set("、。，．,.!?！？）)」』】〕》〉ーゃゅょっァィゥェォャュョッ…・：；:;」%");
const NO_LINE_END = new Set("（(「『【〔《〈");

// East Asian Width W or F (the ranges of Unicode's EastAsianWidth.txt that captions meet).
const WIDE = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x2e80, 0x303e], [0x3041, 0x33ff],
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];
const HANGUL = [[0x1100, 0x11ff], [0x3130, 0x318f], [0xa960, 0xa97f], [0xac00, 0xd7ff]];

/** @param {string} ch @param {number[][]} table */
function inTable(ch, table) {
  const c = /** @type {number} */ (ch.codePointAt(0));
  for (const [lo, hi] of table) if (c >= lo && c <= hi) return true;
  return false;
}

/** @param {string} ch */
const isWide = (ch) => inTable(ch, WIDE);
/** Han, kana and full-width punctuation: scripts written without spaces. @param {string} ch */
const breaksAnywhere = (ch) => isWide(ch) && !inTable(ch, HANGUL);
/** @param {string} ch */
const isSpace = (ch) => /\s/u.test(ch);
/** @param {string} s */
const cpLen = (s) => [...s].length;

/**
 * Width of a text in half-width columns (full-width characters count 2).
 * @param {string} text
 * @returns {number}
 */
export function textWidth(text) {
  let w = 0;
  for (const c of text) w += isWide(c) ? 2 : 1;
  return w;
}

/** @param {string} text @param {DisplayRules} rules */
function lineColumns(text, rules) {
  for (const c of text) if (isWide(c)) return Math.trunc(rules.cjkLineFullwidth * 2);
  return rules.latinLineChars;
}

/**
 * Split into unbreakable units, each with "a space precedes it".
 * @param {string} text
 * @returns {Array<[string, boolean]>}
 */
function units(text) {
  /** @type {Array<[string, boolean]>} */
  const out = [];
  let space = false;
  let word = "";
  const flush = () => {
    if (word) {
      out.push([word, space]);
      space = false;
      word = "";
    }
  };
  for (const ch of text) {
    if (isSpace(ch)) {
      flush();
      space = out.length > 0;
      continue;
    }
    if (NO_LINE_START.has(ch) && !word && out.length && !space) {
      [word, space] = /** @type {[string, boolean]} */ (out.pop());
      word += ch;
      continue;
    }
    if (NO_LINE_START.has(ch) && word) {
      word += ch;
      continue;
    }
    if (breaksAnywhere(ch)) {
      if (word && !NO_LINE_END.has(lastChar(word))) flush();
      word += ch;
      if (!NO_LINE_END.has(ch)) flush();
      continue;
    }
    if (word && breaksAnywhere(lastChar(word)) && !NO_LINE_END.has(lastChar(word))) flush();
    word += ch;
  }
  flush();
  return out;
}

/** @param {string} s */
function lastChar(s) {
  const a = [...s];
  return a[a.length - 1] ?? "";
}

/**
 * Wrap a caption into whole lines no longer than its script's limit.
 * @param {string} text    caption text (runs of whitespace count as one space)
 * @param {DisplayRules} rules
 * @returns {string[]}     the lines; empty text gives none; a unit longer than a line is cut hard
 */
export function wrapCaption(text, rules) {
  const cols = lineColumns(text, rules);
  /** @type {string[]} */
  const lines = [];
  let cur = "";
  for (const [u, space] of units(text)) {
    let unit = u;
    const sep = space && cur ? " " : "";
    if (textWidth(cur + sep + unit) <= cols) {
      cur = cur + sep + unit;
      continue;
    }
    if (cur) lines.push(cur);
    while (textWidth(unit) > cols) {
      const cps = [...unit];
      let cut = 0;
      while (textWidth(cps.slice(0, cut + 1).join("")) <= cols) cut += 1;
      lines.push(cps.slice(0, cut).join(""));
      unit = cps.slice(cut).join("");
    }
    cur = unit;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** @param {CaptionItem} i */
const keyOf = (i) => `${i.channel}/${i.seq}`;

/** The display rules engine (see receiver_app/display.py's docstring). */
export class CaptionDisplay {
  /** @param {Partial<DisplayRules>} [rules] */
  constructor(rules) {
    this.rules = makeRules(rules);
    /** @type {Array<{item: CaptionItem, lines: string[], shownAt: number, minUntil: number}>} */
    this.entries = [];
    /** @type {Array<{item: CaptionItem, since: number}>} */
    this.pendingItems = [];
    /** @type {Map<number, number>} */
    this.lastSeq = new Map();
    /** @type {Array<{item: CaptionItem, shownAt: number}>} */
    this.historyItems = [];
    /** @type {Map<string, number>} */
    this.shown = new Map();
    this.lastChange = 0;
    this.droppedOutOfOrder = 0;
    this.duplicates = 0;
  }

  /**
   * Change the layout (line lengths measured from the screen, lines chosen by the viewer).
   * Lines already on screen are re-wrapped; nothing is shown or dropped by this call.
   * @param {Partial<DisplayRules>} rules
   */
  setRules(rules) {
    this.rules = makeRules({ ...this.rules, ...rules });
    for (const e of this.entries) e.lines = wrapCaption(e.item.text, this.rules);
  }

  /** The lines on screen now, oldest first. @returns {ScreenLine[]} */
  get screen() {
    const lines = this.entries.flatMap((e) =>
      e.lines.map((t) => ({ text: t, channel: e.item.channel, seq: e.item.seq, final: e.item.final, marker: e.item.marker })),
    );
    return lines.slice(Math.max(0, lines.length - this.rules.maxLines));
  }

  /** Captions with at least one line on screen, oldest first. @returns {CaptionItem[]} */
  get onScreen() {
    /** @type {CaptionItem[]} */
    const out = [];
    const keys = new Set(this.screen.map((l) => `${l.channel}/${l.seq}`));
    for (const e of this.entries) if (keys.has(keyOf(e.item))) out.push(e.item);
    return out;
  }

  /** Every caption shown, oldest first (bounded by historySize). */
  get history() {
    return this.historyItems.slice();
  }

  /** Captions accepted but waiting for earlier ones' minimum display time. */
  get pending() {
    return this.pendingItems.length;
  }

  /** Minimum display time of a caption's text, s. @param {string} text */
  minDisplayS(text) {
    const r = this.rules;
    return Math.min(r.maxMinDisplayS, r.minDisplayS + r.displaySPerChar * cpLen(text));
  }

  /**
   * Offer a caption (new, a repeat, a partial becoming final, or a correction).
   * @param {CaptionItem} offered
   * @param {number} now   seconds on the caller's monotonic clock
   * @returns {DisplayEvent[]}  what changed on screen because of it (possibly nothing)
   */
  offer(offered, now) {
    const text = offered.text.split(/\s+/u).filter(Boolean).join(" ");
    const item = { ...offered, text, marker: offered.marker ?? null };
    const key = keyOf(item);
    for (const e of this.entries) {
      if (keyOf(e.item) === key) {
        if (e.item.text === text && e.item.final === item.final) {
          this.duplicates += 1;
          return [];
        }
        e.item = item;
        e.lines = wrapCaption(text, this.rules);
        e.minUntil = Math.max(e.minUntil, e.shownAt + this.minDisplayS(text));
        this.replaceHistory(item);
        this.lastChange = now;
        return [{ kind: "updated", item, at: now }];
      }
    }
    for (const p of this.pendingItems) {
      if (keyOf(p.item) === key) {
        p.item = item;
        return this.drain(now);
      }
    }
    if (this.shown.has(key)) {
      this.duplicates += 1;
      this.replaceHistory(item);
      return [];
    }
    const last = this.lastSeq.get(item.channel);
    if (last !== undefined && item.seq < last) {
      this.droppedOutOfOrder += 1;
      return [];
    }
    if (!text) return [];
    this.lastSeq.set(item.channel, item.seq);
    this.pendingItems.push({ item, since: now });
    return this.drain(now);
  }

  /**
   * Advance the clock: show captions whose wait is over; clear after a pause.
   * @param {number} now  seconds, same clock as offer()
   * @returns {DisplayEvent[]}
   */
  tick(now) {
    const events = this.drain(now);
    if (
      this.entries.length &&
      !this.pendingItems.length &&
      now - this.lastChange >= this.rules.clearAfterS &&
      this.entries.every((e) => e.minUntil <= now)
    ) {
      this.entries = [];
      this.lastChange = now;
      events.push({ kind: "cleared", item: null, at: now });
    }
    return events;
  }

  /** When tick() may next change something, or null. @param {number} now */
  nextDeadline(now) {
    /** @type {number[]} */
    const times = [];
    if (this.pendingItems.length) {
      times.push(this.pendingItems[0].since + this.rules.maxHoldS);
      for (const e of this.entries) if (e.minUntil > now) times.push(e.minUntil);
    } else if (this.entries.length) {
      times.push(Math.max(this.lastChange + this.rules.clearAfterS, ...this.entries.map((e) => e.minUntil)));
    }
    return times.length ? Math.min(...times) : null;
  }

  /** @param {CaptionItem} item */
  replaceHistory(item) {
    const key = keyOf(item);
    for (const h of this.historyItems) if (keyOf(h.item) === key) h.item = item;
  }

  /** @param {number} newLines @param {number} now */
  wouldCutShort(newLines, now) {
    let overflow = this.entries.reduce((n, e) => n + e.lines.length, 0) + newLines - this.rules.maxLines;
    for (const e of this.entries) {
      if (overflow <= 0) return false;
      if (e.minUntil > now) return true;
      overflow -= e.lines.length;
    }
    return false;
  }

  /** @param {number} now @returns {DisplayEvent[]} */
  drain(now) {
    /** @type {DisplayEvent[]} */
    const events = [];
    while (this.pendingItems.length) {
      const p = this.pendingItems[0];
      const lines = wrapCaption(p.item.text, this.rules);
      const heldTooLong = now - p.since >= this.rules.maxHoldS;
      if (this.wouldCutShort(lines.length, now) && !heldTooLong) break;
      this.pendingItems.shift();
      this.entries.push({ item: p.item, lines, shownAt: now, minUntil: now + this.minDisplayS(p.item.text) });
      let total = this.entries.reduce((n, e) => n + e.lines.length, 0);
      while (this.entries.length && total - this.entries[0].lines.length >= this.rules.maxLines) {
        total -= this.entries[0].lines.length;
        this.entries.shift();
      }
      this.shown.set(keyOf(p.item), 1);
      if (this.shown.size > 4 * this.rules.historySize) {
        const drop = [...this.shown.keys()].slice(0, Math.floor(this.shown.size / 2));
        for (const k of drop) this.shown.delete(k);
      }
      this.historyItems.push({ item: p.item, shownAt: now });
      if (this.historyItems.length > this.rules.historySize) this.historyItems.shift();
      this.lastChange = now;
      events.push({ kind: "shown", item: p.item, at: now });
    }
    return events;
  }
}
