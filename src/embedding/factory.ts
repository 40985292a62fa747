// One entry point from a method name to a table, matching torch_ref.py's --emb methods.
import type { EmbeddingTable, StepLearningOptions, TableInitOptions } from './table.js';
import { Fp32Table } from './fp32-table.js';
import { AlptTable, QuantizedTable } from './quantized-table.js';
import { LsqTable } from './lsq-table.js';
import type { StepDtype } from './steps.js';
import type { Backend } from '../kernels/backend.js';

export type TableMethod = 'fp32' | 'lpt-dr' | 'lpt-sr' | 'alpt' | 'alpt-fast' | 'lsq';
export const TABLE_METHODS: readonly TableMethod[] = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'];

export interface CreateTableOptions extends TableInitOptions, StepLearningOptions {
  method: TableMethod;
  /** Ignored by fp32. */
  bits: number;
  /** lpt-*, alpt, alpt-fast only. */
  stepDtype?: StepDtype;
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
 * alpt → AlptTable (adaptive: the trainer runs the second pass); alpt-fast → QuantizedTable with
 * learned steps updated inside update() from the first pass's gradients (not adaptive: one pass);
 * lsq → LsqTable.
 */
export function createTable(o: CreateTableOptions): EmbeddingTable {
  const kernels = o.backend?.sparse;
  const base = { rows: o.rows, dim: o.dim, seed: o.seed, tableId: o.tableId, initStd: o.initStd, optimizer: o.optimizer, kernels };
  const steps = { stepLr: o.stepLr, stepLrScale: o.stepLrScale, stepOptimizer: o.stepOptimizer, initStep: o.initStep };
  switch (o.method) {
    case 'fp32':
      return new Fp32Table(base);
    case 'lpt-dr':
    case 'lpt-sr':
      return new QuantizedTable({
        ...base, ...steps, bits: o.bits, stepDtype: o.stepDtype, stepMode: 'fixed',
        rounding: o.method === 'lpt-dr' ? 'deterministic' : 'stochastic',
      });
    case 'alpt':
      return new AlptTable({ ...base, ...steps, bits: o.bits, stepDtype: o.stepDtype, rounding: 'stochastic' });
    case 'alpt-fast':
      return new QuantizedTable({ ...base, ...steps, bits: o.bits, stepDtype: o.stepDtype, stepMode: 'learned', rounding: 'stochastic' });
    case 'lsq':
      return new LsqTable({ ...base, ...steps, bits: o.bits, perRow: o.lsqPerRow });
    default:
      throw new Error(`unknown embedding method '${(o as { method: string }).method}'`);
  }
}
