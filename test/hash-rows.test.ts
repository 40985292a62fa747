// Hashed ids (--hash-rows): the seeded row hash is deterministic, seed- and field-dependent and
// spreads values evenly; hashed ingest keeps no vocabulary, streams through the parse worker with
// the same ids, keys the data cache on the hash settings; a hashed model file predicts raw rows
// exactly as training scored them; bad settings are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HASH_VERSION, RowHasher, hashRowsPerField } from '../src/data/hash-rows.js';
import { loadData, writeSynthetic } from '../src/data/index.js';
import { parseWorker } from '../src/data/encode.js';
import { train } from '../src/train/run.js';
import { DEFAULTS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { checkResumeConfig } from '../src/train/resume-check.js';
import { loadModel } from '../src/predict/loaded-model.js';
import { readModelFile } from '../src/artifact/model-file.js';
import { auc } from '../src/train/metrics.js';
import { exportOnnx } from '../src/export/onnx.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-hash-'));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);

let fixture: Promise<{ train: string; valid: string; test: string }> | null = null;
/** A small Criteo-format fixture (synthetic, seeded). */
function data(): Promise<{ train: string; valid: string; test: string }> {
  fixture ??= writeSynthetic({ dir: join(tmp, 'data'), rows: 3000, validRows: 500, testRows: 500, seed: 5, cardinality: 300 });
  return fixture;
}

test('the row hash is deterministic, depends on the seed and on the field', () => {
  const a = new RowHasher({ version: HASH_VERSION, seed: 1, rows: [1000, 1000] });
  const a2 = new RowHasher({ version: HASH_VERSION, seed: 1, rows: [1000, 1000] });
  const b = new RowHasher({ version: HASH_VERSION, seed: 2, rows: [1000, 1000] });
  let sameSeed = 0, otherSeed = 0, otherField = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const k = enc(`v${i.toString(16)}`);
    const id = a.idOfBytes(0, k);
    assert.ok(id >= 0 && id < 1000);
    if (a2.idOfBytes(0, k) === id) sameSeed++;
    if (b.idOfBytes(0, k) === id) otherSeed++;
    if (a.idOfBytes(1, k) - 1000 === id) otherField++;
  }
  assert.equal(sameSeed, n);
  // Independent maps agree on about 1 key in 1000.
  assert.ok(otherSeed < 20, `seed 1 and seed 2 agree on ${otherSeed} of ${n} keys`);
  assert.ok(otherField < 20, `fields 0 and 1 agree on ${otherField} of ${n} keys`);
  // Length is part of the key: "" ≠ "\0", "x" ≠ "x\0".
  const h = new RowHasher({ version: HASH_VERSION, seed: 0, rows: [2 ** 31 - 1] });
  assert.notEqual(h.idOfBytes(0, enc('')), h.idOfBytes(0, new Uint8Array([0])));
  assert.notEqual(h.idOfBytes(0, enc('x')), h.idOfBytes(0, enc('x\0')));
});

test('the row hash spreads values evenly (chi-square within 6 sd) for sequential, hex and short keys', () => {
  const kinds: [string, (i: number) => string][] = [
    ['decimal', (i) => String(i)],
    ['hex', (i) => (Math.imul(i, 0x9e3779b1) >>> 0).toString(16).padStart(8, '0')],
    ['prefixed', (i) => `user_${i}`],
  ];
  for (const N of [1000, 1024, 65537]) {
    const h = new RowHasher({ version: HASH_VERSION, seed: 42, rows: [N] });
    for (const [name, key] of kinds) {
      const n = N * 50;
      const counts = new Float64Array(N);
      for (let i = 0; i < n; i++) counts[h.idOfBytes(0, enc(key(i)))]++;
      const e = n / N;
      let chi = 0;
      for (const c of counts) chi += ((c - e) * (c - e)) / e;
      const df = N - 1;
      assert.ok(Math.abs(chi - df) < 6 * Math.sqrt(2 * df), `${name} keys into ${N} rows: chi-square ${chi.toFixed(0)}, df ${df}`);
    }
  }
});

test('rows per field: one N, a list, a total; bad requests are refused by name', () => {
  assert.deepEqual(hashRowsPerField({ seed: 0, rows: 10 }, 3), [10, 10, 10]);
  assert.deepEqual(hashRowsPerField({ seed: 0, rows: [7] }, 2), [7, 7]);
  assert.deepEqual(hashRowsPerField({ seed: 0, rows: [1, 2, 3] }, 3), [1, 2, 3]);
  assert.deepEqual(hashRowsPerField({ seed: 0, total: 11 }, 3), [4, 4, 3]);
  assert.throws(() => hashRowsPerField({ seed: 0, rows: [1, 2] }, 3, ['a', 'b', 'c']), /--hash-rows: 2 values given, the data has 3 fields \(a, b, c\)/);
  assert.throws(() => hashRowsPerField({ seed: 0, total: 2 }, 3), /--hash-rows-total 2/);
  assert.throws(() => hashRowsPerField({ seed: 0, rows: 2 ** 30 }, 3), /int32/);
  assert.throws(() => hashRowsPerField({ seed: 0, rows: 0 }, 3), /positive integer/);
});

test('config: bad --hash-rows values, both forms at once, and --min-count with hashing are refused', () => {
  const cfg = (o: Partial<TrainConfig>) => validateConfig({ ...DEFAULTS, ...o } as TrainConfig);
  assert.throws(() => cfg({ hashRows: [0] }), /hashRows.*--hash-rows/);
  assert.throws(() => cfg({ hashRows: [1.5] }), /--hash-rows/);
  assert.throws(() => cfg({ hashRows: [10], hashRowsTotal: 100 }), /not both/);
  assert.throws(() => cfg({ hashRows: [10], minCount: 2 }), /min-count.*hash-rows/);
  assert.deepEqual(cfg({ hashRows: '1000,20' as unknown as number[] }).hashRows, [1000, 20]);
  const r = spawnSync(process.execPath, [bin, 'train', '--data', '/nonexistent', '--hash-rows', 'lots'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--hash-rows must be an integer, got "lots"/);
  const r2 = spawnSync(process.execPath, [bin, 'train', '--data', '/nonexistent', '--hash-rows', '0'], { encoding: 'utf8' });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /--hash-rows/);
});

test('resuming with other hash settings is refused by name', () => {
  const saved = { ...DEFAULTS, hashRows: [1000] };
  assert.throws(() => checkResumeConfig('ck', saved, { ...DEFAULTS, hashRows: [2000] }), /hashRows \(--hash-rows\): checkpoint \[1000\], now \[2000\]/);
  assert.throws(() => checkResumeConfig('ck', saved, { ...DEFAULTS, hashRows: [1000], hashSeed: 3 }), /hashSeed/);
  checkResumeConfig('ck', saved, { ...DEFAULTS, hashRows: [1000] });
});

test('hashed ingest: ids are the parsed keys hashed (numeric cells bucketed first), no vocabulary, cache keyed on the hash settings', async () => {
  const f = await data();
  const cacheDir = join(tmp, 'cache');
  const opts = { format: 'criteo' as const, ...f, cacheDir, hash: { seed: 9, rows: 500 } };
  const d = await loadData(opts);
  assert.equal(d.fromCache, false);
  assert.equal(d.vocabKeys, undefined);
  assert.deepEqual(d.vocab.hash, { version: HASH_VERSION, seed: 9, rows: new Array(39).fill(500) });
  assert.equal(d.vocab.totalRows, 39 * 500);
  assert.equal(d.train.n, 3000);
  assert.equal(d.valid!.n, 500);
  // Row 0 by hand: I cells go through Criteo's rule (v > 2 → floor(ln(v)²)), C cells as they are.
  const cells = lines(f.train)[0].split('\t');
  const h = new RowHasher(d.vocab.hash!);
  for (let j = 0; j < 39; j++) {
    const raw = cells[1 + j];
    let key = raw;
    if (j < 13 && raw !== '') {
      const v = Number(raw);
      key = String(v > 2 ? Math.floor(Math.log(v) ** 2) : v);
    }
    assert.equal(d.train.ids[j], h.idOfBytes(j, enc(key)), `field ${j} (${raw} → ${JSON.stringify(key)})`);
  }
  for (const split of [d.train, d.valid!, d.test!]) {
    for (let i = 0; i < split.ids.length; i++) {
      const j = i % 39;
      assert.ok(split.ids[i] >= j * 500 && split.ids[i] < (j + 1) * 500);
    }
  }
  // Same settings: from the cache, same ids and spec; other seed or rows: encoded again (another file).
  const again = await loadData(opts);
  assert.equal(again.fromCache, true);
  assert.equal(again.vocabKeys, undefined);
  assert.deepEqual(again.vocab, d.vocab);
  assert.deepEqual(again.train.ids, d.train.ids);
  const files = () => readdirSync(cacheDir).filter((n) => n.endsWith('.alptds')).length;
  const before = files();
  const seed2 = await loadData({ ...opts, hash: { seed: 10, rows: 500 } });
  assert.equal(seed2.fromCache, false);
  assert.notDeepEqual(seed2.train.ids, d.train.ids);
  const rows2 = await loadData({ ...opts, hash: { seed: 9, rows: 400 } });
  assert.equal(rows2.fromCache, false);
  const exact = await loadData({ format: 'criteo', ...f, cacheDir });
  assert.equal(exact.fromCache, false);
  assert.equal(exact.vocab.hash, undefined);
  assert.equal(files(), before + 3);
  // A per-field list of the wrong length names the field count.
  await assert.rejects(loadData({ ...opts, noCache: true, hash: { seed: 9, rows: [10, 20] } }), /2 values given, the data has 39 fields/);
  await assert.rejects(loadData({ ...opts, noCache: true, minCount: 2 }), /--min-count 2/);
});

test('hashed ingest through the parse worker gives the same ids as in this thread', async () => {
  const f = await data();
  const inThread = await loadData({ format: 'criteo', train: f.train, noCache: true, hash: { seed: 1, rows: [1000] } });
  const saved = { ...parseWorker };
  parseWorker.minBytes = 0;
  parseWorker.chunkSize = 1 << 14; // many chunks
  try {
    const worker = await loadData({ format: 'criteo', train: f.train, noCache: true, hash: { seed: 1, rows: [1000] } });
    assert.deepEqual(worker.train.ids, inThread.train.ids);
    assert.deepEqual(worker.train.labels, inThread.train.labels);
  } finally {
    Object.assign(parseWorker, saved);
  }
});

test('a hashed model file stores the hash spec (no keys) and predicts raw rows exactly as training scored them', async () => {
  const f = await data();
  const out = join(tmp, 'run');
  const s = await train({
    ...f, format: 'criteo', progress: 'none', cacheDir: join(tmp, 'cache'), hashRows: [64], hashSeed: 3,
    model: 'dcn', embedding: 'alpt', bits: 4, mlp: [32], crossLayers: 1, epochs: 1, batch: 256, out,
  });
  assert.equal(s.rows, 39 * 64);
  const path = join(out, 'model.alpt');
  const file = readModelFile(path);
  assert.deepEqual(file.meta.vocab.hash, { version: HASH_VERSION, seed: 3, rows: new Array(39).fill(64) });
  assert.equal(file.arrays['vocab.keys'], undefined);
  const m = await loadModel(path);
  try {
    const raw = lines(f.test);
    const { ids, labels } = m.encode(raw);
    assert.equal(auc(labels, m.logits(ids), labels.length), s.test_auc);
    // Records work too: a row as an object of its fields.
    const cells = raw[0].split('\t');
    const rec = Object.fromEntries(m.info.input!.line.map((name, k) => [name, cells[k]]));
    assert.deepEqual(m.predict([rec]), m.predict([raw[0]]));
    // Unseen values still get a row (no OOV id under hashing).
    const unseen = [cells[0], ...cells.slice(1, 14), ...cells.slice(14).map((_, k) => `zz${k}unseen`)].join('\t');
    assert.ok(Number.isFinite(m.predict([unseen])[0]));
  } finally {
    m.dispose();
  }
  // The CLI reads it too, with the same AUC; ONNX export carries the hash spec.
  const r = spawnSync(process.execPath, [bin, 'predict', '--model', path, '--input', f.test, '--out', join(tmp, 'scores.csv'), '--progress', 'none'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!).auc, s.test_auc);
  const onnx = Buffer.from(exportOnnx(file)).toString('latin1');
  assert.ok(onnx.includes('alpt.hash'));
});

test('the pre-flight refusal suggests --hash-rows with a table that fits', async () => {
  const f = await data();
  const r = spawnSync(process.execPath, [bin, 'train', '--train', f.train, '--format', 'criteo', '--hash-rows', '10000000', '--epochs', '1', '--progress', 'none', '--cache-dir', join(tmp, 'cache')], {
    encoding: 'utf8', env: { ...process.env, ALPT_MEMORY_AVAILABLE: String(2e9) },
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not enough memory/);
  assert.match(r.stderr, /--hash-rows 1000000 --embedding alpt --bits 4 --memory-light: 0\.5 GiB \(14\.0 bytes\/row\)\n/);
});

test('synth --large-fields: distinct names, counts as reported, other fields unchanged', async () => {
  const base = await writeSynthetic({ dir: join(tmp, 'syn0'), rows: 4000, validRows: 10, testRows: 10, seed: 8, cardinality: 300 });
  const stats: number[][] = [];
  const big = await writeSynthetic({
    dir: join(tmp, 'syn1'), rows: 4000, validRows: 10, testRows: 10, seed: 8, cardinality: 300,
    largeFields: 2, largeCardinality: 5000, largeTail: 'uniform', onSplit: (s) => stats.push(s.distinct),
  });
  const a = lines(base.train).map((l) => l.split('\t'));
  const b = lines(big.train).map((l) => l.split('\t'));
  assert.equal(b.length, 4000);
  for (const j of [14, 15]) {
    const values = new Set(b.map((c) => c[j]));
    assert.equal(values.size, stats[0][j - 14]);
    assert.ok(values.size > 2500, `C${j - 13}: ${values.size} distinct of 5000 (uniform, 4000 draws)`);
    for (const v of values) assert.match(v, /^[0-9a-f]{8}$/);
  }
  // Fields past the large ones draw the same values as without them.
  for (let r = 0; r < 50; r++) assert.deepEqual(b[r].slice(16), a[r].slice(16));
  await assert.rejects(writeSynthetic({ dir: join(tmp, 'syn2'), rows: 1, seed: 1, largeFields: 27 }), /--large-fields must be an integer in \[0, 26\]/);
});
