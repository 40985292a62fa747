// `alpt synth`: seeded Criteo-like TSV files for tests, the demo and benchmarks.
import { writeSynthetic } from '../data/index.js';

const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
};

export async function runSynth(o: Record<string, string | undefined>): Promise<void> {
  const t0 = performance.now();
  const splits: Record<string, unknown>[] = [];
  const largeFields = o.largeFields === undefined || o.largeFields === '0' ? 0 : positive('--large-fields', o.largeFields)!;
  const files = await writeSynthetic({
    dir: o.out!,
    rows: positive('--rows', o.rows)!,
    validRows: positive('--valid-rows', o.validRows),
    testRows: positive('--test-rows', o.testRows),
    cardinality: positive('--cardinality', o.cardinality),
    seed: Number(o.seed ?? 1),
    largeFields,
    largeCardinality: positive('--large-cardinality', o.largeCardinality),
    largeTail: o.largeTail as 'zipf' | 'uniform' | 'mixed' | undefined,
    onSplit: (s) => {
      splits.push({ file: s.path, rows: s.rows, ...(largeFields ? { distinct_per_large_field: s.distinct } : {}), seconds: +((performance.now() - t0) / 1000).toFixed(1) });
      if (largeFields) process.stderr.write(`alpt synth: ${s.path}: ${s.rows} rows, distinct values in C1..C${largeFields}: ${s.distinct.join(', ')}\n`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const rows = splits.reduce((a, s) => a + (s.rows as number), 0);
  process.stdout.write(JSON.stringify({ ...files, seconds: +seconds.toFixed(1), rows_per_s: Math.round(rows / seconds), splits }) + '\n');
}
