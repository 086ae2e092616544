// @ts-check
// The diff pane: the dump on screen against its baseline (a dump chosen
// to compare with, or the live snapshot before a refresh): chains added
// and removed, then every rule added, removed, moved or counting, by
// chain, with a chip per kind to keep only some. Computed once per dump
// and baseline (diff.js), when the pane is shown (a live refresh of 100k
// rules does not pay for it otherwise), from the rules' pairing the state
// made for the Δ column; drawn a thousand changes at a time.
import { $, element } from '../dom.js';
import { diffRulesets } from '../diff.js';
import { count, plural, scaled } from '../model.js';

/** @typedef {import('../state.js').State} State */
/** @typedef {import('../diff.js').Change} Change */
/** @typedef {import('../diff.js').Diff} Diff */

/** Changes listed at first, and added by each "show more". */
const CHANGES_SHOWN = 1000;
/** What each kind of change is called, in the order of the chips. */
const KINDS = /** @type {const} */ ([
  ['added', 'added'],
  ['removed', 'removed'],
  ['moved', 'moved'],
  ['counted', 'counted'],
  ['reset', 'counters reset'],
]);

export class DiffView {
  /** @type {(line: number) => void} */
  #onLine;
  #drawn = '';
  /** @type {{key: string, diff: Diff, ms: number} | null} */
  #computed = null;
  /** @type {Set<string>} kinds kept (all when empty) */
  #kinds = new Set();
  #shown = CHANGES_SHOWN;

  /**
   * @param {{onLine: (line: number) => void, onCompare: (file: File) => void}} handlers
   */
  constructor({ onLine, onCompare }) {
    this.#onLine = onLine;
    $('compare-file').onchange = () => {
      const file = $('compare-file').files[0];
      if (file) onCompare(file);
      $('compare-file').value = '';
    };
    $('more-changes').onclick = () => {
      this.#shown += CHANGES_SHOWN;
      this.#draw();
    };
  }

  /** @param {State} state */
  render(state) {
    if (state.pane !== 'diff') return;
    const run = state.run;
    const baseline = run?.baseline ?? null;
    const complete = run !== null && run.totalMs !== null && run.error === null;
    const key = run === null ? '' : `${run.id}|${baseline?.name ?? ''}|${baseline?.rules.length ?? -1}|${complete}|${run.baselineError ?? ''}`;
    if (key === this.#drawn) return;
    if (!this.#drawn.startsWith(`${run?.id}|`)) {
      this.#kinds.clear();
      this.#shown = CHANGES_SHOWN;
    }
    this.#drawn = key;
    this.#computed = null;
    if (run === null || baseline === null || !complete) {
      $('diff-summary').textContent = run?.baselineError
        ?? (baseline === null
          ? 'Compare the dump on screen with another (the one before a change, another node\'s); with the live rulesets refreshing, each reading is compared with the one before.'
          : 'reading…');
      delete $('diff-summary').dataset.diffMs;
      $('diff-kinds').replaceChildren();
      $('diff-changes').replaceChildren();
      $('more-changes').hidden = true;
      return;
    }
    const started = performance.now();
    const diff = diffRulesets(baseline, run, run.match ?? undefined);
    this.#computed = { key, diff, ms: performance.now() - started };
    this.#draw();
  }

  /** The summary, the chips and the changes kept. */
  #draw() {
    const computed = this.#computed;
    if (computed === null) return;
    const { diff, ms } = computed;
    const summary = $('diff-summary');
    const chains = [
      diff.chainsAdded.length ? `${plural(diff.chainsAdded.length, 'chain')} added (${names(diff.chainsAdded)})` : '',
      diff.chainsRemoved.length ? `${plural(diff.chainsRemoved.length, 'chain')} removed (${names(diff.chainsRemoved)})` : '',
    ].filter(Boolean);
    summary.textContent = `${diff.changes.length === 0 && chains.length === 0 ? 'No change' : [...chains, plural(diff.changes.length, 'rule change')].join('; ')}`
      + `, compared in ${ms.toFixed(0)} ms`;
    summary.dataset.diffMs = ms.toFixed(0);
    Object.assign(summary.dataset, diff.counts, { chainsAdded: diff.chainsAdded.length, chainsRemoved: diff.chainsRemoved.length });
    $('diff-kinds').replaceChildren(...KINDS.filter(([kind]) => diff.counts[kind] > 0).map(([kind, name]) => {
      const chip = element('button', { type: 'button', className: 'chip', textContent: `${name} ${count(diff.counts[kind])}` });
      chip.dataset.kind = kind;
      chip.setAttribute('aria-pressed', String(this.#kinds.has(kind)));
      chip.onclick = () => {
        if (!this.#kinds.delete(kind)) this.#kinds.add(kind);
        this.#shown = CHANGES_SHOWN;
        this.#draw();
      };
      return chip;
    }));
    const kept = this.#kinds.size === 0 ? diff.changes : diff.changes.filter((c) => this.#kinds.has(c.kind));
    $('diff-changes').replaceChildren(...kept.slice(0, this.#shown).map((c) => this.#change(c)));
    const more = $('more-changes');
    more.hidden = kept.length <= this.#shown;
    more.textContent = `Show more (${count(kept.length - this.#shown)} not shown)`;
  }

  /** @param {Change} c */
  #change(c) {
    const item = element('li', { className: c.kind });
    Object.assign(item.dataset, { kind: c.kind, chain: c.chain, line: c.line ?? '', beforeLine: c.beforeLine ?? '' });
    const where = c.kind === 'removed' ? `was #${c.beforePosition} (line ${c.beforeLine})`
      : c.kind === 'added' ? `#${c.position}`
        : `#${c.position}${c.position === c.beforePosition ? '' : `, was #${c.beforePosition}`}`;
    const delta = c.packets === null ? '' : c.packets < 0n ? 'reset' : `+${scaled(c.packets)} packets, +${scaled(c.bytes ?? 0n)} bytes`;
    const text = c.line === null
      ? element('code', { className: 'rule', textContent: c.text, title: c.text })
      : element('button', { type: 'button', className: 'link rule', textContent: c.text, title: `${c.text}\n(opens its line in context)` });
    if (c.line !== null) text.onclick = () => this.#onLine(/** @type {number} */ (c.line));
    item.append(
      element('span', { className: 'kind', textContent: c.kind === 'reset' ? 'reset' : c.kind }),
      text,
      element('span', { className: 'delta', textContent: delta, title: c.packets === null ? '' : `${count(c.packets)} packets, ${count(c.bytes ?? 0n)} bytes` }),
      element('span', { className: 'where', textContent: `${c.table}/${c.chain} ${where}` }),
    );
    return item;
  }
}

/**
 * The first few chains of a list, and how many more.
 * @param {{table: string, chain: string}[]} chains
 */
function names(chains) {
  const shown = chains.slice(0, 5).map((c) => `${c.table}/${c.chain}`).join(', ');
  return chains.length > 5 ? `${shown} and ${count(chains.length - 5)} more` : shown;
}
