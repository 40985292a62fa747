// The table side's kernels behind one interface, as Backend is for the dense side: tables and
// batch lookups describe their arrays and hyper-parameters with the typed structs below and call
// a TableKernels, never knowing where memory lives. Two implementations produce identical bits:
// the WebAssembly one (table-kernels-wasm.ts: pointers, f16 step-size tagging, thread split) and
// the TypeScript one (table-kernels-js.ts, the reference). A table picks one once, with
// tableKernelsFor(): WebAssembly when all its arrays live in the wasm memory, TypeScript otherwise
// (embedding/memory.ts announces arrays that had to fall back to the JS heap).
//
// "step" is the training iteration (1-based, global: Adam's bias correction, rounding draws);
// "step size" is the quantization scale Δ of a packed row.

import type { SparseOptimizerArgs } from '../embedding/sparse-optimizer.js';
import type { StepSizeOptimizerArgs } from '../embedding/steps.js';
import type { SparseKernels } from './sparse.js';
import { jsTableKernels } from './table-kernels-js.js';
import { wasmTableKernels } from './table-kernels-wasm.js';

export type { SparseOptimizerArgs } from '../embedding/sparse-optimizer.js';
export type { StepSizeOptimizerArgs } from '../embedding/steps.js';

/** A packed b-bit table's storage: codes [rows × rowBytes] and one step size Δ per row. */
export interface PackedTableArrays {
  readonly codes: Uint8Array;
  /** Δ per row: f32, or f16 bit patterns. */
  readonly stepSizes: Float32Array | Uint16Array;
  readonly dim: number;
  readonly bits: number;
  readonly rowBytes: number;
  /**
   * The table row held at index 0 of these arrays (default 0). A shard of a larger table holds rows
   * [firstRow, firstRow + its rows): row ids passed to the kernels stay global (rounding draws are
   * keyed by them), and every per-row array — codes, step sizes, optimizer states — is indexed
   * by row − firstRow.
   */
  readonly firstRow?: number;
}

/** An fp32 table's storage: weights [rows × dim]. */
export interface Fp32TableArrays {
  readonly weights: Float32Array;
  readonly dim: number;
  /** As PackedTableArrays.firstRow. */
  readonly firstRow?: number;
}

/** LSQ fake-quantizer constants of a table: code range [lo, hi] and the gradient scale of Δ. */
export interface LsqArgs {
  readonly lo: number;
  readonly hi: number;
  readonly gscale: number;
}

/** How rows are written back as codes: stochastic rounding draws from (rseed, step, row). */
export interface RoundingArgs {
  readonly stochastic: boolean;
  readonly rseed: number;
}

/** Rows updated in float but not yet written back: ids rows[0..count), values w[count × dim]. */
export interface StagedRows {
  w: Float32Array;
  rows: Int32Array;
  count: number;
}

/** Distinct table rows rows[0..count) of a batch and their summed gradients grads[count × dim]. */
export interface RowGrads {
  readonly rows: Int32Array;
  readonly count: number;
  readonly grads: Float32Array;
}

export interface TableKernels {
  readonly name: 'wasm' | 'typescript';

  /** out[i·dim..] = weights of row rows[i], i < count. */
  gatherFp32(a: { table: Fp32TableArrays; rows: Int32Array; count: number; out: Float32Array }): void;
  /** The sparse optimizer on the fp32 rows. */
  updateFp32(a: RowGrads & { table: Fp32TableArrays; opt: SparseOptimizerArgs }): void;

  /** out[i·dim..] = Δ·q of packed row rows[i] (dequantized), i < count. */
  gatherPacked(a: { table: PackedTableArrays; rows: Int32Array; count: number; out: Float32Array }): void;
  /** LPT: dequantize → sparse optimizer → write back under the same Δ, row by row. scratch: dim f32. */
  updatePacked(a: RowGrads & {
    table: PackedTableArrays; opt: SparseOptimizerArgs; rounding: RoundingArgs; step: number; scratch: Float32Array;
  }): void;
  /**
   * ALPT one pass (alpt-fast): dequantize → sparse optimizer → Δ from the same gradients taken as
   * ∂L/∂Q (LSQ gradient, step-size optimizer, clamp) → write back under the new Δ, row by row.
   */
  updatePackedOnePass(a: RowGrads & {
    table: PackedTableArrays; opt: SparseOptimizerArgs; lsq: LsqArgs; stepSizeOpt: StepSizeOptimizerArgs;
    rounding: RoundingArgs; step: number; scratch: Float32Array;
  }): void;
  /** ALPT two-pass, phase 1: dequantize → sparse optimizer into staged (ids and values; count is set by the caller). */
  stagePacked(a: RowGrads & { table: PackedTableArrays; opt: SparseOptimizerArgs; staged: StagedRows }): void;
  /** Phase 2: Q(w) = Δ·clip(round(w/Δ)) of the staged rows into out[count × dim]. */
  fakeQuantizeStaged(a: { table: PackedTableArrays; staged: StagedRows; lsq: LsqArgs; out: Float32Array }): void;
  /** Phase 3: from ∂L/∂Q dq[count × dim] of the staged rows: LSQ gradient, step-size optimizer, clamp. */
  updateStepSizesStaged(a: {
    table: PackedTableArrays; staged: StagedRows; dq: Float32Array; lsq: LsqArgs; stepSizeOpt: StepSizeOptimizerArgs;
  }): void;
  /** Phase 4: write the staged rows back as codes under their current Δ. */
  writeBackStaged(a: { table: PackedTableArrays; staged: StagedRows; rounding: RoundingArgs; step: number }): void;
  /** Phases 3 and 4 in one pass over the rows. */
  updateStepSizesAndWriteBack(a: {
    table: PackedTableArrays; staged: StagedRows; dq: Float32Array; lsq: LsqArgs; stepSizeOpt: StepSizeOptimizerArgs;
    rounding: RoundingArgs; step: number;
  }): void;

  /**
   * Unique rows of ids[0..slots) in first-seen order into rows, each slot's index in rows into
   * inverse, through an open-addressing hash of 2^capLog2 [row + 1, index] i32 pairs (cleared
   * here). Returns the number of unique rows, or −(i+1) for the first slot i whose id is outside [0, nRows).
   */
  prepareRows(a: {
    ids: Int32Array; slots: number; nRows: number; hash: Int32Array; capLog2: number; rows: Int32Array; inverse: Int32Array;
  }): number;
  /** x[slot·dim..] = v[inverse[slot]·dim..] for slot < slots. */
  expandRows(a: { v: Float32Array; inverse: Int32Array; slots: number; dim: number; x: Float32Array }): void;
  /** g[0..count·dim) = Σ over slots of dx[slot·dim..] into g[inverse[slot]·dim..], in slot order. */
  scatterRows(a: { dx: Float32Array; inverse: Int32Array; slots: number; dim: number; g: Float32Array; count: number }): void;
}

/**
 * The kernels a table with these arrays runs: WebAssembly when there are wasm kernels and every
 * array lives in their memory, else TypeScript. (Per-call arrays outside the memory — ids, gradients
 * or outputs on the JS heap — make the WebAssembly kernels run that call in TypeScript.)
 */
export function tableKernelsFor(sparse: SparseKernels | null | undefined, arrays: readonly (ArrayBufferView | null)[]): TableKernels {
  if (sparse && arrays.every((a) => a === null || sparse.ptr(a) >= 0)) return wasmTableKernels(sparse);
  return jsTableKernels;
}
