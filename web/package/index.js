// The iptables-exporter parser component, for JavaScript: the same
// WebAssembly component the exporter runs, transpiled by jco into dist/
// (built next to this file by build.mjs).
import { metrics, analysis, nftables, ipset } from './parser.js';
import { kindOf } from './kind.js';

export { kindOf };

/** A dump that does not parse: the line and what was expected there. */
export class ParseError extends Error {
  constructor(line, message) {
    super(`line ${line}: ${message}`);
    this.name = 'ParseError';
    this.line = line;
    this.reason = message;
  }
}

const EVERYTHING = { include: undefined, exclude: undefined };
const FAMILIES = ['ipv4', 'ipv6'];
const FORMATS = { text: 'text', openmetrics: 'open-metrics' };

/** Every rule, as the exporter's defaults export them. */
function selection(format) {
  return {
    format: FORMATS[format],
    tables: EVERYTHING,
    chains: EVERYTHING,
    rules: 'all',
    ruleText: EVERYTHING,
    comment: EVERYTHING,
    commentLabel: false,
    maxRuleSeries: undefined,
  };
}

/**
 * The dump's bytes, or a TypeError: the component reads bytes, and a
 * string (or anything else) would otherwise reach it as nothing at all.
 */
function dumpBytes(bytes, caller) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  const what = typeof bytes === 'string' ? 'a string (encode it with TextEncoder)' : describe(bytes);
  throw new TypeError(`${caller}: expected the dump as a Uint8Array or ArrayBuffer, got ${what}`);
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'an object';
}

/** `value` if it is one of `allowed`, else a TypeError naming the option. */
function oneOf(value, allowed, option) {
  if (allowed.includes(value)) return value;
  throw new TypeError(`render: ${option} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${typeof value === 'string' ? `'${value}'` : describe(value)}`);
}
// What jco's resources are disposed by: `Symbol.dispose` where the runtime
// has it (Node 20), the registered symbol jco falls back to elsewhere.
const DISPOSE = Symbol.dispose ?? Symbol.for('dispose');

/**
 * Renders one dump as the exporter serves its ruleset series, or an nft
 * listing (told by its content) as it serves its `nftables_*` series.
 * @param {Uint8Array | ArrayBuffer} bytes what iptables-save or `nft -j list ruleset` printed
 * @param {{family?: 'ipv4'|'ipv6', format?: 'text'|'openmetrics'}} [options] (`family` is for dumps only)
 * @returns {string}
 * @throws {ParseError} the dump or listing does not parse
 * @throws {TypeError} the dump is not bytes, or an option is unknown
 */
export function render(bytes, { family = 'ipv4', format = 'text' } = {}) {
  const output = dumpBytes(bytes, 'render');
  oneOf(family, FAMILIES, 'family');
  oneOf(format, Object.keys(FORMATS), 'format');
  const kind = kindOf(output);
  const exposition = kind === 'nftables'
    ? renderListing(output, format)
    : kind === 'ipset' ? renderSets(output, format) : renderDump(output, family, format);
  return format === 'openmetrics' ? `${exposition}# EOF\n` : exposition;
}

function renderDump(saveOutput, family, format) {
  const { exposition, results } = metrics.render(
    [{ family, saveOutput, timestampMs: undefined }],
    selection(format),
  );
  const [result] = results;
  if (result.tag === 'err') {
    throw new ParseError(result.val.line, result.val.message);
  }
  return exposition;
}

function renderListing(output, format) {
  return rethrowingParseErrors(() => nftables.render(
    { output, timestampMs: undefined },
    { selection: selection(format), setElements: true, leftToIptables: [] },
  ).exposition);
}

function renderSets(headers, format) {
  return rethrowingParseErrors(() => ipset.render(
    { headers, members: [], timestampMs: undefined },
    { format: FORMATS[format], sets: EVERYTHING, elementCounters: true, maxElementSeries: undefined },
  ).exposition);
}

/** `call()`, a result's error thrown as a ParseError. */
function rethrowingParseErrors(call) {
  try {
    return call();
  } catch (err) {
    // jco throws a result's error value as the `payload` of its error.
    const payload = err?.payload;
    if (payload && typeof payload.message === 'string') throw new ParseError(payload.line, payload.message);
    throw err;
  }
}

/**
 * The sets of an `ipset list` output (terse or not), as an analyzer shows
 * them beside the rules that match against them: name, type, entries,
 * what the set can hold, memory and references.
 * @param {Uint8Array | ArrayBuffer} bytes what `ipset list` or `ipset list -t` printed
 * @throws {ParseError} the listing does not read
 * @throws {TypeError} it is not bytes
 */
export function ipsets(bytes) {
  const input = dumpBytes(bytes, 'ipsets');
  return rethrowingParseErrors(() => ipset.sets(input));
}

const HOOKS = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/**
 * One packet through a dump's tables (the component's `ruleset.trace`).
 * @param {any} ruleset
 * @param {{hook: string, source?: string, destination?: string, protocol?: string, sourcePort?: number, destinationPort?: number, inInterface?: string, outInterface?: string, ctstate?: string}} packet
 */
function tracePacket(ruleset, packet) {
  if (packet === null || typeof packet !== 'object') throw new TypeError(`trace: expected a packet object, got ${describe(packet)}`);
  const hook = String(packet.hook ?? '').toLowerCase();
  if (!HOOKS.includes(hook)) {
    throw new TypeError(`trace: hook must be one of ${HOOKS.map((h) => h.toUpperCase()).join(', ')}, got ${JSON.stringify(packet.hook)}`);
  }
  const port = (value, name) => {
    if (value === undefined || value === null) return undefined;
    if (Number.isInteger(value) && value >= 0 && value <= 65535) return value;
    throw new TypeError(`trace: ${name} must be a port (0 to 65535), got ${JSON.stringify(value)}`);
  };
  const text = (value) => (value === undefined || value === null || value === '' ? undefined : String(value));
  try {
    return ruleset.trace({
      hook,
      source: text(packet.source),
      destination: text(packet.destination),
      protocol: text(packet.protocol),
      sourcePort: port(packet.sourcePort, 'sourcePort'),
      destinationPort: port(packet.destinationPort, 'destinationPort'),
      inInterface: text(packet.inInterface),
      outInterface: text(packet.outInterface),
      ctstate: text(packet.ctstate),
    });
  } catch (err) {
    // jco throws a result's error value as the `payload` of its error.
    if (typeof err?.payload === 'string') throw new TypeError(`trace: ${err.payload}`);
    throw err;
  }
}

/**
 * Analyses one dump or nft listing (told by its content): its tables and
 * chains, every rule as written, the jumps between chains, diagnostics
 * and, for a listing, its named objects. Rules and diagnostics are read
 * in pages. Call `dispose()` (or use `using`) when done.
 * @param {Uint8Array | ArrayBuffer} bytes what iptables-save or `nft -j list ruleset` printed
 * @throws {TypeError} the dump is not bytes
 */
export function analyze(bytes) {
  const input = dumpBytes(bytes, 'analyze');
  const kind = kindOf(input);
  if (kind === 'ipset') throw new TypeError('analyze: an ipset listing has no rules to analyse; read its sets with ipsets()');
  const ruleset = kind === 'nftables' ? new analysis.NftRuleset(input) : new analysis.Ruleset(input);
  let edges;
  let diagnosticCount;
  let objects;
  const error = ruleset.error();
  return {
    kind,
    // A listing's error also has the JSON's column.
    error: error === undefined ? undefined : { line: error.line, message: error.message, ...('column' in error ? { column: error.column } : {}) },
    tables: ruleset.tables(),
    ruleCount: ruleset.ruleCount(),
    // The component reads the rules themselves when first asked for
    // something that needs them: the tree above is there before.
    get edges() {
      return (edges ??= ruleset.edges());
    },
    get objects() {
      return (objects ??= kind === 'nftables' ? ruleset.objects() : []);
    },
    rules: (start, count) => ruleset.rules(start, count),
    get diagnosticCount() {
      return (diagnosticCount ??= ruleset.diagnosticCount());
    },
    diagnostics: (start, count) => ruleset.diagnostics(start, count),
    trace: (packet) => {
      if (kind === 'nftables') throw new TypeError('trace: an nft listing is not traced; only iptables-save dumps are');
      return tracePacket(ruleset, packet);
    },
    dispose: () => ruleset[DISPOSE](),
    [DISPOSE]: () => ruleset[DISPOSE](),
  };
}
