#!/usr/bin/env node
// Step-time ratios measured pair by pair: configurations run back to back, round after round, and
// each round's ratio to the first configuration is kept. On a shared, noisy machine the median of
// per-round ratios is steadier than a ratio of medians taken minutes apart.
// Usage: node scripts/bench-ratio.mjs [--rounds 5] [--steps 8] [--threads 2] [--backend blas]
//   [--model dcn] [--mlp 1024,512,256] [--configs fp32-8,alpt-8,alpt-fast-8,torch:fp32-8,torch:alpt-8]
// A config is <embedding>-<bits> for alpt, or torch:<emb>-<bits> for ../shared/peers/torch_ref.py.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const rounds = Number(opt('--rounds', 5));
const steps = String(opt('--steps', 8));
const threads = String(opt('--threads', cpus().length));
const backend = opt('--backend', 'auto');
const model = opt('--model', 'dcn');
const mlp = opt('--mlp', '1024,512,256');
const configs = opt('--configs', 'fp32-8,alpt-8,alpt-fast-8,torch:fp32-8,torch:alpt-8').split(',');
const torchRef = join(root, '..', 'shared', 'peers', 'torch_ref.py');
const avx512 = /\bavx512f\b/.test(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '');
const torchEnv = { ...process.env, ...(avx512 ? { OPENBLAS_CORETYPE: 'SkylakeX' } : {}) };
const shape = ['--batch', '4096', '--dim', '16', '--fields', '39', '--rows-per-field', '100000', '--mlp', mlp, '--threads', threads];

function run(config) {
  const torch = config.startsWith('torch:');
  const spec = torch ? config.slice(6) : config;
  const i = spec.lastIndexOf('-');
  const [emb, bits] = [spec.slice(0, i), spec.slice(i + 1)];
  const [cmd, argv, env] = torch
    ? ['/usr/bin/python3', [torchRef, '--bench-steps', steps, '--emb', emb, '--bits', bits, '--model', model, ...shape], torchEnv]
    : [process.execPath, [join(root, 'bin/alpt.js'), 'bench', '--backend', backend, '--model', model, '--embedding', emb, '--bits', bits, '--steps', steps, ...shape], process.env];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${config} failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return torch ? out.step_ms_median : out.step_ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = configs.map(() => []);
for (let r = 0; r < rounds; r++) {
  configs.forEach((c, k) => times[k].push(run(c)));
  console.log(JSON.stringify({ round: r + 1, ms: Object.fromEntries(configs.map((c, k) => [c, times[k][r]])) }));
}
console.log(`\n${model} ${mlp}, batch 4096, ${threads} threads, alpt backend ${backend}, ${rounds} rounds of ${steps} steps\n`);
console.log(`| config | median ms/step | median per-round ratio to ${configs[0]} | range of per-round ratios |`);
console.log('|---|---|---|---|');
configs.forEach((c, k) => {
  const ratios = times[k].map((t, r) => t / times[0][r]);
  console.log(`| ${c} | ${median(times[k]).toFixed(1)} | ${median(ratios).toFixed(2)}× | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |`);
});
