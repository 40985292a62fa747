// The wasm embedding kernels (assembly/sparse.ts) against the TypeScript reference: tables created
// with a wasm backend must produce bit-identical codes, steps, optimizer states and outputs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTable, type TableMethod } from '../src/embedding/factory.js';
import { BatchLookup } from '../src/embedding/batch-lookup.js';
import { isAdaptive, type EmbeddingTable, type SparseOptimizerName } from '../src/embedding/table.js';
import type { Backend } from '../src/kernels/backend.js';
import type { SparseExports, SparseKernels } from '../src/kernels/sparse.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { roundingRowKey } from '../src/quant/round.js';
import { CounterRng } from '../src/util/rng.js';

const ROWS = 300;
const METHODS: TableMethod[] = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'];
const BITS = [8, 4, 2, 3];
const OPTIMIZERS: SparseOptimizerName[] = ['adam', 'adagrad', 'rowwise-adagrad', 'sgd'];

let backend: Backend | undefined;
/** Calls per wasm kernel, to check the tables really take the wasm path. */
const calls = new Map<string, number>();
async function be(): Promise<Backend> {
  if (!backend) {
    backend = await createWasmBackend({ threads: 1 });
    const k = backend.sparse as { ex: SparseExports };
    const ex = k.ex as unknown as Record<string, (...a: number[]) => number>;
    const counted: Record<string, (...a: number[]) => number> = {};
    for (const name of Object.keys(ex)) {
      counted[name] = (...a: number[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return ex[name](...a);
      };
    }
    k.ex = counted as unknown as SparseExports;
  }
  return backend;
}
function expectCalls(names: string[]): void {
  for (const n of names) assert.ok((calls.get(n) ?? 0) > 0, `wasm kernel ${n} was not used`);
  calls.clear();
}
after(() => backend?.dispose());

function bytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function assertSameState(a: EmbeddingTable, b: EmbeddingTable, what: string): void {
  const sa = a.state(), sb = b.state();
  assert.deepEqual(Object.keys(sa).sort(), Object.keys(sb).sort(), what);
  for (const k of Object.keys(sa)) {
    const x = bytes(sa[k]), y = bytes(sb[k]);
    assert.equal(x.length, y.length, `${what}: ${k} length`);
    const i = x.findIndex((v, j) => v !== y[j]);
    assert.equal(i, -1, `${what}: ${k} differs at byte ${i}`);
  }
}

function assertSameF32(x: Float32Array, y: Float32Array, n: number, what: string): void {
  const i = bytes(x.subarray(0, n)).findIndex((v, j) => v !== bytes(y.subarray(0, n))[j]);
  assert.equal(i, -1, `${what}: differs at byte ${i}`);
}

/** count distinct random rows out of total. */
function pickRows(rng: CounterRng, count: number, total = ROWS): number[] {
  const perm = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm.slice(0, count);
}

/** Per-step buffers inside the wasm memory, for up to maxCount rows. */
function wasmIo(k: SparseKernels, maxCount: number, dim: number) {
  return {
    rows: k.alloc(Int32Array, maxCount, 'rows'),
    grads: k.alloc(Float32Array, maxCount * dim, 'grads'),
    dq: k.alloc(Float32Array, maxCount * dim, 'dq'),
    out: k.alloc(Float32Array, maxCount * dim, 'out'),
    outT: new Float32Array(maxCount * dim),
  };
}

/**
 * One training step's table calls on the TypeScript table ts and the wasm table wa, comparing
 * outputs and states byte for byte: gather, then update() or ALPT's staged phases. fused: the wasm
 * side takes updateStepsAndWriteBack() where TypeScript runs the two phases.
 */
function stepBoth(
  ts: EmbeddingTable, wa: EmbeddingTable, io: ReturnType<typeof wasmIo>, rng: CounterRng,
  rows: Int32Array, grads: Float32Array, step: number, fused: boolean, what: string,
): void {
  const count = rows.length, n = count * ts.dim;
  io.rows.set(rows);
  io.grads.set(grads);
  ts.gather(rows, count, io.outT);
  wa.gather(io.rows, count, io.out);
  assertSameF32(io.outT, io.out, n, `gather ${what}`);
  if (isAdaptive(ts) && isAdaptive(wa)) {
    ts.stageUpdate(rows, count, grads, step);
    wa.stageUpdate(io.rows, count, io.grads, step);
    ts.fakeQuantizeStaged(io.outT);
    wa.fakeQuantizeStaged(io.out);
    assertSameF32(io.outT, io.out, n, `fakeQuantizeStaged ${what}`);
    const dq = Float32Array.from({ length: n }, () => rng.normal());
    io.dq.set(dq);
    ts.updateStepSizesStaged(dq, step);
    if (fused) {
      ts.writeBackStaged(step);
      wa.updateStepSizesAndWriteBack(io.dq, step);
    } else {
      wa.updateStepSizesStaged(io.dq, step);
      assertSameState(ts, wa, `updateStepsStaged ${what}`);
      ts.writeBackStaged(step);
      wa.writeBackStaged(step);
    }
  } else {
    ts.update(rows, count, grads, step);
    wa.update(io.rows, count, io.grads, step);
  }
  assertSameState(ts, wa, what);
}

test('roundingRowKey: wasm matches TypeScript', async () => {
  const b = await be();
  const rng = new CounterRng(3, 1);
  for (let i = 0; i < 2000; i++) {
    const seed = Math.floor(rng.next() * 2 ** 32), step = Math.floor(rng.next() * 2 ** 31), row = Math.floor(rng.next() * 2 ** 31);
    assert.equal(b.sparse!.ex.roundingRowKey(seed, step, row) >>> 0, roundingRowKey(seed, step, row));
  }
});

for (const method of METHODS) {
  for (const bits of method === 'fp32' ? [32] : BITS) {
    for (const opt of OPTIMIZERS) {
      for (const dim of [16, 7]) {
        test(`${method} ${bits}-bit ${opt} dim ${dim}: wasm table ≡ TypeScript table`, async () => {
          const b = await be();
          const k = b.sparse!;
          const mk = (backend?: Backend) => createTable({
            method, rows: ROWS, dim, bits, seed: 11, tableId: 2, optimizer: { name: opt, lr: opt === 'sgd' ? 0.05 : 0.02 },
            stepOptimizer: opt === 'sgd' ? 'sgd' : 'adam', stepLr: 0.05, backend,
          });
          const ts = mk(), wa = mk(b);
          assertSameState(ts, wa, 'init');
          calls.clear();
          const rng = new CounterRng(5 + bits, dim);
          const io = wasmIo(k, 120, dim);
          for (let step = 1; step <= 6; step++) {
            const count = 20 + Math.floor(rng.next() * 100);
            const rows = Int32Array.from(pickRows(rng, count));
            const scale = step % 2 ? 1 : 30; // large steps push values past the clip range
            const grads = Float32Array.from({ length: count * dim }, () => scale * rng.normal());
            stepBoth(ts, wa, io, rng, rows, grads, step, step % 2 === 0, `step ${step}`);
          }
          if (method === 'fp32') expectCalls(['gatherF32', 'updateF32']);
          else if (method === 'alpt') expectCalls(['gatherQuant', 'stageQuant', 'fakeQuantStaged', 'stepsStaged', 'writeBackQuant', 'stepsWriteBackStaged']);
          else if (method === 'alpt-fast') expectCalls(['gatherQuant', 'updateLearnQuant']);
          else if (method !== 'lsq') expectCalls(['gatherQuant', 'updateQuant']);
          assert.deepEqual({ ...wa.memory(), scratch: 0 }, { ...ts.memory(), scratch: 0 }); // fused wasm kernels stage nothing
          // state()/load() round trip into a wasm table
          const again = mk(b);
          again.load(ts.state());
          assertSameState(ts, again, 'load');
        });
      }
    }
  }
}

// f16 step sizes and the light step optimizers (adagrad: one f32 per row, sgd: none) in the wasm
// kernels: bit-identical to the TypeScript StepStore / StepOptimizer path.
for (const method of ['lpt-sr', 'alpt', 'alpt-fast'] as TableMethod[]) {
  for (const stepDtype of ['f16', 'f32'] as const) {
    for (const stepOptimizer of ['adam', 'adagrad', 'sgd'] as const) {
      if (method === 'lpt-sr' && stepOptimizer !== 'adam') continue;
      for (const bits of [4, 2, 3]) {
        test(`${method} ${bits}-bit ${stepDtype} steps, step optimizer ${stepOptimizer}: wasm ≡ TypeScript`, async () => {
          const b = await be();
          const mk = (backend?: Backend) => createTable({
            method, rows: ROWS, dim: 16, bits, seed: 3, optimizer: { name: 'rowwise-adagrad', lr: 0.05 },
            stepDtype, stepOptimizer, stepLr: 0.2, backend,
          });
          const ts = mk(), wa = mk(b);
          assertSameState(ts, wa, 'init');
          calls.clear();
          const rng = new CounterRng(9, bits);
          const io = wasmIo(b.sparse!, 120, 16);
          for (let step = 1; step <= 6; step++) {
            const count = 20 + Math.floor(rng.next() * 100);
            const rows = Int32Array.from(pickRows(rng, count));
            const grads = Float32Array.from({ length: count * 16 }, () => (step % 2 ? 1 : 30) * rng.normal());
            stepBoth(ts, wa, io, rng, rows, grads, step, step % 2 === 0, `step ${step}`);
          }
          if (method === 'alpt') expectCalls(['gatherQuant', 'stageQuant', 'fakeQuantStaged', 'stepsStaged', 'writeBackQuant', 'stepsWriteBackStaged']);
          else if (method === 'alpt-fast') expectCalls(['gatherQuant', 'updateLearnQuant']);
          else expectCalls(['gatherQuant', 'updateQuant']);
          assert.deepEqual({ ...wa.memory(), scratch: 0 }, { ...ts.memory(), scratch: 0 }); // fused wasm kernels stage nothing
        });
      }
    }
  }
}

test('f16 steps: tiny and huge Δ round like StepStore (0 → 2^-24, overflow → Inf)', async () => {
  const b = await be();
  for (const initStep of [1e-9, 3e-6, 7e4]) {
    const mk = (backend?: Backend) => createTable({
      method: 'alpt-fast', rows: ROWS, dim: 16, bits: 4, seed: 3, optimizer: { name: 'sgd', lr: 0.5 },
      stepDtype: 'f16', stepOptimizer: 'sgd', stepLr: 5, initStep, backend,
    });
    const ts = mk(), wa = mk(b);
    const rng = new CounterRng(2, 2);
    const io = wasmIo(b.sparse!, 60, 16);
    for (let step = 1; step <= 3; step++) {
      const rows = Int32Array.from(pickRows(rng, 50));
      const grads = Float32Array.from({ length: 50 * 16 }, () => 100 * rng.normal());
      stepBoth(ts, wa, io, rng, rows, grads, step, false, `Δ0 ${initStep} step ${step}`);
    }
  }
});

// Every byte a table places in the wasm memory is in its memory report: the arrays that grow with
// the rows in total, its per-batch buffers in scratch. A BatchLookup allocates nothing per row.
test('memory report ≡ allocation log of the wasm memory (every table, optimizer, step dtype)', async () => {
  const b = await be();
  const log: { what: string; bytes: number }[] = [];
  const k = b.sparse!;
  const logged: SparseKernels = {
    ex: k.ex,
    ptr: (a) => k.ptr(a),
    scratchF64: (n) => k.scratchF64(n),
    used: () => k.used(),
    alloc(ctor, n, what) {
      const a = k.alloc(ctor, n, what);
      log.push({ what, bytes: a.byteLength });
      return a;
    },
  };
  const lb: Backend = { ...b, sparse: logged };
  const rows = 1000, dim = 16;
  for (const method of ['fp32', 'lpt-sr', 'alpt', 'alpt-fast'] as TableMethod[]) {
    for (const opt of OPTIMIZERS) {
      for (const stepDtype of ['f32', 'f16'] as const) {
        for (const stepOptimizer of ['adam', 'adagrad', 'sgd'] as const) {
          log.length = 0;
          const t = createTable({ method, rows, dim, bits: 4, seed: 1, optimizer: { name: opt, lr: 0.01 }, stepDtype, stepOptimizer, backend: lb });
          const what = `${method} ${opt} ${stepDtype} ${stepOptimizer}`;
          const r0 = t.memory();
          const sum = () => log.reduce((s, x) => s + x.bytes, 0);
          assert.equal(r0.total + r0.scratch, sum(), `${what}: at creation`);
          assert.deepEqual(r0.fallbacks, []);
          // a training step grows the per-batch buffers; still all accounted for
          const lookup = new BatchLookup(t, logged);
          const before = sum();
          const ids = Int32Array.from({ length: 512 }, (_, i) => (i * 7919) % rows);
          lookup.prepare(ids, 512);
          assert.equal(sum() - before, lookup.bytes(), `${what}: lookup scratch`);
          assert.ok(lookup.bytes() <= 512 * (12 + 32 + 8 * dim), `${what}: lookup scratch O(batch), ${lookup.bytes()} bytes`);
          const x = b.alloc(512 * dim);
          lookup.lookup(x);
          const g = lookup.scatter(x);
          if (isAdaptive(t)) {
            t.stageUpdate(lookup.rows, lookup.count, g, 1);
            t.updateStepSizesAndWriteBack(g, 1);
          } else {
            t.update(lookup.rows, lookup.count, g, 1);
          }
          const r1 = t.memory();
          assert.equal(r1.total, r0.total);
          assert.equal(r1.total + r1.scratch + lookup.bytes(), sum(), `${what}: after a step (x is the backend's, not logged)`);
          // per-row bytes: codes + Δ + optimizer states, nothing else
          const stepBytes = method === 'fp32' ? 0 : stepDtype === 'f16' ? 2 : 4;
          const stepOpt = method === 'alpt' || method === 'alpt-fast' ? { adam: 8, adagrad: 4, sgd: 0 }[stepOptimizer] : 0;
          const optBytes = { adam: 8 * dim, adagrad: 4 * dim, 'rowwise-adagrad': 4, sgd: 0 }[opt];
          const codeBytes = method === 'fp32' ? 4 * dim : dim / 2;
          assert.equal(r1.bytesPerRow, codeBytes + stepBytes + stepOpt + optBytes, what);
        }
      }
    }
  }
});

test('wasm memory full: arrays fall back to the JS heap, said once on stderr and in memory().fallbacks', async () => {
  const b = await be();
  const k = b.sparse!;
  let left = 2;
  const full: SparseKernels = {
    ex: k.ex,
    ptr: (a) => k.ptr(a),
    scratchF64: (n) => k.scratchF64(n),
    used: () => k.used(),
    alloc(ctor, n, what) {
      if (left-- <= 0) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      return k.alloc(ctor, n, what);
    },
  };
  const { fallbackLog } = await import('../src/embedding/memory.js');
  const said: string[] = [];
  const write = fallbackLog.write;
  fallbackLog.write = (m) => void said.push(m);
  try {
    const mk = (backend?: Backend) => createTable({ method: 'alpt', rows: ROWS, dim: 16, bits: 4, seed: 3, optimizer: { name: 'adam', lr: 0.02 }, backend });
    const wa = mk({ ...b, sparse: full }), ts = mk();
    const m = wa.memory();
    assert.ok(m.fallbacks.length >= 3, m.fallbacks.join('; '));
    assert.match(m.fallbacks[0], /adam m .* on the JS heap/);
    left = 0;
    mk({ ...b, sparse: full });
    assert.equal(said.length, 1, 'warned once per process');
    assert.match(said[0], /warning: .*Maximum memory size exceeded.*TypeScript kernels/);
    // still the same results (the TypeScript path)
    const rng = new CounterRng(1, 1);
    const rows = Int32Array.from(pickRows(rng, 50));
    const grads = Float32Array.from({ length: 50 * 16 }, () => rng.normal());
    ts.update(rows, 50, grads, 1);
    wa.update(rows, 50, grads, 1);
    assertSameState(ts, wa, 'fallback');
  } finally {
    fallbackLog.write = write;
  }
});

for (const dim of [16, 5, 1]) {
  test(`BatchLookup dim ${dim}: wasm scatter/expand/lookup ≡ TypeScript`, async () => {
    const b = await be();
    const mk = (backend?: Backend) => createTable({ method: 'lpt-sr', rows: ROWS, dim, bits: 4, seed: 1, optimizer: { name: 'sgd', lr: 0.1 }, backend });
    const lt = new BatchLookup(mk()), lw = new BatchLookup(mk(b), b.sparse!);
    const rng = new CounterRng(4, dim);
    const slots = 1000;
    const ids = Int32Array.from({ length: slots }, () => Math.floor(rng.next() ** 3 * ROWS)); // repeats
    lt.prepare(ids, slots);
    lw.prepare(ids, slots);
    assert.equal(lt.count, lw.count);
    assert.deepEqual(Array.from(lw.rows.subarray(0, lw.count)), Array.from(lt.rows.subarray(0, lt.count)));
    assert.deepEqual(Array.from(lw.inverse.subarray(0, slots)), Array.from(lt.inverse.subarray(0, slots)));
    const xT = new Float32Array(slots * dim), xW = b.alloc(slots * dim);
    lt.lookup(xT);
    lw.lookup(xW);
    assertSameF32(xT, xW, slots * dim, 'lookup');
    const dx = Float32Array.from({ length: slots * dim }, () => rng.normal());
    const dxW = b.alloc(slots * dim);
    dxW.set(dx);
    const gT = lt.scatter(dx), gW = lw.scatter(dxW);
    assertSameF32(gT, gW, lt.count * dim, 'scatter');
    // a second, smaller batch reuses the buffers: scatter must clear the previous sums
    lt.prepare(ids.subarray(0, 100), 100);
    lw.prepare(ids.subarray(0, 100), 100);
    assertSameF32(lt.scatter(dx), lw.scatter(dxW), lt.count * dim, 'scatter again');
    expectCalls(['prepareRows', 'expandRows', 'scatterRows', 'gatherQuant']);
    const bad = ids.slice(0, 10);
    bad[7] = ROWS;
    assert.throws(() => lw.prepare(bad, 10), /embedding id 300 out of range/);
    assert.throws(() => lt.prepare(bad, 10), /embedding id 300 out of range/);
  });
}

// With 2 threads, calls over thousands of rows are split across the workers by row ranges: the
// tables must still match the TypeScript reference byte for byte.
test('2 threads: per-row kernels split across workers ≡ TypeScript tables', async () => {
  const b2 = await createWasmBackend({ threads: 2 });
  try {
    const rowsTotal = 20000;
    for (const [method, bits, opt, dim] of [
      ['alpt', 4, 'rowwise-adagrad', 16], ['alpt', 3, 'adam', 7], ['alpt-fast', 8, 'adam', 16], ['lpt-sr', 2, 'adagrad', 16],
      ['lpt-dr', 8, 'rowwise-adagrad', 5], ['fp32', 32, 'adam', 16],
    ] as [TableMethod, number, SparseOptimizerName, number][]) {
      const mk = (backend?: Backend) => createTable({
        method, rows: rowsTotal, dim, bits, seed: 4, tableId: 1, optimizer: { name: opt, lr: 0.02 }, stepLr: 0.05, backend,
      });
      const ts = mk(), wa = mk(b2);
      const rng = new CounterRng(77, dim);
      const io = wasmIo(b2.sparse!, 9000, dim);
      for (let step = 1; step <= 3; step++) {
        const count = 5000 + Math.floor(rng.next() * 4000);
        const rows = Int32Array.from(pickRows(rng, count, rowsTotal));
        const grads = Float32Array.from({ length: count * dim }, () => (step === 2 ? 30 : 1) * rng.normal());
        stepBoth(ts, wa, io, rng, rows, grads, step, true, `${method}-${bits} ${opt} dim ${dim} step ${step}`);
      }
    }
  } finally {
    b2.dispose();
  }
});
