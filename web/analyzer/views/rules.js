// @ts-check
// The rule list: every rule of the dump, filtered by chain and by text, an
// address or a port (search.js), sorted by line, packets or bytes, and
// virtualised: only the rows in view (and a few either side) exist in the
// DOM, reused as it scrolls, so 100k rules scroll as smoothly as ten. The
// rules, the filter and the sort are the state's; only the scroll and the
// rows drawn stay here.
import { fieldsOf } from '../listing.js';
import { count, plural, policyCounters, ruleIndexAt, scaled } from '../model.js';
import { ruleHas, searchOf } from '../search.js';
import { keptByHits } from '../state.js';

/** @typedef {import('../state.js').State} State */

/** Row height in pixels until `--row` (analyzer.css) is read. */
const ROW = 22;
/** Rows kept above and below the visible ones. */
const OVERSCAN = 10;

export class RuleList {
  #viewport;
  #canvas;
  #filter;
  #shown;
  #header;
  #onLine;
  #onChain;
  #onSet;
  #setLabel;
  /** Every rule, in input order (so in line order). */
  #rules = [];
  /** Indices into #rules of the rules shown, in the order shown. */
  #view = [];
  #expected = 0;
  /** `table/chain` of every declared chain: targets that are links. */
  #chains = new Set();
  /** @type {{table: string, chain: string} | null} */
  #chain = null;
  #query = '';
  /** @type {import('../state.js').Sort} */
  #sort = { key: 'line', descending: false };
  #onQuery;
  #pool = [];
  #highlight = -1;
  /** `--row`: one line wide, three on a phone. */
  #row = ROW;
  /** What the dump's line numbers count: lines, or a listing's items. */
  #unit = 'line';
  /** @type {import('../diff.js').Deltas | null} what each rule counted since the baseline */
  #deltas = null;
  /** Seconds between the baseline's reading and this one's, when live. */
  /** @type {number | null} */
  #interval = null;
  /** @type {(index: number) => boolean} the hit window's test */
  #kept = () => true;
  /** Whether rules are laid out as `iptables -L` does (dumps only). */
  #listing = false;
  /** @type {'ipv4' | 'ipv6'} */
  #family = 'ipv4';

  #hitWindow;

  #columns;
  #fallThrough;

  constructor(viewport, canvas, { filter, header, shown, hitWindow, columns, fallThrough, onLine, onChain, onSet, setLabel, onQuery, onSort, onHitWindow, onColumns }) {
    this.#viewport = viewport;
    this.#canvas = canvas;
    this.#filter = filter;
    this.#shown = shown;
    this.#header = header;
    this.#onLine = onLine;
    this.#onChain = onChain;
    this.#onSet = onSet;
    this.#setLabel = setLabel;
    this.#onQuery = onQuery;
    viewport.addEventListener('scroll', () => this.paint(), { passive: true });
    // A resize may cross into the phone layout, whose rows are taller.
    new ResizeObserver(() => {
      this.#row = parseFloat(getComputedStyle(viewport).getPropertyValue('--row')) || ROW;
      this.#canvas.style.height = `${this.#view.length * this.#row}px`;
      this.paint();
    }).observe(viewport);
    this.#hitWindow = hitWindow;
    this.#columns = columns;
    this.#fallThrough = fallThrough;
    columns.addEventListener('change', () => onColumns(columns.value));
    filter.addEventListener('input', () => onQuery(filter.value));
    hitWindow.addEventListener('change', () => onHitWindow(hitWindow.value));
    header.addEventListener('click', (event) => {
      const key = event.target.closest('button[data-sort]')?.dataset.sort;
      if (key !== undefined) onSort(key);
    });
    canvas.addEventListener('keydown', (event) => this.#tab(event));
    canvas.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button === null) return;
      const rule = this.#rules[Number(button.closest('.row').dataset.index)];
      if (button.dataset.action === 'set') this.#onSet(rule.table, button.dataset.set);
      else if (button.dataset.action === 'line') this.#onLine(rule.line);
      else if (button.dataset.action === 'chain') this.#onChain(rule.table, rule.chain);
      else this.#onChain(rule.table, rule.target);
    });
  }

  /** What the list was last drawn from. */
  #drawn = '';

  /**
   * Follows the state: a new dump empties the list, arriving rules are
   * added, a selected chain filters.
   * @param {State} state
   */
  render(state) {
    const run = state.run;
    if (run === null) return;
    const selected = run.selected === null ? '' : `${run.selected.table}/${run.selected.chain}`;
    // The sets' sizes come with the objects, or from an ipset listing.
    const sets = `${run.objects.length}/${state.sets?.name ?? ''}/${state.sets?.byName.size ?? 0}`;
    const order = `${run.sort.key}${run.sort.descending ? '-' : '+'}`;
    // An nft listing's rules have no iptables -L fields.
    const listing = state.columns === 'listing' && run.kind !== 'nftables';
    const key = [run.id, run.rules.length, run.ruleCount, run.chainKeys.size, selected, sets, order, run.query, run.deltas !== null, run.hitWindow, listing].join('|');
    if (key === this.#drawn) return;
    if (!this.#drawn.startsWith(`${run.id}|`)) this.#highlight = -1;
    this.#drawn = key;
    // Typing sets the state, the state the box: they only differ after a
    // new dump, Back or a shared link.
    if (this.#filter.value !== run.query) this.#filter.value = run.query;
    this.#query = run.query;
    this.#sort = run.sort;
    this.#rules = run.rules;
    this.#unit = run.unit;
    this.#listing = listing;
    this.#family = run.family;
    this.#columns.value = state.columns;
    this.#columns.disabled = run.kind === 'nftables';
    this.#viewport.closest('.pane').classList.toggle('listing', listing);
    this.#fallThrough.textContent = fallThrough(run);
    this.#fallThrough.hidden = this.#fallThrough.textContent === '';
    this.#deltas = run.deltas;
    this.#interval = run.interval;
    this.#kept = keptByHits(state);
    // When each rule last counted is known of live rulesets read twice.
    this.#hitWindow.hidden = run.identities === null;
    this.#hitWindow.value = run.hitWindow;
    // The Δ column is there when there is something to compare with.
    this.#viewport.closest('.pane').classList.toggle('rates', run.deltas !== null);
    this.#expected = run.ruleCount;
    this.#chains = run.chainKeys;
    this.#chain = run.selected;
    this.#refresh();
  }

  /** Scrolls to the rule on `line` and marks it; false if no rule is there. */
  reveal(line) {
    const index = ruleIndexAt(this.#rules, line);
    if (index === -1) return false;
    if (!this.#view.includes(index)) {
      // The filter and the chain shown are the state's: the page clears
      // them and draws again.
      if (this.#query !== '') this.#onQuery('');
      if (this.#chain !== null) this.#onChain(null, null);
    }
    this.#highlight = index;
    const position = this.#view.indexOf(index);
    this.#viewport.scrollTop = Math.max(0, position * this.#row - this.#viewport.clientHeight / 2);
    this.paint();
    return true;
  }

  #refresh() {
    const { table, chain } = this.#chain ?? {};
    const search = searchOf(this.#query);
    const text = search.kind === 'text' ? search.text : '';
    const view = [];
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules[i];
      if (this.#chain !== null && (rule.table !== table || rule.chain !== chain)) continue;
      if (!this.#kept(i)) continue;
      if (search.kind !== 'text') {
        if (!ruleHas(search, rule.text)) continue;
      } else if (text !== '') {
        rule.search ??= `${rule.chain} ${rule.target ?? ''} ${rule.text}`.toLowerCase();
        if (!rule.search.includes(text)) continue;
      }
      view.push(i);
    }
    const { key, descending } = this.#sort;
    if (key !== 'line') {
      const deltas = this.#deltas?.packets;
      const value = key === 'delta' ? (i) => deltas?.[i] ?? -1n : (i) => this.#rules[i].counters?.[key] ?? -1n;
      const sign = descending ? -1 : 1;
      // Ties keep input order, whichever way.
      view.sort((a, b) => {
        const x = value(a);
        const y = value(b);
        return x === y ? a - b : (x < y ? -sign : sign);
      });
    } else if (descending) {
      view.reverse();
    }
    this.#view = view;
    for (const button of this.#header.querySelectorAll('button[data-sort]')) {
      if (button.dataset.sort === key) button.dataset.order = descending ? ' ▼' : ' ▲';
      else delete button.dataset.order;
    }
    const loading = this.#rules.length < this.#expected
      ? ` (${count(this.#rules.length)} of ${count(this.#expected)} loaded)` : '';
    const what = search.kind === 'address' ? `; ${this.#query.trim()} in a source or destination`
      : search.kind === 'port' ? `; port ${search.port} in a port match` : '';
    this.#shown.textContent = `${count(view.length)} shown${loading}${what}`;
    this.#canvas.style.height = `${view.length * this.#row}px`;
    this.paint();
  }

  /**
   * Tab from a row's last control (Shift+Tab from its first) goes to the
   * next (previous) rule's, scrolled into view. Left to the browser, it
   * went to the next row element, which scrolling had given to a rule
   * some 25 further on.
   * @param {KeyboardEvent} event
   */
  #tab(event) {
    if (event.key !== 'Tab' || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = /** @type {HTMLElement} */ (event.target);
    const row = /** @type {HTMLElement | null} */ (target.closest('.row'));
    if (row === null) return;
    const stops = controls(row);
    const edge = event.shiftKey ? stops[0] : stops.at(-1);
    if (target !== edge) return;
    const position = Number(row.dataset.position) + (event.shiftKey ? -1 : 1);
    // Past either end, focus leaves the list as the browser would have it.
    if (position < 0 || position >= this.#view.length) return;
    event.preventDefault();
    const top = position * this.#row;
    const viewport = this.#viewport;
    if (top < viewport.scrollTop) viewport.scrollTop = top;
    else if (top + this.#row > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = top + this.#row - viewport.clientHeight;
    this.paint();
    const next = this.#pool.find((r) => !r.hidden && Number(r.dataset.position) === position);
    const nextStops = next ? controls(next) : [];
    (event.shiftKey ? nextStops.at(-1) : nextStops[0])?.focus({ preventScroll: true });
  }

  /** Draws the rows in view. */
  paint() {
    const top = this.#viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / this.#row) - OVERSCAN);
    const last = Math.min(this.#view.length, Math.ceil((top + this.#viewport.clientHeight) / this.#row) + OVERSCAN);
    while (this.#pool.length < last - first) {
      const row = newRow();
      this.#pool.push(row);
      this.#canvas.append(row);
    }
    this.#pool.forEach((row, k) => {
      const position = first + k;
      row.hidden = position >= last;
      if (!row.hidden) this.#fill(row, this.#view[position], position);
    });
  }

  #fill(row, index, position) {
    const rule = this.#rules[index];
    const [line, table, chain, number, packets, bytes, target, sets, text, delta, ...fields] = row.children;
    row.style.transform = `translateY(${position * this.#row}px)`;
    row.dataset.index = index;
    row.dataset.position = position;
    row.dataset.line = rule.line;
    row.classList.toggle('highlight', index === this.#highlight);
    line.firstChild.textContent = rule.line;
    table.textContent = rule.table;
    chain.firstChild.textContent = rule.chain;
    number.textContent = rule.position;
    counter(packets, rule.counters?.packets);
    counter(bytes, rule.counters?.bytes);
    const jump = target.firstChild;
    jump.textContent = rule.target === undefined ? '' : `${rule.goto ? 'goto ' : ''}${rule.target}`;
    jump.disabled = !this.#chains.has(`${rule.table}/${rule.target}`);
    sets.replaceChildren(...rule.sets.map((name) => this.#setButton(rule.table, name)));
    this.#delta(delta, index);
    if (this.#listing) {
      rule.fields ??= fieldsOf(rule.text, this.#family);
      const laid = rule.fields;
      ['prot', 'opt', 'in', 'out', 'source', 'destination'].forEach((name, k) => { fields[k].textContent = laid[name]; });
    }
    text.firstChild.textContent = this.#listing ? rule.fields.rest : rule.text;
    text.firstChild.title = `${rule.text}\n(opens its ${this.#unit} in context)`;
  }

  /**
   * What the rule counted since the baseline: packets, per second when
   * both were read live, and its share of its chain's.
   * @param {HTMLElement} cell
   * @param {number} index
   */
  #delta(cell, index) {
    const packets = this.#deltas?.packets[index];
    if (packets === null || packets === undefined) {
      cell.textContent = this.#deltas === null ? '' : 'new';
      cell.title = this.#deltas === null ? '' : 'not in the ruleset compared with, or without counters';
      delete cell.dataset.value;
      return;
    }
    const share = this.#deltas?.share[index];
    const perSecond = this.#interval === null ? null : Number(packets) / this.#interval;
    const rate = perSecond === null ? '' : ` ${perSecond < 10 ? perSecond.toFixed(1) : scaled(Math.round(perSecond))}/s`;
    cell.textContent = packets < 0n ? 'reset' : `+${scaled(packets)}${rate}${share ? ` ${Math.round(share * 100)}%` : ''}`;
    cell.title = packets < 0n
      ? 'its counters went down: the rule was replaced or zeroed'
      : `${count(packets)} packets, ${count(this.#deltas?.bytes[index] ?? 0n)} bytes since`
        + `${this.#interval === null ? ' the dump compared with' : ` ${this.#interval.toFixed(0)} s before`}`
        + `${share === null || share === undefined ? '' : `; ${(share * 100).toFixed(1)}% of what its chain's rules counted`}`;
    cell.dataset.value = String(packets);
  }

  /**
   * A set the rule matches against, with its size where it is known.
   * @param {string} table
   * @param {string} name
   */
  #setButton(table, name) {
    const { text, title, known } = this.#setLabel(table, name);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = known ? 'link set' : 'link set unknown';
    button.dataset.action = 'set';
    button.dataset.set = name;
    button.textContent = text;
    button.title = title;
    return button;
  }
}

/**
 * Where a packet goes that no rule of the chain shown ends: a built-in
 * chain's policy (with its counters), an nft base chain's, or back to the
 * chain that jumped. '' when no chain is shown.
 * @param {import('../state.js').Run} run
 */
function fallThrough(run) {
  const selected = run.selected;
  if (selected === null) return '';
  const chain = run.tables.find((t) => t.name === selected.table)?.chains.find((c) => c.name === selected.chain);
  if (chain === undefined) return '';
  const policies = policyCounters(chain.policies).filter((p) => p.name !== '-');
  if (policies.length > 0) {
    return `↳ falls through to the policy ${policies.map((p) => `${p.name} (${count(p.packets)} packets, ${count(p.bytes)} bytes)`).join('; ')}`;
  }
  const named = chain.policies.find((p) => p.name !== '-');
  if (named !== undefined) return `↳ falls through to the policy ${named.name}`;
  if (chain.base !== undefined) return `↳ falls through to the base chain's policy (${chain.base})`;
  const callers = run.edgesTo.get(`${selected.table}/${selected.chain}`)?.length ?? 0;
  return `↳ returns to the chain that jumped here (${plural(callers, 'rule')} jump or go here)`;
}

/**
 * A counter cell: scaled to fit, the exact value on hover and in
 * `data-value`.
 * @param {HTMLElement} cell
 * @param {bigint | undefined} value
 */
function counter(cell, value) {
  if (value === undefined) {
    cell.textContent = '';
    cell.title = '';
    delete cell.dataset.value;
    return;
  }
  cell.textContent = scaled(value);
  cell.title = count(value);
  cell.dataset.value = String(value);
}

/**
 * A row's controls that Tab stops at, in order.
 * @param {Element} row
 * @returns {HTMLElement[]}
 */
function controls(row) {
  /** @type {HTMLElement[]} */
  const buttons = [...row.querySelectorAll('button:not([disabled])')].filter((b) => b instanceof HTMLElement);
  return buttons.filter((b) => b.offsetParent !== null);
}

function newRow() {
  const row = document.createElement('div');
  row.className = 'row';
  const cell = (className, action) => {
    const span = document.createElement('span');
    if (className) span.className = className;
    if (action) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.dataset.action = action;
      span.append(button);
    }
    return span;
  };
    // The rule's text opens its line in context, as its number does: there
  // it is whole and wrapped.
  // The Δ cell comes last, so the others keep their places; CSS shows it
  // beside the counters, and only while there is a baseline.
  row.append(cell('', 'line'), cell(''), cell('', 'chain'), cell(''), cell('num'), cell('num'), cell('', 'target'), cell('sets'), cell('text', 'line'), cell('num delta'));
  // iptables -L's columns, drawn only in that layout.
  for (const name of ['prot', 'opt', 'in', 'out', 'source', 'destination']) row.append(cell(`field ${name}`));
  return row;
}
