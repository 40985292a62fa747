// What the report's table charts need, computed once at the end of fit() from the table's state:
// a histogram of the learned step sizes Δ per field (fixed log-spaced bins, so runs compare bin by
// bin), and how often the integer codes take each value / sit at the clip limits. Small by design:
// tens of numbers per field.

import type { Vocab } from '../data/types.js';
import { tableArray, type EmbeddingTable } from '../embedding/table.js';
import { fromHalf } from '../quant/fp16.js';
import { unpackRow } from '../quant/pack.js';

/** Bin edges of the step-size histogram: 10^-5 … 10^0, three bins per decade (16 edges). */
export const STEP_SIZE_EDGES: number[] = Array.from({ length: 16 }, (_, k) => Number((10 ** (-5 + k / 3)).toPrecision(4)));

export interface StepSizeHistogram {
  /** Bin edges; counts[0] is Δ < edges[0], counts[i] is edges[i-1] ≤ Δ < edges[i], the last is Δ ≥ the last edge. */
  edges: number[];
  fields: { field: string; counts: number[]; min: number; median: number; max: number }[];
}

export interface CodeHistogram {
  bits: number;
  /** Smallest code (−2^(b−1)); counts[i] is how many codes equal lo + i. */
  lo: number;
  counts: number[];
  /** Fraction of all codes at lo or hi (clipped). */
  at_limits: number;
  /** Per field: fraction of its codes at lo or hi. */
  fields: { field: string; at_limits: number }[];
}

/** Per-row step sizes as numbers (f16 storage decoded), or null when the table has none per row. */
function rowStepSizes(table: EmbeddingTable, rows: number): ArrayLike<number> | null {
  const s = tableArray(table, 'steps'); // checkpoint name of the step sizes
  if (!s) return null;
  if (s instanceof Float32Array) return s.length === rows ? s : null;
  if (s instanceof Uint16Array && s.length === rows) {
    const out = new Float32Array(rows);
    for (let i = 0; i < rows; i++) out[i] = fromHalf(s[i]);
    return out;
  }
  return null;
}

export function stepSizeHistogram(table: EmbeddingTable, vocab: Vocab): StepSizeHistogram | undefined {
  const stepSizes = rowStepSizes(table, vocab.totalRows);
  if (!stepSizes) return undefined;
  const E = STEP_SIZE_EDGES;
  const fields = vocab.fieldNames.map((field, j) => {
    const a = vocab.fieldOffsets[j], n = vocab.fieldSizes[j];
    const counts = new Array<number>(E.length + 1).fill(0);
    const vals = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const d = stepSizes[a + r];
      vals[r] = d;
      let lo = 0, hi = E.length; // first edge > d
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (E[m] <= d) lo = m + 1;
        else hi = m;
      }
      counts[lo]++;
    }
    vals.sort();
    return { field, counts, min: vals[0] ?? NaN, median: vals[n >> 1] ?? NaN, max: vals[n - 1] ?? NaN };
  });
  return { edges: E, fields };
}

export function codeHistogram(table: EmbeddingTable, vocab: Vocab, dim: number, bits: number): CodeHistogram | undefined {
  const codes = tableArray(table, 'codes');
  if (!(codes instanceof Uint8Array) || bits < 1 || bits > 8) return undefined;
  const rb = Math.ceil((dim * bits) / 8);
  if (codes.length < vocab.totalRows * rb) return undefined;
  const lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  const total = new Float64Array(1 << bits);
  const q = new Int32Array(dim);
  let allLimits = 0;
  const fields = vocab.fieldNames.map((field, j) => {
    const a = vocab.fieldOffsets[j], n = vocab.fieldSizes[j];
    let lim = 0;
    for (let r = a; r < a + n; r++) {
      unpackRow(codes, r * rb, dim, bits, q, 0);
      for (let i = 0; i < dim; i++) {
        const v = q[i];
        total[v - lo]++;
        if (v === lo || v === hi) lim++;
      }
    }
    allLimits += lim;
    return { field, at_limits: n > 0 ? lim / (n * dim) : 0 };
  });
  return { bits, lo, counts: [...total], at_limits: allLimits / Math.max(1, vocab.totalRows * dim), fields };
}
