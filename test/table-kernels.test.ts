// The TableKernels interface: its WebAssembly and TypeScript implementations, called directly on
// the same small table, agree byte for byte on every method (outputs and every array they write).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../src/kernels/backend.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { OPT_ADAGRAD, OPT_ADAM, OPT_ROWWISE, OPT_SGD, type SparseExports, type SparseKernels } from '../src/kernels/sparse.js';
import {
  tableKernelsFor, type PackedTableArrays, type SparseOptimizerArgs, type StagedRows, type StepSizeOptimizerArgs,
  type TableKernels,
} from '../src/kernels/table-kernels.js';
import { jsTableKernels } from '../src/kernels/table-kernels-js.js';
import { wasmTableKernels } from '../src/kernels/table-kernels-wasm.js';
import { STEP_SIZE_ADAGRAD, STEP_SIZE_ADAM, STEP_SIZE_SGD } from '../src/embedding/steps.js';
import { rowBytes } from '../src/quant/pack.js';
import { qHigh, qLow } from '../src/quant/round.js';
import { lsqGradScale } from '../src/quant/lsq.js';
import { toHalf } from '../src/quant/fp16.js';
import { CounterRng } from '../src/util/rng.js';

const ROWS = 64;
let backend: Backend | undefined;
after(() => backend?.dispose());

/** The backend's sparse kernels with every export call counted (to check nothing fell back to TypeScript). */
async function counted(): Promise<{ k: SparseKernels; calls: Map<string, number> }> {
  backend ??= await createWasmBackend({ threads: 1 });
  const base = backend.sparse!;
  const calls = new Map<string, number>();
  const ex: Record<string, (...a: number[]) => number> = {};
  for (const [name, fn] of Object.entries(base.ex as unknown as Record<string, (...a: number[]) => number>)) {
    ex[name] = (...a: number[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return fn(...a);
    };
  }
  return { k: { ex: ex as unknown as SparseExports, alloc: (c, n, w) => base.alloc(c, n, w), ptr: (a) => base.ptr(a), scratchF64: (n) => base.scratchF64(n), used: () => base.used() }, calls };
}

type Ctor<T> = new (n: number) => T;
/** Allocates the same arrays twice: in the wasm memory and on the JS heap; `all` lists the pairs. */
function twin(k: SparseKernels) {
  const all: [string, ArrayBufferView, ArrayBufferView][] = [];
  return {
    all,
    make<T extends ArrayBufferView>(ctor: Ctor<T>, n: number, what: string, fill?: (i: number) => number): [T, T] {
      const w = k.alloc(ctor, n, what), j = new ctor(n);
      if (fill) {
        const a = w as unknown as { [i: number]: number };
        for (let i = 0; i < n; i++) a[i] = fill(i);
        (j as unknown as { set(x: ArrayLike<number>): void }).set(w as unknown as ArrayLike<number>);
      }
      all.push([what, w, j]);
      return [w, j];
    },
  };
}

function bytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function assertSame(all: [string, ArrayBufferView, ArrayBufferView][], what: string): void {
  for (const [name, w, j] of all) {
    if (name === 'scratch') continue; // a row buffer, no result (the wasm pool even hands each thread its own)
    const x = bytes(w), y = bytes(j);
    const i = x.findIndex((v, n) => v !== y[n]);
    assert.equal(i, -1, `${what}: ${name} differs at byte ${i}`);
  }
}

const OPTS = [OPT_ADAM, OPT_ADAGRAD, OPT_ROWWISE, OPT_SGD];
const STEP_SIZE_OPTS = [STEP_SIZE_ADAM, STEP_SIZE_ADAGRAD, STEP_SIZE_SGD];

for (const bits of [8, 4, 3, 2]) {
  for (const f16 of [false, true]) {
    test(`${bits}-bit ${f16 ? 'f16' : 'f32'} step sizes: every TableKernels method, wasm ≡ TypeScript`, async () => {
      const { k, calls } = await counted();
      for (const [dim, optKind, soKind] of [[16, 0, 0], [7, 1, 1], [16, 2, 2], [5, 3, 0]].map(([d, o, s]) => [d, OPTS[o], STEP_SIZE_OPTS[s]])) {
        const rng = new CounterRng(bits * 10 + (f16 ? 1 : 0), dim * 7 + optKind);
        const t = twin(k);
        const rb = rowBytes(dim, bits);
        const [codesW, codesJ] = t.make(Uint8Array, ROWS * rb, 'codes', () => Math.floor(rng.next() * 256));
        const step0 = () => 0.002 + 0.02 * rng.next();
        const [ssW, ssJ] = f16
          ? t.make(Uint16Array, ROWS, 'step sizes', () => toHalf(step0()))
          : t.make(Float32Array, ROWS, 'step sizes', step0);
        const stateLen = optKind === OPT_ROWWISE ? ROWS : ROWS * dim;
        const hasM = optKind !== OPT_SGD, hasV = optKind === OPT_ADAM;
        const [mW, mJ] = hasM ? t.make(Float32Array, stateLen, 'opt m', () => 0.01 * rng.next()) : [null, null];
        const [vW, vJ] = hasV ? t.make(Float32Array, stateLen, 'opt v', () => 0.01 * rng.next()) : [null, null];
        const [smW, smJ] = soKind !== STEP_SIZE_SGD ? t.make(Float32Array, ROWS, 'step-size opt m', () => 0.01 * rng.next()) : [null, null];
        const [svW, svJ] = soKind === STEP_SIZE_ADAM ? t.make(Float32Array, ROWS, 'step-size opt v', () => 0.01 * rng.next()) : [null, null];
        const [weightsW, weightsJ] = t.make(Float32Array, ROWS * dim, 'fp32 weights', () => 0.1 * rng.normal());
        const count = 40;
        const perm = Array.from({ length: ROWS }, (_, i) => i).sort(() => rng.next() - 0.5).slice(0, count);
        const [rowsW, rowsJ] = t.make(Int32Array, count, 'rows', (i) => perm[i]);
        const [gradsW, gradsJ] = t.make(Float32Array, count * dim, 'grads', () => (rng.next() < 0.3 ? 30 : 1) * rng.normal());
        const [dqW, dqJ] = t.make(Float32Array, count * dim, 'dq', () => rng.normal());
        const [outW, outJ] = t.make(Float32Array, count * dim, 'out');
        const [bufW, bufJ] = t.make(Float32Array, dim, 'scratch');
        const [swW, swJ] = t.make(Float32Array, count * dim, 'staged w');
        const [srW, srJ] = t.make(Int32Array, count, 'staged rows');

        const packed = (codes: Uint8Array, stepSizes: Float32Array | Uint16Array): PackedTableArrays => ({ codes, stepSizes, dim, bits, rowBytes: rb });
        const opt = (m: Float32Array | null, v: Float32Array | null): SparseOptimizerArgs =>
          ({ kind: optKind, m, v, rate: 0.03, beta1: 0.9, beta2: 0.999, eps: optKind === OPT_ADAGRAD ? 1e-10 : 1e-8 });
        const sopt = (m: Float32Array | null, v: Float32Array | null): StepSizeOptimizerArgs =>
          ({ kind: soKind, m, v, lr: 0.002, rate: 0.0015, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
        const lsq = { lo: qLow(bits), hi: qHigh(bits), gscale: lsqGradScale(dim, bits) };
        for (const stochastic of [true, false]) {
          const rounding = { stochastic, rseed: 12345 };
          const side = (kk: TableKernels, j: boolean) => {
            const table = j ? packed(codesJ, ssJ) : packed(codesW, ssW);
            const staged: StagedRows = { w: j ? swJ : swW, rows: j ? srJ : srW, count };
            return {
              kk, table, staged, rows: j ? rowsJ : rowsW, grads: j ? gradsJ : gradsW, dq: j ? dqJ : dqW, out: j ? outJ : outW,
              scratch: j ? bufJ : bufW, opt: j ? opt(mJ, vJ) : opt(mW, vW), sopt: j ? sopt(smJ, svJ) : sopt(smW, svW),
              fp32: { weights: j ? weightsJ : weightsW, dim },
            };
          };
          const wa = wasmTableKernels(k);
          assert.equal(tableKernelsFor(k, [codesW, ssW, mW, vW]).name, 'wasm');
          assert.equal(tableKernelsFor(k, [codesJ, ssW]).name, 'typescript');
          const sides = [side(wa, false), side(jsTableKernels, true)];
          const both = (what: string, f: (s: (typeof sides)[number]) => void): void => {
            for (const s of sides) f(s);
            assertSame(t.all, `dim ${dim} opt ${optKind} step-size opt ${soKind} stochastic ${stochastic}: ${what}`);
          };
          let step = stochastic ? 1 : 7;
          both('gatherPacked', (s) => s.kk.gatherPacked({ table: s.table, rows: s.rows, count, out: s.out }));
          both('updatePacked', (s) => s.kk.updatePacked({
            table: s.table, rows: s.rows, count, grads: s.grads, opt: s.opt, rounding, step, scratch: s.scratch,
          }));
          step++;
          both('updatePackedOnePass', (s) => s.kk.updatePackedOnePass({
            table: s.table, rows: s.rows, count, grads: s.grads, opt: s.opt, lsq, stepSizeOpt: s.sopt, rounding, step, scratch: s.scratch,
          }));
          step++;
          both('stagePacked', (s) => s.kk.stagePacked({ table: s.table, rows: s.rows, count, grads: s.grads, opt: s.opt, staged: s.staged }));
          both('fakeQuantizeStaged', (s) => s.kk.fakeQuantizeStaged({ table: s.table, staged: s.staged, lsq, out: s.out }));
          both('updateStepSizesStaged', (s) => s.kk.updateStepSizesStaged({ table: s.table, staged: s.staged, dq: s.dq, lsq, stepSizeOpt: s.sopt }));
          both('writeBackStaged', (s) => s.kk.writeBackStaged({ table: s.table, staged: s.staged, rounding, step }));
          step++;
          both('stagePacked again', (s) => s.kk.stagePacked({ table: s.table, rows: s.rows, count, grads: s.grads, opt: s.opt, staged: s.staged }));
          both('updateStepSizesAndWriteBack', (s) => s.kk.updateStepSizesAndWriteBack({
            table: s.table, staged: s.staged, dq: s.dq, lsq, stepSizeOpt: s.sopt, rounding, step,
          }));
          both('gatherFp32', (s) => s.kk.gatherFp32({ table: s.fp32, rows: s.rows, count, out: s.out }));
          both('updateFp32', (s) => s.kk.updateFp32({ table: s.fp32, rows: s.rows, count, grads: s.grads, opt: s.opt }));
        }
      }
      for (const name of ['gatherQuant', 'updateQuant', 'updateLearnQuant', 'stageQuant', 'fakeQuantStaged', 'stepsStaged',
        'writeBackQuant', 'stepsWriteBackStaged', 'gatherF32', 'updateF32']) {
        assert.ok((calls.get(name) ?? 0) > 0, `wasm export ${name} was not called (fell back to TypeScript?)`);
      }
    });
  }
}

test('batch lookup kernels (prepareRows, expandRows, scatterRows): wasm ≡ TypeScript; bad ids reported alike', async () => {
  const { k, calls } = await counted();
  const rng = new CounterRng(8, 8);
  for (const dim of [16, 5, 1]) {
    const t = twin(k);
    const slots = 700, nRows = 300, capLog2 = Math.ceil(Math.log2(2 * slots));
    const [idsW, idsJ] = t.make(Int32Array, slots, 'ids', () => Math.floor(rng.next() ** 3 * nRows));
    const [hashW, hashJ] = t.make(Int32Array, 2 << capLog2, 'hash');
    const [rowsW, rowsJ] = t.make(Int32Array, nRows, 'rows');
    const [invW, invJ] = t.make(Int32Array, slots, 'inverse');
    const [vW, vJ] = t.make(Float32Array, nRows * dim, 'v', () => rng.normal());
    const [xW, xJ] = t.make(Float32Array, slots * dim, 'x');
    const [dxW, dxJ] = t.make(Float32Array, slots * dim, 'dx', () => rng.normal());
    const [gW, gJ] = t.make(Float32Array, nRows * dim, 'g', () => 1);
    const wa = wasmTableKernels(k);
    const cW = wa.prepareRows({ ids: idsW, slots, nRows, hash: hashW, capLog2, rows: rowsW, inverse: invW });
    const cJ = jsTableKernels.prepareRows({ ids: idsJ, slots, nRows, hash: hashJ, capLog2, rows: rowsJ, inverse: invJ });
    assert.equal(cW, cJ);
    assertSame(t.all, `dim ${dim} prepareRows`);
    wa.expandRows({ v: vW, inverse: invW, slots, dim, x: xW });
    jsTableKernels.expandRows({ v: vJ, inverse: invJ, slots, dim, x: xJ });
    assertSame(t.all, `dim ${dim} expandRows`);
    wa.scatterRows({ dx: dxW, inverse: invW, slots, dim, g: gW, count: cW });
    jsTableKernels.scatterRows({ dx: dxJ, inverse: invJ, slots, dim, g: gJ, count: cJ });
    assertSame(t.all, `dim ${dim} scatterRows`);
    idsW[50] = idsJ[50] = nRows;
    assert.equal(wa.prepareRows({ ids: idsW, slots, nRows, hash: hashW, capLog2, rows: rowsW, inverse: invW }), -51);
    assert.equal(jsTableKernels.prepareRows({ ids: idsJ, slots, nRows, hash: hashJ, capLog2, rows: rowsJ, inverse: invJ }), -51);
  }
  for (const name of ['prepareRows', 'expandRows', 'scatterRows']) assert.ok((calls.get(name) ?? 0) > 0, `${name} not called`);
});

test('wasm table kernels run a call whose per-call arrays are on the JS heap in TypeScript, with the same result', async () => {
  const { k, calls } = await counted();
  const dim = 8, bits = 4, rb = rowBytes(dim, bits);
  const codes = k.alloc(Uint8Array, ROWS * rb, 'codes');
  codes.forEach((_, i) => (codes[i] = (i * 37) & 255));
  const stepSizes = k.alloc(Float32Array, ROWS, 'step sizes').fill(0.01);
  const table = { codes, stepSizes, dim, bits, rowBytes: rb };
  const rows = Int32Array.from([3, 9, 1]);
  const outW = new Float32Array(3 * dim), outJ = new Float32Array(3 * dim);
  wasmTableKernels(k).gatherPacked({ table, rows, count: 3, out: outW });
  jsTableKernels.gatherPacked({ table, rows, count: 3, out: outJ });
  assert.deepEqual(outW, outJ);
  assert.equal(calls.get('gatherQuant') ?? 0, 0);
});
