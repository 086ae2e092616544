// @ts-check
// The findings pane: a chip per code (pressed ones filter), the
// diagnostics kept, errors first, each with the chain and text of its rule
// and linking to its line, "show more", and the kept ones exported as CSV
// or JSON. Drawn from the state every time something it shows changed, so
// a dump with no diagnostics empties what the dump before it listed.
import { $, element, saveFile } from '../dom.js';
import { codeCounts, count, fileNameFor, findings, findingsCsv, findingsJson, FINDING_NAMES, withCodes } from '../model.js';

/** @typedef {import('../state.js').State} State */
/** @typedef {import('../model.js').Finding} Finding */

export class DiagnosticsView {
  /** @type {(code: string) => void} */
  #onCode;
  /** @type {(line: number, column: number) => void} */
  #onLine;
  #drawn = '';
  /** The findings kept by the chips, all of them: what an export saves. */
  /** @type {Finding[]} */
  #kept = [];
  #dumpName = '';

  /**
   * @param {{onCode: (code: string) => void, onLine: (line: number, column: number) => void, onMore: () => void}} handlers
   */
  constructor({ onCode, onLine, onMore }) {
    this.#onCode = onCode;
    this.#onLine = onLine;
    $('more-diagnostics').onclick = onMore;
    $('export-csv').onclick = () => saveFile(fileNameFor(this.#dumpName, '.findings.csv'), findingsCsv(this.#kept), 'text/csv');
    $('export-json').onclick = () => saveFile(fileNameFor(this.#dumpName, '.findings.json'), findingsJson(this.#dumpName, this.#kept), 'application/json');
  }

  /** @param {State} state */
  render(state) {
    const run = state.run;
    const key = run === null ? '' : [run.id, run.treeComplete, run.diagnostics.length, run.rules.length, [...run.codes].join(','), run.diagnosticsShown].join('|');
    if (key === this.#drawn) return;
    this.#drawn = key;
    const diagnostics = run?.diagnostics ?? [];
    const codes = run?.codes ?? new Set();
    const shown = run?.diagnosticsShown ?? 0;
    $('diagnostics-count').textContent = run?.treeComplete ? `(${count(run.diagnosticCount)})` : '';
    // Sorted once; the chips follow the same order (errors' codes first).
    const all = findings(diagnostics, run?.rules ?? []);
    $('diagnostic-codes').replaceChildren(...codeCounts(all).map(([code, n]) => {
      const name = FINDING_NAMES[code];
      const chip = element('button', { type: 'button', className: 'chip', textContent: `${name ? `${name}: ` : ''}${code} ${count(n)}` });
      chip.dataset.code = code;
      chip.setAttribute('aria-pressed', String(codes.has(code)));
      chip.onclick = () => this.#onCode(code);
      return chip;
    }));
    this.#kept = withCodes(all, codes);
    this.#dumpName = run?.name ?? '';
    $('export-csv').disabled = $('export-json').disabled = this.#kept.length === 0;
    const unit = run?.unit ?? 'line';
    $('diagnostics').replaceChildren(...this.#kept.slice(0, shown).map((f) => this.#finding(f, unit)));
    const more = $('more-diagnostics');
    more.hidden = this.#kept.length <= shown;
    more.textContent = `Show more (${count(this.#kept.length - shown)} not shown)`;
  }

  /**
   * @param {Finding} f
   * @param {'line' | 'item'} unit
   */
  #finding(f, unit) {
    const item = element('li', { className: `sev-${f.severity}` });
    Object.assign(item.dataset, { code: f.code, line: f.line, severity: f.severity, chain: f.chain });
    const where = f.line === 0
      ? element('span', { textContent: 'whole dump' })
      : element('button', { type: 'button', className: 'link', textContent: unit === 'item' ? `item ${f.line}` : `line ${f.line}:${f.column}` });
    if (f.line !== 0) where.onclick = () => this.#onLine(f.line, f.column);
    item.append(
      element('span', { className: 'severity', textContent: f.severity }),
      where,
      element('code', { textContent: f.code }),
      element('span', { className: 'message', textContent: f.message }),
    );
    if (f.chain !== '') {
      item.append(
        element('span', { className: 'chain', textContent: `${f.table}/${f.chain}` }),
        element('code', { className: 'rule', textContent: f.rule, title: f.rule }),
      );
    }
    return item;
  }
}
