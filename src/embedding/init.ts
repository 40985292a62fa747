// Initial weights N(0, initStd²). Every value is a pure function of (seed, table, row, column), so
// any thread can draw any range of rows (the WebAssembly kernels in assembly/init.ts split a big
// table across all threads) and the fp32, LSQ and packed tables all start from the same values;
// packed tables redraw instead of ever holding the fp32 init whole.
//
// The normal deviates come from a 256-layer ziggurat (Marsaglia & Tsang 2000) fed by a row's
// stream of hashed u32s (counter 0, 1, 2, … under the row's key): 98.5 % of values take one hash,
// a table lookup, a multiply and a compare; the rest go through the exact wedge test (exp) or the
// tail (ln), which use +, −, ×, ÷ and floor only: those are IEEE-exact in JavaScript and in
// WebAssembly alike, so the TypeScript and the WebAssembly init agree bit for bit (Math.log/exp may
// differ in the last bit between engines). The layer tables are generated literals
// (scripts/gen-ziggurat.mjs), the same on both sides.
import { fmix32 } from '../util/rng.js';
import { Stream } from '../util/rng.js';
import { qPos } from '../quant/round.js';
import { ZIG_F, ZIG_K, ZIG_MASK, ZIG_R, ZIG_SHIFT, ZIG_W } from './ziggurat-tables.js';

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
const INV_LN2 = 1.4426950408889634;
const SQRT2 = 1.4142135623730951;
const ZIG_SIGN = ZIG_MASK + 1;
// 2^k for k = -1022..1023 (exact doublings and halvings), at POW2K[k + 1022]
const POW2K = new Float64Array(2046);
POW2K[1022] = 1;
for (let k = 1; k <= 1023; k++) POW2K[1022 + k] = POW2K[1021 + k] * 2;
for (let k = 1; k <= 1022; k++) POW2K[1022 - k] = POW2K[1023 - k] * 0.5;
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

/**
 * e^x for |x| ≤ 700: x = k·ln2 + t with k = ⌊x/ln2 + ½⌋ and |t| ≤ ln2/2, e^t by Taylor to t^13
 * (truncation < 1e-17), times 2^k (exact). Relative error ~1e-15 for |x| < 8, < 1e-13 up to 700 (k·ln2's rounding).
 */
export function expExact(x: number): number {
  const k = Math.floor(x * INV_LN2 + 0.5);
  const t = x - k * LN2;
  let p = 1 / 6227020800;
  p = p * t + 1 / 479001600;
  p = p * t + 1 / 39916800;
  p = p * t + 1 / 3628800;
  p = p * t + 1 / 362880;
  p = p * t + 1 / 40320;
  p = p * t + 1 / 5040;
  p = p * t + 1 / 720;
  p = p * t + 1 / 120;
  p = p * t + 1 / 24;
  p = p * t + 1 / 6;
  p = p * t + 0.5;
  p = p * t + 1;
  p = p * t + 1;
  return p * POW2K[k + 1022];
}

/**
 * One N(0, 1) deviate from the row stream (key, counter c…), by the ziggurat; returns it and
 * leaves the next counter in zc. A hashed u32 h gives the layer (h & 255), the sign (bit 8) and
 * U = h >>> 9; x = (U + ½)·W[layer]. U < K[layer]: x is under the curve, done. Otherwise layer 0
 * (the base strip) accepts x < r and else draws from the tail beyond r (Marsaglia 1964: two more
 * hashes per try); a layer ≥ 1 accepts x when one more hash's point in its wedge lies under
 * e^{-x²/2}, and else starts over with the next hash.
 */
function zigNormal(key: number, c: number): number {
  for (;;) {
    const h = bitsAt(key, c++);
    const i = h & ZIG_MASK;
    const u = h >>> ZIG_SHIFT;
    let x = (u + 0.5) * ZIG_W[i];
    if (u >= ZIG_K[i]) {
      if (i === 0) {
        if (x >= ZIG_R) {
          for (;;) {
            const a = -lnUnit(bitsAt(key, c++)) / ZIG_R;
            const b = -lnUnit(bitsAt(key, c++));
            if (b + b > a * a) {
              x = ZIG_R + a;
              break;
            }
          }
        }
      } else {
        const y = ZIG_F[i] + (bitsAt(key, c++) + 0.5) * 2.3283064365386963e-10 * (ZIG_F[i - 1] - ZIG_F[i]);
        if (!(y < expExact(-(0.5 * x * x)))) continue;
      }
    }
    zc = c;
    return h & ZIG_SIGN ? -x : x;
  }
}
let zc = 0;

/** Row `row`'s dim init values (std·N(0,1), float32-rounded) into out[off..off+dim). */
export function drawRowAt(tableKey: number, row: number, dim: number, std: number, out: Float32Array, off: number): void {
  const key = initRowKey(tableKey, row);
  zc = 0;
  for (let j = 0; j < dim; j++) out[off + j] = std * zigNormal(key, zc);
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
