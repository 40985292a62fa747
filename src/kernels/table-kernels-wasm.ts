// The table kernels on the wasm backend's embedding exports (assembly/sparse.ts): resolves the
// arrays to byte offsets in the shared memory, tags f16 step sizes (pointer + 1), turns the
// optimizers' hyper-parameters into the exports' arguments, and calls backend.sparse.ex (split
// across the worker threads by row ranges, src/kernels/sparse.ts). A call whose per-call arrays
// (ids, gradients, outputs) are not all in the memory runs in TypeScript instead, with identical results.

import type { SparseKernels } from './sparse.js';
import type { PackedTableArrays, SparseOptimizerArgs, TableKernels } from './table-kernels.js';
import { OPT_ROWWISE } from './sparse.js';
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
  const inMemory = (...ps: number[]): boolean => {
    for (const p of ps) if (p < 0) return false;
    return true;
  };
  /**
   * The base address a kernel indexes with global row ids: for a shard holding rows from
   * firstRow, p − firstRow·stride. wasm32 addresses are u32 arithmetic mod 2^32, so a base below 0
   * (passed as a negative number, converted mod 2^32) lands on the shard's own bytes for its rows.
   */
  const rebase = (p: number, first: number, stride: number): number => {
    if (first === 0 || p <= 0) return p; // 0: no such array
    const b = p - first * stride;
    if (b % 2 ** 32 === 0) throw new Error('table shard: a rebased array address is 0 mod 2^32 (would read as "absent"); change the shard size');
    return b;
  };
  /** Rebased step sizes, + 1 when they are f16 (assembly/sparse.ts loadStep). */
  const stepSizesAt = (t: PackedTableArrays, p: number): number => {
    const half = t.stepSizes instanceof Uint16Array;
    return rebase(p, t.firstRow ?? 0, half ? 2 : 4) + (half ? 1 : 0); // 64-byte aligned; no bit op: offsets reach 2^32
  };
  /** Rebased optimizer moments: per row dim f32 (Adam, Adagrad) or one f32 (row-wise Adagrad). */
  const momentAt = (p: number, first: number, opt: SparseOptimizerArgs, dim: number): number =>
    rebase(p, first, opt.kind === OPT_ROWWISE ? 4 : 4 * dim);

  return {
    name: 'wasm',

    gatherFp32(a) {
      const t = a.table, f = t.firstRow ?? 0;
      const w = at(t.weights), rows = at(a.rows), out = at(a.out);
      if (a.count <= 0 || !inMemory(w, rows, out)) return js.gatherFp32(a);
      k.ex.gatherF32(rebase(w, f, 4 * t.dim), t.dim, rows, a.count, out);
    },

    updateFp32(a) {
      const { table: t, opt } = a;
      const f = t.firstRow ?? 0;
      const w = at(t.weights), rows = at(a.rows), grads = at(a.grads), m = at(opt.m), v = at(opt.v);
      if (a.count <= 0 || !inMemory(w, rows, grads, m, v)) return js.updateFp32(a);
      k.ex.updateF32(rebase(w, f, 4 * t.dim), t.dim, rows, a.count, grads, opt.kind, momentAt(m, f, opt, t.dim), momentAt(v, f, opt, t.dim),
        opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps);
    },

    gatherPacked(a) {
      const t = a.table, f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), rows = at(a.rows), out = at(a.out);
      if (a.count <= 0 || !inMemory(codes, steps, rows, out)) return js.gatherPacked(a);
      k.ex.gatherQuant(rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, t.dim, stepSizesAt(t, steps), rows, a.count, out);
    },

    updatePacked(a) {
      const { table: t, opt, rounding } = a;
      const f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), buf = at(a.scratch);
      if (a.count <= 0 || !inMemory(codes, steps, rows, grads, m, v, buf)) return js.updatePacked(a);
      k.ex.updateQuant(rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, t.dim, stepSizesAt(t, steps), rows, a.count, grads,
        opt.kind, momentAt(m, f, opt, t.dim), momentAt(v, f, opt, t.dim), opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps,
        +rounding.stochastic, rounding.rseed, a.step, buf);
    },

    updatePackedOnePass(a) {
      const { table: t, opt, lsq, stepSizeOpt: so, rounding } = a;
      const f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), sm = at(so.m), sv = at(so.v), buf = at(a.scratch);
      if (a.count <= 0 || !inMemory(codes, steps, rows, grads, m, v, sm, sv, buf)) return js.updatePackedOnePass(a);
      k.ex.updateLearnQuant(rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, t.dim, stepSizesAt(t, steps), rows, a.count, grads,
        opt.kind, momentAt(m, f, opt, t.dim), momentAt(v, f, opt, t.dim), opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps,
        lsq.lo, lsq.hi, lsq.gscale, so.kind, rebase(sm, f, 4), rebase(sv, f, 4), so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps,
        +rounding.stochastic, rounding.rseed, a.step, buf);
    },

    stagePacked(a) {
      const { table: t, opt, staged } = a;
      const f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), rows = at(a.rows), grads = at(a.grads);
      const m = at(opt.m), v = at(opt.v), sw = at(staged.w), sr = at(staged.rows);
      if (!inMemory(codes, steps, rows, grads, m, v, sw, sr)) return js.stagePacked(a);
      k.ex.stageQuant(rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, t.dim, stepSizesAt(t, steps), rows, a.count, grads,
        opt.kind, momentAt(m, f, opt, t.dim), momentAt(v, f, opt, t.dim), opt.rate, 1 - opt.beta1, 1 - opt.beta2, opt.eps, sw, sr);
    },

    fakeQuantizeStaged(a) {
      const { table: t, staged, lsq } = a;
      const steps = at(t.stepSizes), sw = at(staged.w), sr = at(staged.rows), out = at(a.out);
      if (staged.count <= 0 || !inMemory(steps, sw, sr, out)) return js.fakeQuantizeStaged(a);
      k.ex.fakeQuantStaged(sw, sr, staged.count, t.dim, stepSizesAt(t, steps), lsq.lo, lsq.hi, out);
    },

    updateStepSizesStaged(a) {
      const { table: t, staged, lsq, stepSizeOpt: so } = a;
      const f = t.firstRow ?? 0;
      const steps = at(t.stepSizes), sw = at(staged.w), sr = at(staged.rows), dq = at(a.dq), sm = at(so.m), sv = at(so.v);
      if (staged.count <= 0 || !inMemory(steps, sw, sr, dq, sm, sv)) return js.updateStepSizesStaged(a);
      k.ex.stepsStaged(sw, sr, staged.count, t.dim, dq, stepSizesAt(t, steps), lsq.lo, lsq.hi, lsq.gscale,
        so.kind, rebase(sm, f, 4), rebase(sv, f, 4), so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps);
    },

    writeBackStaged(a) {
      const { table: t, staged, rounding } = a;
      const f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), sw = at(staged.w), sr = at(staged.rows);
      if (staged.count <= 0 || !inMemory(codes, steps, sw, sr)) return js.writeBackStaged(a);
      k.ex.writeBackQuant(sw, sr, staged.count, rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, t.dim, stepSizesAt(t, steps),
        +rounding.stochastic, rounding.rseed, a.step);
    },

    updateStepSizesAndWriteBack(a) {
      const { table: t, staged, lsq, stepSizeOpt: so, rounding } = a;
      const f = t.firstRow ?? 0;
      const codes = at(t.codes), steps = at(t.stepSizes), sw = at(staged.w), sr = at(staged.rows), dq = at(a.dq);
      const sm = at(so.m), sv = at(so.v);
      if (staged.count <= 0 || !inMemory(codes, steps, sw, sr, dq, sm, sv)) return js.updateStepSizesAndWriteBack(a);
      k.ex.stepsWriteBackStaged(sw, sr, staged.count, t.dim, dq, stepSizesAt(t, steps), lsq.lo, lsq.hi, lsq.gscale,
        so.kind, rebase(sm, f, 4), rebase(sv, f, 4), so.lr, so.rate, 1 - so.beta1, 1 - so.beta2, so.eps,
        rebase(codes, f, t.rowBytes), t.rowBytes, t.bits, +rounding.stochastic, rounding.rseed, a.step);
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
