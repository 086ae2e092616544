// @ts-check
// Two dumps (or two live snapshots) of a ruleset, compared: chains added
// and removed, rules added, removed and moved, and what each rule that is
// in both counted between them. A rule is the same rule in both when its
// table, chain and text are the same (the nth of identical rules in a
// chain is the nth in the other): its line and position may change. A
// rule is moved when its order among the rules its chain has in both
// changed, the fewest such (those off a longest run kept in order): a rule
// inserted above another does not move it. Pure: unit-tested with
// `node --test` (test/diff.test.mjs).

/** @typedef {import('./package/index.js').Rule} Rule */
/** @typedef {import('./package/index.js').Table} Table */

/**
 * @typedef {object} Change
 * @property {'added' | 'removed' | 'moved' | 'counted' | 'reset'} kind
 *   `counted`: in both, its counters grew; `reset`: in both, they went
 *   down (the rule was replaced, or its counters zeroed)
 * @property {string} table
 * @property {string} chain
 * @property {string} text
 * @property {number | null} line in the dump after (null when removed)
 * @property {number | null} position in its chain after
 * @property {number | null} beforeLine in the dump before (null when added)
 * @property {number | null} beforePosition in its chain before
 * @property {bigint | null} packets counted between the two (null when not in both, or either has no counters)
 * @property {bigint | null} bytes
 */

/**
 * @typedef {object} Diff
 * @property {{table: string, chain: string}[]} chainsAdded
 * @property {{table: string, chain: string}[]} chainsRemoved
 * @property {Change[]} changes by table and chain (as the dump after has
 *   them, then those only before had), then position
 * @property {Record<Change['kind'], number>} counts
 */

/**
 * Each rule's identity: table, chain, text and which of identical ones.
 * @param {Rule[]} rules
 * @returns {string[]}
 */
export function identities(rules) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  return rules.map((rule) => {
    const base = `${rule.table}\u0000${rule.chain}\u0000${rule.text}`;
    const nth = (seen.get(base) ?? 0) + 1;
    seen.set(base, nth);
    return `${base}\u0000${nth}`;
  });
}

/**
 * For each rule after, the index of the same rule before, or -1.
 * @param {Rule[]} before
 * @param {Rule[]} after
 * @returns {Int32Array}
 */
export function matchRules(before, after) {
  const at = new Map(identities(before).map((key, index) => [key, index]));
  return Int32Array.from(identities(after), (key) => at.get(key) ?? -1);
}

/**
 * What the counters of a rule in both went up by, or null.
 * @param {Rule} before
 * @param {Rule} after
 */
export function counted(before, after) {
  if (before.counters === undefined || after.counters === undefined) return null;
  return { packets: after.counters.packets - before.counters.packets, bytes: after.counters.bytes - before.counters.bytes };
}

/**
 * The indices (into `values`) of a longest strictly increasing run,
 * O(n log n).
 * @param {number[]} values
 * @returns {Set<number>}
 */
function longestIncreasing(values) {
  /** @type {number[]} index of the smallest tail of a run of each length */
  const tails = [];
  const previous = new Int32Array(values.length).fill(-1);
  values.forEach((value, i) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (values[tails[middle]] < value) low = middle + 1;
      else high = middle;
    }
    if (low > 0) previous[i] = tails[low - 1];
    tails[low] = i;
  });
  const kept = new Set();
  for (let i = tails.at(-1) ?? -1; i !== -1; i = previous[i]) kept.add(i);
  return kept;
}

/**
 * Chains of a dump, as `table/chain` keys in order.
 * @param {Table[]} tables
 */
function chainKeys(tables) {
  return tables.flatMap((table) => table.chains.map((chain) => ({ table: table.name, chain: chain.name })));
}

/**
 * The dump after compared with the dump before.
 * @param {{tables: Table[], rules: Rule[]}} before
 * @param {{tables: Table[], rules: Rule[]}} after
 * @param {Int32Array} [match] `matchRules(before.rules, after.rules)`, when it was made already
 * @returns {Diff}
 */
export function diffRulesets(before, after, match = matchRules(before.rules, after.rules)) {
  const chainsBefore = chainKeys(before.tables);
  const chainsAfter = chainKeys(after.tables);
  const key = (/** @type {{table: string, chain: string}} */ c) => `${c.table}\u0000${c.chain}`;
  const hadBefore = new Set(chainsBefore.map(key));
  const hasAfter = new Set(chainsAfter.map(key));
  // Chains in the order the dump after has them, then those gone.
  const order = new Map([...chainsAfter, ...chainsBefore].map((c) => [key(c), 0]));
  [...order.keys()].forEach((k, i) => order.set(k, i));

  const matched = new Uint8Array(before.rules.length);
  /** @type {Change[]} */
  const changes = [];
  /** @type {Map<string, {after: number[], before: number[]}>} the rules in both, per chain, in the order after */
  const common = new Map();
  after.rules.forEach((rule, i) => {
    const j = match[i];
    if (j === -1) {
      changes.push(change('added', rule, null));
      return;
    }
    matched[j] = 1;
    const chain = `${rule.table}\u0000${rule.chain}`;
    const list = common.get(chain) ?? { after: [], before: [] };
    list.after.push(i);
    list.before.push(j);
    common.set(chain, list);
  });
  before.rules.forEach((rule, j) => {
    if (!matched[j]) changes.push(change('removed', null, rule));
  });
  for (const list of common.values()) {
    const kept = longestIncreasing(list.before);
    list.after.forEach((i, k) => {
      const was = before.rules[list.before[k]];
      const now = after.rules[i];
      const delta = counted(was, now);
      if (!kept.has(k)) changes.push(change('moved', now, was, delta));
      else if (delta !== null && (delta.packets !== 0n || delta.bytes !== 0n)) {
        changes.push(change(delta.packets < 0n || delta.bytes < 0n ? 'reset' : 'counted', now, was, delta));
      }
    });
  }
  const rank = (/** @type {Change} */ c) => order.get(`${c.table}\u0000${c.chain}`) ?? 0;
  const place = (/** @type {Change} */ c) => c.position ?? c.beforePosition ?? 0;
  changes.sort((a, b) => rank(a) - rank(b) || place(a) - place(b) || (a.kind === 'removed' ? -1 : 0) - (b.kind === 'removed' ? -1 : 0));
  /** @type {Record<Change['kind'], number>} */
  const counts = { added: 0, removed: 0, moved: 0, counted: 0, reset: 0 };
  for (const c of changes) counts[c.kind]++;
  return {
    chainsAdded: chainsAfter.filter((c) => !hadBefore.has(key(c))),
    chainsRemoved: chainsBefore.filter((c) => !hasAfter.has(key(c))),
    changes,
    counts,
  };
}

/**
 * @param {Change['kind']} kind
 * @param {Rule | null} now
 * @param {Rule | null} was
 * @param {{packets: bigint, bytes: bigint} | null} [delta]
 * @returns {Change}
 */
function change(kind, now, was, delta = null) {
  const rule = /** @type {Rule} */ (now ?? was);
  return {
    kind,
    table: rule.table,
    chain: rule.chain,
    text: rule.text,
    line: now?.line ?? null,
    position: now?.position ?? null,
    beforeLine: was?.line ?? null,
    beforePosition: was?.position ?? null,
    packets: delta?.packets ?? null,
    bytes: delta?.bytes ?? null,
  };
}

/**
 * @typedef {object} Deltas what each rule after counted since the dump
 *   before (null where it was not there, or either has no counters)
 * @property {(bigint | null)[]} packets
 * @property {(bigint | null)[]} bytes
 * @property {(number | null)[]} share its packets as a share (0 to 1) of
 *   all its chain's rules counted: where the chain's traffic went
 */

/**
 * @param {Rule[]} before
 * @param {Rule[]} after
 * @param {Int32Array} match `matchRules(before, after)`
 * @returns {Deltas}
 */
export function deltasOf(before, after, match) {
  const deltas = after.map((rule, i) => (match[i] === -1 ? null : counted(before[match[i]], rule)));
  const packets = deltas.map((d) => d?.packets ?? null);
  const bytes = deltas.map((d) => d?.bytes ?? null);
  /** @type {Map<string, bigint>} */
  const chains = new Map();
  after.forEach((rule, i) => {
    const p = packets[i];
    const chain = `${rule.table}\u0000${rule.chain}`;
    if (p !== null && p > 0n) chains.set(chain, (chains.get(chain) ?? 0n) + p);
  });
  const share = after.map((rule, i) => {
    const p = packets[i];
    const total = chains.get(`${rule.table}\u0000${rule.chain}`);
    if (p === null || p < 0n) return null;
    return total === undefined ? 0 : Number((p * 10000n) / total) / 10000;
  });
  return { packets, bytes, share };
}
