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

test('distributed flags without --store are refused, naming the flag', () => {
  const r = alpt(['train', '--workers', '2', '--data', tmp]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--workers needs --store/);
});
