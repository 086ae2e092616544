// What some bytes are, told by their content; apart from the component so
// that the analyzer page can tell without loading it on its own thread.

const codes = (text) => [...text].map((c) => c.charCodeAt(0));
const NAME = codes('Name:');
const TABLE = codes('table ');
const BRACE = 0x7b;

/**
 * Where the content starts: the first byte that is not a space, tab, CR
 * or LF (the length when there is none).
 * @param {Uint8Array} bytes
 */
function start(bytes) {
  let i = 0;
  while (i < bytes.length && [0x20, 0x09, 0x0d, 0x0a].includes(bytes[i])) i++;
  return i;
}

/**
 * @param {Uint8Array} bytes
 * @param {number[]} word
 */
const startsWith = (bytes, word) => {
  const i = start(bytes);
  return word.every((c, k) => bytes[i + k] === c);
};

/**
 * `nftables` for `nft -j list ruleset` output (a JSON object: no
 * iptables-save dump starts with `{`) and for nft's text (`nft list
 * ruleset`, which starts `table `; no save dump does), `ipset` for `ipset
 * list` output (it starts with `Name:`), else `iptables`.
 * @param {Uint8Array} bytes
 * @returns {'nftables' | 'ipset' | 'iptables'}
 */
export function kindOf(bytes) {
  const i = start(bytes);
  if (i === bytes.length) return 'iptables';
  if (bytes[i] === BRACE || startsWith(bytes, TABLE)) return 'nftables';
  return startsWith(bytes, NAME) ? 'ipset' : 'iptables';
}

/**
 * What the places the analysis gives count: an `nft -j` listing's items
 * (nft prints its JSON on one line), or lines (a dump, nft's text).
 * @param {Uint8Array} bytes
 * @returns {'item' | 'line'}
 */
export function unitOf(bytes) {
  return bytes[start(bytes)] === BRACE ? 'item' : 'line';
}
