// @ts-check
// The analyzer's parsing, off the page's thread: the component analyses a
// dump or an nft listing (the package tells which by its content), renders
// its exposition and traces packets through it here, and the results go to the page in
// pieces (the tree first, then the jumps, then rules and diagnostics in
// pages) so that a 100k-rule dump shows its first table before the
// component has even read its rules.
import { analyze, ipsets, render, ParseError } from './package/index.js';

/** Rules and diagnostics per message. */
const PAGE = 20000;

/**
 * The dump last analysed, kept to render its exposition and trace packets
 * on request (its analysis stays until the next dump, so that a trace of
 * a 100k-rule dump does not read it again).
 * @type {{id: number, bytes: Uint8Array, family: import('./package/index.js').Family, analysis: any}}
 */
let current = { id: 0, bytes: new Uint8Array(), family: 'ipv4', analysis: null };

self.onmessage = ({ data }) => {
  try {
    if (data.kind === 'analyze') {
      current.analysis?.dispose();
      current = { id: data.id, bytes: data.bytes, family: data.family, analysis: null };
      analyzeCurrent();
    } else if (data.kind === 'trace' && data.id === current.id) {
      traceCurrent(data.packet);
    } else if (data.kind === 'render' && data.id === current.id) {
      renderCurrent(data.format);
    } else if (data.kind === 'sets') {
      readSets(data.name, data.bytes);
    } else if (data.kind === 'baseline') {
      readBaseline(data.id, data.name, data.bytes);
    }
  } catch (err) {
    // A trap in the component (a bug, never the input's fault) or a
    // message the page should not have sent.
    self.postMessage({ kind: 'failed', id: data.id, message: String(err?.message ?? err) });
  }
};

// Loading the component takes a moment (top-level await), and a message
// that arrives before `onmessage` is set is lost: the page waits for this.
self.postMessage({ kind: 'ready' });

function analyzeCurrent() {
  const { id, bytes } = current;
  const started = performance.now();
  const result = analyze(bytes);
  current.analysis = result;
  // The tree first, a table at a time (a kube-proxy nat table has tens
  // of thousands of chains): the component has only outlined the dump
  // so far.
  const [first = null, ...rest] = result.tables;
  self.postMessage({
    kind: 'tree',
    id,
    error: result.error ?? null,
    table: first,
    ruleCount: result.ruleCount,
    analyseMs: performance.now() - started,
  });
  for (const table of rest) self.postMessage({ kind: 'table', id, table });
  self.postMessage({ kind: 'edges', id, edges: result.edges, objects: result.objects, diagnosticCount: result.diagnosticCount });
  for (let start = 0; start < result.ruleCount; start += PAGE) {
    self.postMessage({ kind: 'rules', id, start, rules: result.rules(start, PAGE) });
  }
  for (let start = 0; start < result.diagnosticCount; start += PAGE) {
    self.postMessage({ kind: 'diagnostics', id, start, diagnostics: result.diagnostics(start, PAGE) });
  }
  self.postMessage({ kind: 'done', id, totalMs: performance.now() - started });
}

/** A packet through the dump on screen. */
function traceCurrent(packet) {
  const { id, analysis } = current;
  if (analysis === null) return;
  const started = performance.now();
  try {
    const result = analysis.trace(packet);
    self.postMessage({ kind: 'trace', id, result, traceMs: performance.now() - started });
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    self.postMessage({ kind: 'trace', id, error: err.message.replace(/^trace: /, '') });
  }
}

/**
 * A dump to compare the one on screen with: its tables and all its rules
 * at once (the page diffs them), the analysis of the dump on screen kept.
 * @param {number} id the dump on screen
 * @param {string} name
 * @param {Uint8Array} bytes
 */
function readBaseline(id, name, bytes) {
  const result = analyze(bytes);
  try {
    if (result.error) self.postMessage({ kind: 'baseline', id, name, error: result.error });
    else self.postMessage({ kind: 'baseline', id, name, tables: result.tables, rules: result.rules(0, result.ruleCount) });
  } finally {
    result.dispose();
  }
}

/** An `ipset list` output's sets, for their sizes beside the rules. */
function readSets(name, bytes) {
  try {
    self.postMessage({ kind: 'sets', name, sets: ipsets(bytes) });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    self.postMessage({ kind: 'sets', name, error: { line: err.line, message: err.reason } });
  }
}

function renderCurrent(format) {
  const { id, bytes, family } = current;
  const started = performance.now();
  try {
    const text = render(bytes, { family, format });
    self.postMessage({ kind: 'exposition', id, format, text, renderMs: performance.now() - started });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    self.postMessage({ kind: 'exposition', id, format, error: { line: err.line, message: err.reason } });
  }
}
