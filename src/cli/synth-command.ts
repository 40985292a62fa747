// `alpt synth`: seeded Criteo-like TSV files for tests, the demo and benchmarks.
import { writeSynthetic } from '../data/index.js';

const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
};

export async function runSynth(o: Record<string, string | undefined>): Promise<void> {
  const files = await writeSynthetic({
    dir: o.out!,
    rows: positive('--rows', o.rows)!,
    validRows: positive('--valid-rows', o.validRows),
    testRows: positive('--test-rows', o.testRows),
    cardinality: positive('--cardinality', o.cardinality),
    seed: Number(o.seed ?? 1),
  });
  process.stdout.write(JSON.stringify(files) + '\n');
}
