// @ts-check
// The exposition pane: the text the exporter would serve for the dump, its
// first lines on the page, all of it copied or downloaded.
import { $, saveFile } from '../dom.js';
import { count, expositionFileName, firstLines } from '../model.js';

/** @typedef {import('../state.js').State} State */
/** @typedef {import('../state.js').Exposition} Exposition */

/** Lines of the exposition shown; copy and download have all of it. */
const EXPOSITION_LINES = 2000;

export class ExpositionView {
  /** @type {Exposition | null} */
  #drawn = null;

  /** @param {{onFormat: (format: string) => void, onCopied: (note: string) => void}} handlers */
  constructor({ onFormat, onCopied }) {
    $('format').onchange = () => onFormat($('format').value);
    $('copy').onclick = async () => {
      const text = this.#drawn?.text;
      if (!text) return;
      try {
        await navigator.clipboard.writeText(text);
        onCopied('copied');
      } catch (err) {
        onCopied(`could not copy (${err instanceof Error ? err.message : err}); use Download`);
      }
    };
  }

  /**
   * Saves the exposition as a file named after the dump.
   * @param {State} state
   */
  download(state) {
    const exposition = state.run?.exposition;
    if (!state.run || !exposition?.text) return;
    saveFile(expositionFileName(state.run.name, exposition.format), exposition.text, 'text/plain');
  }

  /** @param {State} state */
  render(state) {
    const exposition = state.run?.exposition ?? null;
    $('format').value = state.format;
    if (exposition === this.#drawn) return;
    this.#drawn = exposition;
    if (exposition === null) {
      $('exposition').textContent = '';
      $('exposition-status').textContent = '';
      return;
    }
    if (exposition.error) {
      $('exposition').textContent = '';
      $('exposition-status').textContent = `line ${exposition.error.line}: ${exposition.error.message}`;
      return;
    }
    if (exposition.text === null) {
      $('exposition-status').textContent = 'rendering…';
      return;
    }
    const { shown, all } = firstLines(exposition.text, EXPOSITION_LINES);
    $('exposition').textContent = shown;
    $('exposition-status').textContent = exposition.note ?? (
      `${count(exposition.text.length)} characters, rendered in ${(exposition.renderMs ?? 0).toFixed(0)} ms`
      + (all ? '' : `; the first ${count(EXPOSITION_LINES)} lines shown, copy or download for all`));
  }
}
