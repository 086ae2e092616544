// @ts-check
// The page's one state object and every way it changes. The page's event
// handlers and the Worker's messages only ever call these transitions,
// then the page renders once from the result (main.js): no view keeps a
// copy of what a dump holds, so a new dump cannot leave an old one's
// diagnostics, chains or exposition on screen. Pure: unit-tested with
// `node --test` (test/state.test.mjs).
import { deltasOf, identities, matchRules } from './diff.js';
import { kindOf, unitOf } from './package/kind.js';
import { count, familyOf, itemAt, itemSpans, lineStarts, offsetOf, plural } from './model.js';

/** @typedef {import('./package/index.js').Family} Family */
/** @typedef {import('./package/index.js').Kind} Kind */
/** @typedef {import('./package/index.js').NamedObject} NamedObject */
/** @typedef {import('./package/index.js').SetSummary} SetSummary */
/** @typedef {import('./package/index.js').Table} Table */
/** @typedef {import('./package/index.js').Chain} Chain */
/** @typedef {import('./package/index.js').Rule} Rule */
/** @typedef {import('./package/index.js').Edge} Edge */
/** @typedef {import('./package/index.js').Diagnostic} Diagnostic */
/** @typedef {{line: number, message: string}} ParseErrorInfo a dump that does not parse */
/** @typedef {import('./url.js').Pane} Pane */
/** @typedef {import('./package/index.js').TraceResult} TraceResult */
/** @typedef {import('./package/index.js').Packet} Packet */
/** @typedef {'text' | 'openmetrics'} Format */
/** @typedef {import('./url.js').View} View */
/** @typedef {import('./url.js').Sort} Sort */

/** Diagnostics listed at first, and added by each "show more". */
export const DIAGNOSTICS_SHOWN = 1000;

/**
 * @typedef {object} Source a dump to analyse
 * @property {string} name
 * @property {Uint8Array} bytes
 * @property {Family} [family] known (a live family's dump), else chosen or guessed
 * @property {Origin} [origin] where and when a live ruleset was read
 */

/**
 * @typedef {object} Origin what the exporter says of a live ruleset
 * @property {string | null} host the host it was read on
 * @property {string | null} readAt when its command started (RFC 3339)
 */

/**
 * @typedef {object} Baseline the ruleset a dump is compared with: the
 *   live snapshot before (a refresh), or a dump chosen to compare with
 * @property {string} name
 * @property {Table[]} tables
 * @property {Rule[]} rules
 * @property {string | null} readAt when the exporter read it (live only)
 */

/**
 * @typedef {object} Exposition what the component rendered, or is rendering
 * @property {Format} format
 * @property {string | null} text null while rendering or after an error
 * @property {ParseErrorInfo | null} error
 * @property {number | null} renderMs
 * @property {string | null} note what copying said, until the next render
 */

/**
 * @typedef {object} Run one dump and what the Worker has said about it so far
 * @property {number} id
 * @property {string} name
 * @property {Uint8Array} bytes
 * @property {Kind} kind an iptables-save dump or an nft listing, by its content
 * @property {Origin | null} origin a live ruleset's host and read time
 * @property {Family} family
 * @property {'line' | 'item'} unit what `line` numbers count: a listing's are its items
 * @property {number} started when the dump was chosen (performance.now())
 * @property {boolean} outlined whether the tree (or the parse error) has come
 * @property {ParseErrorInfo | null} error
 * @property {number | null} analyseMs
 * @property {number | null} firstTableMs
 * @property {number | null} totalMs
 * @property {string | null} failure the component's trap, if it failed
 * @property {Table[]} tables
 * @property {Set<string>} chainKeys `table/chain` of every declared chain
 * @property {Map<string, Edge[]>} edgesTo by `table/chain`
 * @property {Map<string, Edge[]>} edgesFrom by `table/chain`
 * @property {boolean} treeComplete whether the jumps have come
 * @property {NamedObject[]} objects a listing's named objects (with the jumps)
 * @property {number} ruleCount
 * @property {Rule[]} rules as they arrive, in line order
 * @property {number} diagnosticCount
 * @property {Diagnostic[]} diagnostics as they arrive
 * @property {Set<string>} codes the diagnostic codes shown (all when empty)
 * @property {number} diagnosticsShown
 * @property {{table: string, chain: string} | null} selected
 * @property {string} query the rule filter as typed (search.js reads it)
 * @property {Sort} sort the rule list's order
 * @property {string} chainQuery the tree's chain search as typed
 * @property {Baseline | null} baseline what the dump is compared with
 * @property {string | null} baselineError why a dump chosen to compare with could not be
 * @property {Int32Array | null} match for each rule, the same rule's index in the baseline, or -1
 * @property {import('./diff.js').Deltas | null} deltas what each rule counted
 *   since the baseline (once both have all their rules)
 * @property {number | null} interval seconds between the baseline's reading and this one's (live)
 * @property {string[] | null} identities each rule's, to look up its last hit (live)
 * @property {HitWindow} hitWindow which rules the list keeps by when they last counted
 * @property {{line: number, column: number} | null} source the line shown in context
 * @property {Exposition | null} exposition
 * @property {{result: TraceResult | null, error: string | null, traceMs: number | null} | null} trace
 *   the last packet traced through this dump (null while on its way)
 */

/**
 * @typedef {object} State
 * @property {'empty' | 'analysing' | 'ready' | 'error' | 'failed' | 'no-live'} phase
 * @property {string | null} notice a message about no dump in particular
 * @property {Source[]} sources dumps to switch between (the live families)
 * @property {string[]} unavailable live rulesets that could not be loaded,
 *   and why (said beside whichever is shown, until the next load)
 * @property {{name: string, byName: Map<string, SetSummary>} | null} sets
 *   the ipsets last loaded (live, or an `ipset list` output dropped): their
 *   sizes stand beside the rules that match against them, whatever dump
 *   is on screen
 * @property {Run | null} run
 * @property {Pane} pane
 * @property {Format} format
 * @property {import('./url.js').Columns} columns how the rule list lays a rule out
 * @property {number} nextId
 * @property {Map<string, number>} hits when each live rule last counted a
 *   packet, as the exporter's clock has it (ms), by ruleset and identity:
 *   kept across refreshes
 */

/** @typedef {'' | '1' | '5' | '15' | 'never'} HitWindow '' all; minutes; never hit since the page had them */

/** @returns {State} */
export function initialState() {
  return { phase: 'empty', notice: null, sources: [], unavailable: [], sets: null, run: null, pane: 'rules', format: 'text', columns: 'text', nextId: 1, hits: new Map() };
}

/**
 * A new dump to analyse, replacing the one on screen. A live refresh
 * passes the run it replaces: its view (chain, filter, sort, searches)
 * stays, and its rules are the baseline the new counters are compared with.
 * @param {State} state
 * @param {Source} source
 * @param {'auto' | Family} chosen the family control's value
 * @param {number} now
 * @param {Run | null} [previous] the same ruleset read before
 * @returns {Run}
 */
export function startRun(state, source, chosen, now, previous = null) {
  const kind = kindOf(source.bytes);
  const before = previous !== null && previous.name === source.name && previous.totalMs !== null && previous.error === null ? previous : null;
  state.run = {
    id: state.nextId++,
    name: source.name,
    bytes: source.bytes,
    kind,
    origin: source.origin ?? null,
    family: source.family ?? familyOf(source.bytes, chosen),
    unit: unitOf(source.bytes),
    started: now,
    outlined: false,
    error: null,
    analyseMs: null,
    firstTableMs: null,
    totalMs: null,
    failure: null,
    tables: [],
    chainKeys: new Set(),
    edgesTo: new Map(),
    edgesFrom: new Map(),
    treeComplete: false,
    objects: [],
    ruleCount: 0,
    rules: [],
    diagnosticCount: 0,
    diagnostics: [],
    codes: new Set(),
    diagnosticsShown: DIAGNOSTICS_SHOWN,
    selected: before?.selected ?? null,
    query: before?.query ?? '',
    sort: before?.sort ?? { key: 'line', descending: false },
    chainQuery: before?.chainQuery ?? '',
    baseline: before === null ? null : { name: before.name, tables: before.tables, rules: before.rules, readAt: before.origin?.readAt ?? null },
    baselineError: null,
    match: null,
    deltas: null,
    interval: null,
    identities: null,
    hitWindow: before?.hitWindow ?? '',
    source: null,
    exposition: null,
    trace: null,
  };
  state.phase = 'analysing';
  state.notice = null;
  return state.run;
}

/**
 * Applies one of the Worker's messages (worker.js says what each holds).
 * @param {State} state
 * @param {any} data
 * @returns {boolean} false when it is for a dump since replaced
 */
export function applyMessage(state, data) {
  const run = state.run;
  if (run === null || data.id !== run.id) return false;
  switch (data.kind) {
    case 'tree':
      run.outlined = true;
      run.error = data.error;
      run.ruleCount = data.ruleCount;
      run.analyseMs = data.analyseMs;
      if (data.table) addTable(run, data.table);
      if (data.error) run.source = errorSource(run, data.error);
      return true;
    case 'table':
      addTable(run, data.table);
      return true;
    case 'edges':
      for (const edge of data.edges) {
        push(run.edgesTo, `${edge.table}/${edge.toChain}`, edge);
        push(run.edgesFrom, `${edge.table}/${edge.fromChain}`, edge);
      }
      run.diagnosticCount = data.diagnosticCount;
      run.objects = data.objects ?? [];
      run.treeComplete = true;
      return true;
    case 'rules':
      for (const rule of data.rules) run.rules.push(rule);
      return true;
    case 'diagnostics':
      for (const diagnostic of data.diagnostics) run.diagnostics.push(diagnostic);
      return true;
    case 'done':
      run.totalMs = data.totalMs;
      state.phase = run.error ? 'error' : 'ready';
      compare(state, run);
      return true;
    case 'baseline':
      if (data.error) {
        run.baselineError = `${data.name} does not parse (line ${data.error.line}): ${data.error.message}`;
        return true;
      }
      run.baseline = { name: data.name, tables: data.tables, rules: data.rules, readAt: null };
      run.baselineError = null;
      compare(state, run);
      return true;
    case 'exposition':
      if (run.exposition === null || data.format !== run.exposition.format) return false;
      run.exposition = data.error
        ? { format: data.format, text: null, error: data.error, renderMs: null, note: null }
        : { format: data.format, text: data.text, error: null, renderMs: data.renderMs, note: null };
      return true;
    case 'trace':
      run.trace = { result: data.result ?? null, error: data.error ?? null, traceMs: data.traceMs ?? null };
      return true;
    case 'failed':
      run.failure = data.message;
      state.phase = 'failed';
      return true;
    default:
      return false;
  }
}

/**
 * The dump compared with its baseline, once it has all its rules: what
 * each rule counted since, per second when both were read live, and when
 * each rule last counted.
 * @param {State} state
 * @param {Run} run
 */
function compare(state, run) {
  const baseline = run.baseline;
  if (baseline === null || run.totalMs === null || run.error !== null) return;
  run.match = matchRules(baseline.rules, run.rules);
  run.deltas = deltasOf(baseline.rules, run.rules, run.match);
  const was = baseline.readAt === null ? NaN : Date.parse(baseline.readAt);
  const now = run.origin?.readAt ? Date.parse(run.origin.readAt) : NaN;
  run.interval = Number.isFinite(was) && Number.isFinite(now) && now > was ? (now - was) / 1000 : null;
  if (run.interval === null) return;
  run.identities = identities(run.rules);
  run.identities.forEach((identity, i) => {
    const packets = run.deltas?.packets[i];
    if (packets !== null && packets !== undefined && packets > 0n) state.hits.set(`${run.name}\u0000${identity}`, now);
  });
}

/**
 * Keeps only the rules that last counted within `window` (live refresh).
 * @param {State} state
 * @param {HitWindow} window
 */
export function setHitWindow(state, window) {
  if (state.run) state.run.hitWindow = window;
}

/**
 * Which rules of the dump shown its hit window keeps, by index: those
 * that last counted within so many minutes of this reading, or (`never`)
 * have not counted since the page first read them. Made once per list
 * drawn, the reading's time read once.
 * @param {State} state
 * @returns {(index: number) => boolean}
 */
export function keptByHits(state) {
  const run = state.run;
  if (run === null || run.hitWindow === '' || run.identities === null) return () => true;
  const { name, identities, hitWindow } = run;
  const lastHit = (/** @type {number} */ index) => state.hits.get(`${name}\u0000${identities[index]}`);
  if (hitWindow === 'never') return (index) => lastHit(index) === undefined;
  const since = Date.parse(run.origin?.readAt ?? '') - Number(hitWindow) * 60_000;
  return (index) => {
    const last = lastHit(index);
    return last !== undefined && last >= since;
  };
}

/**
 * The Worker's reading of an `ipset list` output: its sets replace those
 * loaded before, or its error is the notice.
 * @param {State} state
 * @param {{name: string, sets?: SetSummary[], error?: ParseErrorInfo}} data
 */
export function applySets(state, data) {
  if (data.error || !data.sets) {
    state.notice = `${data.name}: does not read as ipset's output (line ${data.error?.line}): ${data.error?.message}`;
    return;
  }
  state.sets = { name: data.name, byName: new Map(data.sets.map((set) => [set.name, set])) };
}

/**
 * What a rule's set reference shows: its name and, where it is known, its
 * size — an nft listing's set or map of the rule's table, else an ipset of
 * the sets loaded.
 * @param {State} state
 * @param {Run} run
 * @param {string} table the rule's table
 * @param {string} name
 * @returns {{text: string, title: string, known: boolean}}
 */
export function setLabel(state, run, table, name) {
  if (run.kind === 'nftables') {
    const object = run.objects.find((o) => o.table === table && o.name === name && o.kind !== 'counter' && o.kind !== 'quota');
    if (object === undefined) return { text: name, title: `${name}: not in this listing`, known: false };
    const size = sizeText(object.elements, object.maxElements);
    return { text: size ? `${name} ${size}` : name, title: `${object.kind} ${name} of ${table}${size ? `: ${size} elements` : ''}`, known: true };
  }
  const set = state.sets?.byName.get(name);
  if (set === undefined) {
    const why = state.sets ? `not in ${state.sets.name}` : 'load the live rulesets (or an ipset list output) for its size';
    return { text: name, title: `ipset ${name}: ${why}`, known: false };
  }
  const size = sizeText(set.entries, set.maxEntries);
  return {
    text: `${name} ${size}`,
    title: `ipset ${name} (${set.kind}): ${size} entries, ${count(set.memoryBytes)} bytes of kernel memory, ${plural(Number(set.references), 'reference')}`,
    known: true,
  };
}

/**
 * `12/65,536`, `12`, or '' when nothing is known.
 * @param {bigint | undefined} entries
 * @param {bigint | undefined} max
 */
function sizeText(entries, max) {
  if (entries === undefined) return max === undefined ? '' : `?/${count(max)}`;
  return max === undefined ? count(entries) : `${count(entries)}/${count(max)}`;
}

/**
 * Asks for the exposition in the chosen format, unless it is there or on
 * its way: the format the Worker must render, or null.
 * @param {State} state
 * @returns {Format | null}
 */
export function wantExposition(state) {
  const run = state.run;
  if (run === null || run.exposition?.format === state.format) return null;
  run.exposition = { format: state.format, text: null, error: null, renderMs: null, note: null };
  return state.format;
}

/**
 * Shows only `table/chain`'s rules (all for `null`) and the rules pane.
 * @param {State} state
 * @param {{table: string, chain: string} | null} selected
 */
export function selectChain(state, selected) {
  if (state.run === null) return;
  state.run.selected = selected;
  if (selected !== null) state.pane = 'rules';
}

/**
 * Filters the rules by what is typed.
 * @param {State} state
 * @param {string} query
 */
export function setQuery(state, query) {
  if (state.run) state.run.query = query;
}

/**
 * Sorts the rules by `key`: a new key's counters from the largest, lines
 * from the first; the same key again the other way.
 * @param {State} state
 * @param {Sort['key']} key
 */
export function sortBy(state, key) {
  const run = state.run;
  if (run === null) return;
  const descending = run.sort.key === key ? !run.sort.descending : key !== 'line';
  run.sort = { key, descending };
}

/**
 * Lays the rules out as their text, or as `iptables -L` does.
 * @param {State} state
 * @param {import('./url.js').Columns} columns
 */
export function setColumns(state, columns) {
  state.columns = columns;
}

/**
 * Lists only the chains whose name has what is typed.
 * @param {State} state
 * @param {string} query
 */
export function setChainQuery(state, query) {
  if (state.run) state.run.chainQuery = query;
}

/**
 * What the address bar keeps of the view (url.js writes it).
 * @param {State} state
 * @returns {View}
 */
export function viewOf(state) {
  const run = state.run;
  return {
    selected: run?.selected ?? null,
    pane: state.pane,
    query: run?.query ?? '',
    sort: run?.sort ?? { key: 'line', descending: false },
    columns: state.columns,
  };
}

/**
 * Shows a view from the address bar (Back, Forward, a shared link): a
 * chain the dump does not have is not selected.
 * @param {State} state
 * @param {View} view
 */
export function applyView(state, view) {
  state.pane = view.pane;
  state.columns = view.columns;
  const run = state.run;
  if (run === null) return;
  const { selected } = view;
  run.selected = selected !== null && run.chainKeys.has(`${selected.table}/${selected.chain}`) ? selected : null;
  run.query = view.query;
  run.sort = view.sort;
}

/**
 * Shows or hides one diagnostic code.
 * @param {State} state
 * @param {string} code
 */
export function toggleCode(state, code) {
  const codes = state.run?.codes;
  if (codes && !codes.delete(code)) codes.add(code);
}

/**
 * What the status line says.
 * @param {State} state
 */
export function statusText(state) {
  const run = state.run;
  if (state.notice !== null || run === null) return state.notice ?? '';
  if (run.failure !== null) return `${run.name}: the component failed: ${run.failure}`;
  const what = run.kind === 'nftables' ? 'an nft listing' : run.family;
  if (!run.outlined) return `${run.name}: analysing ${count(run.bytes.length)} bytes as ${what}…`;
  if (run.error) return `${run.name}: does not parse (line ${run.error.line})`;
  const timing = [`outlined in ${(run.analyseMs ?? 0).toFixed(0)} ms`];
  if (run.firstTableMs !== null) timing.push(`first table shown after ${run.firstTableMs.toFixed(0)} ms`);
  const sets = state.sets ? `; ${plural(state.sets.byName.size, 'ipset')} from ${state.sets.name}` : '';
  const unavailable = state.unavailable.length ? `; not loaded: ${state.unavailable.join('; ')}` : '';
  return `${run.name}${originText(run.origin)}: ${what}, ${run.treeComplete ? summary(run) : 'reading…'}; ${timing.join(', ')}${sets}${unavailable}`;
}

/**
 * ` (read 2026-12-05 11:52:03 UTC on node-a)`, or what of it is known.
 * @param {Origin | null} origin
 */
function originText(origin) {
  if (origin === null) return '';
  const parts = [];
  if (origin.readAt) parts.push(`read ${origin.readAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}`);
  if (origin.host) parts.push(`on ${origin.host}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}

/**
 * Where a parse error is shown in context: its line, or for a JSON listing
 * (whose error names the JSON's line and column) the item it is in.
 * @param {Run} run
 * @param {ParseErrorInfo & {column?: number}} error
 * @returns {{line: number, column: number}}
 */
function errorSource(run, error) {
  if (run.unit !== 'item') return { line: error.line, column: 1 };
  const offset = offsetOf(lineStarts(run.bytes), error.line, error.column ?? 1);
  return { line: Math.max(1, itemAt(itemSpans(run.bytes), offset)), column: 1 };
}

/** @param {Run} run */
function summary(run) {
  const chains = run.tables.reduce((n, t) => n + t.chains.length, 0);
  return `${plural(run.tables.length, 'table')}, ${plural(chains, 'chain')}, ${plural(run.ruleCount, 'rule')}`;
}

/**
 * @param {Run} run
 * @param {Table} table
 */
function addTable(run, table) {
  run.tables.push(table);
  for (const chain of table.chains) run.chainKeys.add(`${table.name}/${chain.name}`);
}

/**
 * @template V
 * @param {Map<string, V[]>} map
 * @param {string} key
 * @param {V} value
 */
function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
