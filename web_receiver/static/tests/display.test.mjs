// The page's display rules against the cases receiver_app/display.py is tested with
// (tests/data/display_cases.json), plus the page-only logic (staleness, band check).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CaptionDisplay, wrapCaption, makeRules } from "../display.mjs";

const CASES = JSON.parse(readFileSync(new URL("../../../tests/data/display_cases.json", import.meta.url), "utf8"));

/** snake_case DisplayRules fields -> the page's camelCase ones */
function rules(/** @type {Record<string, number>} */ r) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const [k, v] of Object.entries(r)) out[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
  return makeRules(out);
}

for (const c of CASES.wraps) {
  test(`wrap: ${c.text.slice(0, 20) || "empty"}`, () => {
    assert.deepEqual(wrapCaption(c.text, rules(c.rules ?? {})), c.lines);
  });
}

for (const c of CASES.cases) {
  test(`display: ${c.name}`, () => {
    const d = new CaptionDisplay(rules(c.rules));
    c.steps.forEach((/** @type {any} */ step, /** @type {number} */ i) => {
      let events;
      if (step.op === "offer") {
        const [channel, seq, text, final] = step.item;
        events = d.offer({ channel, seq, text, final, marker: null }, step.now);
      } else {
        events = d.tick(step.now);
      }
      const got = events.map((e) => (e.item === null ? [e.kind] : [e.kind, e.item.channel, e.item.seq]));
      assert.deepEqual(got, step.events, `step ${i}`);
      if (step.screen) {
        assert.deepEqual(d.screen.map((l) => [l.channel, l.seq, l.text, l.final]), step.screen, `step ${i} screen`);
      }
      if (step.history) {
        assert.deepEqual(d.history.map((h) => [h.item.channel, h.item.seq, h.item.text]), step.history, `step ${i} history`);
      }
      if (step.pending !== undefined) assert.equal(d.pending, step.pending, `step ${i} pending`);
    });
  });
}

test("rules out of range are refused with the value", () => {
  assert.throws(() => makeRules({ maxLines: 6 }), /maxLines must be 1-5, got 6/);
});
