// The microphone: getUserMedia with the voice processing off (it removes the trigger bands), an
// AudioContext at the device's own rate (never forced: Firefox refuses a mismatch, Safari
// distorts), capture in an AudioWorklet (ScriptProcessor where AudioWorklet is missing or broken),
// decoding in a Web Worker, and the things that stop a phone from listening: a muted track, a
// suspended context, the screen going off (Screen Wake Lock, re-requested when visible again).

/** Where the user can force the fallback capture path: ?capture=script */
const SCRIPT_BLOCK = 1024;

/**
 * @typedef {object} MicError
 * @property {"mic_denied"|"mic_absent"|"mic_busy"|"mic_error"|"insecure"|"no_api"} key
 * @property {Record<string, string>} vars
 */

/** @returns {MicError|null} what this browser lacks to listen, or null */
export function missingApi() {
  if (!window.isSecureContext) return { key: "insecure", vars: {} };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return { key: "no_api", vars: { api: "getUserMedia" } };
  if (typeof AudioContext === "undefined") return { key: "no_api", vars: { api: "Web Audio" } };
  if (typeof Worker === "undefined") return { key: "no_api", vars: { api: "Web Workers" } };
  return null;
}

/** @param {unknown} e @returns {MicError} */
export function micError(e) {
  const name = e instanceof DOMException || e instanceof Error ? e.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return { key: "mic_denied", vars: {} };
  if (name === "NotFoundError" || name === "OverconstrainedError") return { key: "mic_absent", vars: {} };
  if (name === "NotReadableError" || name === "AbortError") return { key: "mic_busy", vars: {} };
  return { key: "mic_error", vars: { detail: String((/** @type {Error} */ (e)).message || e) } };
}

/**
 * @typedef {object} Listening
 * @property {MediaStream} stream
 * @property {MediaStreamTrack} track
 * @property {AudioContext} ctx
 * @property {Worker} worker
 * @property {"worklet"|"script"} path
 * @property {string[]} processingOn   constraint names the browser kept on
 * @property {() => Promise<void>} stop
 */

/**
 * Open the microphone and start decoding. Call from a user gesture (a tap).
 * @param {(m: any) => void} onWorkerMessage   messages of the decoder worker
 * @param {{forceScript?: boolean}} [opts]
 * @returns {Promise<Listening>}
 * @throws {MicError}
 */
export async function startListening(onWorkerMessage, opts = {}) {
  const missing = missingApi();
  if (missing) throw missing;
  /** @type {MediaStream} */
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: { ideal: 1 } },
      video: false,
    });
  } catch (e) {
    throw micError(e);
  }
  const track = stream.getAudioTracks()[0];
  const s = /** @type {MediaTrackSettings} */ (track.getSettings());
  const processingOn = [];
  if (s.echoCancellation === true) processingOn.push("proc_echo");
  if (s.noiseSuppression === true) processingOn.push("proc_noise");
  if (s.autoGainControl === true) processingOn.push("proc_gain");

  const ctx = new AudioContext({ latencyHint: "interactive" });
  if (ctx.state === "suspended") await ctx.resume();
  const worker = new Worker(new URL("./decode-worker.mjs", import.meta.url), { type: "module" });
  worker.onmessage = (ev) => onWorkerMessage(ev.data);
  const src = ctx.createMediaStreamSource(stream);
  // A muted sink keeps the graph pulled without playing the microphone back.
  const sink = ctx.createGain();
  sink.gain.value = 0;
  sink.connect(ctx.destination);

  /** @type {"worklet"|"script"} */
  let path = "script";
  /** @type {AudioNode|null} */
  let node = null;
  if (!opts.forceScript && ctx.audioWorklet) {
    try {
      await ctx.audioWorklet.addModule(new URL("./capture-worklet.mjs", import.meta.url));
      const w = new AudioWorkletNode(ctx, "jimaku-capture", { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: "explicit" });
      const chan = new MessageChannel();
      w.port.postMessage({ port: chan.port1 }, [chan.port1]);
      worker.postMessage({ type: "init", sampleRate: ctx.sampleRate, port: chan.port2 }, [chan.port2]);
      node = w;
      path = "worklet";
    } catch {
      node = null;
    }
  }
  if (node === null) {
    const sp = ctx.createScriptProcessor(SCRIPT_BLOCK, 1, 1);
    worker.postMessage({ type: "init", sampleRate: ctx.sampleRate });
    sp.onaudioprocess = (ev) => {
      const block = new Float32Array(ev.inputBuffer.getChannelData(0));
      worker.postMessage({ type: "audio", block }, [block.buffer]);
    };
    node = sp;
    path = "script";
  }
  src.connect(node);
  node.connect(sink);
  const stop = async () => {
    src.disconnect();
    /** @type {AudioNode} */ (node).disconnect();
    for (const tr of stream.getTracks()) tr.stop();
    worker.terminate();
    await ctx.close();
  };
  return { stream, track, ctx, worker, path, processingOn, stop };
}

/** Keeps the screen on while listening; re-requested when the page is visible again. */
export class ScreenLock {
  constructor() {
    /** @type {WakeLockSentinel|null} */
    this.sentinel = null;
    this.wanted = false;
    document.addEventListener("visibilitychange", () => {
      if (this.wanted && document.visibilityState === "visible") void this.request();
    });
  }

  /** @returns {Promise<boolean>} whether the lock is held */
  async request() {
    this.wanted = true;
    if (!("wakeLock" in navigator)) return false;
    try {
      this.sentinel = await navigator.wakeLock.request("screen");
      return true;
    } catch {
      return false;
    }
  }

  async release() {
    this.wanted = false;
    await this.sentinel?.release().catch(() => undefined);
    this.sentinel = null;
  }
}
