#!/usr/bin/env node
// Times the table-init kernels (assembly/init.ts) directly: ns per value of wall time for
// initQuant (draw + stochastic rounding), initAbsSums (draw + Σ|w|) and initF32 (the draw alone).
// usage: node scripts/bench-init.mjs [threads=1] [rows=4194304] [root=this checkout] [cpu]
//   root: another build's folder (with dist/ and build/) to compare builds side by side;
//   cpu: process CPU time instead of wall time (1 thread only).
import { fileURLToPath } from 'node:url';

const [threadsS = '1', rowsS = '4194304', rootArg, mode] = process.argv.slice(2);
const root = rootArg ?? fileURLToPath(new URL('..', import.meta.url));
const threads = +threadsS, rows = +rowsS, dim = 16, bits = 4;
const { createWasmBackend } = await import(`${root}/dist/src/kernels/wasm.js`);
const b = await createWasmBackend({ threads });
const k = b.sparse;
const rb = (dim * bits) >> 3;
const codes = k.alloc(Uint8Array, rows * rb, 'codes');
const buf = k.alloc(Float32Array, dim, 'buf');
const sums = k.alloc(Float64Array, Math.ceil(rows / 4096), 'sums');
const out = k.alloc(Float32Array, (rows >> 2) * dim, 'out');
const key = 0x12345678;
const cpu = mode === 'cpu';
const time = (f) => {
  if (cpu) { const c = process.cpuUsage(); f(); const d = process.cpuUsage(c); return (d.user + d.system) / 1e6; }
  const s = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - s) / 1e9;
};
// touch the buffers and warm up
out.fill(1); codes.fill(1);
k.ex.initF32(key, dim, 0.01, 1, 4096, k.ptr(out));
k.ex.initQuant(key, dim, 0.01, 1, 4096, k.ptr(codes), rb, bits, 0.003, 7, k.ptr(buf));
const tq = time(() => k.ex.initQuant(key, dim, 0.01, 1, rows, k.ptr(codes), rb, bits, 0.003, 7, k.ptr(buf)));
const ta = time(() => k.ex.initAbsSums(key, dim, 0.01, 1, rows, k.ptr(sums), k.ptr(buf)));
const tf = time(() => k.ex.initF32(key, dim, 0.01, 1, rows >> 2, k.ptr(out)));
const n = rows * dim, ns = (t, m) => +((t / m) * 1e9).toFixed(2);
console.log(JSON.stringify({ root, threads, rows, dim, initQuant_ns: ns(tq, n), initAbsSums_ns: ns(ta, n), initF32_ns: ns(tf, n / 4) }));
b.dispose?.();
process.exit(0);
