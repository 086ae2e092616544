// The iptables-exporter parser component, for JavaScript: the same
// WebAssembly component the exporter runs, transpiled by jco into dist/
// (built next to this file by build.mjs).
import { metrics, analysis } from './parser.js';

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
// What jco's resources are disposed by: `Symbol.dispose` where the runtime
// has it (Node 20), the registered symbol jco falls back to elsewhere.
const DISPOSE = Symbol.dispose ?? Symbol.for('dispose');

/**
 * Renders one dump as the exporter serves its ruleset series.
 * @param {Uint8Array} bytes what iptables-save printed
 * @param {{family?: 'ipv4'|'ipv6', format?: 'text'|'openmetrics'}} [options]
 * @returns {string}
 */
export function render(bytes, { family = 'ipv4', format = 'text' } = {}) {
  const { exposition, results } = metrics.render(
    [{ family, saveOutput: bytes, timestampMs: undefined }],
    {
      format: format === 'openmetrics' ? 'open-metrics' : 'text',
      tables: EVERYTHING,
      chains: EVERYTHING,
      rules: 'all',
      ruleText: EVERYTHING,
      comment: EVERYTHING,
      commentLabel: false,
      maxRuleSeries: undefined,
    },
  );
  const [result] = results;
  if (result.tag === 'err') {
    throw new ParseError(result.val.line, result.val.message);
  }
  return format === 'openmetrics' ? `${exposition}# EOF\n` : exposition;
}

/**
 * Analyses one dump: its tables and chains, every rule as written, the
 * jumps between chains and diagnostics. Rules and diagnostics are read in
 * pages. Call `dispose()` (or use `using`) when done.
 * @param {Uint8Array} bytes what iptables-save printed
 */
export function analyze(bytes) {
  const ruleset = new analysis.Ruleset(bytes);
  let edges;
  let diagnosticCount;
  return {
    error: ruleset.error(),
    tables: ruleset.tables(),
    ruleCount: ruleset.ruleCount(),
    // The component reads the rules themselves when first asked for
    // something that needs them: the tree above is there before.
    get edges() {
      return (edges ??= ruleset.edges());
    },
    rules: (start, count) => ruleset.rules(start, count),
    get diagnosticCount() {
      return (diagnosticCount ??= ruleset.diagnosticCount());
    },
    diagnostics: (start, count) => ruleset.diagnostics(start, count),
    dispose: () => ruleset[DISPOSE](),
    [DISPOSE]: () => ruleset[DISPOSE](),
  };
}
