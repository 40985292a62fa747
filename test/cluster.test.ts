// Distributed training on a loopback Redis Cluster (3 masters + 3 replicas, started and stopped
// here by scripts/redis-cluster.sh): 2 workers train and write the run folder, --resume continues,
// a killed master fails over while training goes on, an unreachable cluster and a killed worker
// stop the run with a clear error and the checkpoint intact. Skipped (reason printed) without
// redis-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/distributed/store.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const script = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-cluster-'));
const env = { ...process.env, ALPT_CACHE_DIR: join(tmp, 'cache') };
const clusterDir = join(tmp, 'redis');
const data = join(tmp, 'data');

const haveRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = haveRedis ? false : 'redis-server is not installed (apt-get install redis-server): Redis Cluster tests skipped';
if (skip) console.log(`# SKIP cluster tests: ${skip}`);

let url = '';
const small = ['--data', data, '--model', 'dnn', '--mlp', '16', '--dim', '8', '--embedding', 'alpt', '--bits', '4', '--batch', '128',
  '--backend', 'js', '--threads', '1', '--progress', 'none', '--store-timeout', '5', '--sync-every', '4'];

function alpt(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 120_000 });
}
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

before(() => {
  if (skip) return;
  const s = alpt(['synth', '--out', data, '--rows', '3000', '--cardinality', '200', '--seed', '4']);
  assert.equal(s.status, 0, s.stderr);
  url = execFileSync(script, ['start', clusterDir], { encoding: 'utf8' }).trim().split('\n').pop()!;
  assert.match(url, /^redis:\/\/127\.0\.0\.1:\d+$/);
});

after(() => {
  if (!skip) execFileSync(script, ['stop', clusterDir]);
});

test('2 workers on the cluster: summary, model file, checkpoint; --resume continues', { skip }, () => {
  const out = join(tmp, 'run2');
  const r = alpt(['train', ...small, '--epochs', '1', '--store', url, '--workers', '2', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.equal(s.distributed.world, 2);
  assert.equal(s.distributed.lost_row_writes, 0);
  assert.equal(s.distributed.workers.length, 2);
  assert.ok(s.test_auc > 0.55, `test AUC ${s.test_auc}`);
  assert.ok(existsSync(join(out, 'model.alpt')) && existsSync(join(out, 'checkpoint.alpt')) && existsSync(join(out, 'summary.json')));
  const inspect = alpt(['inspect', join(out, 'model.alpt'), '--json']);
  assert.equal(inspect.status, 0, inspect.stderr);
  const r2 = alpt(['train', ...small, '--epochs', '2', '--patience', '5', '--store', url, '--workers', '2', '--out', out, '--resume']);
  assert.equal(r2.status, 0, r2.stderr);
  const s2 = lastJson(r2.stdout);
  assert.equal(s2.epochs_run, 2);
  assert.ok(s2.distributed.workers[0].steps > 0);
});

test('conflict rules on the store: concurrent increments of the same rows: retry keeps every one, last-writer loses some and counts them', { skip }, async () => {
  type S = Store;
  type Rule = 'last-writer' | 'retry';
  const rows = Int32Array.from({ length: 12 }, (_, i) => i * 5);
  const n = rows.length, rounds = 60;
  const enc = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    return b;
  };
  const connect = () => Store.connect({ address: url, run: `inc${process.pid}`, timeoutMs: 10_000, buckets: 4 });
  const seeder = await connect();
  // one "worker": pull all rows → (yield) → write each row + 1 under the rule; on a refused write,
  // re-apply the +1 to the row's current value and write again (what DistWorker does with gradients)
  async function worker(st: S, rule: Rule): Promise<void> {
    const vals = new Float64Array(n), ver = new Uint32Array(n);
    for (let r = 0; r < rounds; r++) {
      await st.pullRows(rows, n, (i, v, version) => {
        vals[i] = v.readDoubleLE(0);
        ver[i] = version;
      });
      await new Promise((res) => setTimeout(res, 1));
      let idx = Array.from({ length: n }, (_, i) => i);
      let conflicts = await st.pushRows(rows, n, (i) => enc(vals[i] + 1), ver, rule);
      while (conflicts.length) {
        for (const c of conflicts) {
          vals[idx[c.i]] = c.value.readDoubleLE(0);
          ver[idx[c.i]] = c.version;
        }
        idx = conflicts.map((c) => idx[c.i]);
        const sub = idx;
        conflicts = await st.pushRows(Int32Array.from(sub, (i) => rows[i]), sub.length, (k) => enc(vals[sub[k]] + 1), Uint32Array.from(sub, (i) => ver[i]), rule);
      }
    }
  }
  async function race(rule: Rule): Promise<{ final: number[]; conflicts: number; versions: number[] }> {
    await seeder.pushRows(rows, n, () => enc(0));
    const a = await connect(), b = await connect();
    try {
      await Promise.all([worker(a, rule), worker(b, rule)]);
      const final: number[] = [], versions: number[] = [];
      await seeder.pullRows(rows, n, (i, v, version) => {
        final[i] = v.readDoubleLE(0);
        versions[i] = version;
      });
      return { final, conflicts: a.stats.rowConflicts + b.stats.rowConflicts, versions };
    } finally {
      await a.close();
      await b.close();
    }
  }
  try {
    const retry = await race('retry');
    assert.ok(retry.conflicts > 0, 'the two workers never collided: the test shows nothing');
    assert.deepEqual(retry.final, new Array(n).fill(2 * rounds), `retry lost increments (${retry.conflicts} conflicts)`);
    assert.deepEqual(retry.versions, new Array(n).fill(2 * rounds), 'one version step per applied write');
    const lww = await race('last-writer');
    assert.ok(lww.conflicts > 0, 'no collision under last-writer');
    const lost = lww.final.reduce((s, x) => s + (2 * rounds - x), 0);
    assert.ok(lost > 0, 'last-writer kept every increment despite collisions');
    // every counted conflict overwrote at least one increment of the other worker
    assert.ok(lost >= lww.conflicts, `${lost} increments lost, ${lww.conflicts} conflicts counted`);
    assert.ok(lww.final.every((x) => x >= rounds && x <= 2 * rounds), String(lww.final));
  } finally {
    await seeder.clearRun();
    await seeder.close();
  }
});

test('2 workers, --store-conflicts retry --dense-sync grad: conflicts counted and re-applied, identical dense optimizer state on both workers', { skip }, () => {
  const r = alpt(['train', ...small, '--epochs', '1', '--store', url, '--workers', '2', '--store-conflicts', 'retry', '--dense-sync', 'grad']);
  assert.equal(r.status, 0, r.stderr);
  const d = lastJson(r.stdout).distributed;
  assert.equal(d.store_conflicts, 'retry');
  assert.equal(d.dense_sync, 'grad');
  assert.ok(d.row_conflicts > 0, 'workers never wrote the same row concurrently (did they run together?)');
  assert.ok(d.workers.every((w: { store: { casRounds: number; casGaveUp: number } }) => w.store.casRounds > 0 && w.store.casGaveUp === 0));
  assert.equal(d.workers[0].dense_state_sha, d.workers[1].dense_state_sha, 'gradient averaging must keep the dense optimizers identical');
  // model averaging averages the parameters, not the optimizer moments: they differ
  const m = alpt(['train', ...small, '--epochs', '1', '--store', url, '--workers', '2', '--store-conflicts', 'last-writer', '--dense-sync', 'model']);
  assert.equal(m.status, 0, m.stderr);
  const dm = lastJson(m.stdout).distributed;
  assert.notEqual(dm.workers[0].dense_state_sha, dm.workers[1].dense_state_sha);
  assert.ok(dm.row_conflicts > 0 && dm.workers.every((w: { store: { casRounds: number } }) => w.store.casRounds === 0));
});

test('an unreachable cluster: a clear error, exit non-zero, the checkpoint intact', { skip }, () => {
  const out = join(tmp, 'run2');
  const before = sha(join(out, 'checkpoint.alpt'));
  const r = alpt(['train', ...small, '--epochs', '3', '--store', 'redis://127.0.0.1:1', '--store-timeout', '1.5', '--workers', '2', '--out', out, '--resume']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot reach the Redis Cluster at redis:\/\/127\.0\.0\.1:1 within 1\.5 s/);
  assert.equal(sha(join(out, 'checkpoint.alpt')), before);
});

test('a killed worker stops the run cleanly (exit non-zero, named), the last checkpoint intact', { skip }, async () => {
  const out = join(tmp, 'run-kill');
  const child = spawn(process.execPath, [bin, 'train', ...small, '--batch', '32', '--epochs', '20', '--patience', '30', '--store', url, '--workers', '2', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // wait for the first checkpoint, then kill rank 1 (a child of the coordinator)
  const t0 = Date.now();
  while (!existsSync(join(out, 'checkpoint.alpt')) && Date.now() - t0 < 40_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(join(out, 'checkpoint.alpt')), stderr);
  const kids = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
  assert.equal(kids.length, 1, `children of the coordinator: ${kids}`);
  process.kill(kids[0], 'SIGKILL');
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.notEqual(code, 0);
  assert.match(stderr, /worker 1 exited with SIGKILL/);
  // the checkpoint is a complete file (readable) from the last finished epoch
  const ins = alpt(['inspect', join(out, 'checkpoint.alpt'), '--json']);
  assert.equal(ins.status, 0, ins.stderr);
});

test('a master killed mid-run: its replica is promoted and training finishes, no row write lost', { skip }, async () => {
  const out = join(tmp, 'run-failover');
  const child = spawn(process.execPath, [bin, 'train', ...small, '--batch', '32', '--epochs', '3', '--patience', '5', '--store', url, '--workers', '2', '--store-timeout', '20', '--out', out], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // a master: the first port holds slots 0-5460 after `--cluster create`
  const ports = readFileSync(join(clusterDir, 'ports'), 'utf8').trim().split('\n');
  let master = '';
  for (const p of ports) {
    const role = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', p, 'role'], { encoding: 'utf8' }).stdout;
    if (role.startsWith('master')) {
      master = p;
      break;
    }
  }
  assert.ok(master);
  // kill it once the first epoch is checkpointed (two more to go)
  const t0 = Date.now();
  while (!existsSync(join(out, 'checkpoint.alpt')) && Date.now() - t0 < 40_000) await new Promise((r) => setTimeout(r, 100));
  assert.equal(child.exitCode, null, `the run ended before the kill:\n${stderr}`);
  const pid = Number(readFileSync(join(clusterDir, master, 'redis.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.equal(code, 0, stderr);
  const s = lastJson(stdout);
  assert.equal(s.distributed.lost_row_writes, 0);
  assert.ok(s.distributed.retried_commands + s.distributed.node_events > 0, 'the failover was not noticed');
  assert.ok(s.test_auc > 0.55);
});

test('distributed flags without --store are refused, naming the flag; bad rule names are refused', () => {
  const c = alpt(['train', '--store-conflicts', 'retry', '--data', tmp]);
  assert.notEqual(c.status, 0);
  assert.match(c.stderr, /--store-conflicts needs --store/);
  const b = alpt(['train', '--store', 'redis://127.0.0.1:1', '--dense-sync', 'allreduce', '--data', tmp]);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, /--dense-sync must be one of model, grad/);
  const r = alpt(['train', '--workers', '2', '--data', tmp]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--workers needs --store/);
});
