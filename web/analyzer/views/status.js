// @ts-check
// The page's frame: the status line, the body's data-state (what tests and
// styles key on), the intro, the parse error and which pane is shown.
import { $ } from '../dom.js';
import { count } from '../model.js';
import { statusText } from '../state.js';

/** @typedef {import('../state.js').State} State */

/** @param {State} state */
export function renderStatus(state) {
  const run = state.run;
  const body = document.body;
  body.dataset.state = state.phase;
  setData(body, 'firstTableMs', run?.firstTableMs);
  setData(body, 'totalMs', run?.totalMs);
  $('status').textContent = statusText(state);
  // Once a dump has been shown, the intro is not needed again.
  if (run?.outlined) $('intro').hidden = true;
  const error = run?.outlined ? run.error : null;
  $('error').hidden = !error;
  if (error) {
    $('error-message').textContent = `line ${error.line}: ${error.message}`;
    $('error').dataset.line = error.line;
  }
  $('results').hidden = !run?.outlined || error !== null;
  $('rules-count').textContent = run?.outlined ? `(${count(run.ruleCount)})` : '';
  for (const tab of document.querySelectorAll('[role=tab]')) {
    tab.setAttribute('aria-selected', String(tab instanceof HTMLElement && tab.dataset.pane === state.pane));
  }
  for (const pane of document.querySelectorAll('.pane')) {
    if (pane instanceof HTMLElement) pane.hidden = pane.id !== `pane-${state.pane}`;
  }
}

/**
 * @param {HTMLElement} node
 * @param {string} name
 * @param {number | null | undefined} ms
 */
function setData(node, name, ms) {
  if (ms === null || ms === undefined) delete node.dataset[name];
  else node.dataset[name] = ms.toFixed(0);
}
