// What some bytes are, told by their content; apart from the component so
// that the analyzer page can tell without loading it on its own thread.

/**
 * `nftables` for `nft -j list ruleset` output (a JSON object: no
 * iptables-save dump starts with `{`), else `iptables`.
 * @param {Uint8Array} bytes
 * @returns {'nftables' | 'iptables'}
 */
export function kindOf(bytes) {
  for (const byte of bytes) {
    // Space, tab, CR, LF.
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) continue;
    return byte === 0x7b ? 'nftables' : 'iptables';
  }
  return 'iptables';
}
