// The package against the exporter's own expectations: every fixture
// renders byte for byte as its golden file (text, and OpenMetrics for the
// option fixtures), a malformed one throws the exporter's message, and the
// analysis equals the native library's (fixtures/analysis/*.json), read in
// pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze, ipsets, kindOf, render, ParseError } from '@iptables-exporter/parser';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');
const family = (name) => (name.endsWith('.ipv6.rules') ? 'ipv6' : 'ipv4');
const dumps = (dir) => readdirSync(join(fixtures, dir))
  .filter((name) => name.endsWith('.rules'))
  .map((name) => ({ name, path: join(fixtures, dir, name) }));

test('every fixture renders as its golden file', () => {
  const valid = dumps('.');
  assert.equal(valid.length, 20, 'every fixture');
  for (const { name, path } of valid) {
    const want = readFileSync(path.replace(/\.rules$/, '.prom'), 'utf8');
    assert.equal(render(readFileSync(path), { family: family(name) }), want, name);
  }
});

test('OpenMetrics as the option fixtures have it, ended by # EOF', () => {
  for (const fixture of ['spec-example.ipv4', 'kube-proxy-nft.ipv4', 'options-showcase.ipv4']) {
    const want = readFileSync(join(fixtures, 'options', `${fixture}.openmetrics.prom`), 'utf8');
    const got = render(readFileSync(join(fixtures, `${fixture}.rules`)), { format: 'openmetrics' });
    assert.equal(got, `${want}# EOF\n`, fixture);
  }
});

test('a malformed dump throws the exporter\'s message with its line', () => {
  const bad = dumps('bad');
  assert.equal(bad.length, 28, 'every malformed fixture');
  for (const { path } of bad) {
    const want = readFileSync(path.replace(/\.rules$/, '.err'), 'utf8').trimEnd();
    assert.throws(() => render(readFileSync(path)), (err) => {
      assert.ok(err instanceof ParseError);
      assert.equal(err.message, want);
      assert.equal(`line ${err.line}: ${err.reason}`, want);
      return true;
    });
  }
});

test('what is not a dump, or an unknown option, is a TypeError', () => {
  const dump = readFileSync(join(fixtures, 'spec-example.ipv4.rules'));
  const text = dump.toString('utf8');
  // A string reached the component as no bytes at all: "" and an empty
  // analysis, no error.
  for (const notBytes of [text, undefined, null, 42, [1, 2], { length: 3 }]) {
    assert.throws(() => render(notBytes), TypeError, `render(${typeof notBytes})`);
    assert.throws(() => analyze(notBytes), TypeError, `analyze(${typeof notBytes})`);
  }
  assert.throws(() => render(text), /render: expected the dump as a Uint8Array or ArrayBuffer, got a string/);
  for (const options of [{ format: 'json' }, { format: 'OpenMetrics' }, { family: 'ipv5' }, { family: 4 }]) {
    assert.throws(() => render(dump, options), TypeError, JSON.stringify(options));
  }
  assert.throws(() => render(dump, { format: 'json' }), /render: format must be 'text' or 'openmetrics', got 'json'/);
  // Bytes in either form give the same text.
  const want = readFileSync(join(fixtures, 'spec-example.ipv4.prom'), 'utf8');
  const buffer = dump.buffer.slice(dump.byteOffset, dump.byteOffset + dump.byteLength);
  assert.equal(render(buffer), want);
  assert.equal(render(new Uint8Array(buffer)), want);
  const analysis = analyze(buffer);
  assert.equal(analysis.ruleCount, 3);
  analysis.dispose();
});

/** The analysis in the shape of fixtures/analysis/*.json. */
function asJson(result, page) {
  const counters = (c) => (c === undefined ? null : { packets: String(c.packets), bytes: String(c.bytes) });
  const paged = (count, read) => {
    const all = [];
    while (all.length < count) {
      const items = read(all.length, page);
      assert.ok(items.length > 0 && items.length <= page, 'a page holds 1 to `page` items');
      all.push(...items);
    }
    assert.deepEqual(read(count, page), [], 'nothing past the end');
    return all;
  };
  return {
    error: result.error === undefined ? null : { line: result.error.line, message: result.error.message },
    tables: result.tables.map((t) => ({
      name: t.name,
      line: t.line,
      chains: t.chains.map((c) => ({
        name: c.name,
        line: c.line,
        builtin: c.builtin,
        policies: c.policies.map((p) => ({ line: p.line, name: p.name, counters: counters(p.counters) })),
        rules: c.rules,
        base: c.base ?? null,
      })),
    })),
    rules: paged(result.ruleCount, result.rules).map((r) => ({
      line: r.line,
      table: r.table,
      chain: r.chain,
      position: r.position,
      text: r.text,
      target: r.target ?? null,
      goto: r.goto,
      counters: counters(r.counters),
      sets: r.sets,
    })),
    edges: result.edges.map((e) => ({ ...e })),
    diagnostics: paged(result.diagnosticCount, result.diagnostics).map((d) => ({ ...d })),
    ...(result.kind === 'nftables' ? { objects: result.objects.map(objectJson) } : {}),
  };
}

/** A named object in the shape of fixtures/analysis/nftables--*.json. */
function objectJson(o) {
  const string = (n) => (n === undefined ? null : String(n));
  return {
    table: o.table,
    kind: o.kind,
    name: o.name,
    line: o.line,
    elements: string(o.elements),
    maxElements: string(o.maxElements),
    counters: o.counters === undefined ? null : { packets: String(o.counters.packets), bytes: String(o.counters.bytes) },
    quotaUsed: string(o.quotaUsed),
    quotaLimit: string(o.quotaLimit),
  };
}

/** The nft listings among the fixtures, named as fixtures/analysis names them. */
const listings = () => ['nftables', 'nftables/drift'].flatMap((dir) => readdirSync(join(fixtures, dir))
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ path: join(fixtures, dir, name), json: `${dir.replace('/', '--')}--${name}` })));

test('an nft listing, told by its content, renders as its golden file and analyses as the library does', () => {
  const all = listings();
  assert.equal(all.length, 9, 'captured listings and drift cases');
  for (const { path, json } of all) {
    const bytes = readFileSync(path);
    assert.equal(kindOf(bytes), 'nftables', json);
    assert.equal(render(bytes), readFileSync(path.replace(/\.json$/, '.prom'), 'utf8'), json);
    const want = JSON.parse(readFileSync(join(fixtures, 'analysis', json), 'utf8'));
    const result = analyze(bytes);
    try {
      assert.equal(result.kind, 'nftables');
      assert.deepEqual(asJson(result, 3), want, json);
    } finally {
      result.dispose();
    }
  }
  assert.equal(kindOf(new TextEncoder().encode(' \n\t{"nftables": []}')), 'nftables');
  assert.equal(kindOf(readFileSync(join(fixtures, 'spec-example.ipv4.rules'))), 'iptables');
});

test('nft\'s text of a captured listing is told as nftables and reads as its JSON does', () => {
  // mixed.txt is left out: nft's text drops the xt statements of the table
  // iptables-nft made there (the Rust test leaves that table to iptables).
  const names = readdirSync(join(fixtures, 'nftables')).filter((n) => n.endsWith('.txt') && n !== 'mixed.txt');
  assert.deepEqual(names.sort(), ['firewalld.txt', 'kube-proxy.txt', 'objects.txt', 'printing.txt']);
  for (const name of names) {
    const text = readFileSync(join(fixtures, 'nftables', name));
    const json = readFileSync(join(fixtures, 'nftables', name.replace(/\.txt$/, '.json')));
    assert.equal(kindOf(text), 'nftables', name);
    assert.equal(render(text), render(json), name);
    const [fromText, fromJson] = [analyze(text), analyze(json)];
    // Everything but where: lines of the text, items of the JSON (also
    // where a message names one).
    const placeless = (value) => JSON.parse(JSON.stringify(value, (key, v) => {
      if (key === 'line') return undefined;
      return key === 'message' && typeof v === 'string' ? v.replace(/\b(line|item) \d+/g, 'place') : v;
    }));
    try {
      assert.ok(fromJson.ruleCount > 0, name);
      assert.deepEqual(placeless(asJson(fromText, 3)), placeless(asJson(fromJson, 3)), name);
    } finally {
      fromText.dispose();
      fromJson.dispose();
    }
  }
});

test('a listing that does not read throws the exporter\'s message; its analysis is that error', () => {
  const cut = new TextEncoder().encode('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": ');
  assert.throws(() => render(cut), (err) => {
    assert.ok(err instanceof ParseError);
    assert.equal(err.line, 1);
    assert.match(err.reason, /^truncated JSON: EOF while parsing/);
    return true;
  });
  const result = analyze(cut);
  assert.equal(result.error?.line, 1);
  assert.match(result.error?.message ?? '', /^truncated JSON/);
  assert.equal(result.tables.length, 0);
  assert.deepEqual(result.diagnostics(0, 10).map((d) => [d.line, d.code]), [[0, 'parse-error']]);
  result.dispose();
});

test('the analysis of every fixture equals the native library\'s', () => {
  const all = [...dumps('.').map((d) => ({ ...d, json: d.name })),
    ...dumps('bad').map((d) => ({ ...d, json: `bad--${d.name}` }))];
  for (const { path, json } of all) {
    const want = JSON.parse(readFileSync(join(fixtures, 'analysis', json.replace(/\.rules$/, '.json')), 'utf8'));
    const result = analyze(readFileSync(path));
    try {
      assert.deepEqual(asJson(result, 3), want, json);
    } finally {
      result.dispose();
    }
  }
});

test('counters arrive as BigInt, exactly', () => {
  const result = analyze(readFileSync(join(fixtures, 'big-counters-nft.ipv4.rules')));
  const rules = result.rules(0, result.ruleCount);
  assert.ok(rules.some((r) => r.counters !== undefined && r.counters.bytes > 2n ** 53n));
  for (const r of rules) {
    if (r.counters !== undefined) assert.equal(typeof r.counters.packets, 'bigint');
  }
  result.dispose();
});

test('an ipset listing: its sets with their sizes, and its series as the exporter renders them', () => {
  const listing = readFileSync(join(fixtures, 'ipset', 'mixed.txt'));
  assert.equal(kindOf(listing), 'ipset');
  // The golden exposition (checked against ipset's XML by the host's
  // tests) says what each set must show.
  const golden = readFileSync(join(fixtures, 'ipset', 'mixed.prom'), 'utf8');
  const value = (metric, set) => {
    const line = golden.split('\n').find((l) => l.startsWith(`${metric}{set="${set}"`));
    return BigInt(line.split(' ').at(-1));
  };
  const sets = ipsets(listing);
  assert.deepEqual(sets.map((s) => s.name), ['ipc', 'nets', 'plain', 'ipp', 'bp', 'bip', 'bim', 'ip6c', 'ls']);
  for (const set of sets) {
    assert.equal(set.entries, value('ipset_entries', set.name), set.name);
    assert.equal(set.maxEntries, value('ipset_max_entries', set.name), set.name);
    assert.equal(set.memoryBytes, value('ipset_memory_bytes', set.name), set.name);
    assert.equal(set.references, value('ipset_references', set.name), set.name);
  }
  assert.equal(sets[0].kind, 'hash:ip');
  // Terse: every series of the golden file but the elements' counters.
  const withoutElements = golden.split('\n').filter((l) => !l.includes('ipset_element_')).join('\n');
  assert.equal(render(listing), withoutElements);
  assert.throws(() => ipsets(new TextEncoder().encode('Name: cut\nType: hash:ip\n')), (err) => {
    assert.ok(err instanceof ParseError);
    assert.match(err.message, /^line 1: set `cut` has no `Header:` line/);
    return true;
  });
  assert.throws(() => analyze(listing), /analyze: an ipset listing has no rules/);
});

test('a rule names the sets it matches against', () => {
  const dump = new TextEncoder().encode('*filter\n:INPUT ACCEPT [0:0]\n[3:120] -A INPUT -m set --match-set ipc src -j ACCEPT\n[0:0] -A INPUT -p tcp -m set ! --match-set bp dst -j DROP\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n');
  const analysis = analyze(dump);
  try {
    assert.deepEqual(analysis.rules(0, 10).map((r) => r.sets), [['ipc'], ['bp'], []]);
  } finally {
    analysis.dispose();
  }
});

test('trace gives the steps the tracer gave against real iptables, for every case', () => {
  const dump = readFileSync(join(fixtures, 'trace', 'loopback.ipv4.rules'));
  const golden = JSON.parse(readFileSync(join(fixtures, 'trace', 'loopback.ipv4.trace.json'), 'utf8'));
  assert.equal(golden.cases.length, 9);
  const analysis = analyze(dump);
  try {
    for (const c of golden.cases) {
      for (const want of c.hooks) {
        const inbound = want.hook === 'prerouting' || want.hook === 'input';
        const got = analysis.trace({
          hook: want.hook.toUpperCase(),
          source: c.source,
          destination: c.destination,
          protocol: 'udp',
          sourcePort: c.sourcePort,
          destinationPort: c.destinationPort,
          inInterface: inbound ? 'lo' : undefined,
          outInterface: inbound ? undefined : 'lo',
          ctstate: 'NEW',
        });
        const { hook, ...expected } = want;
        const steps = got.steps.map((s) => ({ ...s, target: s.target ?? null }));
        assert.deepEqual({ verdict: got.verdict, certain: got.certain, steps }, expected, `${c.about}, ${hook}`);
      }
    }
    assert.throws(() => analysis.trace({ hook: 'INPUT', source: '10.0.0.300' }), /^TypeError: trace: source: "10.0.0.300" is not an IPv4 or IPv6 address$/);
    assert.throws(() => analysis.trace({ hook: 'INGRESS' }), /trace: hook must be one of PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING, got "INGRESS"/);
    assert.throws(() => analysis.trace({ hook: 'INPUT', destinationPort: 70000 }), /destinationPort must be a port/);
    // A packet with nothing known: the first rule may match.
    const vague = analysis.trace({ hook: 'input' });
    assert.equal(vague.certain, false);
    const firstRule = vague.steps.find((s) => s.position > 0);
    assert.equal(firstRule.outcome, 'may-match');
    assert.match(firstRule.reason, /--ctstate RELATED,ESTABLISHED: the packet has no conntrack state/);
  } finally {
    analysis.dispose();
  }
});
