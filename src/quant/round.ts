// Rounding of x = w/Δ onto the signed b-bit grid. Stochastic draws are keyed by
// (seed, table, step, row, column) so a write-back never depends on thread count, batch order or
// how rows are grouped into calls.
import { fmix32, hash4, Stream } from '../util/rng.js';

/** Signed code range of b bits: [-2^(b-1), 2^(b-1)-1]. */
export function qLow(bits: number): number {
  return -(1 << (bits - 1));
}
export function qHigh(bits: number): number {
  return (1 << (bits - 1)) - 1;
}

/**
 * Q_P used in the LSQ gradient scale and the initial step. For b=1, 2^(b-1)-1 = 0, which would
 * divide by zero; we use 1 there (the grid is {-1, 0}).
 */
export function qPos(bits: number): number {
  return Math.max(1, qHigh(bits));
}

/**
 * Round half away from zero (Math.round rounds half up: -2.5 → -2). torch.round is half-to-even;
 * the two differ only on exact .5 ties, which w/Δ practically never hits. Used everywhere here.
 */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5);
}

/** Clip an integer to [lo, hi]. */
export function clip(q: number, lo: number, hi: number): number {
  return q < lo ? lo : q > hi ? hi : q;
}

/** The seed word of a table's rounding stream: mixes run seed, Stream.rounding and table id. */
export function roundingSeed(seed: number, tableId: number): number {
  return hash4(seed ^ Math.imul(Stream.rounding, 0x632be5ab), tableId, 0x5bd1e995, Stream.rounding);
}

/**
 * hash4(rseed, step, row, ·) minus its last round: computed once per row, then one fmix per column
 * (roundingUniform). roundingUniform(roundingRowKey(s, step, row), col) ==
 * hash4(s, step, row, col) · 2^-32 exactly. Step 0 is the initial quantization.
 */
export function roundingRowKey(rseed: number, step: number, row: number): number {
  let h = fmix32((rseed ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ Math.imul(step | 0, 0x85ebca77)) >>> 0);
  h = fmix32((h ^ Math.imul(row | 0, 0xc2b2ae3d)) >>> 0);
  return h;
}

/** Uniform in [0,1) for column col of the row whose key is rowKey. */
export function roundingUniform(rowKey: number, col: number): number {
  return fmix32((rowKey ^ Math.imul(col, 0x27d4eb2f)) >>> 0) * 2.3283064365386963e-10;
}

/** Stochastic rounding floor(x + u): unbiased, E[result] = x. */
export function roundStochastic(x: number, u: number): number {
  return Math.floor(x + u);
}
