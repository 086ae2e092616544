// Builds the package and the analyzer page into one folder of static files
// (dist/ by default): the parser component transpiled by jco (it imports
// nothing), the package's own modules (src/) and the page (analyzer/). Everything imports its
// neighbours by relative path, so the folder works as it is in Node, from
// any web server, and embedded in the exporter.
//
//   node build.mjs [--component parser_wasm.wasm] [--out dir]
//
// The exporter's build script (host/build.rs) runs this on the component it
// has just built and embeds the result, so the page it serves always runs
// the component the exporter runs. By default the component is the one
// `cargo build -p iptables-exporter` left in target/component-build.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { component: { type: 'string' }, out: { type: 'string' } },
});
const component = args.component ?? join(
  process.env.CARGO_TARGET_DIR ?? join(here, '..', 'target'),
  'component-build', 'parser.component.wasm',
);
const out = args.out ?? join(here, 'dist');
if (!existsSync(component)) {
  console.error(`${component} is missing: build the exporter first (cargo build -p iptables-exporter)`);
  process.exit(1);
}

let transpile;
try {
  ({ transpile } = await import('@bytecodealliance/jco'));
} catch (err) {
  console.error(`jco is not installed (${err.code ?? err.message}): run \`npm ci\` in web/ (scripts/setup.sh does)`);
  process.exit(1);
}

// The component imports nothing: no WASI shim, no stub, no import map.
const { files } = await transpile(readFileSync(component), {
  name: 'parser',
  quiet: true,
});
rmSync(out, { recursive: true, force: true });
for (const [name, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(out, name)), { recursive: true });
  writeFileSync(join(out, name), bytes);
}
for (const dir of ['src', 'analyzer']) {
  for (const name of readdirSync(join(here, dir))) {
    copyFileSync(join(here, dir, name), join(out, name));
  }
}
