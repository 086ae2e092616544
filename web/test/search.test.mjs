// The rule filter's address and port search (analyzer/search.js), without
// a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The page's module as built (dist/analyzer/): the build is not in the tree.
const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'analyzer', 'search.js');
const { ipv4, ipv6, ruleHas, searchOf } = await import(pathToFileURL(built).href);

const finds = (query, text) => ruleHas(searchOf(query), text);

test('a query is a port, an address, or text', () => {
  assert.deepEqual(searchOf(' 443 '), { kind: 'port', port: 443 });
  assert.deepEqual(searchOf('65536'), { kind: 'text', text: '65536' });
  assert.deepEqual(searchOf('10.244.1.5'), { kind: 'address', bits: 32, value: 0x0af40105n });
  assert.deepEqual(searchOf('2001:DB8::1'), { kind: 'address', bits: 128, value: 0x20010db8000000000000000000000001n });
  assert.deepEqual(searchOf('10.244.1'), { kind: 'text', text: '10.244.1' });
  assert.deepEqual(searchOf('KUBE-SVC'), { kind: 'text', text: 'kube-svc' });
  assert.deepEqual(searchOf('a:b'), { kind: 'text', text: 'a:b' });
});

test('addresses parse as numbers, or not at all', () => {
  assert.equal(ipv4('255.255.255.255'), 0xffffffffn);
  assert.equal(ipv4('256.0.0.1'), null);
  assert.equal(ipv4('1.2.3'), null);
  assert.equal(ipv6('::'), 0n);
  assert.equal(ipv6('::ffff:10.0.0.1'), 0xffff0a000001n);
  assert.equal(ipv6('fe80::1:2'), (0xfe80n << 112n) | 0x10002n);
  assert.equal(ipv6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n);
  assert.equal(ipv6('1:2:3:4:5:6:7'), null);
  assert.equal(ipv6('1::2::3'), null);
  assert.equal(ipv6('1:2:3:4:5:6:7:8::'), null);
  assert.equal(ipv6('12345::'), null);
});

test('an address finds the networks that contain it, not its digits', () => {
  const rule = '-s 10.244.0.0/16 -d 192.168.1.10/32 -p tcp -j ACCEPT';
  assert.ok(finds('10.244.1.5', rule));
  assert.ok(finds('192.168.1.10', rule));
  assert.ok(!finds('192.168.1.1', rule));
  assert.ok(!finds('10.244.1.5', '-s 10.244.1.50/32 -j DROP'), '.50 does not hold .5');
  assert.ok(finds('10.1.2.3', '-d 10.0.0.0/255.0.0.0 -j DROP'), 'a dotted mask');
  assert.ok(finds('10.0.0.7', '-s 10.0.0.1/32,10.0.0.7/32 -j DROP'), 'a list');
  assert.ok(finds('10.0.0.7', '-m iprange --src-range 10.0.0.5-10.0.0.9 -j DROP'), 'a range');
  assert.ok(!finds('10.244.1.5', '! -s 10.244.0.0/16 -j DROP'), 'a negated match excludes it');
  assert.ok(!finds('10.0.0.1', '-m comment --comment "-s 10.0.0.1" -j DROP'), 'a comment is no match');
  assert.ok(!finds('10.0.0.1', '-i eth0 -j DROP'), 'no address, no match');
  assert.ok(finds('2001:db8::5', '-s 2001:db8::/32 -j ACCEPT'));
  assert.ok(!finds('2001:db9::5', '-s 2001:db8::/32 -j ACCEPT'));
  assert.ok(!finds('10.0.0.1', '-s 2001:db8::/32 -j ACCEPT'), 'families apart');
  assert.ok(finds('0.0.0.0', '-s 0.0.0.0/0 -j ACCEPT'));
});

test('nft rules: saddr and daddr, sets, ranges, negation', () => {
  assert.ok(finds('10.0.0.5', 'ip saddr 10.0.0.0/24 counter accept'));
  assert.ok(finds('10.0.0.5', 'ip daddr { 10.0.0.1, 10.0.0.5 } counter accept'));
  assert.ok(finds('10.0.0.5', 'ip saddr 10.0.0.1-10.0.0.9 drop'));
  assert.ok(!finds('10.0.0.5', 'ip saddr != 10.0.0.0/24 drop'));
  assert.ok(finds('fd00::1', 'ip6 saddr fd00::/8 accept'));
});

test('a port finds the port matches that include it', () => {
  assert.ok(finds('443', '-p tcp -m tcp --dport 443 -j ACCEPT'));
  assert.ok(!finds('44', '-p tcp -m tcp --dport 443 -j ACCEPT'), 'not its digits');
  assert.ok(finds('8443', '-p tcp -m multiport --dports 80,8000:9000 -j ACCEPT'));
  assert.ok(finds('22', '-p tcp --sport :1023 -j ACCEPT'));
  assert.ok(!finds('22', '-p tcp ! --dport 22 -j ACCEPT'));
  assert.ok(finds('53', 'udp dport { 53, 123 } accept'));
  assert.ok(finds('3000', 'tcp dport 1024-65535 accept'));
  assert.ok(!finds('3000', 'tcp dport != 1024-65535 accept'));
  assert.ok(!finds('443', '-s 10.0.0.0/8 -j ACCEPT'));
});

test('a rule laid out as iptables -L -v -n does', async () => {
  const { fieldsOf } = await import(pathToFileURL(join(dirname(built), 'listing.js')).href);
  assert.deepEqual(fieldsOf('! -s 10.0.0.0/8 ! -i eth0 -p tcp -m tcp ! --dport 22 -j ACCEPT', 'ipv4'), {
    prot: 'tcp', opt: '--', in: '!eth0', out: '*', source: '!10.0.0.0/8', destination: '0.0.0.0/0', rest: '-m tcp ! --dport 22',
  });
  assert.deepEqual(fieldsOf('! -d 127.0.0.1/32 -o lo -f -m comment --comment "-s 1.2.3.4 x" -j DROP', 'ipv4'), {
    prot: 'all', opt: '-f', in: '*', out: 'lo', source: '0.0.0.0/0', destination: '!127.0.0.1', rest: '-m comment --comment "-s 1.2.3.4 x"',
  });
  assert.deepEqual(fieldsOf('-s 2001:db8::1/128 ! -p ipv6-icmp -g KUBE', 'ipv6'), {
    prot: '!ipv6-icmp', opt: '', in: '*', out: '*', source: '2001:db8::1', destination: '::/0', rest: '',
  });
  assert.equal(fieldsOf('-j REJECT --reject-with icmp-port-unreachable', 'ipv4').rest, '--reject-with icmp-port-unreachable');
});
