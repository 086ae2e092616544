// @ts-check
// The dump's own lines around the one asked for (a parse error, a
// diagnostic, a rule's line), the column marked with a caret.
import { $, element } from '../dom.js';
import { lineStarts, linesAround } from '../model.js';

/** @typedef {import('../state.js').State} State */

/** Lines shown either side of the line asked for. */
const CONTEXT = 4;

export class SourceView {
  #drawn = '';
  /** The line starts of the dump they were counted for. */
  #starts = { bytes: /** @type {Uint8Array} */ (new Uint8Array()), starts: new Uint32Array() };

  /** @param {{onClose: () => void}} handlers */
  constructor({ onClose }) {
    $('source-close').onclick = onClose;
  }

  /** @param {State} state */
  render(state) {
    const run = state.run;
    const at = run?.source ?? null;
    const key = run === null || at === null ? '' : `${run.id}|${at.line}|${at.column}`;
    if (key === this.#drawn) return;
    this.#drawn = key;
    $('source-view').hidden = key === '';
    if (run === null || at === null) return;
    if (this.#starts.bytes !== run.bytes) this.#starts = { bytes: run.bytes, starts: lineStarts(run.bytes) };
    const lines = linesAround(run.bytes, this.#starts.starts, at.line, at.column, CONTEXT).flatMap((shown) => {
      if (!shown.here) return [document.createTextNode(shown.text)];
      const here = element('span', { className: 'here', textContent: shown.text });
      return shown.caret === undefined ? [here] : [here, element('span', { className: 'caret', textContent: shown.caret })];
    });
    $('source-title').textContent = `${run.name}, line ${at.line}`;
    $('source-view').dataset.line = at.line;
    $('source-lines').replaceChildren(...lines);
  }
}
