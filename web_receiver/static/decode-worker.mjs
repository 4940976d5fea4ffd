// The decoder's Web Worker: receives microphone blocks (from the AudioWorklet through a
// MessagePort, or from the ScriptProcessor fallback through postMessage), feeds the JavaScript
// decoder (trigger_codec/js, served under ./codec/), measures the input level and the band the
// microphone passes, and posts detections, level, band and CPU reports to the page.

import { BandMeter } from "./band.mjs";

const DECODER_URL = "./codec/decoder.mjs";

/** @type {{feed: (x: Float32Array) => any[], flush: () => any[]}|null} */
let decoder = null;
/** @type {BandMeter|null} */
let band = null;
let sampleRate = 0;
let samples = 0;
let busyMs = 0;
let levelSum = 0;
let levelN = 0;
let levelPeak = 0;
let lastReport = 0;

const now = () => performance.timeOrigin + performance.now();

// Settles when "init" has loaded the decoder. Blocks that arrive while it loads wait for it, in
// order, instead of reaching a decoder that is not there yet (the first seconds after the tap
// are decoded too); each keeps the time it arrived, which the page's clock is built on.
/** @type {Promise<void>} */
let initialised = Promise.resolve();

/** @param {Float32Array} block */
function queueAudio(block) {
  const arrived = now();
  initialised.then(() => onAudio(block, arrived));
}

/** @param {Float32Array} block @param {number} arrivedMs */
function onAudio(block, arrivedMs) {
  if (!band) return;
  const t0 = performance.now();
  const first = samples;
  if (first === 0) postMessage({ type: "started", atMs: arrivedMs - (block.length / sampleRate) * 1000 });
  samples += block.length;
  const dets = decoder ? decoder.feed(block) : [];
  band.feed(block);
  for (let i = 0; i < block.length; i++) {
    const v = block[i];
    levelSum += v * v;
    const a = v < 0 ? -v : v;
    if (a > levelPeak) levelPeak = a;
  }
  levelN += block.length;
  busyMs += performance.now() - t0;
  if (dets.length) {
    const list = dets.map((d) => {
      // wall-clock of the trigger's last sample: this block arrived when its last sample did
      const last = Math.round(d.endS * sampleRate);
      return {
        channel: d.channel, seq: d.seq, profile: d.profile, startS: d.startS, endS: d.endS, snrDb: d.snrDb,
        lastSampleMs: arrivedMs - ((first + block.length - last) / sampleRate) * 1000,
      };
    });
    postMessage({ type: "detections", list });
  }
  if (levelN >= sampleRate / 10) {
    postMessage({ type: "level", rms: Math.sqrt(levelSum / levelN), peak: levelPeak });
    levelSum = 0;
    levelN = 0;
    levelPeak = 0;
  }
  if (samples - lastReport >= sampleRate / 2) {
    lastReport = samples;
    postMessage({ type: "band", report: band.report() });
    postMessage({ type: "cpu", busyMs, audioS: samples / sampleRate });
  }
}

/** @param {any} m */
async function init(m) {
  sampleRate = m.sampleRate;
  band = new BandMeter(sampleRate);
  try {
    // Served from trigger_codec/js under ./codec/ (web_receiver/assets.py); a variable so a
    // missing decoder is a message to the viewer, not a worker that fails to load.
    const mod = await import(DECODER_URL);
    decoder = new mod.Decoder({ sampleRate });
  } catch (e) {
    // keep measuring level and band: the viewer still learns what the microphone hears
    postMessage({ type: "error", code: "no_decoder", detail: String(/** @type {Error} */ (e).message || e) });
  }
  postMessage({ type: "ready" });
}

onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "init") {
    initialised = init(m);
    // the worklet's blocks: listened to at once (not after the decoder loads), so that each
    // is stamped when it arrives
    if (m.port) /** @type {MessagePort} */ (m.port).onmessage = (e) => queueAudio(e.data.block);
  } else if (m.type === "audio") {
    queueAudio(m.block);
  } else if (m.type === "flush") {
    initialised.then(() => {
      const dets = decoder ? decoder.flush() : [];
      if (dets.length) postMessage({ type: "detections", list: dets.map((d) => ({ ...d, lastSampleMs: null })) });
    });
  }
};
