#!/usr/bin/env node
// `npm run bench`: alpt's training step next to torch_ref's, measured in one run, alternating
// (these machines are shared and noisy: only ratios measured side by side mean something).
// Usage: node scripts/bench.mjs [--quick] [--steps N] [--threads 1,2] [--models dcn,dnn]
//   [--mlps 1024,512,256/400,400,400] [--methods fp32-8,alpt-8,...] [--backends blas,wasm]
//   [--no-torch] [--no-gemm] [--no-ingest] [--repeat N]
// --repeat N times every cell N times, alpt and torch_ref alternating, and keeps the median run.
// Prints JSON lines as it goes, then a Markdown table (the source of docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const quick = args.includes('--quick');
const steps = Number(opt('--steps', quick ? 6 : 10));
const allCores = cpus().length;
const threadsList = opt('--threads', quick ? String(allCores) : `1,${allCores}`).split(',').map(Number);
const torchRef = join(root, '..', 'shared', 'peers', 'torch_ref.py');
const hasTorch = !args.includes('--no-torch') && existsSync(torchRef) && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
// Debian's OpenBLAS only uses its AVX-512 kernels when told; pick them only where the CPU has AVX-512.
const avx512 = /\bavx512f\b/.test(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '');
const torchEnv = { ...process.env, ...(avx512 ? { OPENBLAS_CORETYPE: 'SkylakeX' } : {}) };

const shape = { batch: 4096, dim: 16, fields: 39, rowsPerField: 100000 };
const list = (name, dflt) => opt(name, dflt).split(name === '--mlps' ? '/' : ',');
const models = list('--models', quick ? 'dcn' : 'dcn,dnn');
const mlps = list('--mlps', quick ? '1024,512,256' : '1024,512,256/400,400,400');
const methods = list('--methods', quick ? 'fp32-8,alpt-8,alpt-fast-8' : 'fp32-8,lpt-sr-8,alpt-8,alpt-fast-8,lpt-sr-4,alpt-4,lpt-sr-2,alpt-2,alpt-fast-2').map((m) => {
  const i = m.lastIndexOf('-');
  return [m.slice(0, i), Number(m.slice(i + 1))];
});
const backends = list('--backends', 'auto');
const repeat = Math.max(1, Number(opt('--repeat', 1)));
/** The run with the median of `key` among runs (the middle one; the upper middle for even counts). */
const medianRun = (runs, key) => [...runs].sort((x, y) => x[key] - y[key])[Math.floor(runs.length / 2)];

function runJson(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const alpt = (model, mlp, emb, bits, threads, backend) =>
  runJson(process.execPath, [join(root, 'bin/alpt.js'), 'bench', '--backend', backend, '--model', model, '--embedding', emb, '--bits', String(bits), '--batch', String(shape.batch), '--dim', String(shape.dim), '--fields', String(shape.fields), '--rows-per-field', String(shape.rowsPerField), '--mlp', mlp, '--threads', String(threads), '--steps', String(steps)], process.env);
const torch = (model, mlp, emb, bits, threads) =>
  runJson('/usr/bin/python3', [torchRef, '--bench-steps', String(steps), '--emb', emb, '--bits', String(bits), '--model', model, '--batch', String(shape.batch), '--dim', String(shape.dim), '--fields', String(shape.fields), '--rows-per-field', String(shape.rowsPerField), '--mlp', mlp, '--threads', String(threads)], torchEnv);

const rows = [];
const torchCache = new Map();
for (const threads of threadsList) {
  for (const model of models) {
    for (const mlp of mlps) {
      for (const [emb, bits] of methods) {
       for (const backend of backends) {
        // torch_ref has fp32 and alpt (and lpt-*), not alpt-fast; each torch config is timed once per
        // (threads, model, mlp), interleaved with the first alpt cell that needs it.
        const temb = emb === 'alpt-fast' ? null : emb;
        const key = `${threads}|${model}|${mlp}|${temb}|${bits}`;
        const needTorch = hasTorch && temb && !torchCache.has(key);
        const aRuns = [], tRuns = [];
        for (let r = 0; r < repeat; r++) {
          const a1 = alpt(model, mlp, emb, bits, threads, backend);
          console.log(JSON.stringify(a1));
          aRuns.push(a1);
          if (needTorch) {
            const t1 = torch(model, mlp, temb, bits, threads);
            console.log(JSON.stringify(t1));
            tRuns.push(t1);
          }
        }
        const a = medianRun(aRuns, 'step_ms');
        if (needTorch) torchCache.set(key, medianRun(tRuns, 'step_ms_median'));
        const t = hasTorch && temb ? torchCache.get(key) : null;
        const tf = torchCache.get(`${threads}|${model}|${mlp}|fp32|8`) ?? null;
        rows.push({ threads, model, mlp, emb, bits, a, t, tf });
       }
      }
    }
  }
}

const f = (x, d = 1) => (x == null ? 'n/a' : x.toFixed(d));
console.log(`\nmachine: ${cpus()[0].model}, ${allCores} cores; node ${process.version}; torch_ref OPENBLAS_CORETYPE=${torchEnv.OPENBLAS_CORETYPE ?? '(default)'}; steps ${steps}, batch ${shape.batch}, ${shape.fields} fields × ${shape.dim}, ${shape.rowsPerField} rows/field\n`);
console.log('| threads | model | mlp | embedding | backend | alpt ms/step | alpt samples/s | step / own fp32 step | torch same method ms | ratio vs torch same | ratio vs torch fp32 | phases (ms) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const ownFp32 = (r) => rows.find((o) => o.emb === 'fp32' && o.threads === r.threads && o.model === r.model && o.mlp === r.mlp && o.a.backend === r.a.backend);
for (const r of rows) {
  const name = r.emb === 'fp32' ? 'fp32' : `${r.emb}-${r.bits}`;
  const same = r.t ? r.t.step_ms_median / r.a.step_ms : null;
  const vsFp = r.tf ? r.tf.step_ms_median / r.a.step_ms : null;
  const phases = Object.entries(r.a.phases_ms).map(([k, v]) => `${k} ${f(v, 0)}`).join(', ');
  const own = ownFp32(r);
  console.log(`| ${r.threads} | ${r.model} | ${r.mlp} | ${name} | ${r.a.backend} | ${f(r.a.step_ms)} | ${f(r.a.samples_per_s, 0)} | ${own ? f(r.a.step_ms / own.a.step_ms, 2) + '×' : 'n/a'} | ${r.t ? f(r.t.step_ms_median) : 'n/a'} | ${same ? f(same, 2) + '×' : 'n/a'} | ${vsFp ? f(vsFp, 2) + '×' : 'n/a'} | ${phases} |`);
}

if (!args.includes('--no-ingest')) {
  // Raw Criteo TSV → binary cache, on a seeded synthetic 1M-row file.
  const { writeSynthetic, benchIngest } = await import(join(root, 'dist/src/data/index.js'));
  const dir = join(process.env.ALPT_CACHE_DIR ?? join((await import('node:os')).homedir(), '.cache', 'alpt'), 'bench-ingest-1m');
  if (!existsSync(join(dir, 'train.txt'))) await writeSynthetic({ dir, rows: 1000000, validRows: 1000, testRows: 1000, seed: 1 });
  const r = await benchIngest(join(dir, 'train.txt'));
  console.log('\ningest (Criteo TSV → cache, 1M synthetic rows): ' + JSON.stringify(r));
}

if (!args.includes('--no-gemm')) {
  const { benchGemm } = await import(join(root, 'dist/src/kernels/bench-gemm.js'));
  const g = await benchGemm({ skipJs: quick, threads: [1, allCores] });
  console.log('\nGEMM (GFLOP/s)\n');
  for (const row of g) console.log(JSON.stringify(row));
}
