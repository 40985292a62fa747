#!/usr/bin/env node
// Usage: node scripts/bench-gemm.mjs [--skip-js] [--reps N] [--threads 1,2]
// Prints one JSON line per (backend, threads, form, shape). Needs `npm run build` first.
import { benchGemm } from '../dist/src/kernels/bench-gemm.js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rows = await benchGemm({
  skipJs: args.includes('--skip-js'),
  compareFma: !args.includes('--fma-only'),
  reps: opt('--reps') ? Number(opt('--reps')) : undefined,
  threads: opt('--threads') ? opt('--threads').split(',').map(Number) : undefined,
});
for (const row of rows) console.log(JSON.stringify(row));
