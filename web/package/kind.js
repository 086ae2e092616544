// What some bytes are, told by their content; apart from the component so
// that the analyzer page can tell without loading it on its own thread.

const NAME = [...'Name:'].map((c) => c.charCodeAt(0));

/**
 * `nftables` for `nft -j list ruleset` output (a JSON object: no
 * iptables-save dump starts with `{`), `ipset` for `ipset list` output
 * (it starts with `Name:`; no save dump does), else `iptables`.
 * @param {Uint8Array} bytes
 * @returns {'nftables' | 'ipset' | 'iptables'}
 */
export function kindOf(bytes) {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    // Space, tab, CR, LF.
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) continue;
    if (byte === 0x7b) return 'nftables';
    return NAME.every((c, k) => bytes[i + k] === c) ? 'ipset' : 'iptables';
  }
  return 'iptables';
}
