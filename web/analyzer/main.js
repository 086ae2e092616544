// @ts-check
// The analyzer page: takes an iptables-save dump or an `nft -j list
// ruleset` listing (dropped, opened, pasted or the exporter's live ones), has the Worker analyse it with the exporter's
// component, and shows what comes back. Every event and every Worker
// message goes through a transition of the one state object (state.js),
// then `render` draws each view from it: data flows one way.
import { $, element } from './dom.js';
import { kindOf } from './package/kind.js';
import {
  applyMessage, applySets, applyView, initialState, selectChain, setChainQuery, setColumns, setHitWindow, setLabel, setQuery, sortBy, startRun, toggleCode,
  viewOf, wantExposition, DIAGNOSTICS_SHOWN,
} from './state.js';
import { hashOf, parseHash } from './url.js';
import { DiagnosticsView } from './views/diagnostics.js';
import { DiffView } from './views/diff.js';
import { ExpositionView } from './views/exposition.js';
import { RuleList } from './views/rules.js';
import { SourceView } from './views/source.js';
import { renderStatus } from './views/status.js';
import { TraceView } from './views/trace.js';
import { TreeView } from './views/tree.js';

/** @typedef {import('./state.js').Source} Source */
/** @typedef {import('./state.js').Pane} Pane */

const state = initialState();
/** Whether the dumps are the exporter's live rulesets (they refresh). */
let live = false;

const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
/** Resolves once the Worker has loaded the component and listens. */
const workerReady = new Promise((resolve) => {
  worker.addEventListener('message', ({ data }) => data.kind === 'ready' && resolve(undefined));
});

/** @param {object} message */
async function send(message) {
  await workerReady;
  worker.postMessage(message);
}

/**
 * @param {string} table
 * @param {string | null} chain
 */
function onChain(table, chain) {
  selectChain(state, chain === null ? null : { table, chain });
  render();
}

/**
 * @param {number} line
 * @param {number} column
 */
function showLine(line, column) {
  if (state.run === null) return;
  state.run.source = { line, column };
  render();
}

const rules = new RuleList($('rule-viewport'), $('rule-canvas'), {
  filter: $('filter'),
  header: document.querySelector('.row.head'),
  shown: $('shown'),
  hitWindow: $('hit-window'),
  columns: $('columns'),
  fallThrough: $('fall-through'),
  onLine: (/** @type {number} */ line) => showLine(line, 1),
  onChain,
  onSet: (/** @type {string} */ table, /** @type {string} */ name) => tree.revealSet(table, name),
  setLabel: (/** @type {string} */ table, /** @type {string} */ name) => (state.run ? setLabel(state, state.run, table, name) : { text: name, title: name, known: false }),
  onQuery: (/** @type {string} */ query) => { setQuery(state, query); render(); },
  onSort: (/** @type {'line' | 'packets' | 'bytes' | 'delta'} */ key) => { sortBy(state, key); render(); },
  onHitWindow: (/** @type {import('./state.js').HitWindow} */ window) => { setHitWindow(state, window); render(); },
  onColumns: (/** @type {string} */ columns) => { setColumns(state, columns === 'listing' ? 'listing' : 'text'); render(); },
});
const tree = new TreeView({
  onChain,
  onSearch: (query) => { setChainQuery(state, query); render(); },
});
const diagnostics = new DiagnosticsView({
  onCode: (code) => { toggleCode(state, code); render(); },
  onLine: (line, column) => {
    showLine(line, column);
    if (rules.reveal(line)) showPane('rules');
  },
  onMore: () => {
    if (state.run) state.run.diagnosticsShown += DIAGNOSTICS_SHOWN;
    render();
  },
});
const closeSource = () => {
  if (state.run) state.run.source = null;
  render();
};
const source = new SourceView({ onClose: closeSource });
// Escape closes the lines in context, wherever focus is.
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.run?.source) closeSource();
});
const exposition = new ExpositionView({
  onFormat: (format) => {
    state.format = format === 'openmetrics' ? 'openmetrics' : 'text';
    render();
  },
  onCopied: (note) => {
    const shown = state.run?.exposition;
    if (state.run && shown) state.run.exposition = { ...shown, note };
    render();
  },
});
$('download').onclick = () => exposition.download(state);
const tracer = new TraceView({
  onTrace: (packet) => {
    const run = state.run;
    if (run === null || !run.outlined || run.error) return;
    run.trace = null;
    render();
    send({ kind: 'trace', id: run.id, packet });
  },
  onLine: (line) => {
    showLine(line, 1);
    if (rules.reveal(line)) showPane('rules');
  },
});

const diff = new DiffView({
  onLine: (line) => {
    showLine(line, 1);
    if (rules.reveal(line)) showPane('rules');
  },
  onCompare: async (file) => {
    const run = state.run;
    if (run === null) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    send({ kind: 'baseline', id: run.id, name: file.name, bytes });
  },
});

/** The one render step: every view, from the state. */
function render() {
  // The exposition pane on screen wants the dump's exposition in the
  // chosen format: ask the Worker for it when it has not been.
  if (state.pane === 'exposition' && state.run?.outlined) {
    const format = wantExposition(state);
    if (format !== null) send({ kind: 'render', id: state.run.id, format });
  }
  renderStatus(state);
  tree.render(state);
  rules.render(state);
  diagnostics.render(state);
  source.render(state);
  exposition.render(state);
  tracer.render(state);
  diff.render(state);
  $('refresh-control').hidden = !live;
  if (state.pane === 'rules') rules.paint();
  keepLocation();
}

// ---- the view in the address bar (url.js) ----

/** The view a link or a reload asked for, shown once the first dump has come. */
let wanted = location.hash === '' ? null : parseHash(location.hash);

/**
 * Where a view is: its chain and tab. Another place is another entry in
 * the history; another filter or sort is not.
 * @param {import('./url.js').View} view
 */
const placeOf = (view) => `${view.selected?.table}/${view.selected?.chain}|${view.pane}`;
/** Where the history's current entry is. */
let place = placeOf(parseHash(location.hash));

/**
 * Writes the view in the fragment: a new history entry for another chain
 * or tab (so Back goes back to where a jump came from), the same entry
 * for the filter and the sort as they are typed and clicked.
 */
function keepLocation() {
  if (state.run === null || wanted !== null) return;
  const view = viewOf(state);
  const hash = hashOf(view);
  if (hash === location.hash) return;
  const here = placeOf(view);
  const url = hash === '' ? `${location.pathname}${location.search}` : hash;
  if (here === place) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  place = here;
}

/** Back, Forward, or an edited fragment: the view it holds. */
function followLocation() {
  const view = parseHash(location.hash);
  place = placeOf(view);
  applyView(state, view);
  render();
}
window.addEventListener('popstate', followLocation);
window.addEventListener('hashchange', followLocation);

/** @param {Pane} pane */
function showPane(pane) {
  state.pane = pane;
  render();
}

for (const tab of document.querySelectorAll('[role=tab]')) {
  if (!(tab instanceof HTMLElement)) continue;
  const pane = tab.dataset.pane;
  tab.onclick = () => showPane(pane === 'diagnostics' || pane === 'exposition' || pane === 'trace' || pane === 'diff' ? pane : 'rules');
}

worker.onmessage = ({ data }) => {
  if (data.kind === 'sets') {
    applySets(state, data);
    render();
    return;
  }
  if (!applyMessage(state, data)) return;
  if (data.kind === 'done') scheduleRefresh();
  // The view asked for by the address, once the dump's chains have come.
  if (data.kind === 'done' && wanted !== null) {
    const view = wanted;
    wanted = null;
    place = placeOf(view);
    applyView(state, view);
  }
  render();
  if (data.kind === 'tree') {
    const run = state.run;
    // Measured after the next frame has been painted.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (run === null || state.run !== run) return;
      run.firstTableMs = performance.now() - run.started;
      render();
    }));
  }
};
worker.onerror = (event) => {
  state.phase = 'failed';
  state.notice = `the analyzer's Worker failed: ${event.message ?? 'could not load'}`;
  render();
};

// ---- where dumps come from ----

/**
 * @param {Source} dump
 * @param {number} [started] when the user chose it, if before now
 * @param {import('./state.js').Run | null} [previous] the same ruleset read before (a live refresh)
 */
function load(dump, started = performance.now(), previous = null) {
  const family = $('family').value;
  const run = startRun(state, dump, family === 'ipv4' || family === 'ipv6' ? family : 'auto', started, previous);
  render();
  send({ kind: 'analyze', id: run.id, bytes: run.bytes, family: run.family });
}

/**
 * @param {Source[]} list
 * @param {number} [started]
 * @param {boolean} [refresh] the live rulesets read again: the one on
 *   screen stays, compared with its reading before
 */
function useSources(list, started, refresh = false) {
  // An `ipset list` output is no ruleset: its sets stand beside the rules
  // of whichever dump is on screen, now and after.
  const rulesets = list.filter((s) => kindOf(s.bytes) !== 'ipset');
  for (const sets of list.filter((s) => kindOf(s.bytes) === 'ipset')) {
    send({ kind: 'sets', name: sets.name, bytes: sets.bytes });
  }
  if (rulesets.length === 0) return;
  state.sources = rulesets;
  const select = $('source');
  select.hidden = rulesets.length < 2;
  select.replaceChildren(...rulesets.map((s, i) => element('option', { value: String(i), textContent: s.name })));
  const shown = refresh ? Math.max(0, rulesets.findIndex((s) => s.name === state.run?.name)) : 0;
  select.value = String(shown);
  load(rulesets[shown], started, refresh ? state.run : null);
}

/** @param {File} file */
async function loadFile(file) {
  stopLive();
  state.unavailable = [];
  const started = performance.now();
  const bytes = new Uint8Array(await file.arrayBuffer());
  useSources([{ name: file.name, bytes }], started);
}

/** @param {string} text */
function loadText(text) {
  stopLive();
  state.unavailable = [];
  useSources([{ name: 'pasted', bytes: new TextEncoder().encode(text) }]);
}

$('source').onchange = () => load(state.sources[Number($('source').value)]);
$('family').onchange = () => {
  if (state.run) load({ name: state.run.name, bytes: state.run.bytes });
};
$('file').onchange = () => {
  const file = $('file').files[0];
  if (file) loadFile(file);
};
$('analyse-paste').onclick = () => loadText($('paste').value);
document.addEventListener('paste', (event) => {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  const text = event.clipboardData?.getData('text/plain');
  if (text) loadText(text);
});
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (event) => {
  event.preventDefault();
  document.body.classList.remove('dragging');
  const file = event.dataTransfer?.files[0];
  if (file) loadFile(file);
});

/**
 * A message about no dump in particular.
 * @param {string} text
 * @param {'no-live'} [phase]
 */
function notice(text, phase) {
  state.notice = text;
  if (phase) state.phase = phase;
  render();
}

// ---- live refresh ----

/** Seconds between live readings; 0 for none (`?refresh=15`, or the control). */
let refreshSeconds = Math.max(0, Math.floor(Number(new URLSearchParams(location.search).get('refresh')) || 0));
let refreshTimer = 0;
if ([...$('refresh').options].every((o) => o.value !== String(refreshSeconds))) {
  $('refresh').append(element('option', { value: String(refreshSeconds), textContent: `every ${refreshSeconds} s` }));
}
$('refresh').value = String(refreshSeconds);
$('refresh').onchange = () => {
  refreshSeconds = Number($('refresh').value);
  scheduleRefresh();
};

/** A dump of the user's own replaces the live rulesets: no more readings. */
function stopLive() {
  live = false;
  clearTimeout(refreshTimer);
}

/** The next live reading, once this one is in: readings never overlap. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (live && refreshSeconds > 0 && state.phase === 'ready') refreshTimer = setTimeout(() => loadLive(true), refreshSeconds * 1000);
}

/**
 * The exporter's rulesets (each family's, nft's), when it serves them
 * (`--web.enable-ruleset-endpoint`); read again on a refresh, the one on
 * screen compared with its reading before.
 * @param {boolean} [refresh]
 */
async function loadLive(refresh = false) {
  live = true;
  state.unavailable = [];
  if (!refresh) notice('loading the live rulesets…');
  try {
    const index = await fetch('rulesets', { cache: 'no-store' });
    if (!index.ok) {
      notice(`no live rulesets: ${(await index.text()).trim() || index.statusText}`, 'no-live');
      return;
    }
    const { rulesets } = await index.json();
    /** @type {Source[]} */
    const list = [];
    for (const { name, path } of rulesets) {
      const response = await fetch(path, { cache: 'no-store' });
      if (!response.ok) {
        // Kept, and said beside the rulesets that did load.
        state.unavailable.push(`${name} (${(await response.text()).trim()})`);
        continue;
      }
      // A family's dump says its family; nft's listing is told by its content.
      const family = name === 'ipv4' || name === 'ipv6' ? name : undefined;
      const origin = {
        host: response.headers.get('x-iptables-exporter-host'),
        readAt: response.headers.get('x-iptables-exporter-read-at'),
      };
      list.push({ name: `live ${name}`, family, origin, bytes: new Uint8Array(await response.arrayBuffer()) });
    }
    if (list.length === 0) {
      state.phase = 'no-live';
      state.notice = `no live ruleset could be loaded: ${state.unavailable.join('; ')}`;
      render();
      return;
    }
    useSources(list, undefined, refresh);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    notice(`no live rulesets: ${message} (is this page served by the exporter?)`, 'no-live');
  }
}

$('live').onclick = () => loadLive();
if (new URLSearchParams(location.search).has('live')) loadLive();
