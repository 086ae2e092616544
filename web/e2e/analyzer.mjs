// The analyzer page in a real browser (Debian's Chromium, driven by
// playwright-core), against what host/tests/analyzer.rs expects from the
// native parser and from the exporter it started. Run by that test:
//
//   node web/e2e/analyzer.mjs plan.json
//
// plan.json names the pages (the exporter's, one with the ruleset endpoint
// off, the static build), the dumps and what each must show. Every
// failure is an assertion; the figures measured are printed as one
// `RESULT {json}` line. The browser may reach 127.0.0.1 only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = { checks: [], timings: {} };
mkdirSync(plan.screenshots, { recursive: true });

const browser = await chromium.launch({
  executablePath: plan.chromium,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    // No name resolves: nothing but 127.0.0.1 can be reached.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
const offLoopback = [];
await context.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (['http:', 'https:'].includes(url.protocol) && url.hostname !== '127.0.0.1') {
    offLoopback.push(url.href);
    return route.abort();
  }
  return route.continue();
});

const staticServer = await serveStatic(plan.staticDir);

try {
  await fixtures();
  await diagnostics();
  await malformed();
  await sortFilterJump();
  await listingView();
  await big();
  await nftables();
  await nftMalformed();
  await tracer();
  await diffs();
  await readable();
  await keyboard();
  await themes();
  await live();
  await liveRates();
  await liveUnavailable();
  await endpointOff();
  await staticFiles();
  assert.deepEqual(offLoopback, [], 'requests off 127.0.0.1');
} finally {
  await browser.close();
  staticServer.close();
}
console.log(`RESULT ${JSON.stringify(results)}`);

// ---- the checks ----

/** Each dump's tree, rule count and exposition, as the native parser has them. */
async function fixtures() {
  const page = await open(plan.exporter);
  for (const fixture of plan.fixtures) {
    await load(page, fixture.path, 'ready');
    assert.deepEqual(await tree(page), sorted(fixture.tree), `${fixture.name}: tables and chains`);
    assert.equal(await page.textContent('#rules-count'), `(${fixture.ruleLines.toLocaleString('en-US')})`, `${fixture.name}: rule count`);
    await page.click('[data-pane=exposition]');
    await page.selectOption('#format', 'text');
    await page.waitForFunction(() => /rendered/.test(document.querySelector('#exposition-status').textContent)
      && !document.querySelector('#exposition').textContent.endsWith('# EOF\n'));
    assert.equal(await page.textContent('#exposition'), fixture.exposition, `${fixture.name}: exposition`);
    if (fixture === plan.fixtures[0]) await copyAndDownload(page, fixture.exposition);
    await page.selectOption('#format', 'openmetrics');
    await page.waitForFunction(() => document.querySelector('#exposition').textContent.endsWith('# EOF\n'));
    await page.click('[data-pane=rules]');
    if (fixture.screenshot) await shot(page, fixture.screenshot);
    results.checks.push(`fixture ${fixture.name}`);
  }
  await done(page);
}

/** The exposition shown is the one copied and the one downloaded. */
async function copyAndDownload(page, exposition) {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
  await page.click('#copy');
  await page.waitForFunction(() => document.querySelector('#exposition-status').textContent === 'copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), exposition, 'copied');
  const download = await downloaded(page, '#download');
  assert.match(download.name, /\.prom$/);
  assert.equal(download.text, exposition, 'downloaded');
  results.checks.push('copy, download');
}

/**
 * A diagnostic of each kind, errors first, each with its rule's chain and
 * linking to its line in context; the findings exported as CSV and JSON.
 */
async function diagnostics() {
  const page = await open(plan.exporter);
  const { path, expected, lines } = plan.diagnostics;
  await load(page, path, 'ready');
  await page.click('[data-pane=diagnostics]');
  const shown = await page.$$eval('#diagnostics li', (items) => items.map((li) => ({ line: Number(li.dataset.line), code: li.dataset.code, chain: li.dataset.chain })));
  assert.deepEqual(shown, expected.map(({ line, code, chain }) => ({ line, code, chain })), 'findings by severity, with their chains');
  const codes = [...new Set(expected.map((d) => d.code))];
  assert.deepEqual(await page.$$eval('#diagnostic-codes .chip', (chips) => chips.map((c) => c.dataset.code)), codes);
  await exports(page, expected);
  for (const code of codes) {
    const first = expected.find((d) => d.code === code);
    await page.click('[data-pane=diagnostics]');
    await page.click(`#diagnostics li[data-code="${code}"][data-line="${first.line}"] button`);
    assert.equal(await page.getAttribute('#source-view', 'data-line'), String(first.line), `${code}: source line`);
    const here = await page.textContent('#source-lines .here');
    assert.ok(here.endsWith(`${lines[first.line - 1]}\n`), `${code}: line ${first.line} in context: ${here}`);
    if (first.chain !== '') {
      // A rule's line also shows it in the rule list.
      await page.waitForSelector(`#rule-canvas .row.highlight[data-line="${first.line}"]`, { state: 'visible' });
    }
  }
  await page.click('[data-pane=diagnostics]');
  await shot(page, 'diagnostics');

  // A dump with no diagnostics after one with: nothing of the first stays.
  await load(page, plan.clean.path, 'ready');
  await page.waitForFunction((name) => document.querySelector('#status').textContent.startsWith(name), plan.clean.name);
  assert.equal(await page.$$eval('#diagnostics li', (items) => items.length), 0, 'no diagnostics left from the dump before');
  assert.equal(await page.$$eval('#diagnostic-codes .chip', (chips) => chips.length), 0, 'no code chips left');
  assert.equal(await page.textContent('#diagnostics-count'), '(0)');
  assert.equal(await page.isVisible('#source-view'), false, 'no line of the dump before in context');
  results.checks.push(`diagnostics ${codes.join(' ')}, then none`);
  await done(page);
}

/**
 * The findings as the native analysis has them, downloaded as CSV (every
 * field quoted) and as JSON; then only one code's, after its chip.
 */
async function exports(page, expected) {
  const csv = await downloaded(page, '#export-csv');
  assert.match(csv.name, /\.findings\.csv$/);
  const columns = ['severity', 'code', 'line', 'column', 'table', 'chain', 'rule', 'message'];
  assert.deepEqual(parseCsv(csv.text), [columns, ...expected.map((f) => columns.map((c) => String(f[c])))], 'CSV export');
  const json = await downloaded(page, '#export-json');
  assert.match(json.name, /\.findings\.json$/);
  assert.deepEqual(JSON.parse(json.text).findings, expected, 'JSON export');
  const code = expected[0].code;
  await page.click(`#diagnostic-codes .chip[data-code="${code}"]`);
  const only = JSON.parse((await downloaded(page, '#export-json')).text).findings;
  assert.deepEqual(only, expected.filter((f) => f.code === code), `JSON export of ${code} only`);
  await page.click(`#diagnostic-codes .chip[data-code="${code}"]`);
  results.checks.push('findings exported as CSV and JSON');
}

/** What clicking `selector` downloads: its file name and text. */
async function downloaded(page, selector) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
}

/** RFC 4180 CSV whose every field is quoted, rows ending in CRLF. */
function parseCsv(text) {
  assert.ok(text.endsWith('\r\n'), 'CSV ends with CRLF');
  return text.slice(0, -2).split('\r\n').map((row) => {
    const matches = [...row.matchAll(/"((?:[^"]|"")*)"(,|$)/gy)];
    assert.equal(matches.map((m) => m[0]).join(''), row, 'every CSV field quoted');
    return matches.map((m) => m[1].replaceAll('""', '"'));
  });
}

/** Dumps that do not parse: the exporter's message, its line in context. */
async function malformed() {
  const page = await open(plan.exporter);
  for (const { path, message, line, text } of plan.malformed) {
    await load(page, path, 'error');
    assert.equal(await page.textContent('#error-message'), message);
    assert.equal(await page.getAttribute('#source-view', 'data-line'), String(line));
    assert.ok((await page.textContent('#source-lines .here')).endsWith(`${line} | ${text}\n`), path);
    assert.equal(await page.isVisible('#results'), false, 'nothing else is shown for a dump that does not parse');
    if (path === plan.malformed[0].path) await shot(page, 'malformed');
  }
  results.checks.push('malformed');
  await done(page);
}

/** Sorting by counters, filtering by text, following a jump. */
async function sortFilterJump() {
  const page = await open(plan.exporter);
  const { path, maxPackets, filter, jump } = plan.interaction;
  await load(page, path, 'ready');
  await page.click('button[data-sort=packets]');
  const packets = await visibleColumn(page, 4);
  assert.equal(packets[0], maxPackets, 'largest packets first');
  assert.deepEqual(packets, [...packets].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0)), 'non-increasing');
  await page.fill('#filter', filter.query);
  await shown(page, filter.count);
  // An address finds the rules whose networks hold it, a port the rules
  // whose ports include it: not their digits in the text.
  for (const { query, count } of [plan.interaction.address, plan.interaction.port]) {
    await page.fill('#filter', query);
    await shown(page, count);
    assert.match(await page.textContent('#shown'), /; .* in a (source or destination|port match)$/);
  }
  await page.fill('#filter', '');
  await page.click('button[data-sort=line]');
  const all = await page.textContent('#shown');
  await page.click(`#rule-canvas .row[data-line="${jump.line}"] button[data-action=target]`);
  await shown(page, jump.rules);
  const chains = await visibleColumn(page, 2);
  assert.ok(chains.length > 0 && chains.every((c) => c === jump.to), `only ${jump.to}'s rules: ${chains}`);
  assert.match(await page.textContent('#chain-links'), new RegExp(`Reached from: .*${jump.from} \\(line ${jump.line}\\)`));
  await shot(page, 'jump');
  results.checks.push('sort, filter by text, address and port, jump');

  // Typing in the tree moves focus to the first chain with that start.
  await page.focus('#tree li[data-chain] button');
  await page.keyboard.type('kube-sv');
  const found = await page.evaluate(() => ({
    focused: document.activeElement?.closest('li')?.dataset.chain,
    first: [...document.querySelectorAll('#tree li[data-chain]')].map((li) => li.dataset.chain).find((c) => c.toLowerCase().startsWith('kube-sv')),
  }));
  assert.ok(found.first && found.focused === found.first, `type-to-find: ${JSON.stringify(found)}`);

  // The jump is in the address bar: Back leaves the chain, Forward returns.
  const here = `#${jump.table}/${jump.to}`;
  assert.equal(new URL(page.url()).hash, here);
  await page.goBack();
  await page.waitForFunction((text) => document.querySelector('#shown').textContent === text, all);
  assert.equal(await page.isVisible('#chain-filter'), false, 'Back: no chain');
  await page.goForward();
  await shown(page, jump.rules);
  assert.equal(new URL(page.url()).hash, here);
  await done(page);

  // A shared link: the same view once the dump is loaded.
  const shared = await open(`${plan.exporter}${here}?filter=${encodeURIComponent(filter.query)}&sort=-packets&tab=diagnostics`);
  await load(shared, path, 'ready');
  await shared.waitForSelector('#pane-diagnostics', { state: 'visible' });
  assert.equal(await shared.inputValue('#filter'), filter.query);
  assert.equal(await shared.textContent('#chain-filter'), `chain ${jump.table}/${jump.to} ×`);
  assert.equal(await shared.getAttribute('button[data-sort=packets]', 'data-order'), ' ▼');
  results.checks.push('the view in the address bar: Back, Forward, a shared link');
  await done(shared);
}

/**
 * The chain view: a chain laid out as `iptables -L -v -n -x
 * --line-numbers` printed it in a namespace (host/tests/analyzer.rs),
 * the policy's fall-through under it, the layout in the address bar.
 */
async function listingView() {
  const page = await open(plan.exporter);
  const { path, table, chain, policy, rules } = plan.listing;
  await load(page, path, 'ready');
  await page.click(`#tree li[data-table="${table}"][data-chain="${chain}"] button`);
  await page.selectOption('#columns', 'listing');
  await page.waitForSelector('#pane-rules.listing');
  const shown = await page.$$eval('#rule-canvas .row:not([hidden])', (rows) => rows.map((row) => {
    const cells = [...row.children];
    const field = (name) => row.querySelector(`.field.${name}`).textContent;
    return {
      num: cells[3].textContent,
      packets: cells[4].dataset.value,
      bytes: cells[5].dataset.value,
      target: cells[6].textContent,
      prot: field('prot'),
      opt: field('opt'),
      in: field('in'),
      out: field('out'),
      source: field('source'),
      destination: field('destination'),
      visible: ['prot', 'source'].every((name) => row.querySelector(`.field.${name}`).getBoundingClientRect().width > 0),
    };
  }).sort((a, b) => Number(a.num) - Number(b.num)));
  assert.deepEqual(shown, rules.map((r) => ({ ...r, visible: true })), 'the chain as iptables -L lays it out');
  const fall = `↳ falls through to the policy ${policy.name} (${Number(policy.packets).toLocaleString('en-US')} packets, ${Number(policy.bytes).toLocaleString('en-US')} bytes)`;
  assert.equal(await page.textContent('#fall-through'), fall);
  assert.match(new URL(page.url()).hash, /columns=listing/);
  await shot(page, 'listing');
  results.checks.push('the chain as iptables -L lays it out');
  await done(page);
}

/** Waits until the rule list says it shows `n` rules. */
async function shown(page, n) {
  await page.waitForFunction((text) => document.querySelector('#shown').textContent.startsWith(text), `${n.toLocaleString('en-US')} shown`);
}

/** The 100k-rule dump: time to the first table, a virtualised list, scrolling. */
async function big() {
  const page = await open(plan.exporter);
  const { path, ruleLines, lastLine } = plan.big;
  const started = Date.now();
  await page.setInputFiles('#file', path);
  await page.waitForSelector('#tree section', { state: 'visible' });
  results.timings.bigTreeVisibleFromSetInputMs = Date.now() - started;
  await page.waitForSelector('body[data-first-table-ms]');
  results.timings.bigFirstTableMs = Number(await page.getAttribute('body', 'data-first-table-ms'));
  await page.waitForSelector('body[data-state=ready]', { timeout: 120_000 });
  results.timings.bigAllLoadedMs = Number(await page.getAttribute('body', 'data-total-ms'));
  // The page's own heap with every rule loaded (Chromium's
  // performance.memory; the Worker's, with the component, is not in it).
  results.timings.bigPageHeapMB = await page.evaluate(() => Math.round(performance.memory.usedJSHeapSize / 1e6));
  assert.equal(await page.textContent('#rules-count'), `(${ruleLines.toLocaleString('en-US')})`);
  const rows = await page.$$eval('#rule-canvas .row', (r) => r.length);
  assert.ok(rows < 200, `${rows} row elements for ${ruleLines} rules: the list must be virtualised`);
  results.timings.bigScroll = await page.evaluate(scrollThrough);
  await page.$eval('#rule-viewport', (v) => { v.scrollTop = v.scrollHeight; });
  await page.waitForSelector(`#rule-canvas .row[data-line="${lastLine}"]`, { state: 'visible' });
  // A packet through 100k rules: how long the component takes (printed).
  await page.click('[data-pane=trace]');
  await page.fill('#trace-source', '10.0.0.1');
  await page.fill('#trace-destination', '10.96.0.10');
  await page.fill('#trace-protocol', 'tcp');
  await page.fill('#trace-destination-port', '443');
  await page.click('#trace-run');
  await page.waitForSelector('#trace-verdict[data-trace-ms]');
  results.timings.bigTraceMs = Number(await page.getAttribute('#trace-verdict', 'data-trace-ms'));
  await page.click('[data-pane=rules]');
  // KUBE-SERVICES is reached from one rule and jumps to thousands: the
  // list says how many it leaves out.
  // (The 25,948th chain of nat: reached by the jump of a rule.)
  // An address search reads every rule's text: its time over 100k rules.
  const searched = Date.now();
  await page.fill('#filter', '10.96.0.10');
  await page.waitForFunction(() => document.querySelector('#shown').textContent.endsWith('in a source or destination'));
  results.timings.bigAddressFilterMs = Date.now() - searched;
  await page.fill('#filter', 'kubernetes service portals');
  await page.waitForFunction(() => [...document.querySelectorAll('#rule-canvas .row:not([hidden])')].some((r) => r.children[1].textContent === 'nat'));
  await page.$$eval('#rule-canvas .row:not([hidden])', (rows) => rows.find((r) => r.children[1].textContent === 'nat').querySelector('button[data-action=target]').click());
  await page.waitForFunction(() => /Jumps to: .* and [\d,]+ more$/.test(document.querySelector('#chain-links').textContent));
  await page.fill('#filter', '');
  // The tree lists 300 chains a table; its search finds any.
  const late = plan.big.lateChain;
  const item = `#tree li[data-table="${late.table}"][data-chain="${late.chain}"]`;
  assert.equal(await page.$(item), null, `${late.chain} is not listed before a search`);
  await page.fill('#tree-search', late.chain);
  await page.waitForSelector(item, { state: 'visible' });
  await page.fill('#tree-search', 'no-such-chain');
  await page.waitForFunction(() => document.querySelector('#tree .more .meta')?.textContent === 'no chain has "no-such-chain"');
  await page.fill('#tree-search', '');
  // Every chain of the largest table, drawn a batch a frame: the longest
  // task the page ran meanwhile is printed (it was 2 s in one piece).
  const largest = await page.$$eval('#tree section.table', (sections) => sections
    .map((s) => ({ table: s.dataset.table, button: s.querySelector('.more button')?.textContent ?? '' }))
    .find((s) => s.button.startsWith('show all')));
  const total = Number(largest.button.match(/show all ([\d,]+) chains/)[1].replaceAll(',', ''));
  await page.evaluate(() => {
    window.longestTaskMs = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longestTaskMs = Math.max(window.longestTaskMs, entry.duration);
    }).observe({ type: 'longtask' });
  });
  await page.click(`#tree section.table[data-table="${largest.table}"] .more button`);
  await page.waitForFunction(([table, n]) => document.querySelectorAll(`#tree section.table[data-table="${table}"] > ul > li`).length === n, [largest.table, total], { timeout: 120_000 });
  results.timings.bigAllChainsLongestTaskMs = Math.round(await page.evaluate(() => window.longestTaskMs));
  await shot(page, 'big');
  results.checks.push('big');
  await done(page);
}

/**
 * An nft listing, told by its content: the tree with base chains and named
 * objects, the exposition, a chain reached through a named verdict map, a
 * diagnostic's item in context.
 */
async function nftables() {
  const page = await open(plan.exporter);
  const fixture = plan.nftables;
  await load(page, fixture.path, 'ready');
  assert.match(await page.textContent('#status'), /an nft listing/);
  assert.deepEqual(await tree(page), sorted(fixture.tree), 'nft: tables and chains');
  assert.equal(await page.textContent('#rules-count'), `(${fixture.ruleCount.toLocaleString('en-US')})`);
  const objects = await page.$$eval('#tree section.table', (sections) => sections.flatMap((section) => [...section.querySelectorAll('ul.objects li')]
    .map((li) => ({ table: section.dataset.table, kind: li.dataset.kind, name: li.dataset.name, elements: li.dataset.elements }))));
  assert.deepEqual(objects, fixture.objects, 'nft: named objects with their elements');
  // A base chain says where it hooks in.
  assert.match(await page.textContent('#tree li[data-chain="nat-output"] .meta'), /type nat hook output priority -100/);

  const { table, from, to, item } = fixture.mapped;
  await page.click(`#tree li[data-table="${table}"][data-chain="${to}"] button`);
  await page.waitForFunction((text) => document.querySelector('#chain-links').textContent.includes(text), `${from} (item ${item}, goto)`);
  results.checks.push('nftables: tree, objects, verdict-map edge');

  await page.click('[data-pane=diagnostics]');
  await page.click(`#diagnostics li[data-code="counted-by-name"][data-line="${fixture.counted.item}"] button`);
  assert.equal(await page.getAttribute('#source-view', 'data-line'), String(fixture.counted.item));
  assert.equal(await page.textContent('#source-title'), `kube-proxy.json, item ${fixture.counted.item}`);
  const here = await page.textContent('#source-lines .here');
  assert.ok(here.endsWith(`${fixture.counted.item} | ${fixture.counted.text}\n`), `the item in context: ${here}`);

  await page.click('[data-pane=exposition]');
  await page.selectOption('#format', 'text');
  await page.waitForFunction(() => /rendered/.test(document.querySelector('#exposition-status').textContent)
    && !document.querySelector('#exposition').textContent.endsWith('# EOF\n'));
  assert.equal(await page.textContent('#exposition'), fixture.exposition, 'nft: exposition');
  await page.click('[data-pane=rules]');
  await shot(page, 'nftables');
  results.checks.push('nftables: diagnostics, exposition');
  await done(page);
}

/**
 * The tracer's pane: the first case of fixtures/trace/ (checked against
 * real iptables by host/tests/trace.rs) at INPUT gives the verdict and
 * steps the tracer gave there; a step's line opens the rule; a packet
 * that does not read says why.
 */
async function tracer() {
  const page = await open(plan.exporter);
  const { path, packet, verdict, steps } = plan.trace;
  await load(page, path, 'ready');
  await page.click('[data-pane=trace]');
  await page.selectOption('#trace-hook', packet.hook);
  await page.fill('#trace-source', packet.source);
  await page.fill('#trace-source-port', String(packet.sourcePort));
  await page.fill('#trace-destination', packet.destination);
  await page.fill('#trace-destination-port', String(packet.destinationPort));
  await page.fill('#trace-protocol', 'udp');
  await page.fill('#trace-in', 'lo');
  await page.selectOption('#trace-ctstate', 'NEW');
  await page.click('#trace-run');
  await page.waitForSelector(`#trace-verdict[data-verdict="${verdict}"]`);
  const shown = await page.$$eval('#trace-steps li', (items) => items.map((li) => [Number(li.dataset.line), li.dataset.outcome]));
  assert.deepEqual(shown, steps, 'the steps, in order');
  await shot(page, 'trace');
  // The last rule met (the one that decided) opens in the rule list.
  const [line] = steps.at(-1);
  await page.click(`#trace-steps li[data-line="${line}"] button`);
  await page.waitForSelector(`#rule-canvas .row.highlight[data-line="${line}"]`, { state: 'visible' });
  await page.click('[data-pane=trace]');
  await page.fill('#trace-source', '127.0.0.999');
  await page.click('#trace-run');
  await page.waitForSelector('#trace-verdict[data-verdict="error"]');
  assert.equal(await page.textContent('#trace-verdict'), 'The packet does not read: source: "127.0.0.999" is not an IPv4 or IPv6 address');
  results.checks.push('trace');
  await done(page);
}

/**
 * At 1024 px: the rule text has room, counters up to 2^64 fit their
 * column (scaled, the exact value on hover), the file input is reached by
 * Tab, and Escape closes the lines in context.
 */
async function readable() {
  const narrow = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await narrow.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(plan.exporter);
  for (let tabs = 0; tabs < 10 && await page.evaluate(() => document.activeElement?.id) !== 'file'; tabs++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'file', 'Tab reaches "Open a dump…"');
  await load(page, plan.readable.path, 'ready');
  const cells = await page.$$eval('#rule-canvas .row:not([hidden])', (rows) => rows.map((row) => {
    const [, , , , packets, bytes, , , text] = row.children;
    return {
      cut: [packets, bytes].some((c) => c.scrollWidth > c.clientWidth),
      packets: packets.textContent,
      exact: packets.title,
      textWidth: text.getBoundingClientRect().width,
    };
  }));
  assert.ok(cells.length > 0);
  for (const cell of cells) {
    assert.ok(!cell.cut, `a counter is cut: ${JSON.stringify(cell)}`);
    assert.ok(cell.textWidth >= 200, `the rule text has ${cell.textWidth} px at 1024`);
  }
  assert.ok(cells.some((c) => c.packets === '18.4E' && c.exact === '18,446,744,073,709,551,615'), JSON.stringify(cells));
  await page.click('#rule-canvas .row:not([hidden]) button[data-action=line]');
  await page.waitForSelector('#source-view', { state: 'visible' });
  await page.keyboard.press('Escape');
  await page.waitForSelector('#source-view', { state: 'hidden' });
  await page.screenshot({ path: join(plan.screenshots, 'narrow.png') });
  await everyControlByTab(page);
  assert.deepEqual(problems, [], 'errors in the page at 1024 px');
  await narrow.close();
  results.checks.push('readable at 1024 px');
}

/**
 * Tab from the top of the page reaches every control on screen (in each
 * pane in turn), each showing its focus: an outline on it, or on the
 * label of the hidden file inputs.
 */
async function everyControlByTab(page) {
  for (const pane of ['rules', 'diagnostics', 'exposition', 'trace', 'diff']) {
    await page.click(`[data-pane=${pane}]`);
    const controls = await page.evaluate(() => {
      const all = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
        .filter((c) => !c.disabled && c.tabIndex >= 0 && !c.closest('[hidden]')
          && (c.type === 'file' ? c.closest('label') : c).getClientRects().length > 0
          && (c.type === 'file' || c.checkVisibility({ visibilityProperty: true })));
      all.forEach((c, i) => { c.dataset.control = String(i); });
      return all.map((c) => `${c.tagName.toLowerCase()}#${c.id}.${c.className} "${(c.textContent ?? '').trim().slice(0, 20)}"`);
    });
    await page.evaluate(() => document.activeElement?.blur());
    await page.evaluate(() => window.scrollTo(0, 0));
    const reached = new Set();
    for (let tabs = 0; tabs < controls.length * 3 + 20 && reached.size < controls.length; tabs++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const c = document.activeElement;
        if (!(c instanceof HTMLElement) || c.dataset.control === undefined) return null;
        const shown = c.type === 'file' ? c.closest('label') : c;
        return { control: Number(c.dataset.control), outline: getComputedStyle(shown).outlineStyle };
      });
      if (focused === null) continue;
      assert.notEqual(focused.outline, 'none', `${pane}: focus on ${controls[focused.control]} is not seen`);
      reached.add(focused.control);
    }
    const missed = controls.filter((_, i) => !reached.has(i));
    assert.deepEqual(missed, [], `${pane}: controls Tab does not reach`);
    await page.evaluate(() => document.querySelectorAll('[data-control]').forEach((c) => delete c.dataset.control));
  }
  results.checks.push('every control on screen reached by Tab, focus seen');
}

/**
 * Tab walks the virtualised list one rule at a time, past the rows first
 * drawn, with focus seen at every step.
 */
async function keyboard() {
  const page = await open(plan.exporter);
  await load(page, plan.keyboard.path, 'ready');
  await page.focus('#rule-canvas .row[data-position="0"] button[data-action=line]');
  const positions = [0];
  for (let step = 0; step < 240; step++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const focused = document.activeElement;
      const row = focused?.closest('#rule-canvas .row');
      const box = focused?.getBoundingClientRect();
      const viewport = document.querySelector('#rule-viewport').getBoundingClientRect();
      return {
        position: row ? Number(row.dataset.position) : -1,
        outline: focused ? getComputedStyle(focused).outlineStyle : 'none',
        seen: !!box && box.top >= viewport.top - 1 && box.bottom <= viewport.bottom + 1,
      };
    });
    if (at.position === -1) break;
    assert.ok(at.position - positions.at(-1) <= 1 && at.position >= positions.at(-1), `Tab went from rule ${positions.at(-1)} to ${at.position}`);
    assert.notEqual(at.outline, 'none', `focus at rule ${at.position} is not seen`);
    assert.ok(at.seen, `the focused control of rule ${at.position} is out of view`);
    positions.push(at.position);
  }
  const rowsInView = await page.$eval('#rule-viewport', (v) => Math.floor(v.clientHeight / 22));
  assert.ok(positions.at(-1) > rowsInView + 10, `Tab reached rule ${positions.at(-1)}, not past the ${rowsInView} rules first in view`);
  results.checks.push(`Tab through ${positions.at(-1)} rules, one at a time`);
  await done(page);
}

/**
 * Light and dark (the system's), at 1400, 1024 and 390 px: every text on
 * screen keeps a contrast of 4.5:1 with what is behind it, in the rules
 * (a chain selected, a rule marked, a line in context), the findings and
 * a trace; on a phone the page is one column with no sideways scroll and
 * the rule text has the width.
 */
async function themes() {
  for (const colorScheme of ['light', 'dark']) {
    for (const width of [1400, 1024, 390]) {
      const themed = await browser.newContext({ colorScheme, viewport: { width, height: width === 390 ? 844 : 900 } });
      const page = await themed.newPage();
      const problems = [];
      page.on('pageerror', (err) => problems.push(err.message));
      const where = `${colorScheme} at ${width} px`;
      await page.goto(plan.exporter);
      await contrast(page, `${where}, empty`);
      const { path, expected } = plan.diagnostics;
      await load(page, path, 'ready');
      const first = expected.find((f) => f.chain !== '');
      await page.click(`#tree li[data-table="${first.table}"][data-chain="${first.chain}"] button`);
      // A finding's line: in context, and marked in the rule list.
      await page.click('[data-pane=diagnostics]');
      await page.click(`#diagnostics li[data-line="${first.line}"] button`);
      await page.waitForSelector('#rule-canvas .row.highlight');
      await contrast(page, `${where}, rules`);
      if (width === 390) await phone(page, where);
      await page.keyboard.press('Escape');
      await page.click('[data-pane=diagnostics]');
      await contrast(page, `${where}, findings`);
      await page.click('[data-pane=trace]');
      await page.fill('#trace-protocol', 'tcp');
      await page.fill('#trace-destination-port', '22');
      await page.click('#trace-run');
      await page.waitForSelector('#trace-verdict[data-trace-ms]');
      await contrast(page, `${where}, trace`);
      if (width !== 1024) await page.screenshot({ path: join(plan.screenshots, `${colorScheme}-${width}.png`) });
      assert.deepEqual(problems, [], `errors in the page, ${where}`);
      await themed.close();
      results.checks.push(`contrast ≥ 4.5:1, ${where}`);
    }
  }
}

/** At 390 px: one column, nothing wider than the screen, the rule readable. */
async function phone(page, where) {
  const layout = await page.evaluate(() => {
    const box = (selector) => document.querySelector(selector).getBoundingClientRect();
    const text = document.querySelector('#rule-canvas .row:not([hidden]) .text');
    return {
      scrollWidth: document.documentElement.scrollWidth,
      treeBottom: box('#tree-nav').bottom,
      panesTop: box('#panes').top,
      textWidth: text.getBoundingClientRect().width,
    };
  });
  assert.ok(layout.scrollWidth <= 390, `${where}: the page is ${layout.scrollWidth} px wide`);
  assert.ok(layout.treeBottom <= layout.panesTop + 1, `${where}: the tree is above the panes (${JSON.stringify(layout)})`);
  assert.ok(layout.textWidth >= 300, `${where}: the rule text has ${layout.textWidth} px`);
  await page.screenshot({ path: join(plan.screenshots, `phone-rules-${where.split(' ')[0]}.png`) });
}

/**
 * Every text node on screen against the colour behind it (its element's
 * and its ancestors' backgrounds, blended), by WCAG 2's contrast ratio.
 * Disabled controls are exempt, as WCAG has them.
 */
async function contrast(page, where) {
  const failures = await page.evaluate(() => {
    const parse = (css) => {
      const [r, g, b, a = 1] = css.match(/[\d.]+/g).map(Number);
      return { r, g, b, a };
    };
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const luminance = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const behind = (element) => {
      const layers = [];
      for (let e = element; e; e = e.parentElement) {
        const color = parse(getComputedStyle(e).backgroundColor);
        if (color.a > 0) layers.push(color);
        if (color.a === 1) break;
      }
      return layers.reverse().reduce((color, layer) => over(layer, color), { r: 255, g: 255, b: 255, a: 1 });
    };
    const failed = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const element = node.parentElement;
      if (!node.textContent.trim() || !element || element.closest(':disabled, option, [hidden]')) continue;
      if (!element.checkVisibility({ opacityProperty: true, visibilityProperty: true }) || element.getClientRects().length === 0) continue;
      const background = behind(element);
      const text = over(parse(getComputedStyle(element).color), background);
      const [light, dark] = [luminance(text), luminance(background)].sort((x, y) => y - x);
      const ratio = (light + 0.05) / (dark + 0.05);
      if (ratio < 4.5) failed.push(`${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}.${element.className} "${node.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    return failed;
  });
  assert.deepEqual(failures, [], `${where}: text below 4.5:1`);
}

/**
 * The diff: a dump changed by construction against the one it was made
 * from (what host/tests/analyzer.rs's model counts); then two 100k dumps,
 * the time printed.
 */
async function diffs() {
  const page = await open(plan.exporter);
  const { small, big: large } = plan.diff;
  await load(page, small.after, 'ready');
  await page.click('[data-pane=diff]');
  await page.setInputFiles('#compare-file', small.before);
  await page.waitForSelector('#diff-summary[data-diff-ms]');
  assert.deepEqual(await counts(page), small.counts, 'small diff');
  // The moved rule is the first of its chain gone to the end; its line
  // opens it in the rule list.
  const moved = await page.$eval('#diff-changes li.moved', (li) => ({ chain: li.dataset.chain, line: Number(li.dataset.line) }));
  assert.equal(moved.chain, small.movedChain);
  await page.click('#diff-changes li.moved button.rule');
  await page.waitForSelector(`#rule-canvas .row.highlight[data-line="${moved.line}"]`, { state: 'visible' });
  // A chip keeps one kind.
  await page.click('[data-pane=diff]');
  await page.click('#diff-kinds .chip[data-kind=added]');
  assert.deepEqual(await page.$$eval('#diff-changes li', (items) => items.map((li) => li.dataset.kind)), ['added']);
  await shot(page, 'diff');
  results.checks.push('diff: added, removed, moved, counted');

  await load(page, large.after, 'ready');
  await page.setInputFiles('#compare-file', large.before);
  await page.waitForSelector('#diff-summary[data-diff-ms]', { timeout: 120_000 });
  results.timings.bigDiffMs = Number(await page.getAttribute('#diff-summary', 'data-diff-ms'));
  assert.deepEqual(await counts(page), large.counts, '100k diff');
  results.checks.push('diff of two 100k dumps');
  await done(page);
}

/** What the diff summary counted, by kind. */
async function counts(page) {
  return page.$eval('#diff-summary', (s) => Object.fromEntries(['added', 'removed', 'moved', 'counted', 'reset'].map((k) => [k, Number(s.dataset[k])])));
}

/**
 * Live rates: the page reads the live rulesets every second; a datagram
 * sent in the namespace shows on the rule that counted it, with a
 * rate, all of its chain's share, and that rule kept by "counted in the
 * last minute".
 */
async function liveRates() {
  const page = await open(`${plan.liveExporter}?live&refresh=1`);
  await page.waitForSelector('#pane-rules.rates');
  const cell = '#rule-canvas .row:not([hidden]):has(button[data-set="live4"]) .delta';
  execFileSync('ip', ['netns', 'exec', plan.liveNetns, 'bash', '-c', 'echo x > /dev/udp/127.0.0.1/9']);
  // The datagram, and the ICMP port unreachable it earns from 127.0.0.1
  // (nothing listens on port 9): one reading or two may count them.
  await page.waitForFunction((selector) => Number(document.querySelector(selector)?.dataset.value ?? 0) > 0, cell, { timeout: 30_000 }).catch(async (err) => {
    const shown = await page.evaluate(() => [...document.querySelectorAll('#rule-canvas .row:not([hidden])')].map((r) => r.textContent).join(' | '));
    throw new Error(`nothing counted on the live4 rule: ${await page.textContent('#status')}: ${shown}`, { cause: err });
  });
  const text = await page.textContent(cell);
  assert.match(text, /^\+[12] [\d.]+\/s 100%$/, `the Δ cell: ${text}`);
  await page.selectOption('#hit-window', '1');
  await page.waitForSelector('#rule-canvas .row:not([hidden]) button[data-set="live4"]');
  await page.selectOption('#hit-window', 'never');
  await page.waitForSelector('#rule-canvas .row:not([hidden]) button[data-set="live4"]', { state: 'detached' });
  assert.match(new URL(page.url()).search, /refresh=1/);
  await shot(page, 'live-rates');
  results.checks.push('live rates');
  await done(page);
}

/** A listing cut short: the exporter's message, the item it ends in. */
async function nftMalformed() {
  const page = await open(plan.exporter);
  const { path, message, item } = plan.nftMalformed;
  await load(page, path, 'error');
  assert.equal(await page.textContent('#error-message'), message);
  assert.equal(await page.getAttribute('#source-view', 'data-line'), String(item));
  results.checks.push('nftables: malformed');
  await done(page);
}

/** Runs in the page: 120 frames of scrolling; how long frames took. */
async function scrollThrough() {
  const viewport = document.querySelector('#rule-viewport');
  const frames = [];
  let last = performance.now();
  for (let i = 0; i < 120; i++) {
    viewport.scrollTop += 997;
    const now = await new Promise(requestAnimationFrame);
    frames.push(now - last);
    last = now;
  }
  frames.sort((a, b) => a - b);
  return { frames: frames.length, medianMs: frames[60], p95Ms: frames[114], maxMs: frames[119] };
}

/** `/analyzer?live`: the exporter's rulesets, as its own scrape counts them. */
async function live() {
  const page = await open(`${plan.liveExporter}?live`);
  await page.waitForSelector('body[data-state=ready]');
  for (const [index, family] of plan.live.entries()) {
    if (index > 0) {
      await page.selectOption('#source', String(index));
      await page.waitForFunction((name) => document.body.dataset.state === 'ready' && document.querySelector('#status').textContent.startsWith(name), `live ${family.family}`);
    }
    assert.deepEqual(await tree(page), sorted(family.tree), `live ${family.family}`);
    // Where and when the exporter read it.
    const status = await page.textContent('#status');
    const origin = new RegExp(`^live ${family.family} \\(read \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC on ${plan.hostname.replace(/[.]/g, '\\.')}\\): `);
    assert.match(status, origin, `live ${family.family}: the status says where and when`);
    if (family.set) await setLink(page, family);
  }
  await shot(page, 'live');
  results.checks.push('live');

  // A reload keeps the view: the live rulesets come again, then its chain and tab.
  const { table, chain } = plan.live[0].tree[0];
  await page.goto(`${plan.liveExporter}?live#${table}/${chain}?tab=trace`);
  await page.reload();
  await page.waitForSelector('body[data-state=ready]');
  await page.waitForSelector('#pane-trace', { state: 'visible' });
  await page.click('[data-pane=rules]');
  assert.equal(await page.textContent('#chain-filter'), `chain ${table}/${chain} ×`);
  assert.equal(new URL(page.url()).hash, `#${table}/${chain}`);
  results.checks.push('live: a reload keeps the view');
  await done(page);
}

/**
 * A rule's set stands beside it with its size (an ipset from the live
 * `ipset list -t`, or the listing's own nft set), and its link marks the
 * set in the tree.
 */
async function setLink(page, family) {
  const { name, label, tree: item } = family.set;
  const button = `#rule-canvas .row:not([hidden]) button[data-set="${name}"]`;
  await page.waitForFunction(([selector, text]) => document.querySelector(selector)?.textContent === text, [button, label]);
  await page.click(button);
  await page.waitForSelector(`#tree ${item}.set-selected`);
  results.checks.push(`live ${family.family}: set ${label}`);
}

/**
 * A family whose save command fails: the others load, and the status
 * says which did not and why, whichever ruleset is shown.
 */
async function liveUnavailable() {
  const page = await open(`${plan.liveFailing}?live`);
  await page.waitForSelector('body[data-state=ready]');
  const said = 'not loaded: ipv6 (503 the command failed in the last collection; the exporter\'s log says why)';
  assert.ok((await page.textContent('#status')).endsWith(said), await page.textContent('#status'));
  results.checks.push('live: a family not loaded is said');
  await done(page);
}

/** Without --web.enable-ruleset-endpoint, `?live` says why there is nothing. */
async function endpointOff() {
  const page = await open(`${plan.exporterOff}?live`);
  await page.waitForSelector('body[data-state=no-live]');
  assert.match(await page.textContent('#status'), /--web\.enable-ruleset-endpoint/);
  results.checks.push('endpoint off');
  await done(page);
}

/**
 * The same files from a plain static server, with no exporter behind it:
 * a pasted dump, a dropped one, and the package on the page's own thread.
 */
async function staticFiles() {
  const page = await open(`http://127.0.0.1:${staticServer.address().port}/`);
  const [fixture, second] = plan.fixtures;
  await page.fill('#paste', readFileSync(fixture.path, 'utf8'));
  await page.click('#analyse-paste');
  await page.waitForSelector('body[data-state=ready]', { state: 'attached' });
  assert.deepEqual(await tree(page), sorted(fixture.tree), 'static, pasted: tables and chains');

  const dropped = await page.evaluateHandle((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], 'dropped.rules'));
    return transfer;
  }, readFileSync(second.path, 'latin1'));
  await page.dispatchEvent('body', 'drop', { dataTransfer: dropped });
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && document.querySelector('#status').textContent.startsWith('dropped.rules'));
  assert.deepEqual(await tree(page), sorted(second.tree), 'static, dropped: tables and chains');

  const rendered = await page.evaluate(async (text) => {
    const { render } = await import('./package/index.js');
    return render(new TextEncoder().encode(text), { family: 'ipv4' });
  }, readFileSync(fixture.path, 'utf8'));
  assert.equal(rendered, fixture.exposition, 'the package on the main thread');

  await page.click('#live');
  await page.waitForSelector('body[data-state=no-live]');
  results.checks.push('static');
  await done(page);
}

// ---- helpers ----

async function open(url) {
  const page = await context.newPage();
  const problems = [];
  // Also printed as they happen: a check that times out says why.
  const problem = (text) => {
    console.error(`${url}: ${text}`);
    problems.push(text);
  };
  page.on('pageerror', (err) => problem(`page error: ${err.message}`));
  page.on('console', (message) => {
    // The expected 404s of the endpoint-off and static checks, and the 503
    // of the family whose save command fails, are logged too.
    if (message.type() === 'error' && !/status of (404|503)/.test(message.text())) problem(`console: ${message.text()}`);
  });
  page.problems = problems;
  await page.goto(url);
  return page;
}

/** Closes a page that logged no error. */
async function done(page) {
  assert.deepEqual(page.problems, [], `${page.url()}: errors in the page`);
  await page.close();
}

/**
 * Opens a dump and waits until the page has it in `state`: its status
 * names it, so that the dump before, in the same state, is not taken for it.
 */
async function load(page, path, state) {
  await page.setInputFiles('#file', path);
  const name = basename(path);
  try {
    await page.waitForFunction(([wanted, named]) => document.body.dataset.state === wanted
      && document.querySelector('#status').textContent.startsWith(`${named}:`), [state, name]);
  } catch (err) {
    const now = await page.evaluate(() => `${document.body.dataset.state}: ${document.querySelector('#status').textContent}`);
    throw new Error(`${path}: waiting for state ${state}, the page is ${now}`, { cause: err });
  }
}

/** The tree as shown: every chain of every table, sorted. */
async function tree(page) {
  const chains = await page.$$eval('#tree li[data-chain]', (items) => items.map((li) => ({
    table: li.dataset.table,
    chain: li.dataset.chain,
    rules: Number(li.dataset.rules),
    counters: li.dataset.counters,
  })));
  return sorted(chains);
}

function sorted(chains) {
  const key = (c) => `${c.table}\u0000${c.chain}`;
  return [...chains].map((c) => ({ ...c, counters: c.counters.split(',').sort().join(',') }))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** One column of the rule rows in view, top to bottom (commas dropped). */
async function visibleColumn(page, column) {
  return page.$$eval('#rule-canvas .row:not([hidden])', (rows, column) => {
    const viewport = document.querySelector('#rule-viewport').getBoundingClientRect();
    return rows
      .filter((row) => {
        const box = row.getBoundingClientRect();
        return box.top >= viewport.top && box.bottom <= viewport.bottom;
      })
      .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      .map((row) => row.children[column].dataset.value ?? row.children[column].textContent.replaceAll(',', ''));
  }, column);
}

async function shot(page, name) {
  await page.screenshot({ path: join(plan.screenshots, `${name}.png`) });
}

/** The page as static files, from a server that knows nothing else. */
function serveStatic(root) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  const server = createServer((request, response) => {
    const path = normalize(join(root, new URL(request.url, 'http://x').pathname));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(root) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
