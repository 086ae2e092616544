// @ts-check
// The rule list: every rule of the dump, filtered by chain and text,
// sorted by line, packets or bytes, and virtualised: only the rows in view
// (and a few either side) exist in the DOM, reused as it scrolls, so 100k
// rules scroll as smoothly as ten. The rules are the state's own array;
// what only the list needs (the filter text, the sort, the scroll) stays
// here.
import { count, scaled } from '../model.js';

/** @typedef {import('../state.js').State} State */

/** Row height in pixels; the same as `--row` in analyzer.css. */
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
  #sort = { key: 'line', descending: false };
  #pool = [];
  #highlight = -1;

  constructor(viewport, canvas, { filter, header, shown, onLine, onChain, onSet, setLabel }) {
    this.#viewport = viewport;
    this.#canvas = canvas;
    this.#filter = filter;
    this.#shown = shown;
    this.#header = header;
    this.#onLine = onLine;
    this.#onChain = onChain;
    this.#onSet = onSet;
    this.#setLabel = setLabel;
    viewport.addEventListener('scroll', () => this.paint(), { passive: true });
    new ResizeObserver(() => this.paint()).observe(viewport);
    filter.addEventListener('input', () => {
      this.#query = filter.value.trim().toLowerCase();
      this.#refresh();
    });
    header.addEventListener('click', (event) => {
      const key = event.target.closest('button[data-sort]')?.dataset.sort;
      if (key === undefined) return;
      // Counters first from the largest, lines from the first.
      const descending = this.#sort.key === key ? !this.#sort.descending : key !== 'line';
      this.#sort = { key, descending };
      this.#refresh();
    });
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
    const key = [run.id, run.rules.length, run.ruleCount, run.chainKeys.size, selected, sets].join('|');
    if (key === this.#drawn) return;
    if (!this.#drawn.startsWith(`${run.id}|`)) {
      this.#query = '';
      this.#filter.value = '';
      this.#highlight = -1;
    }
    this.#drawn = key;
    this.#rules = run.rules;
    this.#expected = run.ruleCount;
    this.#chains = run.chainKeys;
    this.#chain = run.selected;
    this.#refresh();
  }

  /** Scrolls to the rule on `line` and marks it; false if no rule is there. */
  reveal(line) {
    const index = this.#indexOfLine(line);
    if (index === -1) return false;
    if (!this.#view.includes(index)) {
      this.#query = '';
      this.#filter.value = '';
      // The chain shown is the state's: the page clears it and draws again.
      if (this.#chain !== null) this.#onChain(null, null);
      this.#refresh();
    }
    this.#highlight = index;
    const position = this.#view.indexOf(index);
    this.#viewport.scrollTop = Math.max(0, position * ROW - this.#viewport.clientHeight / 2);
    this.paint();
    return true;
  }

  #indexOfLine(line) {
    let low = 0;
    let high = this.#rules.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const at = this.#rules[middle].line;
      if (at === line) return middle;
      if (at < line) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  #refresh() {
    const { table, chain } = this.#chain ?? {};
    const query = this.#query;
    const view = [];
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules[i];
      if (this.#chain !== null && (rule.table !== table || rule.chain !== chain)) continue;
      if (query !== '') {
        rule.search ??= `${rule.chain} ${rule.target ?? ''} ${rule.text}`.toLowerCase();
        if (!rule.search.includes(query)) continue;
      }
      view.push(i);
    }
    const { key, descending } = this.#sort;
    if (key !== 'line') {
      const value = (i) => this.#rules[i].counters?.[key] ?? -1n;
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
    this.#shown.textContent = `${count(view.length)} shown${loading}`;
    this.#canvas.style.height = `${view.length * ROW}px`;
    this.paint();
  }

  /** Draws the rows in view. */
  paint() {
    const top = this.#viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.#view.length, Math.ceil((top + this.#viewport.clientHeight) / ROW) + OVERSCAN);
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
    const [line, table, chain, number, packets, bytes, target, sets, text] = row.children;
    row.style.transform = `translateY(${position * ROW}px)`;
    row.dataset.index = index;
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
    text.textContent = rule.text;
    text.title = rule.text;
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
  row.append(cell('', 'line'), cell(''), cell('', 'chain'), cell(''), cell('num'), cell('num'), cell('', 'target'), cell('sets'), cell('text'));
  return row;
}
