// The page: wires the controls, the microphone, the decoder worker and the receiver logic to the
// DOM. Caption text only ever goes into the page as text (textContent), never as markup.
// DOM contract (external checks rely on it): #start starts listening; #captions holds one element
// per caption on screen with data-channel, data-seq, data-final="true"|"false", whose text
// content is the caption's text.

import { Receiver } from "./receiver.mjs";
import { STRINGS, pickLang, t } from "./i18n.mjs";
import { ScreenLock, missingApi, startListening } from "./capture.mjs";

/** @typedef {import("./i18n.mjs").Lang} Lang */
/** @typedef {import("./display.mjs").DisplayEvent} DisplayEvent */

export const SIZES = [20, 24, 28, 32, 36, 40, 48, 56, 64, 72, 84, 96, 112, 128];
const SILENT_RMS = 1e-6;
const SILENT_AFTER_S = 5;

/** @param {string} id @returns {HTMLElement} */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const store = {
  /** @param {string} k @param {string} d */
  get: (k, d) => { try { return localStorage.getItem(`jimaku.${k}`) ?? d; } catch { return d; } },
  /** @param {string} k @param {string} v */
  set: (k, v) => { try { localStorage.setItem(`jimaku.${k}`, v); } catch { /* private mode */ } },
};
const params = new URLSearchParams(location.search);

/** @type {{lang: Lang, size: number, theme: string, lines: number, paused: boolean, listening: any, band: any, cpu: any, pathUsed: string|null, silentSince: number|null, hfHeard: boolean, alertKey: string|null, audioStartMs: number|null, levelStep: number}} */
const state = {
  lang: /** @type {Lang} */ (params.get("lang") ?? store.get("lang", pickLang(navigator.languages ?? [navigator.language]))),
  size: Number(params.get("size") ?? store.get("size", "40")),
  theme: store.get("theme", "dark"),
  lines: Number(store.get("lines", "2")),
  paused: false,
  listening: null,
  band: null,
  cpu: null,
  pathUsed: null,
  silentSince: null,
  hfHeard: false,
  alertKey: null,
  audioStartMs: null,
  levelStep: -1,
};
if (!(state.lang in STRINGS)) state.lang = "en";
if (!SIZES.includes(state.size)) state.size = SIZES.reduce((a, b) => (Math.abs(b - state.size) < Math.abs(a - state.size) ? b : a));

/** Timings for the latency benchmark: trigger's last sample and caption on screen, wall ms. */
export const timings = /** @type {Array<{kind: string, channel: number, seq: number, text: string, final: boolean, lastSampleMs: number|null, shownMs: number}>} */ ([]);
/** @type {Map<string, number|null>} */
const lastSample = new Map();
/** Every detection the worker reported (decoder positions, for the benchmark's alignment). */
export const detections = /** @type {Array<{channel: number, seq: number, startS: number, endS: number, lastSampleMs: number|null}>} */ ([]);

const receiver = new Receiver({
  onEvents: (ev) => onDisplay(ev),
  onMessage: (m) => (m.level === "warn" ? showAlert(m.key, m.vars) : showStatus(m.key, m.vars)),
  onChannel: (ch) => showStatus("listening_channel", { ch: ch ?? "?" }),
});
receiver.display.setRules({ maxLines: state.lines });
export const app = { receiver, state, timings, detections };

/** @param {string} key @param {Record<string, string|number>} [vars] */
function showStatus(key, vars) {
  $("status").textContent = t(state.lang, key, vars);
  if (key === "archive_back" && (state.alertKey === "archive_down")) clearAlert();
}

/** @param {string} key @param {Record<string, string|number>} [vars] @param {(() => void)|null} [action] */
function showAlert(key, vars, action = null) {
  const el = $("alert");
  el.replaceChildren(document.createTextNode(t(state.lang, key, vars)));
  el.dataset.key = key;
  state.alertKey = key;
  if (action) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = "resume";
    b.textContent = t(state.lang, "resume");
    b.addEventListener("click", action);
    el.append(b);
  }
}

function clearAlert() {
  $("alert").replaceChildren();
  delete $("alert").dataset.key;
  state.alertKey = null;
}

function applySettings() {
  document.documentElement.lang = state.lang;
  document.body.dataset.theme = state.theme;
  document.documentElement.style.setProperty("--size", `${state.size}px`);
  document.querySelector('meta[name="theme-color"]')?.setAttribute("content", state.theme === "light" ? "#ffffff" : "#000000");
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const k = /** @type {HTMLElement} */ (el).dataset.i18n ?? "";
    if (el.id === "start" && state.listening) el.textContent = t(state.lang, "stop");
    else if (el.id === "pause") el.textContent = t(state.lang, state.paused ? "resume_display" : "pause");
    else el.textContent = t(state.lang, k);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    const label = t(state.lang, /** @type {HTMLElement} */ (el).dataset.i18nLabel ?? "");
    // A button's name starts with its visible text (WCAG 2.5.3: speech users say what they see).
    el.setAttribute("aria-label", el.tagName === "BUTTON" ? `${el.textContent} ${label}` : label);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(state.lang, /** @type {HTMLElement} */ (el).dataset.i18nPlaceholder ?? ""));
  }
  /** @type {HTMLSelectElement} */ ($("theme")).value = state.theme;
  /** @type {HTMLSelectElement} */ ($("lang")).value = state.lang;
  /** @type {HTMLSelectElement} */ ($("lines")).value = String(state.lines);
  measureLines();
}

/** Line lengths from the screen, so the roll-up counts lines as the browser wraps them. */
function measureLines() {
  const w = $("captions").clientWidth || window.innerWidth;
  const clamp = (/** @type {number} */ v, /** @type {number} */ lo, /** @type {number} */ hi) => Math.max(lo, Math.min(hi, v));
  receiver.display.setRules({
    maxLines: state.lines,
    cjkLineFullwidth: clamp(Math.floor((2 * w) / state.size) / 2, 4, 60),
    latinLineChars: clamp(Math.floor(w / (0.55 * state.size)), 8, 120),
  });
  render();
}

/** @param {{channel: number, seq: number, text: string, final: boolean, marker: string|null}} item */
function captionEl(item) {
  const el = document.createElement("p");
  el.className = "caption";
  el.dataset.channel = String(item.channel);
  el.dataset.seq = String(item.seq);
  el.dataset.final = String(item.final);
  if (item.marker) el.dataset.marker = t(state.lang, "recorded_marker");
  // A partial is kept from the live region; its final text arrives as a new node, so a screen
  // reader or braille display gets each caption once, whole.
  if (!item.final) el.setAttribute("aria-hidden", "true");
  el.textContent = item.text;
  return el;
}

function render() {
  if (state.paused) return;
  const box = $("captions");
  const items = receiver.display.onScreen;
  const want = new Set(items.map((i) => `${i.channel}/${i.seq}`));
  /** @type {Map<string, HTMLElement>} */
  const have = new Map();
  for (const el of /** @type {HTMLElement[]} */ ([...box.children])) {
    const k = `${el.dataset.channel}/${el.dataset.seq}`;
    if (want.has(k)) have.set(k, el);
    else el.remove();
  }
  /** @type {HTMLElement|null} */
  let prev = null;
  for (const item of items) {
    const k = `${item.channel}/${item.seq}`;
    let el = have.get(k) ?? null;
    if (el && el.dataset.final === "false" && item.final) {
      const fresh = captionEl(item);
      el.replaceWith(fresh);
      el = fresh;
    } else if (el) {
      if (el.textContent !== item.text) el.textContent = item.text;
      el.dataset.final = String(item.final);
    } else {
      el = captionEl(item);
      if (prev) prev.after(el);
      else box.prepend(el);
    }
    prev = el;
  }
}

/** @param {DisplayEvent[]} events */
function onDisplay(events) {
  const list = $("history-list");
  for (const ev of events) {
    if (!ev.item) continue;
    const k = `${ev.item.channel}/${ev.item.seq}`;
    if (ev.kind === "shown") {
      const li = document.createElement("li");
      li.dataset.key = k;
      li.textContent = ev.item.text;
      list.append(li);
      while (list.children.length > 500) list.firstElementChild?.remove();
    } else {
      const li = list.querySelector(`li[data-key="${k}"]`);
      if (li) li.textContent = ev.item.text;
    }
  }
  render();
  const stamped = events.filter((e) => e.item);
  requestAnimationFrame(() => {
    const shownMs = performance.timeOrigin + performance.now();
    for (const e of stamped) {
      const it = /** @type {NonNullable<DisplayEvent["item"]>} */ (e.item);
      const k = `${it.channel}/${it.seq}`;
      timings.push({ kind: e.kind, channel: it.channel, seq: it.seq, text: it.text, final: it.final, lastSampleMs: lastSample.get(k) ?? null, shownMs });
    }
  });
}

/** @param {any} m */
function onWorker(m) {
  if (m.type === "detections") {
    for (const d of m.list) {
      const k = `${d.channel}/${d.seq}`;
      if (!lastSample.has(k)) lastSample.set(k, d.lastSampleMs ?? null);
      detections.push({ channel: d.channel, seq: d.seq, startS: d.startS, endS: d.endS, lastSampleMs: d.lastSampleMs ?? null });
      if (d.profile === "hf") state.hfHeard = true;
      receiver.onDetection(d, d.lastSampleMs ?? null);
    }
  } else if (m.type === "level") {
    const pct = Math.min(100, Math.round((Math.sqrt(m.rms) / Math.sqrt(0.3)) * 100));
    // a coarse meter: repaints only when it moves by a step (each repaint costs a phone CPU)
    const step = Math.round(pct / 10) * 10;
    if (step !== state.levelStep) {
      state.levelStep = step;
      $("level").style.width = `${step}%`;
      $("indicator").setAttribute("aria-label", t(state.lang, "level", { pct: step }));
    }
    const now = performance.now() / 1000;
    if (m.rms < SILENT_RMS) {
      state.silentSince ??= now;
      if (now - state.silentSince > SILENT_AFTER_S && state.alertKey !== "silent") showAlert("silent", {}, () => restart());
      $("indicator").classList.add("silent");
    } else {
      state.silentSince = null;
      $("indicator").classList.remove("silent");
      if (state.alertKey === "silent") clearAlert();
    }
  } else if (m.type === "band") {
    state.band = m.report;
    const r = m.report;
    if (!r || state.hfHeard) return;
    const khz = (r.cutoffHz / 1000).toFixed(1);
    if (r.verdict === "none") showAlert("band_none", { khz });
    else if (r.verdict === "robust_only") showAlert("band_robust_only", { khz });
    else if (state.alertKey === "band_none" || state.alertKey === "band_robust_only") clearAlert();
  } else if (m.type === "started") {
    state.audioStartMs = m.atMs;
  } else if (m.type === "cpu") {
    state.cpu = { busyMs: m.busyMs, audioS: m.audioS };
  } else if (m.type === "error") {
    showAlert(m.code, { detail: m.detail });
  }
}

const lock = new ScreenLock();

async function start() {
  const btn = $("start");
  if (state.listening) {
    await stop();
    return;
  }
  showStatus("starting");
  clearAlert();
  try {
    const l = await startListening(onWorker, { forceScript: params.get("capture") === "script" });
    state.listening = l;
    state.pathUsed = l.path;
    btn.textContent = t(state.lang, "stop");
    btn.setAttribute("aria-pressed", "true");
    $("indicator").hidden = false;
    $("pause").hidden = false;
    showStatus(receiver.channel === null ? "listening" : "listening_channel", { ch: receiver.channel ?? "" });
    if (l.processingOn.length) {
      showAlert("processing_on", { what: l.processingOn.map((k) => t(state.lang, k)).join(", ") });
    }
    l.track.addEventListener("mute", () => showAlert("muted", {}, () => restart()));
    l.track.addEventListener("unmute", () => { if (state.alertKey === "muted") clearAlert(); });
    l.track.addEventListener("ended", () => showAlert("muted", {}, () => restart()));
    l.ctx.addEventListener("statechange", () => {
      if (l.ctx.state !== "running" && state.listening === l) {
        showAlert("suspended", {}, () => { void l.ctx.resume().then(() => clearAlert()); });
      }
    });
    if (!(await lock.request())) showStatus("wake_lock");
  } catch (e) {
    const err = /** @type {{key?: string, vars?: Record<string, string>}} */ (e);
    showAlert(err.key ?? "mic_error", err.vars ?? { detail: String(e) });
    showStatus("ready");
  }
}

async function stop() {
  const l = state.listening;
  state.listening = null;
  $("start").textContent = t(state.lang, "start");
  $("start").setAttribute("aria-pressed", "false");
  $("indicator").hidden = true;
  await lock.release();
  if (l) await l.stop();
  showStatus("ready");
}

async function restart() {
  clearAlert();
  if (state.listening) await stop();
  await start();
}

function wire() {
  $("start").addEventListener("click", () => void start());
  $("smaller").addEventListener("click", () => stepSize(-1));
  $("bigger").addEventListener("click", () => stepSize(1));
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    $("stage").classList.toggle("paused", state.paused);
    if (state.paused) showStatus("paused");
    applySettings();
  });
  $("menu-button").addEventListener("click", () => toggle("menu", "menu-button"));
  $("history-button").addEventListener("click", () => toggle("history", "history-button"));
  $("theme").addEventListener("change", (e) => { state.theme = /** @type {HTMLSelectElement} */ (e.target).value; store.set("theme", state.theme); applySettings(); });
  $("lang").addEventListener("change", (e) => { state.lang = /** @type {Lang} */ (/** @type {HTMLSelectElement} */ (e.target).value); store.set("lang", state.lang); applySettings(); });
  $("lines").addEventListener("change", (e) => { state.lines = Number(/** @type {HTMLSelectElement} */ (e.target).value); store.set("lines", String(state.lines)); applySettings(); });
  $("recorded").addEventListener("change", (e) => { receiver.showRecorded = /** @type {HTMLInputElement} */ (e.target).checked; store.set("recorded", String(receiver.showRecorded)); });
  $("pin").addEventListener("change", (e) => {
    const v = /** @type {HTMLInputElement} */ (e.target).value.trim();
    const n = Number(v);
    if (v === "") { receiver.setPin(null); store.set("pin", ""); return; }
    if (!Number.isInteger(n) || n < 0 || n > 4095) { /** @type {HTMLInputElement} */ (e.target).value = ""; return; }
    receiver.setPin(n);
    store.set("pin", String(n));
  });
  window.addEventListener("resize", () => measureLines());
  const pin = params.get("channel") ?? store.get("pin", "");
  if (pin !== "" && Number.isInteger(Number(pin))) {
    /** @type {HTMLInputElement} */ ($("pin")).value = pin;
    receiver.setPin(Number(pin));
  }
  receiver.showRecorded = store.get("recorded", "false") === "true";
  /** @type {HTMLInputElement} */ ($("recorded")).checked = receiver.showRecorded;
}

/** @param {string} panel @param {string} button */
function toggle(panel, button) {
  const p = $(panel);
  p.hidden = !p.hidden;
  $(button).setAttribute("aria-expanded", String(!p.hidden));
}

/** @param {number} dir */
function stepSize(dir) {
  const i = Math.max(0, Math.min(SIZES.length - 1, SIZES.indexOf(state.size) + dir));
  state.size = SIZES[i];
  store.set("size", String(state.size));
  applySettings();
}

wire();
applySettings();
const missing = missingApi();
if (missing) showAlert(missing.key, missing.vars);
else showStatus("ready");
if ("serviceWorker" in navigator && window.isSecureContext && params.get("sw") !== "0") {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
}
