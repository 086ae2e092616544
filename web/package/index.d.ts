import type { analysis, ipset } from './parser.js';

export type Counters = analysis.Counters;
export type Diagnostic = analysis.Diagnostic;
export type Edge = analysis.Edge;
export type Policy = analysis.Policy;
export type Rule = analysis.Rule;
export type Severity = analysis.Severity;
export type Table = analysis.Table;
export type Chain = analysis.Chain;
/** A named object of an nft table: set, map, meter, counter or quota. */
export type NamedObject = analysis.Object;
export type ObjectKind = analysis.ObjectKind;
/** A set of an `ipset list` output. */
export type SetSummary = ipset.SetSummary;

export type Family = 'ipv4' | 'ipv6';

/** A packet to trace; a field left out leaves the rules asking about it a `may-match`. */
export interface Packet {
  hook: 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING' | 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  source?: string;
  destination?: string;
  /** `tcp`, `udp`, `icmp`, … or a number. */
  protocol?: string;
  sourcePort?: number;
  destinationPort?: number;
  inInterface?: string;
  outInterface?: string;
  /** `NEW`, `ESTABLISHED`, `RELATED`, `INVALID`, `UNTRACKED`. */
  ctstate?: string;
}
export type TraceStep = analysis.TraceStep;
export type TraceResult = analysis.Trace;
/** What some bytes are: an iptables-save dump, an `nft -j` listing or an `ipset list` output. */
export type Kind = 'iptables' | 'nftables' | 'ipset';

/** `nftables` when the bytes start (after white space) with `{`, `ipset` with `Name:`. */
export declare function kindOf(bytes: Uint8Array): Kind;

/** A dump that does not parse: the line and what was expected there. */
export declare class ParseError extends Error {
  readonly line: number;
  readonly reason: string;
}

/**
 * The exporter's ruleset series for one dump, its `nftables_*` series for
 * an nft listing, or its `ipset_*` series (element counters included) for
 * an `ipset list` output (told by their content; `family` is then unused);
 * throws `ParseError` when it does not parse, `TypeError` when it is not
 * bytes or an option is unknown.
 */
export declare function render(
  bytes: Uint8Array | ArrayBuffer,
  options?: { family?: Family; format?: 'text' | 'openmetrics' },
): string;

export interface Analysis extends Disposable {
  kind: Kind;
  /** For a listing, `line` and `column` are the JSON's (nft prints one line). */
  error?: { line: number; message: string; column?: number };
  tables: Table[];
  /** Read on first use, with the rules (the tree above is there before). */
  readonly edges: Edge[];
  /** An nft listing's named objects; none for an iptables dump. */
  readonly objects: NamedObject[];
  ruleCount: number;
  /** Rules `start` to `start + count` (fewer at the end), in input order. */
  rules(start: number, count: number): Rule[];
  readonly diagnosticCount: number;
  /** Diagnostics in line order, paged like `rules`. */
  diagnostics(start: number, count: number): Diagnostic[];
  /**
   * `packet` walked through the tables that hook where it enters, in
   * netfilter's order, following `-j`, `-g` and `RETURN`, to a verdict
   * (`ACCEPT`, `DROP`, `REJECT`, … in capitals); every rule met says why it
   * matched, did not, or may (an option not interpreted, a field left
   * out). Dumps only: an nft listing, or a packet field that does not
   * read, throws `TypeError`.
   */
  trace(packet: Packet): TraceResult;
  dispose(): void;
}

/**
 * Tables, chains, every rule as written (with the sets it matches
 * against), jumps and diagnostics of a dump or an nft listing (told by its
 * content; a listing's `line`s are its items, its tables `family name`);
 * throws `TypeError` when the dump is not bytes or is an ipset listing
 * (see `ipsets`).
 */
export declare function analyze(bytes: Uint8Array | ArrayBuffer): Analysis;

/**
 * The sets of an `ipset list` output (terse or not), in its order: name,
 * type, entries (the kernel's count, else the members listed), what the
 * set can hold, kernel memory and references; throws `ParseError` when
 * it does not read, `TypeError` when it is not bytes.
 */
export declare function ipsets(bytes: Uint8Array | ArrayBuffer): SetSummary[];
