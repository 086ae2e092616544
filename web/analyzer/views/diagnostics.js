// @ts-check
// The diagnostics pane: a chip per code (pressed ones filter), the
// diagnostics kept, each linking to its line, and "show more". Drawn from
// the state every time something it shows changed, so a dump with no
// diagnostics empties what the dump before it listed.
import { $, element } from '../dom.js';
import { codeCounts, count, withCodes } from '../model.js';

/** @typedef {import('../state.js').State} State */
/** @typedef {import('../state.js').Diagnostic} Diagnostic */

export class DiagnosticsView {
  /** @type {(code: string) => void} */
  #onCode;
  /** @type {(line: number, column: number) => void} */
  #onLine;
  #drawn = '';

  /**
   * @param {{onCode: (code: string) => void, onLine: (line: number, column: number) => void, onMore: () => void}} handlers
   */
  constructor({ onCode, onLine, onMore }) {
    this.#onCode = onCode;
    this.#onLine = onLine;
    $('more-diagnostics').onclick = onMore;
  }

  /** @param {State} state */
  render(state) {
    const run = state.run;
    const key = run === null ? '' : [run.id, run.treeComplete, run.diagnostics.length, [...run.codes].join(','), run.diagnosticsShown].join('|');
    if (key === this.#drawn) return;
    this.#drawn = key;
    const diagnostics = run?.diagnostics ?? [];
    const codes = run?.codes ?? new Set();
    const shown = run?.diagnosticsShown ?? 0;
    $('diagnostics-count').textContent = run?.treeComplete ? `(${count(run.diagnosticCount)})` : '';
    $('diagnostic-codes').replaceChildren(...codeCounts(diagnostics).map(([code, n]) => {
      const chip = element('button', { type: 'button', className: 'chip', textContent: `${code} ${count(n)}` });
      chip.dataset.code = code;
      chip.setAttribute('aria-pressed', String(codes.has(code)));
      chip.onclick = () => this.#onCode(code);
      return chip;
    }));
    const wanted = withCodes(diagnostics, codes);
    const unit = run?.unit ?? 'line';
    $('diagnostics').replaceChildren(...wanted.slice(0, shown).map((d) => this.#diagnostic(d, unit)));
    const more = $('more-diagnostics');
    more.hidden = wanted.length <= shown;
    more.textContent = `Show more (${count(wanted.length - shown)} not shown)`;
  }

  /**
   * @param {Diagnostic} d
   * @param {'line' | 'item'} unit
   */
  #diagnostic(d, unit) {
    const item = element('li', { className: `sev-${d.severity}` });
    Object.assign(item.dataset, { code: d.code, line: d.line, severity: d.severity });
    const where = d.line === 0
      ? element('span', { textContent: 'whole dump' })
      : element('button', { type: 'button', className: 'link', textContent: unit === 'item' ? `item ${d.line}` : `line ${d.line}:${d.column}` });
    if (d.line !== 0) where.onclick = () => this.#onLine(d.line, d.column);
    item.append(
      element('span', { className: 'severity', textContent: d.severity }),
      where,
      element('code', { textContent: d.code }),
      element('span', { textContent: d.message }),
    );
    return item;
  }
}
