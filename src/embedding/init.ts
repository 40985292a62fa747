// Initial weights N(0, initStd²), drawn in row order from CounterRng(seed, Stream.init, tableId):
// the fp32, LSQ and packed tables all start from the same values. Being counter based, the stream
// can be redrawn, so packed tables never hold the fp32 init whole.
import { CounterRng, Stream } from '../util/rng.js';
import { qPos } from '../quant/round.js';

export const DEFAULT_INIT_STD = 0.01;

export function initRng(seed: number, tableId: number): CounterRng {
  return new CounterRng(seed, Stream.init, tableId);
}

/** Draw the next `dim` init values (float32-rounded) into out[off..off+dim). */
export function drawRow(rng: CounterRng, std: number, out: Float32Array, off: number, dim: number): void {
  for (let i = 0; i < dim; i++) out[off + i] = std * rng.normal();
}

/** mean|w| of the whole init, drawing every value once (first of the packed tables' two passes). */
export function initMeanAbs(seed: number, tableId: number, rows: number, dim: number, std: number): number {
  const rng = initRng(seed, tableId);
  const n = rows * dim;
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(Math.fround(std * rng.normal()));
  return s / n;
}

/** torch_ref's initial step size: 2·mean|w|/sqrt(Q_P). */
export function initialStepSize(meanAbs: number, bits: number): number {
  return (2 * meanAbs) / Math.sqrt(qPos(bits));
}
