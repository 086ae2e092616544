// @ts-check
// The dump's own lines around the one asked for (a parse error, a
// diagnostic, a rule's line), the column marked with a caret; for an nft
// listing, its items around the one asked for.
import { $, element } from '../dom.js';
import { itemSpans, lineStarts, linesAround } from '../model.js';

/** @typedef {import('../state.js').State} State */

/** Lines shown either side of the line asked for. */
const CONTEXT = 4;

export class SourceView {
  #drawn = '';
  /** The line starts (a listing's item spans) of the dump they were counted for. */
  /** @type {{bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array | undefined}} */
  #starts = { bytes: new Uint8Array(), starts: new Uint32Array(), ends: undefined };

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
    if (this.#starts.bytes !== run.bytes) {
      this.#starts = run.unit === 'item'
        ? { bytes: run.bytes, ...itemSpans(run.bytes) }
        : { bytes: run.bytes, starts: lineStarts(run.bytes), ends: undefined };
    }
    const { starts, ends } = this.#starts;
    const lines = linesAround(run.bytes, starts, at.line, at.column, CONTEXT, ends).flatMap((shown) => {
      if (!shown.here) return [document.createTextNode(shown.text)];
      const here = element('span', { className: 'here', textContent: shown.text });
      return shown.caret === undefined ? [here] : [here, element('span', { className: 'caret', textContent: shown.caret })];
    });
    $('source-title').textContent = `${run.name}, ${run.unit} ${at.line}`;
    $('source-view').dataset.line = at.line;
    $('source-lines').replaceChildren(...lines);
  }
}
