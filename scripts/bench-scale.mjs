#!/usr/bin/env node
// Scale-out benchmark (not a test): Frappe test AUC with 1 process (local table), 1 worker on the
// Redis Cluster, 2 workers on the cluster; bytes over the wire per training sample by method/bits;
// samples/s with the time spent waiting on the store. Starts and stops its own loopback cluster.
//
//   npm run bench:scale                       # seeds 1; DATA=../shared/data/bench/frappe
//   SEEDS=1,2,3 EMBEDDING=alpt BITS=4 npm run bench:scale
//   PARTS=auc|wire|all (default all)
//   VARIANTS=retry:model,last-writer:model,retry:grad   2-worker runs as --store-conflicts:--dense-sync
//   RUNS=1p,1w,2w (default all three)
// Prints JSON lines and a Markdown summary; writes runs/bench-scale/results.json.

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'alpt.js');
const DATA = process.env.DATA ?? '/work/shared/data/bench/frappe';
const SEEDS = (process.env.SEEDS ?? '1').split(',').map(Number);
const EMB = process.env.EMBEDDING ?? 'alpt';
const BITS = process.env.BITS ?? '4';
const PARTS = process.env.PARTS ?? 'all';
const SYNC = process.env.SYNC_EVERY ?? '50';
const EXTRA = (process.env.EXTRA ?? '').split(' ').filter(Boolean);
const VARIANTS = (process.env.VARIANTS ?? 'retry:model').split(',').map((v) => v.split(':'));
const RUNS = (process.env.RUNS ?? '1p,1w,2w').split(',');
const out = process.env.OUT ?? join(root, 'runs', 'bench-scale');
mkdirSync(out, { recursive: true });
const clusterDir = mkdtempSync(join(tmpdir(), 'alpt-bench-scale-'));
const script = join(root, 'scripts', 'redis-cluster.sh');

const base = ['--data', DATA, '--format', 'libfm', '--model', 'dcn', '--dim', '16', '--mlp', '400,400,400', '--batch', '1024',
  '--lr', '1e-3', '--threads', '1', '--progress', 'none', ...EXTRA];

function alpt(args) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, 'train', ...args], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 3600_000 });
  if (r.status !== 0) throw new Error(`alpt train ${args.join(' ')} failed:\n${r.stderr.slice(-3000)}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop());
  s.wall_s = (Date.now() - t0) / 1000;
  return s;
}

async function netBytes(url) {
  const { Store } = await import(join(root, 'dist/src/distributed/store.js'));
  const st = await Store.connect({ address: url, run: 'bench-info', timeoutMs: 5000 });
  try {
    return await st.netBytes();
  } finally {
    await st.close();
  }
}

const results = { data: DATA, embedding: EMB, bits: BITS, sync_every: SYNC, extra: EXTRA.join(' '), variants: VARIANTS.map((v) => v.join(':')), auc: [], wire: [] };
const url = execFileSync(script, ['start', clusterDir], { encoding: 'utf8' }).trim().split('\n').pop();
console.error(`cluster at ${url} (files in ${clusterDir})`);
try {
  if (PARTS === 'all' || PARTS === 'auc') {
    for (const seed of SEEDS) {
      const common = [...base, '--embedding', EMB, '--bits', BITS, '--seed', String(seed)];
      const runs = [];
      if (RUNS.includes('1p')) runs.push(['1 process', common]);
      if (RUNS.includes('1w')) runs.push(['1 worker', [...common, '--store', url, '--workers', '1']]);
      if (RUNS.includes('2w')) {
        for (const [rule, dense] of VARIANTS) {
          runs.push([`2 workers ${rule} ${dense}`, [...common, '--store', url, '--workers', '2', '--sync-every', SYNC, '--store-conflicts', rule, '--dense-sync', dense]]);
        }
      }
      for (const [label, args] of runs) {
        const s = alpt(args);
        const d = s.distributed;
        const row = {
          label, seed, test_auc: s.test_auc, valid_auc: s.valid_auc, epochs: s.epochs_run, best_epoch: s.best_epoch,
          samples_per_s: s.train_samples_per_s, wall_s: s.wall_s,
          ...(d ? {
            wire_bytes_per_sample: d.wire_bytes_per_sample, retried: d.retried_commands, lost: d.lost_row_writes,
            row_conflicts: d.row_conflicts, row_conflict_rate: d.row_conflict_rate,
            workers: d.workers.map((w) => ({ rank: w.rank, samples: w.samples, compute_s: w.computeMs / 1000, pull_s: w.pullMs / 1000, push_s: w.pushMs / 1000, sync_s: w.syncMs / 1000, retry_s: (w.retryMs ?? 0) / 1000, cas_rounds: w.store.casRounds, cas_gave_up: w.store.casGaveUp })),
          } : {}),
        };
        results.auc.push(row);
        console.log(JSON.stringify(row));
        writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
      }
    }
  }
  if (PARTS === 'all' || PARTS === 'wire') {
    // one epoch of 30 steps on 1 worker per method/bits; bytes from the client and from Redis INFO
    for (const [emb, bits] of [['fp32', '32'], ['alpt', '8'], ['alpt', '4'], ['alpt', '2'], ['lpt-sr', '4']]) {
      const args = [...base, '--embedding', emb, '--bits', bits === '32' ? '8' : bits, '--seed', '1', '--epochs', '1', '--max-steps', '30', '--store', url, '--workers', '1'];
      const before = await netBytes(url);
      const s = alpt(args);
      const after = await netBytes(url);
      const w = s.distributed.workers[0];
      // the store traffic of the training steps only: what rank 0's worker moved minus seeding and dumping
      const steps = w.steps, samples = w.samples;
      const rowBytes = s.distributed.row_bytes + 4; // + the 4-byte version header of a stored row
      const row = {
        embedding: emb, bits: Number(bits), row_bytes: rowBytes, samples, steps,
        rows_per_step: (w.store.rowsPushed - s.rows) / steps,
        client_bytes_per_sample_incl_seed_dump: (w.store.bytesIn + w.store.bytesOut) / samples,
        payload_bytes_per_sample: ((w.store.rowsPulled + w.store.rowsPushed) * rowBytes - 2 * s.rows * rowBytes) / samples,
        redis_in_bytes: (after.input - before.input) - (after.replInput - before.replInput),
        redis_out_bytes: (after.output - before.output) - (after.replOutput - before.replOutput),
        repl_bytes: after.replOutput - before.replOutput,
      };
      results.wire.push(row);
      console.log(JSON.stringify(row));
      writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
    }
  }
} finally {
  execFileSync(script, ['stop', clusterDir]);
}

const md = ['| run | seed | test AUC | epochs (best) | samples/s | store bytes/sample | row conflicts | compute s | pull s | push s | sync s |', '|---|---|---|---|---|---|---|---|---|---|---|'];
for (const r of results.auc) {
  const w = r.workers?.[0];
  md.push(`| ${r.label} | ${r.seed} | ${r.test_auc.toFixed(4)} | ${r.epochs} (${r.best_epoch}) | ${r.samples_per_s.toFixed(0)} | ${r.wire_bytes_per_sample?.toFixed(0) ?? '-'} | ${r.row_conflict_rate !== undefined ? (100 * r.row_conflict_rate).toFixed(1) + ' %' : '-'} | ${w ? w.compute_s.toFixed(1) : '-'} | ${w ? w.pull_s.toFixed(1) : '-'} | ${w ? w.push_s.toFixed(1) : '-'} | ${w ? w.sync_s.toFixed(1) : '-'} |`);
}
// mean test AUC by run label over seeds
const by = new Map();
for (const r of results.auc) (by.get(r.label) ?? by.set(r.label, []).get(r.label)).push(r.test_auc);
const base1 = by.get('1 process');
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const sd = (a) => Math.sqrt(a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / Math.max(1, a.length - 1));
md.push('', '| run | seeds | mean test AUC | sd | vs 1 process |', '|---|---|---|---|---|');
for (const [label, a] of by) md.push(`| ${label} | ${a.length} | ${mean(a).toFixed(4)} | ${sd(a).toFixed(4)} | ${base1 ? (mean(a) - mean(base1) >= 0 ? '+' : '') + (mean(a) - mean(base1)).toFixed(4) : '-'} |`);
if (results.wire.length) {
  md.push('', '| method | bits | row bytes | unique rows/step | row payload bytes/sample | Redis in+out bytes (30 steps + seed + dump) |', '|---|---|---|---|---|---|');
  for (const r of results.wire) md.push(`| ${r.embedding} | ${r.bits} | ${r.row_bytes} | ${r.rows_per_step.toFixed(0)} | ${r.payload_bytes_per_sample.toFixed(0)} | ${r.redis_in_bytes + r.redis_out_bytes} |`);
}
console.log(md.join('\n'));
writeFileSync(join(out, 'summary.md'), md.join('\n') + '\n');
