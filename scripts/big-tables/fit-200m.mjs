// Does a 200 M-row memory-light 4-bit table (d = 16) fit in one wasm memory? Allocate its arrays
// exactly as QuantizedTable does (codes, f16 Δ, row-wise Adagrad), without the initialisation.
import { createWasmBackend } from '../../dist/src/kernels/wasm.js';
import { allocatorOf } from '../../dist/src/embedding/memory.js';
const b = await createWasmBackend({ threads: 1 });
const alloc = allocatorOf(b.sparse);
const rows = 26 * 7700000;
const t0 = performance.now();
const a = [alloc(Uint8Array, rows * 8, 'codes'), alloc(Uint16Array, rows, 'f16 steps'), alloc(Float32Array, rows, 'row-wise adagrad')];
const bytes = a.reduce((s, x) => s + x.byteLength, 0);
// touch every page once (as the initialisation does)
for (const x of a) { const u = new Uint8Array(x.buffer, x.byteOffset, x.byteLength); for (let i = 0; i < u.length; i += 4096) u[i] = 1; }
console.log(JSON.stringify({ rows, bytes, bytesPerRow: bytes / rows, fallbacks: alloc.fallbacks, ms: Math.round(performance.now() - t0), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
b.dispose();
