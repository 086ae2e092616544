// The analyzer page: takes a dump (dropped, opened, pasted or the
// exporter's live ones), has the Worker analyse it with the exporter's
// component, and shows what comes back. Dump text is only ever set as
// text (textContent), never as markup.
import { RuleList, count } from './rule-list.js';

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
/** Resolves once the Worker has loaded the component and listens. */
const workerReady = new Promise((resolve) => {
  worker.addEventListener('message', ({ data }) => data.kind === 'ready' && resolve());
});

async function send(message) {
  await workerReady;
  worker.postMessage(message);
}
const rules = new RuleList($('rule-viewport'), $('rule-canvas'), {
  filter: $('filter'),
  header: document.querySelector('.row.head'),
  shown: $('shown'),
  onLine: (line) => showSource(line, 1),
  onChain: (table, chain) => selectChain(table, chain),
});

/** Chains listed per table before a "show all" button. */
const CHAINS_SHOWN = 300;
/** Diagnostics listed before a "show more" button. */
const DIAGNOSTICS_SHOWN = 1000;
/** Lines of the exposition shown; copy and download have all of it. */
const EXPOSITION_LINES = 2000;
/** Lines shown either side of a line in context. */
const CONTEXT = 4;

let nextId = 1;
/** The dump on screen and what the Worker has said about it so far. */
let run = null;
/** Dumps to switch between (the exporter's live families). */
let sources = [];

/** One dump's analysis as it arrives. */
function newRun(source) {
  return {
    id: nextId++,
    ...source,
    started: performance.now(),
    error: null,
    tables: [],
    edgesTo: new Map(),
    edgesFrom: new Map(),
    ruleCount: 0,
    diagnostics: [],
    diagnosticCount: 0,
    codes: new Set(),
    selected: null,
    chainKeys: new Set(),
    treeComplete: false,
    diagnosticsShown: DIAGNOSTICS_SHOWN,
    lineStarts: null,
    exposition: null,
  };
}

function load(source) {
  run = newRun({ ...source, family: source.family ?? chosenFamily(source.bytes) });
  rules.reset();
  document.body.dataset.state = 'analysing';
  delete document.body.dataset.firstTableMs;
  status(`${run.name}: analysing ${count(run.bytes.length)} bytes as ${run.family}…`);
  $('error').hidden = true;
  $('source-view').hidden = true;
  $('results').hidden = true;
  $('exposition').textContent = '';
  $('exposition-status').textContent = '';
  send({ kind: 'analyze', id: run.id, bytes: run.bytes, family: run.family });
}

worker.onmessage = ({ data }) => {
  if (run === null || data.id !== run.id) return; // for a dump since replaced
  switch (data.kind) {
    case 'tree': return showTree(data);
    case 'table': return addTable(data.table);
    case 'edges': return showEdges(data);
    case 'rules': return rules.add(data.rules);
    case 'diagnostics':
      run.diagnostics.push(...data.diagnostics);
      return showDiagnostics();
    case 'done': return finished(data);
    case 'exposition': return showExposition(data);
    case 'failed':
      document.body.dataset.state = 'failed';
      return status(`${run.name}: the component failed: ${data.message}`);
  }
};
worker.onerror = (event) => {
  document.body.dataset.state = 'failed';
  status(`the analyzer's Worker failed: ${event.message ?? 'could not load'}`);
};

// ---- the tree of tables and chains ----

function showTree(data) {
  Object.assign(run, { error: data.error, ruleCount: data.ruleCount, analyseMs: data.analyseMs });
  rules.expect(data.ruleCount, run.chainKeys);
  $('intro').hidden = true;
  if (data.error) {
    $('error').hidden = false;
    $('error-message').textContent = `line ${data.error.line}: ${data.error.message}`;
    $('error').dataset.line = data.error.line;
    showSource(data.error.line, 1);
  }
  $('results').hidden = data.error !== null;
  $('tree').replaceChildren();
  if (data.table) addTable(data.table);
  $('rules-count').textContent = `(${count(data.ruleCount)})`;
  $('diagnostics-count').textContent = '';
  selectChain(null);
  // Measured after the next frame has been painted.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (data.id !== run?.id) return;
    run.firstTableMs = performance.now() - run.started;
    document.body.dataset.firstTableMs = run.firstTableMs.toFixed(0);
    summarise();
  }));
}

/** The tables after the first, as they come. */
function addTable(table) {
  run.tables.push(table);
  for (const chain of table.chains) run.chainKeys.add(`${table.name}/${chain.name}`);
  $('tree').append(tableElement(table));
  rules.paint();
}

/** The jumps between chains, for the jump links; how many diagnostics will come. */
function showEdges(data) {
  for (const edge of data.edges) {
    push(run.edgesTo, `${edge.table}/${edge.toChain}`, edge);
    push(run.edgesFrom, `${edge.table}/${edge.fromChain}`, edge);
  }
  run.diagnosticCount = data.diagnosticCount;
  run.treeComplete = true;
  $('diagnostics-count').textContent = `(${count(data.diagnosticCount)})`;
  if (run.selected) selectChain(run.selected.table, run.selected.chain);
  summarise();
}

function summarise() {
  if (run.error) {
    status(`${run.name}: does not parse (line ${run.error.line})`);
    return;
  }
  const timing = [`outlined in ${run.analyseMs.toFixed(0)} ms`];
  if (run.firstTableMs !== undefined) timing.push(`first table shown after ${run.firstTableMs.toFixed(0)} ms`);
  status(`${run.name}: ${run.family}, ${run.treeComplete ? summary() : 'reading…'}; ${timing.join(', ')}`);
}

function summary() {
  const chains = run.tables.reduce((n, t) => n + t.chains.length, 0);
  return `${run.tables.length} tables, ${count(chains)} chains, ${count(run.ruleCount)} rules`;
}

function tableElement(table) {
  const section = element('section', { className: 'table' });
  section.dataset.table = table.name;
  const rulesIn = table.chains.reduce((n, c) => n + c.rules, 0);
  section.append(element('h3', { textContent: `${table.name} ` },
    element('span', { className: 'meta', textContent: `${plural(table.chains.length, 'chain')}, ${plural(rulesIn, 'rule')}` })));
  const list = element('ul');
  const show = (count) => list.replaceChildren(...table.chains.slice(0, count).map((c) => chainElement(table, c)));
  show(CHAINS_SHOWN);
  section.append(list);
  if (table.chains.length > CHAINS_SHOWN) {
    const all = element('button', { type: 'button', className: 'link', textContent: `show all ${count(table.chains.length)} chains` });
    all.onclick = () => { show(table.chains.length); all.remove(); };
    section.append(all);
  }
  return section;
}

function chainElement(table, chain) {
  const item = element('li');
  const counted = policyCounters(chain.policies);
  const policy = [...new Set(chain.policies.map((p) => p.name))].join(', ') || '-';
  Object.assign(item.dataset, {
    table: table.name,
    chain: chain.name,
    rules: chain.rules,
    policy,
    counters: counted.map((p) => `${p.name}:${p.packets}:${p.bytes}`).join(','),
  });
  const name = element('button', { type: 'button', className: 'link', textContent: chain.name });
  name.onclick = () => selectChain(table.name, chain.name);
  // A user chain's `-` says nothing a reader needs.
  const counters = counted.map((p) => ` · ${p.name === '-' ? '' : `${p.name} `}${count(p.packets)} packets, ${count(p.bytes)} bytes`);
  item.append(
    name,
    element('span', { className: `policy ${policy}`, textContent: policy }),
    element('span', { className: 'meta', textContent: `${plural(chain.rules, 'rule')}${counters.join('')}` }),
  );
  return item;
}

/**
 * The policy counters as the exporter exports them: declarations with the
 * same policy summed, those without counters left out.
 */
function policyCounters(policies) {
  const sums = new Map();
  for (const { name, counters } of policies) {
    if (counters === undefined) continue;
    const sum = sums.get(name) ?? { name, packets: 0n, bytes: 0n };
    sum.packets += counters.packets;
    sum.bytes += counters.bytes;
    sums.set(name, sum);
  }
  return [...sums.values()];
}

/** Shows only `chain`'s rules (all rules for `null`) and its jumps. */
function selectChain(table, chain) {
  const key = table === null ? null : `${table}/${chain}`;
  run.selected = key === null ? null : { table, chain };
  rules.setChain(run.selected);
  for (const item of $('tree').querySelectorAll('li.selected')) item.classList.remove('selected');
  const chip = $('chain-filter');
  const links = $('chain-links');
  chip.hidden = links.hidden = key === null;
  if (key === null) return;
  $('tree').querySelector(`li[data-table="${CSS.escape(table)}"][data-chain="${CSS.escape(chain)}"]`)?.classList.add('selected');
  const clear = element('button', { type: 'button', className: 'chip', textContent: `chain ${table}/${chain} ×` });
  clear.onclick = () => selectChain(null);
  chip.replaceChildren(clear);
  const from = run.edgesTo.get(key) ?? [];
  const to = unique(run.edgesFrom.get(key) ?? [], (e) => e.toChain);
  links.replaceChildren(
    element('span', { textContent: from.length ? 'Reached from: ' : 'Nothing jumps here. ' }),
    ...from.slice(0, 50).map((e) => jumpLink(table, e.fromChain, `${e.fromChain} (line ${e.line}${e.goto ? ', goto' : ''})`)),
    element('span', { textContent: to.length ? ' Jumps to: ' : '' }),
    ...to.slice(0, 50).map((e) => jumpLink(table, e.toChain, e.toChain)),
  );
  selectPane('rules');
}

function jumpLink(table, chain, text) {
  const link = element('button', { type: 'button', className: 'link', textContent: text });
  link.onclick = () => selectChain(table, chain);
  return link;
}

// ---- diagnostics ----

function showDiagnostics() {
  const counts = new Map();
  for (const d of run.diagnostics) counts.set(d.code, (counts.get(d.code) ?? 0) + 1);
  $('diagnostic-codes').replaceChildren(...[...counts].map(([code, n]) => {
    const chip = element('button', { type: 'button', className: 'chip', textContent: `${code} ${count(n)}` });
    chip.dataset.code = code;
    chip.setAttribute('aria-pressed', String(run.codes.has(code)));
    chip.onclick = () => {
      if (!run.codes.delete(code)) run.codes.add(code);
      showDiagnostics();
    };
    return chip;
  }));
  const wanted = run.codes.size === 0 ? run.diagnostics : run.diagnostics.filter((d) => run.codes.has(d.code));
  $('diagnostics').replaceChildren(...wanted.slice(0, run.diagnosticsShown).map(diagnosticElement));
  const more = $('more-diagnostics');
  more.hidden = wanted.length <= run.diagnosticsShown;
  more.textContent = `Show more (${count(wanted.length - run.diagnosticsShown)} not shown)`;
}

$('more-diagnostics').onclick = () => {
  run.diagnosticsShown += DIAGNOSTICS_SHOWN;
  showDiagnostics();
};

function diagnosticElement(d) {
  const item = element('li', { className: `sev-${d.severity}` });
  Object.assign(item.dataset, { code: d.code, line: d.line, severity: d.severity });
  const where = d.line === 0
    ? element('span', { textContent: 'whole dump' })
    : element('button', { type: 'button', className: 'link', textContent: `line ${d.line}:${d.column}` });
  if (d.line !== 0) {
    where.onclick = () => {
      showSource(d.line, d.column);
      if (rules.reveal(d.line)) selectPane('rules');
    };
  }
  item.append(
    element('span', { className: 'severity', textContent: d.severity }),
    where,
    element('code', { textContent: d.code }),
    element('span', { textContent: d.message }),
  );
  return item;
}

// ---- the dump's own lines, in context ----

/** Shows lines around `line` (1-based) of the dump, marking `column`. */
function showSource(line, column) {
  run.lineStarts ??= lineStarts(run.bytes);
  const starts = run.lineStarts;
  const first = Math.max(1, line - CONTEXT);
  const last = Math.min(starts.length, line + CONTEXT);
  const decoder = new TextDecoder();
  const text = (n) => {
    const end = n < starts.length ? starts[n] - 1 : run.bytes.length;
    // The last line runs to the end of the input, its newline included.
    return decoder.decode(run.bytes.subarray(starts[n - 1], end)).replace(/\r?\n?$/, '');
  };
  const width = String(Math.max(last, line)).length;
  const lines = [];
  for (let n = first; n <= last; n++) {
    const number = String(n).padStart(width);
    const content = `${number} | ${text(n)}\n`;
    if (n !== line) {
      lines.push(document.createTextNode(content));
      continue;
    }
    lines.push(element('span', { className: 'here', textContent: content }));
    // The column counts bytes; a caret under it, close enough for text.
    const prefix = decoder.decode(run.bytes.subarray(starts[n - 1], starts[n - 1] + column - 1));
    lines.push(element('span', { className: 'caret', textContent: `${' '.repeat(width)} | ${' '.repeat(prefix.length)}^` }));
  }
  if (line > starts.length) {
    // An error at the end of the input (a table never committed).
    lines.push(element('span', { className: 'here', textContent: `${String(line).padStart(width)} | (end of input)\n` }));
  }
  $('source-title').textContent = `${run.name}, line ${line}`;
  $('source-view').dataset.line = line;
  $('source-lines').replaceChildren(...lines);
  $('source-view').hidden = false;
}

$('source-close').onclick = () => { $('source-view').hidden = true; };

/** Byte offsets where each line starts. */
function lineStarts(bytes) {
  const starts = [0];
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) {
    if (i + 1 < bytes.length) starts.push(i + 1);
  }
  return Uint32Array.from(starts);
}

// ---- the exposition ----

function requestExposition() {
  const format = $('format').value;
  if (run.exposition?.format === format) return;
  run.exposition = { format, text: null };
  $('exposition-status').textContent = 'rendering…';
  send({ kind: 'render', id: run.id, format });
}

function showExposition(data) {
  if (data.format !== run.exposition?.format) return;
  if (data.error) {
    run.exposition.text = null;
    $('exposition-status').textContent = `line ${data.error.line}: ${data.error.message}`;
    $('exposition').textContent = '';
    return;
  }
  run.exposition.text = data.text;
  let end = 0;
  let lines = 0;
  while (lines < EXPOSITION_LINES && end !== -1 && end < data.text.length) {
    end = data.text.indexOf('\n', end) + 1 || -1;
    lines++;
  }
  const all = end === -1 || end >= data.text.length;
  $('exposition').textContent = all ? data.text : data.text.slice(0, end);
  $('exposition-status').textContent = `${count(data.text.length)} characters, rendered in ${data.renderMs.toFixed(0)} ms`
    + (all ? '' : `; the first ${count(EXPOSITION_LINES)} lines shown, copy or download for all`);
}

$('format').onchange = requestExposition;
$('copy').onclick = async () => {
  const text = run?.exposition?.text;
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
    $('exposition-status').textContent = 'copied';
  } catch (err) {
    $('exposition-status').textContent = `could not copy (${err.message}); use Download`;
  }
};
$('download').onclick = () => {
  const text = run?.exposition?.text;
  if (!text) return;
  const link = element('a', {
    href: URL.createObjectURL(new Blob([text], { type: 'text/plain' })),
    download: `${run.name.replace(/\.[^.]*$/, '')}.${run.exposition.format === 'openmetrics' ? 'om' : 'prom'}`,
  });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
};

// ---- panes, status ----

function selectPane(name) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.pane === name));
  }
  for (const pane of document.querySelectorAll('.pane')) pane.hidden = pane.id !== `pane-${name}`;
  if (name === 'exposition') requestExposition();
  if (name === 'rules') rules.paint();
}

for (const tab of document.querySelectorAll('[role=tab]')) tab.onclick = () => selectPane(tab.dataset.pane);

function finished(data) {
  // A new dump while the exposition is on screen: show its own.
  if (!$('pane-exposition').hidden) requestExposition();
  document.body.dataset.state = run.error ? 'error' : 'ready';
  document.body.dataset.totalMs = data.totalMs.toFixed(0);
}

function status(text) {
  $('status').textContent = text;
}

// ---- where dumps come from ----

/** `auto`: ip6tables-save says so in its header; else look for IPv6 addresses. */
function chosenFamily(bytes) {
  const chosen = $('family').value;
  if (chosen !== 'auto') return chosen;
  const head = new TextDecoder().decode(bytes.subarray(0, 65536));
  const generated = head.match(/^# Generated by (ip6?)tables-save/m);
  if (generated) return generated[1] === 'ip6' ? 'ipv6' : 'ipv4';
  return /\s-[sd] !?\s?[0-9a-f]*:[0-9a-f:]*[/\s]/i.test(head) ? 'ipv6' : 'ipv4';
}

async function loadFile(file) {
  const started = performance.now();
  const bytes = new Uint8Array(await file.arrayBuffer());
  useSources([{ name: file.name, bytes }]);
  run.started = started;
}

function useSources(list) {
  sources = list;
  const select = $('source');
  select.hidden = list.length < 2;
  select.replaceChildren(...list.map((s, i) => element('option', { value: String(i), textContent: s.name })));
  load(list[0]);
}

$('source').onchange = () => load(sources[Number($('source').value)]);
$('family').onchange = () => { if (run) load({ name: run.name, bytes: run.bytes }); };
$('file').onchange = () => { if ($('file').files[0]) loadFile($('file').files[0]); };
$('analyse-paste').onclick = () => {
  useSources([{ name: 'pasted', bytes: new TextEncoder().encode($('paste').value) }]);
};
document.addEventListener('paste', (event) => {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  const text = event.clipboardData?.getData('text/plain');
  if (text) useSources([{ name: 'pasted', bytes: new TextEncoder().encode(text) }]);
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

/** The exporter's rulesets, when it serves them (`--web.enable-ruleset-endpoint`). */
async function loadLive() {
  status('loading the live rulesets…');
  try {
    const index = await fetch('rulesets', { cache: 'no-store' });
    if (!index.ok) {
      status(`no live rulesets: ${(await index.text()).trim() || index.statusText}`);
      document.body.dataset.state = 'no-live';
      return;
    }
    const { families } = await index.json();
    const list = [];
    for (const { family, path } of families) {
      const response = await fetch(path, { cache: 'no-store' });
      if (!response.ok) {
        status(`${family}: ${(await response.text()).trim()}`);
        continue;
      }
      list.push({ name: `live ${family}`, family, bytes: new Uint8Array(await response.arrayBuffer()) });
    }
    if (list.length === 0) {
      document.body.dataset.state = 'no-live';
      return;
    }
    useSources(list);
  } catch (err) {
    document.body.dataset.state = 'no-live';
    status(`no live rulesets: ${err.message} (is this page served by the exporter?)`);
  }
}

$('live').onclick = loadLive;
if (new URLSearchParams(location.search).has('live')) loadLive();

// ---- small helpers ----

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function plural(n, noun) {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function unique(list, key) {
  const seen = new Set();
  return list.filter((item) => !seen.has(key(item)) && seen.add(key(item)));
}
