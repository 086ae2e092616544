// Two rulesets compared (analyzer/diff.js), without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The page's module as built (dist/analyzer/): the build is not in the tree.
const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'analyzer', 'diff.js');
const { deltasOf, diffRulesets, matchRules } = await import(pathToFileURL(built).href);

/** A ruleset from `chain: text [packets]` lines, numbered as a dump would be. */
function ruleset(lines, chains) {
  const positions = new Map();
  const rules = lines.map((spec, i) => {
    const [, chain, text, packets] = spec.match(/^(\S+): (.*?)(?: \[(\d+)\])?$/);
    const position = (positions.get(chain) ?? 0) + 1;
    positions.set(chain, position);
    const counters = packets === undefined ? undefined : { packets: BigInt(packets), bytes: BigInt(packets) * 60n };
    return { line: i + 2, table: 'filter', chain, position, text, counters };
  });
  const names = chains ?? [...new Set(rules.map((r) => r.chain))];
  return { tables: [{ name: 'filter', chains: names.map((name) => ({ name })) }], rules };
}

const summary = (diff) => diff.changes.map((c) => `${c.kind} ${c.chain}#${c.position ?? c.beforePosition} ${c.text}${c.packets === null ? '' : ` ${c.packets}`}`);

test('a rule inserted above others moves none of them; counters are what was counted between', () => {
  const before = ruleset(['INPUT: -i lo -j ACCEPT [5]', 'INPUT: -p tcp --dport 22 -j ACCEPT [3]', 'INPUT: -j DROP [9]']);
  const after = ruleset(['INPUT: -s 10.0.0.1/32 -j DROP [0]', 'INPUT: -i lo -j ACCEPT [5]', 'INPUT: -p tcp --dport 22 -j ACCEPT [7]', 'INPUT: -j DROP [9]']);
  const diff = diffRulesets(before, after);
  assert.deepEqual(summary(diff), ['added INPUT#1 -s 10.0.0.1/32 -j DROP', 'counted INPUT#3 -p tcp --dport 22 -j ACCEPT 4']);
  assert.deepEqual(diff.counts, { added: 1, removed: 0, moved: 0, counted: 1, reset: 0 });
  assert.equal(diff.changes[1].bytes, 240n);
  assert.equal(diff.changes[1].beforeLine, 3);
  assert.equal(diff.changes[1].line, 4);
});

test('moved is the fewest rules off the order kept; removed, reset and chains are said', () => {
  const before = ruleset(['INPUT: a [1]', 'INPUT: b [1]', 'INPUT: c [1]', 'INPUT: d [1]', 'OLD: x'], ['INPUT', 'OLD']);
  const after = ruleset(['INPUT: b [1]', 'INPUT: c [1]', 'INPUT: a [0]', 'NEW: y'], ['INPUT', 'NEW']);
  const diff = diffRulesets(before, after);
  assert.deepEqual(summary(diff), ['moved INPUT#3 a -1', 'removed INPUT#4 d', 'added NEW#1 y', 'removed OLD#1 x']);
  assert.deepEqual(diff.chainsAdded, [{ table: 'filter', chain: 'NEW' }]);
  assert.deepEqual(diff.chainsRemoved, [{ table: 'filter', chain: 'OLD' }]);
  const reset = diffRulesets(ruleset(['INPUT: a [10]']), ruleset(['INPUT: a [2]']));
  assert.deepEqual(summary(reset), ['reset INPUT#1 a -8']);
});

test('identical rules pair in order; rules without counters count nothing', () => {
  const before = ruleset(['INPUT: -j LOG [1]', 'INPUT: -j LOG [2]', 'INPUT: -j ACCEPT']);
  const after = ruleset(['INPUT: -j LOG [1]', 'INPUT: -j ACCEPT', 'INPUT: -j LOG [2]']);
  assert.deepEqual([...matchRules(before.rules, after.rules)], [0, 2, 1]);
  // One of the three moved: ACCEPT over the second LOG (or the LOG under it).
  assert.equal(diffRulesets(before, after).counts.moved, 1);
  assert.deepEqual(diffRulesets(after, after).changes, [], 'a ruleset against itself');
  assert.deepEqual([...matchRules([], after.rules)], [-1, -1, -1]);
});

test('100k rules against 100k with a tenth changed: every change found', () => {
  const lines = Array.from({ length: 100_000 }, (_, i) => `C${i % 100}: -s 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32 -j ACCEPT [${i}]`);
  const before = ruleset(lines);
  const after = ruleset(lines.map((line, i) => (i % 10 === 0 ? line.replace('ACCEPT', 'DROP') : line)));
  const diff = diffRulesets(before, after);
  assert.deepEqual(diff.counts, { added: 10_000, removed: 10_000, moved: 0, counted: 0, reset: 0 });
});

test('each rule after: what it counted since, and its share of its chain\'s', () => {
  const before = ruleset(['INPUT: a [10]', 'INPUT: b [10]', 'INPUT: c', 'FWD: d [5]']);
  const after = ruleset(['INPUT: a [40]', 'INPUT: b [20]', 'INPUT: c', 'INPUT: new [3]', 'FWD: d [5]']);
  const deltas = deltasOf(before.rules, after.rules, matchRules(before.rules, after.rules));
  assert.deepEqual(deltas.packets, [30n, 10n, null, null, 0n]);
  assert.deepEqual(deltas.bytes, [1800n, 600n, null, null, 0n]);
  assert.deepEqual(deltas.share, [0.75, 0.25, null, null, 0]);
});
