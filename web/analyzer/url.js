// @ts-check
// The view in the address bar's fragment, so that Back and Forward walk
// the jumps followed and a view can be shared or reloaded:
//
//   #TABLE/CHAIN?filter=TEXT&sort=-packets&tab=diagnostics&columns=listing
//
// every part left out when it is the default (no chain, no filter, by
// line from the first, the rules tab, the rule text's columns). `sort` is a key, `-` before it for
// largest first. Pure: unit-tested with `node --test`
// (test/state.test.mjs).

/** @typedef {'rules' | 'diagnostics' | 'exposition' | 'trace' | 'diff'} Pane */
/** @typedef {{key: 'line' | 'packets' | 'bytes' | 'delta', descending: boolean}} Sort */
/**
 * @typedef {object} View
 * @property {{table: string, chain: string} | null} selected
 * @property {Pane} pane
 * @property {string} query
 * @property {Sort} sort
 * @property {Columns} columns
 */
/** @typedef {'text' | 'listing'} Columns the rule text, or laid out as `iptables -L` */

const PANES = ['rules', 'diagnostics', 'exposition', 'trace', 'diff'];
const SORT_KEYS = ['line', 'packets', 'bytes', 'delta'];

/**
 * The fragment for a view, `#` and all; '' for the default view.
 * @param {View} view
 */
export function hashOf(view) {
  const path = view.selected === null ? '' : `${encodeURIComponent(view.selected.table)}/${encodeURIComponent(view.selected.chain)}`;
  const params = new URLSearchParams();
  if (view.query !== '') params.set('filter', view.query);
  if (view.sort.key !== 'line' || view.sort.descending) params.set('sort', `${view.sort.descending ? '-' : ''}${view.sort.key}`);
  if (view.pane !== 'rules') params.set('tab', view.pane);
  if (view.columns !== 'text') params.set('columns', view.columns);
  const query = params.toString();
  return path === '' && query === '' ? '' : `#${path}${query === '' ? '' : `?${query}`}`;
}

/**
 * The view a fragment asks for; what it does not say (or says wrongly) is
 * the default.
 * @param {string} hash `location.hash`, with or without its `#`
 * @returns {View}
 */
export function parseHash(hash) {
  const text = hash.replace(/^#/, '');
  const mark = text.indexOf('?');
  const path = mark === -1 ? text : text.slice(0, mark);
  const params = new URLSearchParams(mark === -1 ? '' : text.slice(mark + 1));
  const slash = path.indexOf('/');
  /** @type {View['selected']} */
  let selected = null;
  if (slash > 0 && slash < path.length - 1) {
    try {
      selected = { table: decodeURIComponent(path.slice(0, slash)), chain: decodeURIComponent(path.slice(slash + 1)) };
    } catch {
      // A fragment cut in the middle of an escape: no chain.
    }
  }
  const tab = params.get('tab') ?? 'rules';
  const sort = params.get('sort') ?? 'line';
  const key = sort.replace(/^-/, '');
  return {
    selected,
    pane: /** @type {Pane} */ (PANES.includes(tab) ? tab : 'rules'),
    query: params.get('filter') ?? '',
    sort: SORT_KEYS.includes(key)
      ? { key: /** @type {Sort['key']} */ (key), descending: sort.startsWith('-') }
      : { key: 'line', descending: false },
    columns: params.get('columns') === 'listing' ? 'listing' : 'text',
  };
}
