// Transpiles the parser component the host embeds (built by `cargo build`
// into target/component-build) into dist/ with jco. Run `cargo build -p
// iptables-exporter` first; scripts/test.sh does both.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const component = join(
  process.env.CARGO_TARGET_DIR ?? join(here, '..', 'target'),
  'component-build', 'wasm32-wasip2', 'component', 'parser_wasm.wasm',
);
if (!existsSync(component)) {
  console.error(`${component} is missing: build the exporter first (cargo build -p iptables-exporter)`);
  process.exit(1);
}
const out = join(here, 'dist');
rmSync(out, { recursive: true, force: true });
execFileSync(
  join(here, 'node_modules', '.bin', 'jco'),
  ['transpile', component, '--out-dir', out, '--name', 'parser', '--quiet'],
  { stdio: 'inherit' },
);
