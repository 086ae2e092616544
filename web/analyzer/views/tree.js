// @ts-check
// The tree of tables and chains, with the selected chain's filter chip and
// jump links, an nft listing's named objects (sets with their sizes,
// counters, quotas) under their tables, and the ipsets loaded, first.
// A rule's set link marks its set here. A kube-proxy nat table has tens of
// thousands of chains: the tables are drawn as they arrive, each listing
// its first chains (all on asking), and only the lists are drawn again,
// when the chain search changes. Typing a chain's first letters in the
// tree moves focus to it.
import { $, element } from '../dom.js';
import { count, plural, policyCounters, unique } from '../model.js';

/** @typedef {import('../state.js').State} State */
/** @typedef {import('../state.js').Run} Run */
/** @typedef {import('../state.js').Table} Table */
/** @typedef {import('../state.js').Chain} Chain */
/** @typedef {import('../state.js').NamedObject} NamedObject */

/** Chains listed per table before a "show all" button. */
const CHAINS_SHOWN = 300;
/** Chains drawn per animation frame once all were asked for. */
const CHAINS_PER_FRAME = 1000;
/** Jump links listed each way. */
const LINKS_SHOWN = 50;

export class TreeView {
  /** @type {(table: string, chain: string | null) => void} */
  #onChain;
  #runId = 0;
  #tablesDrawn = 0;
  #objectsDrawn = false;
  /** What the ipsets section was drawn from. */
  #setsKey = '';
  /** What the chip and links were drawn for. */
  #linksKey = '';
  /** Each table's chain list, to draw again for a search. */
  /** @type {Map<string, {table: Table, list: HTMLElement, more: HTMLElement, all: boolean, drawing: number}>} */
  #lists = new Map();
  /** The chain search the lists were drawn for. */
  #query = '';
  /** What has been typed in the tree to find a chain, and when. */
  #typed = { text: '', at: 0 };

  /** @param {{onChain: (table: string, chain: string | null) => void, onSearch: (query: string) => void}} handlers */
  constructor({ onChain, onSearch }) {
    this.#onChain = onChain;
    $('tree-search').addEventListener('input', () => onSearch($('tree-search').value));
    $('tree').addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => this.#typeToFind(event));
  }

  /**
   * Focus moves to the first chain listed whose name starts with what was
   * typed; a pause of a second starts again.
   * @param {KeyboardEvent} event
   */
  #typeToFind(event) {
    if (event.key.length !== 1 || event.key === ' ' || event.ctrlKey || event.metaKey || event.altKey) return;
    const now = performance.now();
    const text = (now - this.#typed.at > 1000 ? '' : this.#typed.text) + event.key.toLowerCase();
    this.#typed = { text, at: now };
    const found = [...$('tree').querySelectorAll('li[data-chain]')]
      .find((li) => li instanceof HTMLElement && (li.dataset.chain ?? '').toLowerCase().startsWith(text));
    if (found === undefined) return;
    event.preventDefault();
    found.querySelector('button')?.focus();
    found.scrollIntoView({ block: 'nearest' });
  }

  /** @param {State} state */
  render(state) {
    const run = state.run;
    if (run === null) return;
    if (run.id !== this.#runId) {
      this.#runId = run.id;
      this.#tablesDrawn = 0;
      this.#objectsDrawn = false;
      this.#linksKey = '';
      this.#setsKey = '';
      // Batches still drawing for the dump before stop.
      for (const entry of this.#lists.values()) entry.drawing++;
      this.#lists.clear();
      this.#query = run.chainQuery;
      $('tree').replaceChildren();
    }
    if ($('tree-search').value !== run.chainQuery) $('tree-search').value = run.chainQuery;
    if (run.chainQuery !== this.#query) {
      this.#query = run.chainQuery;
      for (const entry of this.#lists.values()) this.#fill(entry);
    }
    this.#ipsets(state);
    for (const table of run.tables.slice(this.#tablesDrawn)) $('tree').append(this.#table(table));
    this.#tablesDrawn = run.tables.length;
    // The objects come with the jumps, after every table.
    if (run.treeComplete && !this.#objectsDrawn) {
      this.#objectsDrawn = true;
      this.#objects(run.objects);
    }
    this.#links(run);
  }

  /**
   * The ipsets loaded (live, or an `ipset list` output dropped), above the
   * tables: each with its entries of what it can hold.
   * @param {State} state
   */
  #ipsets(state) {
    const sets = state.sets;
    const key = sets === null ? '' : `${sets.name}|${sets.byName.size}`;
    if (key === this.#setsKey) return;
    this.#setsKey = key;
    $('tree').querySelector('section.ipsets')?.remove();
    if (sets === null) return;
    const section = element('section', { className: 'ipsets' });
    section.append(
      element('h3', { textContent: 'ipsets ' }, element('span', { className: 'meta', textContent: `${plural(sets.byName.size, 'set')} from ${sets.name}` })),
      element('ul', {}, ...[...sets.byName.values()].map((set) => {
        const item = element('li');
        item.dataset.set = set.name;
        const size = set.entries === undefined ? '?' : count(set.entries);
        const of = set.maxEntries === undefined ? '' : ` of ${count(set.maxEntries)}`;
        item.append(
          element('span', { textContent: set.name }),
          element('span', { className: 'meta', textContent: `${set.kind} · ${size}${of} entries · ${plural(Number(set.references), 'reference')}` }),
        );
        return item;
      })),
    );
    $('tree').prepend(section);
  }

  /**
   * Marks the set a rule's link names, and scrolls to it: a named set or
   * map of the rule's nft table, else an ipset loaded. False when neither
   * is on screen.
   * @param {string} table
   * @param {string} name
   */
  revealSet(table, name) {
    for (const item of $('tree').querySelectorAll('li.set-selected')) item.classList.remove('set-selected');
    const nft = $('tree').querySelector(`section.table[data-table="${CSS.escape(table)}"] ul.objects li[data-name="${CSS.escape(name)}"]`);
    const item = nft ?? $('tree').querySelector(`section.ipsets li[data-set="${CSS.escape(name)}"]`);
    if (item === null) return false;
    item.classList.add('set-selected');
    item.scrollIntoView({ block: 'nearest' });
    return true;
  }

  /**
   * Each table's named objects, under its chains.
   * @param {NamedObject[]} objects
   */
  #objects(objects) {
    for (const section of $('tree').querySelectorAll('section.table')) {
      if (!(section instanceof HTMLElement)) continue;
      const own = objects.filter((o) => o.table === section.dataset.table);
      if (own.length === 0) continue;
      section.append(
        element('h4', { textContent: plural(own.length, 'named object') }),
        element('ul', { className: 'objects' }, ...own.map((o) => this.#object(o))),
      );
    }
  }

  /** @param {NamedObject} object */
  #object(object) {
    const item = element('li');
    Object.assign(item.dataset, {
      kind: object.kind,
      name: object.name,
      elements: object.elements === undefined ? '' : String(object.elements),
    });
    item.append(
      element('span', { textContent: `${object.kind} ${object.name}` }),
      element('span', { className: 'meta', textContent: objectMeta(object) }),
    );
    return item;
  }

  /** @param {Table} table */
  #table(table) {
    const section = element('section', { className: 'table' });
    section.dataset.table = table.name;
    const rulesIn = table.chains.reduce((n, c) => n + c.rules, 0);
    section.append(element('h3', { textContent: `${table.name} ` },
      element('span', { className: 'meta', textContent: `${plural(table.chains.length, 'chain')}, ${plural(rulesIn, 'rule')}` })));
    const entry = { table, list: element('ul'), more: element('div', { className: 'more' }), all: false, drawing: 0 };
    this.#lists.set(table.name, entry);
    this.#fill(entry);
    section.append(entry.list, entry.more);
    return section;
  }

  /**
   * A table's chain list: those the search finds (all when it is empty),
   * the first [`CHAINS_SHOWN`] unless all were asked for, and what was
   * left out.
   * @param {{table: Table, list: HTMLElement, more: HTMLElement, all: boolean, drawing: number}} entry
   */
  #fill(entry) {
    const { table } = entry;
    const query = this.#query.trim().toLowerCase();
    const found = query === '' ? table.chains : table.chains.filter((c) => c.name.toLowerCase().includes(query));
    const shown = entry.all ? found : found.slice(0, CHAINS_SHOWN);
    entry.list.replaceChildren(...shown.slice(0, CHAINS_SHOWN).map((c) => this.#chain(table, c)));
    // All 36k chains of a kube-proxy nat table at once held the page for
    // 2 s: the rest come a batch a frame, until the list is drawn again.
    const drawing = ++entry.drawing;
    /** @param {number} from */
    const more = (from) => {
      if (from >= shown.length || entry.drawing !== drawing) return;
      entry.list.append(...shown.slice(from, from + CHAINS_PER_FRAME).map((c) => this.#chain(table, c)));
      requestAnimationFrame(() => more(from + CHAINS_PER_FRAME));
    };
    more(CHAINS_SHOWN);
    if (found.length === 0) {
      entry.more.replaceChildren(element('span', { className: 'meta', textContent: `no chain has "${query}"` }));
    } else if (shown.length < found.length) {
      const all = element('button', { type: 'button', className: 'link', textContent: `show all ${count(found.length)} chains${query ? ' found' : ''}` });
      all.onclick = () => { entry.all = true; this.#fill(entry); };
      entry.more.replaceChildren(all);
    } else {
      entry.more.replaceChildren();
    }
  }

  /**
   * @param {Table} table
   * @param {Chain} chain
   */
  #chain(table, chain) {
    const item = element('li');
    const counted = policyCounters(chain.policies);
    const policy = [...new Set(chain.policies.map((p) => p.name))].join(', ') || '-';
    Object.assign(item.dataset, {
      table: table.name,
      chain: chain.name,
      rules: chain.rules,
      policy,
      counters: counted.map((p) => `${p.name}:${p.packets}:${p.bytes}`).join(','),
    });
    if (this.#linksKey.startsWith(`${table.name}/${chain.name}|`)) item.classList.add('selected');
    const name = element('button', { type: 'button', className: 'link', textContent: chain.name });
    name.onclick = () => this.#onChain(table.name, chain.name);
    // A user chain's `-` says nothing a reader needs.
    const counters = counted.map((p) => ` · ${p.name === '-' ? '' : `${p.name} `}${count(p.packets)} packets, ${count(p.bytes)} bytes`);
    // An nft base chain says where it hooks in.
    const base = chain.base === undefined ? '' : ` · ${chain.base}`;
    item.append(
      name,
      element('span', { className: `policy ${policy}`, textContent: policy }),
      element('span', { className: 'meta', textContent: `${plural(chain.rules, 'rule')}${counters.join('')}${base}` }),
    );
    return item;
  }

  /**
   * The selected chain: marked in the tree, its chip, what jumps to it and
   * what it jumps to (once the jumps have come).
   * @param {Run} run
   */
  #links(run) {
    const selected = run.selected;
    const key = selected === null ? '' : `${selected.table}/${selected.chain}|${run.treeComplete}`;
    if (key === this.#linksKey) return;
    this.#linksKey = key;
    for (const item of $('tree').querySelectorAll('li.selected')) item.classList.remove('selected');
    const chip = $('chain-filter');
    const links = $('chain-links');
    chip.hidden = links.hidden = selected === null;
    if (selected === null) return;
    const { table, chain } = selected;
    $('tree').querySelector(`li[data-table="${CSS.escape(table)}"][data-chain="${CSS.escape(chain)}"]`)?.classList.add('selected');
    const clear = element('button', { type: 'button', className: 'chip', textContent: `chain ${table}/${chain} ×` });
    clear.onclick = () => this.#onChain(table, null);
    chip.replaceChildren(clear);
    const from = run.edgesTo.get(`${table}/${chain}`) ?? [];
    const to = unique(run.edgesFrom.get(`${table}/${chain}`) ?? [], (e) => e.toChain);
    links.replaceChildren(
      element('span', { textContent: from.length ? 'Reached from: ' : 'Nothing jumps here. ' }),
      ...from.slice(0, LINKS_SHOWN).map((e) => this.#jump(table, e.fromChain, `${e.fromChain} (${run.unit} ${e.line}${e.goto ? ', goto' : ''})`)),
      ...leftOut(from.length),
      element('span', { textContent: to.length ? ' Jumps to: ' : '' }),
      ...to.slice(0, LINKS_SHOWN).map((e) => this.#jump(table, e.toChain, e.toChain)),
      ...leftOut(to.length),
    );
  }

  /**
   * @param {string} table
   * @param {string} chain
   * @param {string} text
   */
  #jump(table, chain, text) {
    const link = element('button', { type: 'button', className: 'link', textContent: text });
    link.onclick = () => this.#onChain(table, chain);
    return link;
  }
}

/**
 * What a jump list cut at [`LINKS_SHOWN`] says of the rest: never cut
 * silently (KUBE-SERVICES is reached from thousands of rules).
 * @param {number} total
 */
function leftOut(total) {
  if (total <= LINKS_SHOWN) return [];
  return [element('span', { className: 'left-out', textContent: ` and ${count(total - LINKS_SHOWN)} more` })];
}

/**
 * What the tree says of a named object: a set's elements (of its size), a
 * counter's values, a quota's use.
 * @param {NamedObject} object
 */
function objectMeta(object) {
  if (object.counters !== undefined) {
    return `${count(object.counters.packets)} packets, ${count(object.counters.bytes)} bytes`;
  }
  if (object.quotaLimit !== undefined) {
    return `${count(object.quotaUsed ?? 0n)} of ${count(object.quotaLimit)} bytes used`;
  }
  if (object.elements === undefined) return 'elements not listed';
  const of = object.maxElements === undefined ? '' : ` of ${count(object.maxElements)}`;
  return `${plural(Number(object.elements), 'element')}${of}`;
}
