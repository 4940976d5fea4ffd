#!/usr/bin/env node
/**
 * Decode every trigger in WAV files: node trigger_codec/js/decode.mjs [--json] FILE.wav ...
 *
 * Output as `jimaku decode`: a table, or with --json one JSON object per detection with the
 * keys file, start_s, end_s, channel, seq, profile, snr_db. A file that cannot be read or
 * decoded: one line on stderr, and exit status 2 (the other files are still decoded).
 * @module
 */
import { readFileSync } from "node:fs";
import { CodecError } from "./errors.mjs";
import { Decoder } from "./decoder.mjs";
import { parseWav } from "./wav.mjs";

/** Samples per feed() call (any split gives the same detections). */
const BLOCK = 4096;

/**
 * Decode one file.
 * @param {string} file
 * @returns {{rows: Record<string, string | number>[], durationS: number}}
 */
export function decodeFile(file) {
  const wav = parseWav(readFileSync(file));
  const dec = new Decoder({ sampleRate: wav.sampleRate });
  const dets = [];
  for (let i = 0; i < wav.mono.length; i += BLOCK) dets.push(...dec.feed(wav.mono.subarray(i, i + BLOCK)));
  dets.push(...dec.flush());
  const rows = dets.map((d) => ({
    file,
    start_s: Math.round(d.startS * 1000) / 1000,
    end_s: Math.round(d.endS * 1000) / 1000,
    channel: d.channel,
    seq: d.seq,
    profile: d.profile,
    snr_db: d.snrDb,
  }));
  return { rows, durationS: wav.mono.length / wav.sampleRate };
}

/** @param {string[]} argv @returns {number} exit status */
function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((a) => a !== "--json");
  if (argv.includes("-h") || argv.includes("--help") || !files.length) {
    const usage = "usage: node trigger_codec/js/decode.mjs [--json] FILE.wav ...";
    if (!files.length && !argv.includes("-h") && !argv.includes("--help")) {
      process.stderr.write(`decode.mjs: error: no input file\n${usage}\n`);
      return 2;
    }
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let status = 0;
  let header = false;
  let found = 0;
  for (const file of files) {
    let result;
    try {
      result = decodeFile(file);
    } catch (err) {
      const e = /** @type {NodeJS.ErrnoException} */ (err);
      if (!(err instanceof CodecError) && !e.code) throw err;
      const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : e.message;
      process.stderr.write(`decode.mjs: error: ${file}: ${why}\n`);
      status = 2;
      continue;
    }
    found += result.rows.length;
    for (const r of result.rows) {
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        continue;
      }
      const w = Math.max(24, ...result.rows.map((x) => String(x.file).length));
      if (!header) {
        process.stdout.write(`${"file".padEnd(w)}  ${"start_s".padStart(10)}  ${"channel".padStart(7)}  ` +
          `${"seq".padStart(8)}  ${"profile".padEnd(7)}  ${"snr_db".padStart(6)}\n`);
        header = true;
      }
      process.stdout.write(`${String(r.file).padEnd(w)}  ${Number(r.start_s).toFixed(3).padStart(10)}  ` +
        `${String(r.channel).padStart(7)}  ${String(r.seq).padStart(8)}  ${String(r.profile).padEnd(7)}  ` +
        `${Number(r.snr_db).toFixed(1).padStart(6)}\n`);
    }
    if (!result.rows.length) {
      const msg = `${file}: no triggers found (${result.durationS.toFixed(1)} s decoded)\n`;
      (json ? process.stderr : process.stdout).write(msg);
    }
  }
  if (files.length > 1 && !json) {
    process.stdout.write(`${found} trigger${found === 1 ? "" : "s"} in ${files.length} files` +
      `${status ? " (some could not be read, see above)" : ""}\n`);
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
