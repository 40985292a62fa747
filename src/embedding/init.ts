// Initial weights N(0, initStd²). Every value is a pure function of (seed, table, row, column), so
// any thread can draw any range of rows (the WebAssembly kernels in assembly/init.ts split a big
// table across all threads) and the fp32, LSQ and packed tables all start from the same values;
// packed tables redraw instead of ever holding the fp32 init whole.
//
// The normal deviates are Box–Muller pairs, with ln, sin and cos computed from +, −, ×, ÷ and sqrt
// only: those are IEEE-exact in JavaScript and in WebAssembly alike, so the TypeScript and the
// WebAssembly init agree bit for bit (Math.log/cos may differ in the last bit between engines).
import { fmix32 } from '../util/rng.js';
import { Stream } from '../util/rng.js';
import { qPos } from '../quant/round.js';

export const DEFAULT_INIT_STD = 0.01;
/** Rows per partial sum of mean|w| (assembly/init.ts BLOCK): the sum's order is fixed by it, not by threads. */
export const INIT_BLOCK_ROWS = 4096;
/**
 * Δ0 comes from mean|w| over the first 2^20 rows (all rows if fewer): for a bigger table the mean
 * of 16 M values is within ~2e-4 of the whole table's (relative std 0.76/√n), and the second pass
 * over hundreds of millions of rows is not worth it.
 */
export const INIT_MEAN_ROWS = 1 << 20;
/** Rows that mean|w| is taken over. */
export const initMeanRows = (rows: number): number => Math.min(rows, INIT_MEAN_ROWS);

const K_TABLE = 0x632be5ab;
const K_ROW = 0xc2b2ae3d;
const K_COL = 0x27d4eb2f;
const K_FIN = 0x5bd1e995;
const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;
const HALF_PI = 1.5707963267948966;
// 2^-e for e = -1..32, by exact halving
const POW2: number[] = [2];
for (let i = 1; i < 34; i++) POW2.push(POW2[i - 1] * 0.5);

/** The key of a table's init stream (u32). */
export function initTableKey(seed: number, tableId: number): number {
  const h = fmix32(((seed ^ Math.imul(Stream.init, K_TABLE)) ^ 0x9e3779b9) >>> 0);
  return fmix32((h ^ Math.imul(tableId | 0, K_TABLE)) >>> 0);
}

/** A row's key: a bijection of the row for a given table, so no two rows share their draws. */
export function initRowKey(tableKey: number, row: number): number {
  return fmix32((tableKey ^ Math.imul(row | 0, K_ROW)) >>> 0);
}

function bitsAt(key: number, col: number): number {
  return fmix32((fmix32((key ^ Math.imul(col, K_COL)) >>> 0) ^ K_FIN) >>> 0);
}

/** ln((h + 0.5)·2^-32) for a u32 h; h + 0.5 = m·2^e, m in [√½, √2), ln m by the atanh series to s^13. */
export function lnUnit(h: number): number {
  let e = h === 0 ? -1 : 31 - Math.clz32(h);
  let m = (h + 0.5) * POW2[e + 1];
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const z = s * s;
  let p = 1 / 13;
  p = p * z + 1 / 11;
  p = p * z + 1 / 9;
  p = p * z + 1 / 7;
  p = p * z + 1 / 5;
  p = p * z + 1 / 3;
  p = p * z + 1;
  return (e - 32) * LN2 + 2 * s * p;
}

/** sin x for x in [0, π/4], Taylor to x^13. */
function sinSmall(x: number): number {
  const z = x * x;
  let p = 1 / 6227020800;
  p = p * z - 1 / 39916800;
  p = p * z + 1 / 362880;
  p = p * z - 1 / 5040;
  p = p * z + 1 / 120;
  p = p * z - 1 / 6;
  return x + x * z * p;
}

/** cos x for x in [0, π/4], Taylor to x^14. */
function cosSmall(x: number): number {
  const z = x * x;
  let p = -1 / 87178291200;
  p = p * z + 1 / 479001600;
  p = p * z - 1 / 3628800;
  p = p * z + 1 / 40320;
  p = p * z - 1 / 720;
  p = p * z + 1 / 24;
  p = p * z - 0.5;
  return 1 + z * p;
}

/** cos and sin of 2π·(h + 0.5)/2^32 for a u32 h, into cs[0], cs[1]. */
export function cosSinTurn(h: number, cs: Float64Array): void {
  const q = h >>> 30;
  const f = ((h & 0x3fffffff) + 0.5) * 9.313225746154785e-10; // 2^-30
  let c: number, s: number;
  if (f <= 0.5) {
    const x = f * HALF_PI;
    c = cosSmall(x);
    s = sinSmall(x);
  } else {
    const x = (1 - f) * HALF_PI;
    c = sinSmall(x);
    s = cosSmall(x);
  }
  if (q === 0) { cs[0] = c; cs[1] = s; } else if (q === 1) { cs[0] = -s; cs[1] = c; } else if (q === 2) { cs[0] = -c; cs[1] = -s; } else { cs[0] = s; cs[1] = -c; }
}

const cs = new Float64Array(2);

/** Row `row`'s dim init values (std·N(0,1), float32-rounded) into out[off..off+dim). */
export function drawRowAt(tableKey: number, row: number, dim: number, std: number, out: Float32Array, off: number): void {
  const key = initRowKey(tableKey, row);
  for (let j = 0; j < dim; j += 2) {
    const p = j >> 1;
    const r = Math.sqrt(-2 * lnUnit(bitsAt(key, 2 * p)));
    cosSinTurn(bitsAt(key, 2 * p + 1), cs);
    out[off + j] = std * (r * cs[0]);
    if (j + 1 < dim) out[off + j + 1] = std * (r * cs[1]);
  }
}

/** Rows [row0, row0+count) into out, dim values per row. */
export function drawRows(tableKey: number, row0: number, count: number, dim: number, std: number, out: Float32Array, off = 0): void {
  for (let i = 0; i < count; i++) drawRowAt(tableKey, row0 + i, dim, std, out, off + i * dim);
}

/**
 * mean|w| of the init's first initMeanRows(rows) rows (pass 1 of a packed table's two): a float64
 * sum per block of INIT_BLOCK_ROWS rows, then the block sums in order — the same order on any
 * number of threads. blockSums, when given, are the per-block sums already computed (by the
 * WebAssembly kernel).
 */
export function initMeanAbs(tableKey: number, allRows: number, dim: number, std: number, blockSums?: Float64Array): number {
  const rows = initMeanRows(allRows);
  const n = rows * dim;
  if (n === 0) return 0;
  let total = 0;
  if (blockSums) {
    for (let b = 0; b < blockSums.length; b++) total += blockSums[b];
    return total / n;
  }
  const buf = new Float32Array(dim);
  for (let b = 0; b < rows; b += INIT_BLOCK_ROWS) {
    const end = Math.min(rows, b + INIT_BLOCK_ROWS);
    let acc = 0;
    for (let r = b; r < end; r++) {
      drawRowAt(tableKey, r, dim, std, buf, 0);
      for (let j = 0; j < dim; j++) acc += Math.abs(buf[j]);
    }
    total += acc;
  }
  return total / n;
}

/** Number of INIT_BLOCK_ROWS blocks of a table. */
export const initBlocks = (rows: number): number => Math.ceil(rows / INIT_BLOCK_ROWS);

/** torch_ref's initial step size: 2·mean|w|/sqrt(Q_P). */
export function initialStepSize(meanAbs: number, bits: number): number {
  return (2 * meanAbs) / Math.sqrt(qPos(bits));
}
