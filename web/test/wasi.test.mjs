// The WASI stub grants nothing and passes a panic's text on whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { environment, exit, stdin, stderr, OutputStream, terminalStdout } from '../src/wasi.js';

test('no environment, no input, no exit, no terminal', () => {
  assert.deepEqual(environment.getEnvironment(), []);
  assert.throws(() => stdin.getStdin().read(4096n), /reading stdin: not granted/);
  assert.throws(() => exit.exit({ tag: 'err' }), /exit \(err\): not granted/);
  assert.equal(terminalStdout.getTerminalStdout(), undefined);
  assert.ok(stderr.getStderr() instanceof OutputStream);
});

test('output reaches its sink a line at a time, split UTF-8 included', () => {
  const lines = [];
  const stream = new OutputStream((text) => lines.push(text));
  const bytes = new TextEncoder().encode('panicked at café\nsecond');
  stream.write(bytes.subarray(0, 16)); // ends inside the two bytes of é
  assert.deepEqual(lines, []);
  stream.write(bytes.subarray(16));
  assert.deepEqual(lines, ['panicked at café']);
  stream.blockingFlush();
  assert.deepEqual(lines, ['panicked at café', 'second']);
  stream.blockingFlush();
  assert.equal(lines.length, 2, 'nothing left to flush');
});
