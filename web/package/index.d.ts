import type { analysis } from './parser.js';

export type Counters = analysis.Counters;
export type Diagnostic = analysis.Diagnostic;
export type Edge = analysis.Edge;
export type Policy = analysis.Policy;
export type Rule = analysis.Rule;
export type Severity = analysis.Severity;
export type Table = analysis.Table;
export type Chain = analysis.Chain;

export type Family = 'ipv4' | 'ipv6';

/** A dump that does not parse: the line and what was expected there. */
export declare class ParseError extends Error {
  readonly line: number;
  readonly reason: string;
}

/**
 * The exporter's ruleset series for one dump; throws `ParseError` when it
 * does not parse, `TypeError` when it is not bytes or an option is unknown.
 */
export declare function render(
  bytes: Uint8Array | ArrayBuffer,
  options?: { family?: Family; format?: 'text' | 'openmetrics' },
): string;

export interface Analysis extends Disposable {
  error?: { line: number; message: string };
  tables: Table[];
  /** Read on first use, with the rules (the tree above is there before). */
  readonly edges: Edge[];
  ruleCount: number;
  /** Rules `start` to `start + count` (fewer at the end), in input order. */
  rules(start: number, count: number): Rule[];
  readonly diagnosticCount: number;
  /** Diagnostics in line order, paged like `rules`. */
  diagnostics(start: number, count: number): Diagnostic[];
  dispose(): void;
}

/**
 * Tables, chains, every rule as written, jumps and diagnostics; throws
 * `TypeError` when the dump is not bytes.
 */
export declare function analyze(bytes: Uint8Array | ArrayBuffer): Analysis;
