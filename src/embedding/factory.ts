// One entry point from a method name to a table, matching torch_ref.py's --emb methods.
import type { EmbeddingTable, StepSizeLearningOptions, TableInitOptions } from './table.js';
import { Fp32Table } from './fp32-table.js';
import { AlptTable, QuantizedTable } from './quantized-table.js';
import { LsqTable } from './lsq-table.js';
import type { StepSizeDtype } from './steps.js';
import type { Backend } from '../kernels/backend.js';

export type TableMethod = 'fp32' | 'lpt-dr' | 'lpt-sr' | 'alpt' | 'alpt-fast' | 'lsq';
export const TABLE_METHODS: readonly TableMethod[] = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'];

export interface CreateTableOptions extends TableInitOptions, StepSizeLearningOptions {
  method: TableMethod;
  /** Ignored by fp32. */
  bits: number;
  /** lpt-*, alpt, alpt-fast only. */
  stepDtype?: StepSizeDtype;
  /** lsq only: one step per row. */
  lsqPerRow?: boolean;
  /**
   * A backend with embedding kernels (the wasm and blas backends): the table's arrays then live in
   * its memory and its hot loops run there. Without one (or with the js backend) everything stays
   * in TypeScript; results are identical either way.
   */
  backend?: Backend;
}

/**
 * fp32 → Fp32Table; lpt-dr/lpt-sr → QuantizedTable (fixed Δ, deterministic/stochastic write-back);
 * alpt → AlptTable with two passes (the trainer runs the second forward/backward); alpt-fast →
 * AlptTable with one pass (step sizes learned from the first backward's gradients);
 * lsq → LsqTable.
 */
export function createTable(o: CreateTableOptions): EmbeddingTable {
  const kernels = o.backend?.sparse;
  const base = { rows: o.rows, dim: o.dim, seed: o.seed, tableId: o.tableId, initStd: o.initStd, optimizer: o.optimizer, kernels };
  const stepSizes = { stepLr: o.stepLr, stepLrScale: o.stepLrScale, stepOptimizer: o.stepOptimizer, initStep: o.initStep };
  switch (o.method) {
    case 'fp32':
      return new Fp32Table(base);
    case 'lpt-dr':
    case 'lpt-sr':
      return new QuantizedTable({
        ...base, ...stepSizes, bits: o.bits, stepDtype: o.stepDtype, stepSizeMode: 'fixed',
        rounding: o.method === 'lpt-dr' ? 'deterministic' : 'stochastic',
      });
    case 'alpt':
    case 'alpt-fast':
      return new AlptTable({
        ...base, ...stepSizes, bits: o.bits, stepDtype: o.stepDtype, rounding: 'stochastic', passes: o.method === 'alpt' ? 2 : 1,
      });
    case 'lsq':
      return new LsqTable({ ...base, ...stepSizes, bits: o.bits, perRow: o.lsqPerRow });
    default:
      throw new Error(`unknown embedding method '${(o as { method: string }).method}'`);
  }
}
