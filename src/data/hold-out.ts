// --valid-fraction: hold a seeded random fraction of the training rows out as the validation split,
// for data that comes without one (early stopping and best-epoch selection need it).
import { CounterRng, Stream } from '../util/rng.js';
import type { EncodedSplit, LoadedData } from './types.js';

function pick(split: EncodedSplit, rows: Int32Array): EncodedSplit {
  const F = split.numFields;
  const ids = new Int32Array(rows.length * F);
  const labels = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    ids.set(split.ids.subarray(r * F, (r + 1) * F), i * F);
    labels[i] = split.labels[r];
  });
  return { n: rows.length, numFields: F, ids, labels, skipped: 0 };
}

/** Rows chosen by (seed, fraction) only; both parts keep the file order. The vocabulary is unchanged. */
export function holdOutValid(data: LoadedData, fraction: number, seed: number): LoadedData {
  const n = data.train.n;
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  if (n < 2) throw new Error(`--valid-fraction: the training split has ${n} rows, too few to hold any out`);
  const order = new Int32Array(n).map((_, i) => i);
  new CounterRng(seed, Stream.holdOut, 0).shuffle(order);
  const validRows = order.subarray(0, k).slice().sort();
  const trainRows = order.subarray(k).slice().sort();
  const train = { ...pick(data.train, trainRows), skipped: data.train.skipped };
  return { ...data, train, valid: pick(data.train, validRows), heldOutFraction: fraction };
}
