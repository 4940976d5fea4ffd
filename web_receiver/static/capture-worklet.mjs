// AudioWorklet processor: runs on the audio rendering thread, so it only hands data off. It
// copies channel 0 of each 128-frame render quantum into a block and posts full blocks (by
// transfer, no copy) straight to the decoder's worker through a MessagePort; nothing here
// decodes, logs or waits. Blocks are 512 frames (~11 ms): small enough for the latency target.

const BLOCK = 512;
// The AudioWorkletGlobalScope's names (not in TypeScript's DOM library).
const scope = /** @type {any} */ (globalThis);

class CaptureProcessor extends scope.AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {MessagePort|null} */
    this.out = null;
    this.buf = new Float32Array(BLOCK);
    this.fill = 0;
    this.port.onmessage = (/** @type {MessageEvent} */ ev) => {
      if (ev.data && ev.data.port) this.out = ev.data.port;
    };
  }

  /** @param {Float32Array[][]} inputs */
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch || !this.out) return true;
    let i = 0;
    while (i < ch.length) {
      const n = Math.min(BLOCK - this.fill, ch.length - i);
      this.buf.set(ch.subarray(i, i + n), this.fill);
      this.fill += n;
      i += n;
      if (this.fill === BLOCK) {
        this.out.postMessage({ type: "audio", block: this.buf }, [this.buf.buffer]);
        this.buf = new Float32Array(BLOCK);
        this.fill = 0;
      }
    }
    return true;
  }
}

scope.registerProcessor("jimaku-capture", CaptureProcessor);
