#!/usr/bin/env node
// Times the row quantizer (assembly/sparse.ts quantRow) alone, through writeBackQuant on 8,192
// L1/L2-resident rows: ns per value of process CPU time (one thread), builds side by side with
// rounds alternating between them, medians. Prints old/new ratios against the first build.
// usage: node scripts/bench-quantrow.mjs <build,build,...> [bits=1,2,3,4,8] [dim=16] [rounds=5]
//   build: a folder with dist/ and build/ (this checkout: .)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const roots = (process.argv[2] ?? '.').split(',').map((r) => resolve(r));
const bitsList = (process.argv[3] ?? '1,2,3,4,8').split(',').map(Number);
const dim = +(process.argv[4] ?? 16), rounds = +(process.argv[5] ?? 5);
const count = 8192, iters = 40;
const builds = [];
for (const root of roots) {
  const { createWasmBackend } = await import(pathToFileURL(`${root}/dist/src/kernels/wasm.js`).href);
  const k = (await createWasmBackend({ threads: 1 })).sparse;
  const w = k.alloc(Float32Array, count * dim, 'w'), rows = k.alloc(Int32Array, count, 'rows');
  const steps = k.alloc(Float32Array, count, 'steps'), codes = k.alloc(Uint8Array, count * dim, 'codes');
  let s = 1;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) { rows[i] = i; steps[i] = 0.003; }
  for (let i = 0; i < count * dim; i++) w[i] = (rnd() + rnd() + rnd() - 1.5) * 0.02;
  builds.push({ root, k, w, rows, steps, codes });
}
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
for (const bits of bitsList) {
  const rb = Math.ceil((dim * bits) / 8);
  for (const stochastic of [1, 0]) {
    const ns = builds.map(() => []);
    for (let r = 0; r < rounds; r++) {
      builds.forEach((b, j) => {
        const run = () => b.k.ex.writeBackQuant(b.k.ptr(b.w), b.k.ptr(b.rows), count, b.k.ptr(b.codes), rb, bits, dim, b.k.ptr(b.steps), stochastic, 7, 3);
        run();
        const c = process.cpuUsage();
        for (let t = 0; t < iters; t++) run();
        const d = process.cpuUsage(c);
        ns[j].push(((d.user + d.system) * 1e3) / (iters * count * dim));
      });
    }
    const m = ns.map(med);
    console.log(JSON.stringify({ bits, dim, rounding: stochastic ? 'stochastic' : 'deterministic', ns_per_value: m.map((x) => +x.toFixed(2)), ratio: m.map((x) => +(m[0] / x).toFixed(2)) }));
  }
}
process.exit(0);
