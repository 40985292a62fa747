// A run never gives a silently wrong result: resumes with other settings are refused, divergence
// stops the run without checkpointing blown-up weights, debris of killed writers is cleaned, the
// metrics log has no duplicates after a resume, and a missing validation split is said, not NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunData, train } from '../src/train/run.js';
import { Trainer } from '../src/train/trainer.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { writeSynthetic } from '../src/data/index.js';
import { createBackend } from '../src/kernels/index.js';
import type { Backend } from '../src/kernels/backend.js';
import { readTensorFile } from '../src/util/tensor-file.js';
import { removeStaleTempFiles, writeFileAtomic } from '../src/util/atomic.js';
import { truncateMetricsLog } from '../src/train/metrics-log.js';
import { DivergenceError, DIVERGENCE_BOUND } from '../src/train/divergence.js';
import { resumeDifferences } from '../src/train/resume-check.js';

const tmp = mkdtempSync(join(tmpdir(), 'alpt-safety-'));
const quiet: Partial<TrainConfig> = { progress: 'none', cacheDir: join(tmp, 'cache') };
/** A pid no process can have (Linux pids stay below 2^22). */
const DEAD_PID = 2 ** 30 + 12345;

let dir: string | null = null;
async function synth(): Promise<string> {
  if (!dir) {
    dir = join(tmp, 'synth');
    await writeSynthetic({ dir, rows: 3000, validRows: 500, testRows: 500, seed: 11, cardinality: 100 });
  }
  return dir;
}

async function withBackend<T>(f: (b: Backend) => Promise<T> | T): Promise<T> {
  const backend = await createBackend({ kind: 'js' });
  try {
    return await f(backend);
  } finally {
    backend.dispose();
  }
}

const small = async (over: Partial<TrainConfig> = {}): Promise<TrainConfig> =>
  ({ ...DEFAULTS, ...quiet, data: await synth(), format: 'criteo', model: 'dnn', mlp: [16], dim: 8, batch: 256, epochs: 1, seed: 1, ...over }) as TrainConfig;

test('resume with other settings is refused naming each key and both values, before any array is read', async () => {
  const cfg = await small({ out: join(tmp, 'mismatch') });
  const data = await loadRunData(cfg);
  await withBackend((backend) => {
    new Trainer(cfg, data, backend).fit();
    const ckpt = join(cfg.out!, 'checkpoint.alpt');
    // dim 16 vs 8 would otherwise fail as "checkpoint 'codes': N bytes, table expects 2N".
    const other = { ...cfg, dim: 16, lr: 0.01 };
    assert.throws(() => new Trainer(other, data, backend).resume(ckpt), (e: Error) => {
      assert.match(e.message, /cannot resume with different settings/);
      assert.match(e.message, /dim \(--dim\): checkpoint 8, now 16/);
      assert.match(e.message, /lr \(--lr\): checkpoint 0\.001, now 0\.01/);
      assert.doesNotMatch(e.message, /bytes|values, expected/);
      return true;
    });
    // Safe keys may change: more epochs, more patience, other threads/progress.
    const more = new Trainer({ ...cfg, epochs: 2, patience: 4, threads: 1, progress: 'lines', evalEvery: 3 }, data, backend);
    more.resume(ckpt);
    assert.equal(more.fit().epochs_run, 2);
  });
  assert.deepEqual(resumeDifferences({ ...cfg, embedding: 'alpt' }, cfg).map((d) => d.key), ['embedding']);
  // A checkpoint written before a key existed compares against today's default for it.
  const { checkpointEvery: _, ...older } = cfg;
  assert.deepEqual(resumeDifferences(older, cfg), []);
});

test('a finite blow-up (lr 1e4) stops the run naming the step; no checkpoint holds diverged weights', async () => {
  const cfg = await small({ lr: 1e4, sparseLr: 1e4, epochs: 10, out: join(tmp, 'diverge'), checkpointEvery: 1 });
  const data = await loadRunData(cfg);
  const logs: string[] = [];
  let message = '';
  await withBackend((backend) => {
    const t = new Trainer(cfg, data, backend, { log: (m) => logs.push(m) });
    assert.throws(() => t.fit(), (e: Error) => {
      assert.ok(e instanceof DivergenceError, String(e));
      message = e.message;
      assert.match(e.message, /training diverged at epoch \d+, step \d+: mean train loss .* above 6\.93 \(10 × ln 2\) for 3 checks in a row/);
      assert.match(e.message, /lower --lr/);
      return true;
    });
  });
  // The newest checkpoint is from before the loss left the bound: finite weights, an early step.
  const { meta, arrays } = readTensorFile(join(tmp, 'diverge', 'checkpoint.alpt'));
  for (const [k, a] of Object.entries(arrays)) if (a instanceof Float32Array) assert.ok(a.every(Number.isFinite), `${k} finite`);
  assert.match(message, new RegExp(`the newest checkpoint \\(step ${meta.state.step}, 0 epochs complete\\) holds the last good weights`));
  const rec = readFileSync(join(tmp, 'diverge', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(meta.state.step < rec[0].step, `checkpoint step ${meta.state.step} is older than the first epoch's end`);
  assert.equal(logs.filter((m) => /not checkpointing at epoch \d+, step \d+/.test(m)).length, 1, 'said once per bad stretch');
  assert.ok(DIVERGENCE_BOUND > 6.9 && DIVERGENCE_BOUND < 7);
});

test('a healthy run is not flagged as diverged', async () => {
  const s = await train(await small({ epochs: 2, lr: 0.01 }));
  assert.equal(s.epochs_run, 2);
});

test('stale temp files of dead writers are removed from the run folder and the cache; live ones stay', async () => {
  const out = join(tmp, 'debris');
  mkdirSync(out, { recursive: true });
  const cacheDir = join(tmp, 'debris-cache');
  mkdirSync(cacheDir, { recursive: true });
  const dead = `checkpoint.alpt.${DEAD_PID}.1700000000000.tmp`;
  const live = `checkpoint.alpt.${process.pid}.1700000000000.tmp`;
  const deadCache = `synth-0123456789abcdef0123.alptds.${DEAD_PID}.1700000000000.tmp`;
  for (const f of [dead, live]) writeFileSync(join(out, f), 'partial');
  writeFileSync(join(cacheDir, deadCache), 'partial');
  writeFileSync(join(out, 'notes.tmp'), 'not ours');
  assert.deepEqual(removeStaleTempFiles(join(tmp, 'no-such-dir')), []);
  // A training run cleans both folders at its start.
  await train(await small({ out, cacheDir }));
  const left = readdirSync(out);
  assert.ok(!left.includes(dead), 'dead writer temp file removed');
  assert.ok(left.includes(live), 'a live writer temp file is kept');
  assert.ok(left.includes('notes.tmp'), 'files not named like ours are kept');
  assert.ok(!readdirSync(cacheDir).includes(deadCache), 'dead cache temp file removed');
  // Our own writes leave no temp file behind.
  writeFileAtomic(join(out, 'x.json'), ['{}']);
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp')).sort(), [live, 'notes.tmp'].filter((f) => f.endsWith('.tmp')).sort());
});

test('resume cuts metrics.jsonl back to the checkpoint step (no repeated records, torn lines dropped)', async () => {
  const p = join(tmp, 'metrics.jsonl');
  writeFileSync(p, [{ epoch: 1, step: 5, valid_auc: 0.6 }, { epoch: 1, step: 10, train_loss: 0.5 }, { epoch: 2, step: 15, valid_auc: 0.7 }].map((r) => JSON.stringify(r)).join('\n') + '\n{"epoch":2,"st');
  assert.equal(truncateMetricsLog(p, 10), 2);
  assert.deepEqual(readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), [5, 10]);
  assert.equal(truncateMetricsLog(p, 10), 0, 'nothing past the step: unchanged');
  assert.equal(truncateMetricsLog(join(tmp, 'none.jsonl'), 3), 0);

  // Through the trainer: a record past the checkpoint (the interrupted epoch) is removed on resume.
  const cfg = await small({ out: join(tmp, 'resume-log'), epochs: 2, evalEvery: 4 });
  const data = await loadRunData(cfg);
  await withBackend((backend) => {
    new Trainer({ ...cfg, epochs: 1 }, data, backend).fit();
    const log = join(cfg.out!, 'metrics.jsonl');
    const before = readFileSync(log, 'utf8');
    writeFileSync(log, before + JSON.stringify({ epoch: 2, step: 16, valid_auc: 0.5 }) + '\n');
    const t = new Trainer(cfg, data, backend);
    t.resume(join(cfg.out!, 'checkpoint.alpt'));
    assert.equal(readFileSync(log, 'utf8'), before);
    t.fit();
    const steps = readFileSync(log, 'utf8').trim().split('\n').map((l) => `${JSON.parse(l).step}:${'train_loss' in JSON.parse(l)}`);
    assert.equal(new Set(steps).size, steps.length, `no duplicate records: ${steps.join(' ')}`);
  });
});

test('no validation split: said once, no NaN, last epoch used, summary valid_auc null; --valid-fraction holds out a seeded part', async () => {
  const noValid = join(tmp, 'novalid');
  mkdirSync(noValid, { recursive: true });
  writeFileSync(join(noValid, 'train.txt'), readFileSync(join(await synth(), 'train.txt')));
  const logs: string[] = [];
  const epochs: unknown[] = [];
  const s = await train(await small({ data: noValid, epochs: 2, patience: 1 }), { hooks: { log: (m) => logs.push(m), onEpoch: (r) => epochs.push(r) } });
  assert.equal(logs.filter((m) => /no validation split/.test(m)).length, 1);
  assert.match(logs.join('\n'), /early stopping and best-epoch selection are off; the last epoch's weights are used/);
  assert.match(logs.join('\n'), /no test split/);
  assert.equal(s.valid_auc, null);
  assert.equal(s.test_auc, null);
  assert.equal(s.best_epoch, 2);
  assert.equal(s.epochs_run, 2, 'no early stop without validation');
  assert.ok(!JSON.stringify(epochs).includes('NaN') && !JSON.stringify(s).includes('Infinity'));

  const cfg = await small({ data: noValid, validFraction: 0.2, seed: 5 });
  const a = await loadRunData(cfg);
  const b = await loadRunData(cfg);
  assert.equal(a.valid!.n, 600);
  assert.equal(a.train.n, 2400);
  assert.deepEqual(a.valid!.labels, b.valid!.labels, 'same seed, same hold-out');
  assert.deepEqual(a.valid!.ids, b.valid!.ids);
  const c = await loadRunData({ ...cfg, seed: 6 });
  assert.notDeepEqual(c.valid!.ids, a.valid!.ids, 'another seed, another hold-out');
  const held = await train(cfg, { data: a });
  assert.equal(typeof held.valid_auc, 'number');
  assert.equal(held.train_rows, 2400);
  // Next to a real validation split the fraction is refused, not silently ignored.
  await assert.rejects(loadRunData(await small({ validFraction: 0.2 })), /--valid-fraction 0\.2: the data already has a validation split \(500 rows\)/);
});

test('a validation split of one class is refused instead of early-stopping on NaN AUC', async () => {
  const cfg = await small();
  const data = await loadRunData(cfg);
  const negatives = { ...data.valid!, labels: new Float32Array(data.valid!.n) };
  await withBackend((backend) => {
    assert.throws(() => new Trainer(cfg, { ...data, valid: negatives }, backend).fit(), /validation split's 500 rows are all negative: its AUC is undefined/);
  });
});
