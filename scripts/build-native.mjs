#!/usr/bin/env node
// npm "install" script: build the optional OpenBLAS GEMM addon (native/ → native/build/Release/
// alpt_blas.node). Optional means this script never fails the install: without OpenBLAS headers
// (Debian/Ubuntu: apt-get install libopenblas-dev), node-gyp, Node headers or a compiler it prints
// one line and exits 0, and alpt computes with WebAssembly. It never downloads anything: node-gyp
// is npm's bundled copy (or a local one) and the Node headers must be installed beside node.
//
// ALPT_BLAS=0 skips the build. ALPT_OPENBLAS_INCLUDE / ALPT_OPENBLAS_LIBDIR point at a non-standard
// OpenBLAS (the directory holding cblas.h, the one holding libopenblas.so/.dylib).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addon = join(nativeDir, 'build', 'Release', 'alpt_blas.node');
const verbose = process.env.ALPT_NATIVE_VERBOSE === '1';

function giveUp(reason) {
  console.log(`alpt: OpenBLAS addon not built (${reason}); alpt will use WebAssembly.`);
  process.exit(0);
}

function multiarch() {
  const arch = { x64: 'x86_64', arm64: 'aarch64', ppc64: 'powerpc64le', s390x: 's390x', riscv64: 'riscv64' }[process.arch];
  return arch ? [`${arch}-linux-gnu`] : [];
}

/** Directory whose cblas.h is OpenBLAS's (declares openblas_get_config) and has openblas_config.h beside it. */
function findInclude() {
  const dirs = [];
  if (process.env.ALPT_OPENBLAS_INCLUDE) dirs.push(process.env.ALPT_OPENBLAS_INCLUDE);
  for (const ma of multiarch()) dirs.push(`/usr/include/${ma}/openblas-pthread`, `/usr/include/${ma}/openblas-openmp`, `/usr/include/${ma}`);
  dirs.push('/usr/include/openblas', '/usr/include', '/usr/local/include/openblas', '/usr/local/include',
    '/opt/homebrew/opt/openblas/include', '/usr/local/opt/openblas/include');
  for (const d of dirs) {
    try {
      const h = readFileSync(join(d, 'cblas.h'), 'utf8');
      if (h.includes('openblas_get_config') && existsSync(join(d, 'openblas_config.h'))) return d;
    } catch { /* next */ }
  }
  return undefined;
}

function findLibDir() {
  const dirs = [];
  if (process.env.ALPT_OPENBLAS_LIBDIR) dirs.push(process.env.ALPT_OPENBLAS_LIBDIR);
  for (const ma of multiarch()) dirs.push(`/usr/lib/${ma}`, `/usr/lib/${ma}/openblas-pthread`);
  dirs.push('/usr/lib64', '/usr/lib', '/usr/local/lib', '/opt/homebrew/opt/openblas/lib', '/usr/local/opt/openblas/lib');
  const names = process.platform === 'darwin' ? ['libopenblas.dylib'] : ['libopenblas.so'];
  return dirs.find((d) => names.some((n) => existsSync(join(d, n))));
}

/** node-gyp's entry script: npm's (npm_config_node_gyp during lifecycle scripts), npm's bundled one, or a local one. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

/** Node's own headers (installed with node): passing them as --nodedir stops node-gyp downloading them. */
function findNodeDir() {
  const prefixes = [resolve(dirname(process.execPath), '..'), process.config?.variables?.node_prefix].filter(Boolean);
  return prefixes.find((p) => existsSync(join(p, 'include', 'node', 'node_api.h')));
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', timeout: 300_000 });
  if (verbose) process.stderr.write((r.stdout ?? '') + (r.stderr ?? ''));
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').map((l) => l.trim());
    const err = lines.find((l) => /error/i.test(l) && !/^gyp (ERR|info)/.test(l)) ?? lines.find((l) => l) ?? r.error?.message ?? '';
    giveUp(`${what} failed${err ? `: ${err.slice(0, 160)}` : ''}`);
  }
}

try {
  if (process.env.ALPT_BLAS === '0') giveUp('ALPT_BLAS=0');
  if (process.platform === 'win32') giveUp('not supported on Windows');
  const include = findInclude();
  if (!include) giveUp('OpenBLAS headers not found; on Debian/Ubuntu: apt-get install libopenblas-dev');
  const libdir = findLibDir();
  if (!libdir) giveUp('libopenblas not found; on Debian/Ubuntu: apt-get install libopenblas-dev');
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) giveUp('node-gyp not found');
  const nodedir = findNodeDir();
  if (!nodedir) giveUp('Node headers not found beside node (include/node/node_api.h)');

  const common = [`--nodedir=${nodedir}`, '--silent'];
  run([nodeGyp, 'configure', ...common, '--', `-Dblas_include=${include}`, `-Dblas_libdir=${libdir}`], 'node-gyp configure');
  run([nodeGyp, 'build', ...common], 'node-gyp build');
  if (!existsSync(addon)) giveUp('node-gyp produced no alpt_blas.node');

  // Load it once in a child process (a broken libopenblas must not surface only at training time).
  const probe = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).config().config.split(" ").slice(0, 2).join(" "))`],
    { encoding: 'utf8', timeout: 60_000 });
  if (probe.status !== 0) giveUp(`built but does not load: ${(probe.stderr || '').trim().split('\n')[0]}`);
  console.log(`alpt: built the OpenBLAS GEMM addon (${probe.stdout.trim()}).`);
} catch (err) {
  giveUp(String(err?.message ?? err).split('\n')[0]);
}
