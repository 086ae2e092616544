// @ts-check
// The DOM helpers the views share.

/**
 * The element with this id; the page's markup (index.html) has them all.
 * @param {string} id
 * @returns {any}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`index.html has no #${id}`);
  return node;
}

/**
 * A new element with these properties and children. Dump text only ever
 * goes in as `textContent`, never as markup.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {(Node | string)[]} children
 * @returns {any}
 */
export function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * Saves `text` as a file the browser downloads.
 * @param {string} name
 * @param {string} text
 * @param {string} type its media type
 */
export function saveFile(name, text, type) {
  const link = element('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  link.click();
  // The download has the bytes by then; the URL is only memory.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
