#!/usr/bin/env node
// `npm run bench:big`: the 200 M-row 4-bit ALPT table on one machine (issue 11's demonstration).
// Runs, one after the other on the same machine:
//   1. the fp32 version of the big command: must be refused by the pre-flight check (exit 1, a message)
//   2. a 1 M-row table (26 × 38,462 rows), same settings: the step time without cache misses
//   3. the 200.2 M-row table (26 × 7,700,000 rows): init time, step time, peak RSS, bytes/row from the
//      memory report, checkpoint write and read (streamed, checksummed) — then prints a Markdown table.
// Usage: node scripts/bench-big.mjs [--steps 200] [--threads 2] [--rows-per-field 7700000] [--dir /tmp/alpt-bench-big]
//        [--extra "--memory-light"]  (the table settings; default --memory-light: 14 bytes/row at 4 bits;
//        --extra "--sparse-optimizer rowwise-adagrad --sparse-lr 0.05": f32 Δ + Adam on Δ, 24 bytes/row = 4.8 GB,
//        which runs in two row shards of their own WebAssembly memories)
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, freemem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const steps = opt('--steps', '200');
const threads = opt('--threads', String(cpus().length));
const bigRows = Number(opt('--rows-per-field', '7700000'));
const dir = opt('--dir', '/tmp/alpt-bench-big');
const extra = opt('--extra', '--memory-light').split(' ').filter(Boolean);
const fields = 26;

const base = ['bench', '--model', 'dcn', '--embedding', 'alpt', '--bits', '4', '--dim', '16', '--fields', String(fields),
  '--batch', '4096', '--threads', threads, '--steps', steps, '--ids', 'zipf', ...extra];

function run(argv, env = process.env) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/alpt.js'), ...argv], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const wall = (Date.now() - t0) / 1000;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, wall };
}
const cmdline = (argv) => `alpt ${argv.join(' ')}`;

console.error(`machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);

// 1. fp32 must be refused before allocating
const fp32 = ['bench', '--model', 'dcn', '--embedding', 'fp32', '--dim', '16', '--fields', String(fields), '--rows-per-field', String(bigRows),
  '--batch', '4096', '--threads', threads, '--steps', steps];
const refused = run(fp32);
console.log(JSON.stringify({ run: 'fp32-refused', command: cmdline(fp32), exit: refused.status, wall_s: refused.wall, message: refused.stderr.trim().split('\n').slice(0, 3).join(' / ') }));
if (refused.status === 0) {
  console.error('bench:big: the fp32 run was NOT refused');
  process.exitCode = 1;
}

const results = [];
for (const [label, rpf] of [['1M', 38462], ['200M', bigRows]]) {
  const argv = [...base, '--rows-per-field', String(rpf), '--checkpoint-bench', dir];
  console.error(`running: ${cmdline(argv)}`);
  const r = run(argv);
  if (r.status !== 0) {
    console.error(r.stderr);
    throw new Error(`${label} run failed (exit ${r.status})`);
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  j.run = label;
  j.command = cmdline(argv);
  j.wall_s = r.wall;
  if (r.stderr.includes('warning')) j.warnings = r.stderr.trim();
  console.log(JSON.stringify(j));
  results.push(j);
}

const [small, big] = results;
const gb = (b) => (b / 1e9).toFixed(2);
console.log(`
| rows | table bytes/row | memories | table GB | init s | init s/GB | step ms (median) | lookup ms | sparse ms | ALPT pass ms | rows touched | peak RSS MiB | ckpt GB | write s (GB/s) | read s (GB/s) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${results.map((r) => `| ${r.rows.toLocaleString('en')} | ${r.table_bytes_per_row} | ${r.table_memories} | ${gb(r.table.total)} | ${r.init_s} | ${(r.init_s / (r.table.total / 1e9)).toFixed(1)} | ${r.step_ms} | ${r.phases_ms.lookup} | ${r.phases_ms.sparse} | ${r.phases_ms['alpt-pass'] ?? '–'} | ${(r.rows_touched ?? 0).toLocaleString('en')} | ${r.peak_rss_mib} | ${gb(r.checkpoint.bytes)} | ${r.checkpoint.write_s} (${r.checkpoint.write_gb_per_s}) | ${r.checkpoint.read_s} (${r.checkpoint.read_gb_per_s}) |`).join('\n')}

200 M / 1 M step time: ${(big.step_ms / small.step_ms).toFixed(2)}×; lookup ${(big.phases_ms.lookup / small.phases_ms.lookup).toFixed(2)}×, sparse update ${(big.phases_ms.sparse / small.phases_ms.sparse).toFixed(2)}×.
fp32 (${fp32.join(' ')}): exit ${refused.status} after ${refused.wall.toFixed(1)} s — ${refused.stderr.trim().split('\n')[0]}`);
