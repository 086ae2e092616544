// @ts-check
// A rule as `iptables -L -v -n` lays it out: protocol, fragment option,
// in and out interfaces, source and destination (`!` before a negated
// one, `*` and `0.0.0.0/0` or `::/0` for any, a host without its `/32` or
// `/128`), and the rest of its options as written (where -L would print
// its own words for them: `-m tcp --dport 22` stays, not `tcp dpt:22`).
// The target is the rule's own (`-j`/`-g` are left out of the rest).
// Read from the rule's text as iptables-save prints it; an nft listing's
// rules have no such fields. Pure: unit-tested (test/search.test.mjs).
import { wordsOf } from './search.js';

/**
 * @typedef {object} Fields
 * @property {string} prot
 * @property {string} opt
 * @property {string} in
 * @property {string} out
 * @property {string} source
 * @property {string} destination
 * @property {string} rest
 */

/** The options -L gives a column, by their long and short names. */
const COLUMNS = new Map([
  ['-p', 'prot'], ['--protocol', 'prot'],
  ['-i', 'in'], ['--in-interface', 'in'],
  ['-o', 'out'], ['--out-interface', 'out'],
  ['-s', 'source'], ['--source', 'source'], ['--src', 'source'],
  ['-d', 'destination'], ['--destination', 'destination'], ['--dst', 'destination'],
]);

/**
 * @param {string} text a rule's text (its RULESPEC)
 * @param {'ipv4' | 'ipv6'} family
 * @returns {Fields}
 */
export function fieldsOf(text, family) {
  const any = family === 'ipv6' ? '::/0' : '0.0.0.0/0';
  /** @type {Fields} */
  const fields = { prot: 'all', opt: family === 'ipv6' ? '' : '--', in: '*', out: '*', source: any, destination: any, rest: '' };
  const words = wordsOf(text);
  const rest = [];
  for (let i = 0; i < words.length; i++) {
    const negated = words[i] === '!' && i + 1 < words.length;
    const option = negated ? words[i + 1] : words[i];
    const column = COLUMNS.get(option);
    if (column !== undefined && i + (negated ? 2 : 1) < words.length) {
      let value = words[i + (negated ? 2 : 1)];
      if (column === 'source' || column === 'destination') value = value.replace(family === 'ipv6' ? /\/128$/ : /\/32$/, '');
      fields[/** @type {'prot'} */ (column)] = `${negated ? '!' : ''}${value}`;
      i += negated ? 2 : 1;
    } else if (option === '-f' || option === '--fragment') {
      fields.opt = negated ? '!f' : '-f';
      i += negated ? 1 : 0;
    } else if (!negated && ['-j', '--jump', '-g', '--goto'].includes(option) && i + 1 < words.length) {
      i += 1;
    } else {
      rest.push(words[i]);
    }
  }
  fields.rest = rest.join(' ');
  return fields;
}
