#!/usr/bin/env node
// Usage: node scripts/bench-gemm.mjs [--skip-js] [--no-wasm] [--no-blas] [--fma-only] [--reps N] [--threads 1,2]
// The blas rows use the OpenBLAS addon when built; ALPT_OPENBLAS_CORETYPE=Haswell|SkylakeX picks its kernels.
// Prints one JSON line per (backend, threads, form, shape). Needs `npm run build` first.
import { benchGemm } from '../dist/src/kernels/bench-gemm.js';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rows = await benchGemm({
  skipJs: args.includes('--skip-js'),
  wasm: !args.includes('--no-wasm'),
  blas: !args.includes('--no-blas'),
  compareFma: !args.includes('--fma-only'),
  reps: opt('--reps') ? Number(opt('--reps')) : undefined,
  threads: opt('--threads') ? opt('--threads').split(',').map(Number) : undefined,
});
for (const row of rows) console.log(JSON.stringify(row));
