// @ts-check
// The packet tracer's pane: a form for the packet, and the component's
// walk of it through the dump (state.run.trace): the verdict, then every
// rule met, each linking to its line, with why it matched or not.
import { $, element } from '../dom.js';

/** @typedef {import('../state.js').State} State */

/** @typedef {import('../state.js').Packet} Packet */

/**
 * The form's fields, as the package's `trace` takes them.
 * @returns {Packet}
 */
function readForm() {
  const text = (id) => $(id).value.trim() || undefined;
  const port = (id) => {
    const value = $(id).value.trim();
    return value === '' ? undefined : Number(value);
  };
  return {
    hook: $('trace-hook').value,
    source: text('trace-source'),
    sourcePort: port('trace-source-port'),
    destination: text('trace-destination'),
    destinationPort: port('trace-destination-port'),
    protocol: text('trace-protocol'),
    inInterface: text('trace-in'),
    outInterface: text('trace-out'),
    ctstate: text('trace-ctstate'),
  };
}

export class TraceView {
  /** @type {(line: number) => void} */
  #onLine;
  #drawn = /** @type {unknown} */ (undefined);

  /**
   * @param {{onTrace: (packet: Packet) => void, onLine: (line: number) => void}} handlers
   */
  constructor({ onTrace, onLine }) {
    this.#onLine = onLine;
    $('trace-form').addEventListener('submit', (/** @type {Event} */ event) => {
      event.preventDefault();
      onTrace(readForm());
    });
  }

  /** @param {State} state */
  render(state) {
    const run = state.run;
    const trace = run?.trace ?? null;
    if (trace === this.#drawn) return;
    this.#drawn = trace;
    const verdict = $('trace-verdict');
    if (trace === null) {
      verdict.textContent = '';
      verdict.removeAttribute('data-verdict');
      verdict.removeAttribute('data-trace-ms');
      $('trace-steps').replaceChildren();
      return;
    }
    if (trace.error !== null || trace.result === null) {
      verdict.textContent = `The packet does not read: ${trace.error}`;
      verdict.dataset.verdict = 'error';
      $('trace-steps').replaceChildren();
      return;
    }
    const { result } = trace;
    verdict.dataset.verdict = result.verdict;
    verdict.dataset.traceMs = (trace.traceMs ?? 0).toFixed(1);
    const unit = run?.unit ?? 'line';
    verdict.textContent = `Verdict: ${result.verdict}${result.certain ? '' : ' (uncertain: a rule may have matched, see below)'}`
      + ` · ${result.steps.length} steps in ${(trace.traceMs ?? 0).toFixed(1)} ms`;
    $('trace-steps').replaceChildren(...result.steps.map((step) => {
      const item = element('li', { className: step.outcome });
      Object.assign(item.dataset, { line: step.line, outcome: step.outcome, position: step.position });
      const where = element('button', {
        type: 'button',
        className: 'link',
        textContent: `${unit} ${step.line}`,
      });
      where.onclick = () => this.#onLine(step.line);
      const what = step.position === 0
        ? `${step.table} ${step.chain} policy ${step.target ?? ''}`
        : `${step.table} ${step.chain} #${step.position}${step.target ? ` → ${step.target}` : ''}`;
      item.append(
        element('span', { className: 'outcome', textContent: step.outcome }),
        where,
        ' ',
        element('code', { textContent: what }),
        ' ',
        element('span', { className: 'reason', textContent: step.reason }),
      );
      return item;
    }));
  }
}
