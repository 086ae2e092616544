// Builds the JS package and the analyzer page from the parser component,
// apart:
//
//   dist/package/   the package: its modules (package/), the component
//                   transpiled by jco (it imports nothing: no WASI shim,
//                   stub or import map), its declarations, and
//                   component.sha256 (which component it was made from)
//   dist/analyzer/  the page: analyzer/'s files, with the package in
//                   package/; plain static files, served by the exporter
//                   (host/build.rs embeds them when component.sha256 is the
//                   component it has just built) or any web server
//
//   node build.mjs [package|page|all] [--component parser.component.wasm] [--out dir] [--if-changed]
//
// `all` (the default) builds both into dist/; `--out` names the folder of
// the one asked for. By default the component is the one
// `cargo build -p iptables-exporter` left in target/component-build.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args, positionals } = parseArgs({
  options: { component: { type: 'string' }, out: { type: 'string' }, 'if-changed': { type: 'boolean' } },
  allowPositionals: true,
});
const what = positionals[0] ?? 'all';
if (!['package', 'page', 'all'].includes(what) || positionals.length > 1) {
  console.error(`usage: node build.mjs [package|page|all] [--component FILE] [--out DIR] (not ${positionals.join(' ')})`);
  process.exit(2);
}
if (what === 'all' && args.out) {
  console.error('--out names the folder of one build: give `package` or `page`');
  process.exit(2);
}
// Where host/build.rs leaves the component (its `component_target_dir`).
const workspace = join(here, '..');
const componentDir = process.env.IPTABLES_EXPORTER_COMPONENT_TARGET_DIR
  ?? join(resolve(workspace, process.env.CARGO_TARGET_DIR ?? 'target'), 'component-build');
const component = args.component ?? join(componentDir, 'parser.component.wasm');
if (!existsSync(component)) {
  console.error(`${component} is missing: build the exporter first (cargo build -p iptables-exporter)`);
  process.exit(1);
}

const bytes = readFileSync(component);
const sha256 = createHash('sha256').update(bytes).digest('hex');

// `--if-changed`: nothing to do when dist/ was built from this component
// and these sources (so that scripts/run.sh does not make cargo embed the
// same page again).
if (args['if-changed'] && what === 'all' && upToDate()) {
  console.error(`web/dist is up to date (component sha256 ${sha256.slice(0, 12)}…)`);
  process.exit(0);
}

let transpile;
try {
  ({ transpile } = await import('@bytecodealliance/jco'));
} catch (err) {
  console.error(`jco is not installed (${err.code ?? err.message}): run \`npm ci\` in web/ (scripts/setup.sh does)`);
  process.exit(1);
}

const { files } = await transpile(bytes, { name: 'parser', quiet: true });

/** The package into `out`: jco's files, the wrapper, the component's hash. */
function writePackage(out) {
  rmSync(out, { recursive: true, force: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), content);
  }
  cpSync(join(here, 'package'), out, { recursive: true });
  writeFileSync(join(out, 'component.sha256'), `${sha256}\n`);
}

/** The page into `out`, the package beside its modules. */
function writePage(out) {
  rmSync(out, { recursive: true, force: true });
  cpSync(join(here, 'analyzer'), out, { recursive: true });
  writePackage(join(out, 'package'));
}

/** Whether both builds in dist/ are of this component and newer than every source. */
function upToDate() {
  const stamps = ['package', join('analyzer', 'package')].map((dir) => join(here, 'dist', dir, 'component.sha256'));
  if (!stamps.every((stamp) => existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sha256)) return false;
  const built = Math.min(...stamps.map((stamp) => statSync(stamp).mtimeMs));
  return newest([join(here, 'package'), join(here, 'analyzer'), join(here, 'build.mjs')]) < built;
}

/** The newest modification time among these files and folders' files. */
function newest(paths) {
  return Math.max(...paths.map((path) => (statSync(path).isDirectory()
    ? newest(readdirSync(path).map((name) => join(path, name)))
    : statSync(path).mtimeMs)), 0);
}

if (what !== 'page') writePackage(args.out ?? join(here, 'dist', 'package'));
if (what !== 'package') writePage(args.out ?? join(here, 'dist', 'analyzer'));
console.error(`built ${what} from ${component} (sha256 ${sha256.slice(0, 12)}…)`);
