// The table kernels on the wasm backend's embedding exports (assembly/sparse.ts): resolves the
// arrays to byte offsets in the shared memory, tags f16 step sizes (pointer + 1), turns the
// optimizers' hyper-parameters into the exports' arguments, and calls backend.sparse.ex (split
// across the worker threads by row ranges, src/kernels/sparse.ts). A call whose per-call arrays
// (ids, gradients, outputs) are not all in the memory runs in TypeScript instead, with identical results.

import type { SparseKernels } from './sparse.js';
import type { PackedTableArrays, TableKernels } from './table-kernels.js';
import { jsTableKernels as js } from './table-kernels-js.js';

const cache = new WeakMap<SparseKernels, TableKernels>();

/** The WebAssembly table kernels over these sparse kernels (one instance per SparseKernels). */
export function wasmTableKernels(k: SparseKernels): TableKernels {
  let t = cache.get(k);
  if (!t) {
    t = createWasmTableKernels(k);
    cache.set(k, t);
  }
  return t;
}

function createWasmTableKernels(k: SparseKernels): TableKernels {
  /** Byte offset of a, 0 for null, or −1 if a lives outside the memory. */
  const at = (a: ArrayBufferView | null): number => (a === null ? 0 : k.ptr(a));
  /** Byte offset of the step sizes, + 1 when they are f16 (assembly/sparse.ts loadStep). */
  const stepSizesAt = (t: PackedTableArrays): number => {
    const p = k.ptr(t.stepSizes);
    return p < 0 ? p : t.stepSizes instanceof Uint16Array ? p + 1 : p; // 64-byte aligned; no bit op: offsets reach 2^32
  };
  const inMemory = (...ps: number[]): boolean => {
    for (const p of ps) if (p < 0) return false;
    return true;
  };

  return {
    name: 'wasm',

    gatherFp32(a) {
      const w = at(a.table.weights), rows = at(a.rows), out = at(a.out);
      if (a.count <= 0 || !inMemory(w, rows, out)) return js.gatherFp32(a);
      k.ex.gatherF32(w, a.table.dim, rows, a.count, out);
    },

    updateFp32(a) {
      const { opt } = a;
      const w = at(a.table.weights), rows = at(a.rows), grads = at(a.grads), m = at(opt.m), v = at(opt.v);
      if (a.count <= 0 || !inMemory(w, rows, grads, m, v)) return js.updateFp32(a);
      k.ex.updateF32(w, a.table.dim, rows, a.count, grads, opt.kind, m, v, opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps);
    },

    gatherPacked(a) {
      const t = a.table;
      const codes = at(t.codes), steps = stepSizesAt(t), rows = at(a.rows), out = at(a.out);
      if (a.count <= 0 || !inMemory(codes, steps, rows, out)) return js.gatherPacked(a);
      k.ex.gatherQuant(codes, t.rowBytes, t.bits, t.dim, steps, rows, a.count, out);
    },

    updatePacked(a) {
      const { table: t, opt, rounding } = a;
      const codes = at(t.codes), steps = stepSizesAt(t), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), buf = at(a.scratch);
      if (a.count <= 0 || !inMemory(codes, steps, rows, grads, m, v, buf)) return js.updatePacked(a);
      k.ex.updateQuant(codes, t.rowBytes, t.bits, t.dim, steps, rows, a.count, grads,
        opt.kind, m, v, opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps,
        +rounding.stochastic, rounding.rseed, a.step, buf);
    },

    updatePackedOnePass(a) {
      const { table: t, opt, lsq, stepSizeOpt: so, rounding } = a;
      const codes = at(t.codes), steps = stepSizesAt(t), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), sm = at(so.m), sv = at(so.v), buf = at(a.scratch);
      if (a.count <= 0 || !inMemory(codes, steps, rows, grads, m, v, sm, sv, buf)) return js.updatePackedOnePass(a);
      k.ex.updateLearnQuant(codes, t.rowBytes, t.bits, t.dim, steps, rows, a.count, grads,
        opt.kind, m, v, opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps,
        lsq.lo, lsq.hi, lsq.gscale, so.kind, sm, sv, so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps,
        +rounding.stochastic, rounding.rseed, a.step, buf);
    },

    stagePacked(a) {
      const { table: t, opt, staged } = a;
      const codes = at(t.codes), steps = stepSizesAt(t), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), sw = at(staged.w), sr = at(staged.rows);
      if (!inMemory(codes, steps, rows, grads, m, v, sw, sr)) return js.stagePacked(a);
      k.ex.stageQuant(codes, t.rowBytes, t.bits, t.dim, steps, rows, a.count, grads,
        opt.kind, m, v, opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps, sw, sr);
    },

    fakeQuantizeStaged(a) {
      const { table: t, staged, lsq } = a;
      const steps = stepSizesAt(t), sw = at(staged.w), sr = at(staged.rows), out = at(a.out);
      if (staged.count <= 0 || !inMemory(steps, sw, sr, out)) return js.fakeQuantizeStaged(a);
      k.ex.fakeQuantStaged(sw, sr, staged.count, t.dim, steps, lsq.lo, lsq.hi, out);
    },

    updateStepSizesStaged(a) {
      const { table: t, staged, lsq, stepSizeOpt: so } = a;
      const steps = stepSizesAt(t), sw = at(staged.w), sr = at(staged.rows), dq = at(a.dq), sm = at(so.m), sv = at(so.v);
      if (staged.count <= 0 || !inMemory(steps, sw, sr, dq, sm, sv)) return js.updateStepSizesStaged(a);
      k.ex.stepsStaged(sw, sr, staged.count, t.dim, dq, steps, lsq.lo, lsq.hi, lsq.gscale,
        so.kind, sm, sv, so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps);
    },

    writeBackStaged(a) {
      const { table: t, staged, rounding } = a;
      const codes = at(t.codes), steps = stepSizesAt(t), sw = at(staged.w), sr = at(staged.rows);
      if (staged.count <= 0 || !inMemory(codes, steps, sw, sr)) return js.writeBackStaged(a);
      k.ex.writeBackQuant(sw, sr, staged.count, codes, t.rowBytes, t.bits, t.dim, steps, +rounding.stochastic, rounding.rseed, a.step);
    },

    updateStepSizesAndWriteBack(a) {
      const { table: t, staged, lsq, stepSizeOpt: so, rounding } = a;
      const codes = at(t.codes), steps = stepSizesAt(t), sw = at(staged.w), sr = at(staged.rows), dq = at(a.dq);
      const sm = at(so.m), sv = at(so.v);
      if (staged.count <= 0 || !inMemory(codes, steps, sw, sr, dq, sm, sv)) return js.updateStepSizesAndWriteBack(a);
      k.ex.stepsWriteBackStaged(sw, sr, staged.count, t.dim, dq, steps, lsq.lo, lsq.hi, lsq.gscale,
        so.kind, sm, sv, so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps,
        codes, t.rowBytes, t.bits, +rounding.stochastic, rounding.rseed, a.step);
    },

    prepareRows(a) {
      const ids = at(a.ids), hash = at(a.hash), rows = at(a.rows), inverse = at(a.inverse);
      if (a.slots <= 0 || !inMemory(ids, hash, rows, inverse)) return js.prepareRows(a);
      return k.ex.prepareRows(ids, a.slots, a.nRows, hash, a.capLog2, rows, inverse);
    },

    expandRows(a) {
      const v = at(a.v), inv = at(a.inverse), x = at(a.x);
      if (a.slots <= 0 || !inMemory(v, inv, x)) return js.expandRows(a);
      if (a.x.length < a.slots * a.dim) throw new RangeError('expand: buffer too small');
      k.ex.expandRows(v, inv, a.slots, a.dim, x);
    },

    scatterRows(a) {
      const dx = at(a.dx), inv = at(a.inverse), g = at(a.g);
      if (a.slots <= 0 || !inMemory(dx, inv, g)) return js.scatterRows(a);
      if (a.dx.length < a.slots * a.dim) throw new RangeError('scatter: gradient buffer too small');
      k.ex.scatterRows(dx, inv, a.slots, a.dim, g, a.count);
    },
  };
}
