// The page's state and its transitions (analyzer/state.js, as built into
// dist/analyzer/ beside the package it imports from), fed the
// messages the Worker sends, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The page's module as built (dist/analyzer/, beside the package it
// imports from), by a path made at run time: the build is not in the tree.
const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'analyzer', 'state.js');
const {
  DIAGNOSTICS_SHOWN, applyMessage, applySets, applyView, initialState, selectChain, setChainQuery, setColumns, setLabel, setQuery, sortBy, startRun,
  keptByHits, setHitWindow, statusText, toggleCode, viewOf, wantExposition,
} = await import(pathToFileURL(built).href);
const { hashOf, parseHash } = await import(pathToFileURL(join(dirname(built), 'url.js')).href);

const dump = (text) => ({ name: 'node.rules', bytes: new TextEncoder().encode(text) });
const table = { name: 'filter', chains: [{ name: 'INPUT', policies: [], rules: 2 }, { name: 'KUBE', policies: [], rules: 1 }] };
const diagnostic = (code, line) => ({ code, line, column: 1, severity: 'warning', message: code });

/** A run through every message a dump with diagnostics gets. */
function analysed(state) {
  const run = startRun(state, dump('*filter\n'), 'auto', 0);
  applyMessage(state, { kind: 'tree', id: run.id, error: null, table, ruleCount: 3, analyseMs: 4 });
  applyMessage(state, { kind: 'edges', id: run.id, edges: [{ table: 'filter', fromChain: 'INPUT', toChain: 'KUBE', line: 3, goto: false }], diagnosticCount: 2 });
  applyMessage(state, { kind: 'rules', id: run.id, start: 0, rules: [{ line: 3 }, { line: 4 }, { line: 5 }] });
  applyMessage(state, { kind: 'diagnostics', id: run.id, start: 0, diagnostics: [diagnostic('duplicate-rule', 4), diagnostic('never-matched', 5)] });
  applyMessage(state, { kind: 'done', id: run.id, totalMs: 9 });
  return run;
}

test('a dump goes from analysing to ready, its status saying what it holds', () => {
  const state = initialState();
  assert.equal(state.phase, 'empty');
  const run = startRun(state, dump('*filter\n'), 'auto', 0);
  assert.equal(state.phase, 'analysing');
  assert.equal(statusText(state), 'node.rules: analysing 8 bytes as ipv4…');
  applyMessage(state, { kind: 'tree', id: run.id, error: null, table, ruleCount: 3, analyseMs: 4 });
  assert.equal(statusText(state), 'node.rules: ipv4, reading…; outlined in 4 ms');
  applyMessage(state, { kind: 'edges', id: run.id, edges: [], diagnosticCount: 0 });
  run.firstTableMs = 12;
  assert.equal(statusText(state), 'node.rules: ipv4, 1 table, 2 chains, 3 rules; outlined in 4 ms, first table shown after 12 ms');
  applyMessage(state, { kind: 'done', id: run.id, totalMs: 9 });
  assert.equal(state.phase, 'ready');
  assert.equal(run.totalMs, 9);
});

test('a new dump starts from nothing: no diagnostics, chain, exposition or line of the one before', () => {
  const state = initialState();
  const first = analysed(state);
  selectChain(state, { table: 'filter', chain: 'KUBE' });
  toggleCode(state, 'duplicate-rule');
  first.source = { line: 4, column: 1 };
  state.pane = 'exposition';
  assert.equal(wantExposition(state), 'text');
  const second = startRun(state, dump('*filter\nCOMMIT\n'), 'auto', 0);
  applyMessage(state, { kind: 'tree', id: second.id, error: null, table, ruleCount: 0, analyseMs: 1 });
  applyMessage(state, { kind: 'edges', id: second.id, edges: [], diagnosticCount: 0 });
  applyMessage(state, { kind: 'done', id: second.id, totalMs: 2 });
  assert.equal(state.run, second);
  assert.deepEqual(second.diagnostics, []);
  assert.equal(second.codes.size, 0);
  assert.equal(second.selected, null);
  assert.equal(second.source, null);
  assert.equal(second.exposition, null);
  assert.equal(second.diagnosticsShown, DIAGNOSTICS_SHOWN);
  assert.notEqual(second.id, first.id);
});

test("messages for a dump since replaced are dropped", () => {
  const state = initialState();
  const first = startRun(state, dump('a'), 'auto', 0);
  startRun(state, dump('b'), 'auto', 0);
  assert.equal(applyMessage(state, { kind: 'diagnostics', id: first.id, diagnostics: [diagnostic('x', 1)] }), false);
  assert.deepEqual(state.run.diagnostics, []);
  assert.equal(applyMessage(state, { kind: 'unknown', id: state.run.id }), false);
});

test('jumps are indexed both ways; selecting a chain shows the rules pane', () => {
  const state = initialState();
  const run = analysed(state);
  assert.equal(run.edgesTo.get('filter/KUBE')[0].fromChain, 'INPUT');
  assert.equal(run.edgesFrom.get('filter/INPUT')[0].toChain, 'KUBE');
  assert.deepEqual([...run.chainKeys], ['filter/INPUT', 'filter/KUBE']);
  state.pane = 'diagnostics';
  selectChain(state, { table: 'filter', chain: 'KUBE' });
  assert.deepEqual(run.selected, { table: 'filter', chain: 'KUBE' });
  assert.equal(state.pane, 'rules');
  selectChain(state, null);
  assert.equal(run.selected, null);
});

test('a dump that does not parse: its error, its line in context, the error phase', () => {
  const state = initialState();
  const run = startRun(state, dump('*filter\n-A\n'), 'ipv6', 0);
  assert.equal(run.family, 'ipv6');
  applyMessage(state, { kind: 'tree', id: run.id, error: { line: 2, message: 'expected a chain' }, table: null, ruleCount: 0, analyseMs: 1 });
  assert.deepEqual(run.source, { line: 2, column: 1 });
  assert.equal(statusText(state), 'node.rules: does not parse (line 2)');
  applyMessage(state, { kind: 'done', id: run.id, totalMs: 1 });
  assert.equal(state.phase, 'error');
});

test('the component failing, and notices about no dump', () => {
  const state = initialState();
  state.notice = 'loading the live rulesets…';
  assert.equal(statusText(state), 'loading the live rulesets…');
  const run = startRun(state, dump('x'), 'auto', 0);
  assert.equal(state.notice, null, 'a dump replaces the notice');
  applyMessage(state, { kind: 'failed', id: run.id, message: 'unreachable' });
  assert.equal(state.phase, 'failed');
  assert.equal(statusText(state), 'node.rules: the component failed: unreachable');
});

test('the exposition is asked for once per format, and only its own answer is taken', () => {
  const state = initialState();
  const run = analysed(state);
  assert.equal(wantExposition(state), 'text');
  assert.equal(wantExposition(state), null, 'on its way');
  assert.equal(applyMessage(state, { kind: 'exposition', id: run.id, format: 'openmetrics', text: 'x', renderMs: 1 }), false);
  applyMessage(state, { kind: 'exposition', id: run.id, format: 'text', text: 'a 1\n', renderMs: 3 });
  assert.equal(run.exposition.text, 'a 1\n');
  state.format = 'openmetrics';
  assert.equal(wantExposition(state), 'openmetrics');
  assert.equal(run.exposition.text, null, 'rendering');
  applyMessage(state, { kind: 'exposition', id: run.id, format: 'openmetrics', error: { line: 2, message: 'bad' } });
  assert.deepEqual(run.exposition.error, { line: 2, message: 'bad' });
});

test('diagnostic codes toggle', () => {
  const state = initialState();
  const run = analysed(state);
  toggleCode(state, 'never-matched');
  assert.deepEqual([...run.codes], ['never-matched']);
  toggleCode(state, 'never-matched');
  assert.equal(run.codes.size, 0);
});

test('an nft listing is told by its content: items, not lines; its error shown in the item it is in', () => {
  const state = initialState();
  const listing = '{"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "t"}}, {"chain": ';
  const run = startRun(state, dump(listing), 'ipv6', 0);
  assert.equal(run.kind, 'nftables');
  assert.equal(run.unit, 'item');
  assert.match(statusText(state), /analysing 86 bytes as an nft listing/);
  // The component's error names the JSON's line and column (the end).
  applyMessage(state, { kind: 'tree', id: run.id, error: { line: 1, column: 86, message: 'truncated JSON' }, table: null, ruleCount: 0, analyseMs: 1 });
  assert.deepEqual(run.source, { line: 3, column: 1 }, 'the third item, cut short');
  const ok = startRun(state, dump(' {"nftables": []}'), 'auto', 0);
  applyMessage(state, { kind: 'tree', id: ok.id, error: null, table: { name: 'inet t', chains: [] }, ruleCount: 0, analyseMs: 1 });
  const objects = [{ table: 'inet t', kind: 'set', name: 's', line: 3, elements: 2n }];
  applyMessage(state, { kind: 'edges', id: ok.id, edges: [], objects, diagnosticCount: 0 });
  assert.deepEqual(ok.objects, objects);
  assert.match(statusText(state), /an nft listing, 1 table, 0 chains, 0 rules/);
  const dumpRun = startRun(state, dump('*filter\n'), 'auto', 0);
  assert.equal(dumpRun.kind, 'iptables');
  assert.equal(dumpRun.unit, 'line');
});

test('a rule\'s sets show their sizes: an ipset loaded, or a set of the nft listing\'s table', () => {
  const state = initialState();
  const run = analysed(state);
  // Before any ipset listing: the name, and how to get the size.
  assert.deepEqual(setLabel(state, run, 'filter', 'ipc'), {
    text: 'ipc', title: 'ipset ipc: load the live rulesets (or an ipset list output) for its size', known: false,
  });
  applySets(state, { name: 'live ipset', sets: [{ name: 'ipc', kind: 'hash:ip', entries: 2n, maxEntries: 65536n, memoryBytes: 444n, references: 3n }] });
  assert.deepEqual(setLabel(state, run, 'filter', 'ipc'), {
    text: 'ipc 2/65,536', title: 'ipset ipc (hash:ip): 2/65,536 entries, 444 bytes of kernel memory, 3 references', known: true,
  });
  assert.equal(setLabel(state, run, 'filter', 'gone').title, 'ipset gone: not in live ipset');
  assert.match(statusText(state), /; 1 ipset from live ipset$/);
  // A listing that does not read keeps the sets before it, and says why.
  applySets(state, { name: 'cut.txt', error: { line: 2, message: 'set `x` has no `Header:` line' } });
  assert.equal(state.sets.name, 'live ipset');
  assert.equal(state.notice, 'cut.txt: does not read as ipset\'s output (line 2): set `x` has no `Header:` line');
  // An nft listing's own sets, by table.
  const nft = startRun(state, dump('{"nftables": []}'), 'auto', 0);
  nft.objects = [
    { table: 'inet t', kind: 'set', name: 'allowed', line: 2, elements: 2n },
    { table: 'inet t', kind: 'counter', name: 'ipc', line: 3, counters: { packets: 1n, bytes: 1n } },
  ];
  assert.equal(setLabel(state, nft, 'inet t', 'allowed').text, 'allowed 2');
  assert.equal(setLabel(state, nft, 'inet u', 'allowed').known, false);
  assert.equal(setLabel(state, nft, 'inet t', 'ipc').known, false, 'a counter is no set');
});

test('a live ruleset says where and when it was read, and which others could not be loaded', () => {
  const state = initialState();
  state.unavailable = ['ipv6 (503 the command failed in the last collection; the exporter\'s log says why)'];
  const run = startRun(state, { ...dump('*filter\n'), name: 'live ipv4', family: 'ipv4', origin: { host: 'node-a', readAt: '2026-12-05T11:52:03.123Z' } }, 'auto', 0);
  applyMessage(state, { kind: 'tree', id: run.id, error: null, table, ruleCount: 3, analyseMs: 4 });
  applyMessage(state, { kind: 'edges', id: run.id, edges: [], diagnosticCount: 0 });
  assert.equal(
    statusText(state),
    'live ipv4 (read 2026-12-05 11:52:03 UTC on node-a): ipv4, 1 table, 2 chains, 3 rules; outlined in 4 ms; not loaded: ipv6 (503 the command failed in the last collection; the exporter\'s log says why)',
  );
  // A dump from a file has no origin.
  const other = startRun(state, dump('*filter\n'), 'auto', 0);
  assert.equal(other.origin, null);
});

test('the view goes to the fragment and back; a new dump starts from the default', () => {
  const state = initialState();
  const run = analysed(state);
  assert.equal(hashOf(viewOf(state)), '', 'the default view is no fragment');
  selectChain(state, { table: 'filter', chain: 'KUBE' });
  setQuery(state, '10.0.0.5 & more');
  sortBy(state, 'packets');
  assert.deepEqual(run.sort, { key: 'packets', descending: true }, 'counters from the largest');
  sortBy(state, 'packets');
  assert.deepEqual(run.sort, { key: 'packets', descending: false }, 'the same key again the other way');
  sortBy(state, 'line');
  assert.deepEqual(run.sort, { key: 'line', descending: false }, 'lines from the first');
  sortBy(state, 'bytes');
  state.pane = 'diagnostics';
  setColumns(state, 'listing');
  const hash = hashOf(viewOf(state));
  assert.equal(hash, '#filter/KUBE?filter=10.0.0.5+%26+more&sort=-bytes&tab=diagnostics&columns=listing');
  assert.deepEqual(parseHash(hash), viewOf(state));

  // Back to a fragment: the view it holds, a chain the dump lacks ignored.
  applyView(state, parseHash('#filter/INPUT?sort=packets'));
  assert.deepEqual(viewOf(state), { selected: { table: 'filter', chain: 'INPUT' }, pane: 'rules', query: '', sort: { key: 'packets', descending: false }, columns: 'text' });
  applyView(state, parseHash('#nat/NOPE?tab=trace'));
  assert.equal(run.selected, null);
  assert.equal(state.pane, 'trace');

  setChainQuery(state, 'KU');
  const next = startRun(state, dump('*nat\n'), 'auto', 0);
  assert.deepEqual([next.query, next.sort, next.chainQuery, next.selected], ['', { key: 'line', descending: false }, '', null]);
});

test('a fragment that says too little or too much is the default in those parts', () => {
  const fallback = { selected: null, pane: 'rules', query: '', sort: { key: 'line', descending: false }, columns: 'text' };
  assert.deepEqual(parseHash(''), fallback);
  assert.deepEqual(parseHash('#'), fallback);
  assert.deepEqual(parseHash('#filter/?tab=nope&sort=-weight&columns=wide'), fallback);
  assert.deepEqual(parseHash('#%E0%A4%A/x'), fallback, 'a broken escape');
  assert.deepEqual(parseHash('#raw/PRE%2FROUTING').selected, { table: 'raw', chain: 'PRE/ROUTING' }, 'a slash in a chain name');
  assert.equal(hashOf({ ...fallback, selected: { table: 'raw', chain: 'PRE/ROUTING' } }), '#raw/PRE%2FROUTING');
});

test('a live refresh keeps the view and compares: deltas, per second, when each rule last counted', () => {
  const state = initialState();
  const read = (readAt, packets) => {
    const previous = state.run;
    const run = startRun(state, { ...dump('*filter\n'), name: 'live ipv4', origin: { host: 'n', readAt } }, 'auto', 0, previous);
    applyMessage(state, { kind: 'tree', id: run.id, error: null, table, ruleCount: 2, analyseMs: 1 });
    applyMessage(state, { kind: 'edges', id: run.id, edges: [], diagnosticCount: 0 });
    applyMessage(state, { kind: 'rules', id: run.id, rules: packets.map((p, i) => ({ line: i + 3, table: 'filter', chain: 'INPUT', text: `-j R${i}`, position: i + 1, counters: { packets: BigInt(p), bytes: 0n } })) });
    applyMessage(state, { kind: 'done', id: run.id, totalMs: 1 });
    return run;
  };
  const first = read('2026-12-05T10:00:00Z', [5, 7]);
  assert.equal(first.deltas, null, 'nothing to compare with yet');
  selectChain(state, { table: 'filter', chain: 'INPUT' });
  setQuery(state, 'R');
  const second = read('2026-12-05T10:00:10Z', [25, 7]);
  assert.deepEqual(second.selected, { table: 'filter', chain: 'INPUT' }, 'the chain stays');
  assert.equal(second.query, 'R', 'the filter stays');
  assert.deepEqual(second.deltas.packets, [20n, 0n]);
  assert.equal(second.interval, 10);
  setHitWindow(state, '1');
  assert.deepEqual([keptByHits(state)(0), keptByHits(state)(1)], [true, false]);
  setHitWindow(state, 'never');
  assert.deepEqual([keptByHits(state)(0), keptByHits(state)(1)], [false, true]);
  // Three minutes on, with no packet: counted in the last 5 minutes, not the last one.
  read('2026-12-05T10:03:10Z', [25, 7]);
  setHitWindow(state, '1');
  assert.equal(keptByHits(state)(0), false);
  setHitWindow(state, '5');
  assert.equal(keptByHits(state)(0), true);
});
