import { test } from "node:test";
import assert from "node:assert/strict";
import { PROFILES, frameLength, preambleSlots, dataSlots, airtimeS } from "../profiles.mjs";
import { ParameterError } from "../errors.mjs";

test("frame length is 20 ms and rejects rates off the 50 Hz grid", () => {
  assert.equal(frameLength(44100), 882);
  assert.equal(frameLength(48000), 960);
  assert.throws(() => frameLength(44101), ParameterError);
  assert.throws(() => frameLength(0), ParameterError);
});

test("tone plan: preamble slots distinct, data slots hop by 13", () => {
  const hf = PROFILES.hf;
  assert.deepEqual(preambleSlots(hf), [1, 41, 21]);
  const ds = dataSlots(hf);
  assert.equal(ds.length, 20);
  assert.equal(ds[1][0], 13);
  assert.equal(ds[4][31], (31 + 52) % 43);
  assert.equal(airtimeS(), 0.48);
});
