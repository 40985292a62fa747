// LSQ fake quantizer (Esser et al.), as torch_ref.py's LSQ autograd function:
//   Q(w) = Δ·clip(round(w/Δ), lo, hi)
//   ∂Q/∂w = 1 inside [lo, hi], 0 outside (straight-through estimator)
//   ∂Q/∂Δ = lo (x < lo), hi (x > hi), round(x) − x otherwise, with x = w/Δ, scaled by gscale.
// Rounding is half away from zero (torch.round is half-to-even; they differ only on exact ties).
// Note ∂Q/∂Δ is the STE derivative, not the piecewise-exact one (which is round(x) inside the range).
import { qPos, roundHalfAway } from './round.js';

/** LSQ gradient scale 1/sqrt(d·Q_P), d = number of elements sharing one step. */
export function lsqGradScale(elementsPerStep: number, bits: number): number {
  return 1 / Math.sqrt(elementsPerStep * qPos(bits));
}

/** out[outOff+i] = Δ·clip(round(w_i/Δ)) for n elements. */
export function fakeQuantize(
  w: Float32Array, wOff: number, n: number, step: number, lo: number, hi: number, out: Float32Array, outOff: number,
): void {
  for (let i = 0; i < n; i++) {
    let q = roundHalfAway(w[wOff + i] / step);
    q = q < lo ? lo : q > hi ? hi : q;
    out[outOff + i] = step * q;
  }
}

/**
 * Σ_i dQ_i · ∂Q_i/∂Δ over n elements (without gscale). If dw is given, also writes the STE weight
 * gradient dw_i = dQ_i inside the range, 0 outside.
 */
export function lsqBackward(
  w: Float32Array, wOff: number, dq: Float32Array, dqOff: number, n: number, step: number, lo: number, hi: number,
  dw: Float32Array | null, dwOff: number,
): number {
  let ds = 0;
  for (let i = 0; i < n; i++) {
    const x = w[wOff + i] / step;
    const g = dq[dqOff + i];
    if (x < lo) {
      ds += g * lo;
      if (dw !== null) dw[dwOff + i] = 0;
    } else if (x > hi) {
      ds += g * hi;
      if (dw !== null) dw[dwOff + i] = 0;
    } else {
      ds += g * (roundHalfAway(x) - x);
      if (dw !== null) dw[dwOff + i] = g;
    }
  }
  return ds;
}
