// @ts-check
// What the rule filter understands: an address finds the rules whose
// source or destination contains it (`10.244.1.5` finds the rule for
// `10.244.0.0/16`, not those for `10.244.1.50`), a port number the rules
// whose ports include it, anything else is text found in the chain, target
// or rule. Read from a rule's text as iptables-save prints it (`-s`, `-d`,
// `--src-range`, `--dport`, `--dports`, …) or nft does (`ip saddr`,
// `ip6 daddr`, `tcp dport`, `th sport`, sets in braces, ranges). A negated
// match (`! -s …`, `saddr != …`) does not contain what it excludes: it is
// not found. Pure: unit-tested with `node --test` (test/search.test.mjs).

/**
 * @typedef {{kind: 'text', text: string}
 *   | {kind: 'address', bits: 32 | 128, value: bigint}
 *   | {kind: 'port', port: number}} Search
 */

/**
 * What a filter query asks for.
 * @param {string} query as typed
 * @returns {Search}
 */
export function searchOf(query) {
  const text = query.trim().toLowerCase();
  if (/^\d{1,5}$/.test(text) && Number(text) <= 65535) return { kind: 'port', port: Number(text) };
  const v4 = ipv4(text);
  if (v4 !== null) return { kind: 'address', bits: 32, value: v4 };
  const v6 = text.includes(':') ? ipv6(text) : null;
  if (v6 !== null) return { kind: 'address', bits: 128, value: v6 };
  return { kind: 'text', text };
}

/** Options whose value is a source or destination (iptables and nft). */
const ADDRESS_OPTIONS = new Set(['-s', '--source', '--src', '-d', '--destination', '--dst', '--src-range', '--dst-range', 'saddr', 'daddr']);
/** Options whose value is ports (iptables and nft). */
const PORT_OPTIONS = new Set(['--dport', '--sport', '--destination-port', '--source-port', '--dports', '--sports', '--ports', '--destination-ports', '--source-ports', 'dport', 'sport']);

/**
 * Whether a rule's text has an address match containing the address, or
 * a port match including the port (never for a text search: the caller
 * matches text itself, on more than the rule).
 * @param {Exclude<Search, {kind: 'text'}>} search an address or a port
 * @param {string} text the rule's text
 */
export function ruleHas(search, text) {
  const options = search.kind === 'address' ? ADDRESS_OPTIONS : PORT_OPTIONS;
  const words = wordsOf(text);
  for (let i = 0; i < words.length; i++) {
    if (!options.has(words[i])) continue;
    // iptables-save prints `! -s X`; nft prints `saddr != X`.
    let at = i + 1;
    const negated = words[i - 1] === '!' || words[at] === '!=' || words[at] === '!';
    if (words[at] === '!=' || words[at] === '!' || words[at] === '==') at++;
    const values = valuesAt(words, at);
    if (negated) continue;
    for (const value of values) {
      if (search.kind === 'address' ? containsAddress(value, search.bits, search.value) : containsPort(value, search.port)) return true;
    }
  }
  return false;
}

/**
 * The rule's words: whitespace apart, a quoted string (a comment) one
 * word, so that a comment saying `-s 10.0.0.1` is no match.
 * @param {string} text
 */
export function wordsOf(text) {
  return text.match(/"(?:[^"\\]|\\.)*"|[^\s]+/g) ?? [];
}

/**
 * The values of an option at `at`: a comma-separated word (`80,443:445`),
 * or an nft set (`{ 80, 443 }`).
 * @param {string[]} words
 * @param {number} at
 */
function valuesAt(words, at) {
  const first = words[at] ?? '';
  if (first !== '{') return first.split(',').filter(Boolean);
  const values = [];
  for (let i = at + 1; i < words.length && words[i] !== '}'; i++) values.push(...words[i].split(',').filter(Boolean));
  return values;
}

/**
 * Whether `value` (an address, `A/len`, `A/mask` or `A-B`) holds the address.
 * @param {string} value
 * @param {32 | 128} bits
 * @param {bigint} address
 */
function containsAddress(value, bits, address) {
  const parse = bits === 32 ? ipv4 : ipv6;
  const dash = value.indexOf('-');
  if (dash > 0) {
    const low = parse(value.slice(0, dash));
    const high = parse(value.slice(dash + 1));
    return low !== null && high !== null && low <= address && address <= high;
  }
  const [base, prefix] = value.split('/');
  const network = parse(base);
  if (network === null) return false;
  if (prefix === undefined) return network === address;
  // A dotted mask (`255.255.0.0`, as iptables-save never prints but
  // people write) or a length.
  const mask = bits === 32 && prefix.includes('.') ? ipv4(prefix) : lengthMask(Number(prefix), bits);
  return mask !== null && (network & mask) === (address & mask);
}

/**
 * @param {number} length
 * @param {32 | 128} bits
 * @returns {bigint | null}
 */
function lengthMask(length, bits) {
  if (!Number.isInteger(length) || length < 0 || length > bits) return null;
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - length)) - 1n);
}

/**
 * Whether a port value (`443`, `1024:65535`, `1024-65535`, `:1023`) holds `port`.
 * @param {string} value
 * @param {number} port
 */
function containsPort(value, port) {
  const range = value.match(/^(\d*)[:-](\d*)$/);
  if (range) {
    const low = range[1] === '' ? 0 : Number(range[1]);
    const high = range[2] === '' ? 65535 : Number(range[2]);
    return low <= port && port <= high;
  }
  return /^\d+$/.test(value) && Number(value) === port;
}

/**
 * A dotted IPv4 address as a number, or null.
 * @param {string} text
 * @returns {bigint | null}
 */
export function ipv4(text) {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

/**
 * An IPv6 address (`::` and a dotted IPv4 tail allowed) as a number, or null.
 * @param {string} text
 * @returns {bigint | null}
 */
export function ipv6(text) {
  const halves = text.toLowerCase().split('::');
  if (halves.length > 2) return null;
  /** @param {string} half */
  const groups = (half) => {
    if (half === '') return [];
    const words = half.split(':');
    const last = words.at(-1) ?? '';
    /** @type {number[]} */
    const out = [];
    for (const word of words.slice(0, -1)) out.push(hex(word));
    if (last.includes('.')) {
      const v4 = ipv4(last);
      if (v4 === null) return null;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      out.push(hex(last));
    }
    return out.some(Number.isNaN) ? null : out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const group of [...head, ...new Array(missing).fill(0), ...tail]) value = (value << 16n) | BigInt(group);
  return value;
}

/** @param {string} word */
function hex(word) {
  return /^[0-9a-f]{1,4}$/.test(word) ? parseInt(word, 16) : NaN;
}
