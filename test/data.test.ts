// Data layer: formats (vs torch_ref semantics), vocabulary/OOV, errors, cache, batcher, synthetic data.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, existsSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData, findSplits, writeSynthetic, teacherLogits, Batcher, benchIngest, type EncodedSplit } from '../src/data/index.js';
import { parseWorker } from '../src/data/encode.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'alpt-data-test-'));
  made.push(d);
  return d;
};
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
function put(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const row = (s: EncodedSplit, i: number): number[] => Array.from(s.ids.subarray(i * s.numFields, (i + 1) * s.numFields));

function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0, neg = 0, rankSum = 0;
  idx.forEach((i, r) => {
    if (labels[i] > 0.5) {
      pos++;
      rankSum += r + 1;
    } else neg++;
  });
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Captures stderr writes during fn. */
async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; err: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), err };
  } finally {
    process.stderr.write = orig;
  }
}

// ------------------------------------------------------------------ criteo
const I = (vals: string[]): string => vals.concat(Array(13 - vals.length).fill('1')).join('\t');
const C = (vals: string[]): string => vals.concat(Array(26 - vals.length).fill('c')).join('\t');

test('criteo: numeric transform, empty cells, sorted vocabulary, OOV', async () => {
  const dir = tmp();
  const train = put(dir, 'train.txt', [
    `1\t${I(['', '5'])}\t${C(['b', ''])}`,
    `0\t${I(['3', '-1'])}\t${C(['a', 'x'])}`,
    `0\t${I(['100', '007'])}\t${C(['b', 'x'])}`,
    `1\t${I(['2', '-0'])}\t${C(['b', 'x'])}`,
    '',
  ].join('\n'));
  const valid = put(dir, 'valid.txt', `0\t${I(['1', '99999'])}\t${C(['zzz', ''])}\n`);
  const d = await loadData({ format: 'criteo', train, valid, noCache: true });
  const v = d.vocab;
  assert.equal(v.fieldNames.length, 39);
  assert.deepEqual(v.fieldNames.slice(0, 2), ['I1', 'I2']);
  assert.deepEqual(v.fieldNames.slice(13, 15), ['C1', 'C2']);
  // I1 values: '' | floor(ln(3)^2)=1 | floor(ln(100)^2)=21 | 2 → sorted ['', '1', '2', '21'] + OOV
  assert.equal(v.fieldSizes[0], 5);
  assert.deepEqual([0, 1, 2, 3].map((i) => row(d.train, i)[0]), [0, 1, 3, 2]);
  // I2: 5 → floor(ln(5)^2)=2, '-1', '007' = 7 → 3, '-0' → '0'; sorted ['-1', '0', '2', '3']
  const o2 = v.fieldOffsets[1];
  assert.equal(v.fieldSizes[1], 5);
  assert.deepEqual([0, 1, 2, 3].map((i) => row(d.train, i)[1] - o2), [2, 0, 3, 1]);
  // C1: ['a', 'b']; C2: ['', 'x']
  const c1 = v.fieldOffsets[13], c2 = v.fieldOffsets[14];
  assert.deepEqual([0, 1, 2, 3].map((i) => row(d.train, i)[13] - c1), [1, 0, 1, 1]);
  assert.deepEqual([0, 1, 2, 3].map((i) => row(d.train, i)[14] - c2), [0, 1, 1, 1]);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 0, 1]);
  // valid: I1 '1' known; I2 99999 → floor(ln^2)=132 unseen → OOV; C1 'zzz' → OOV; C2 '' known
  const r = row(d.valid!, 0);
  assert.equal(r[0], v.fieldOffsets[0] + 1);
  assert.equal(r[1], o2 + v.fieldSizes[1] - 1);
  assert.equal(r[13], c1 + v.fieldSizes[13] - 1);
  assert.equal(r[14], c2 + 0);
  assert.equal(v.totalRows, v.fieldSizes.reduce((a, b) => a + b, 0));
  assert.deepEqual(v.fieldOffsets.slice(0, 3), [0, v.fieldSizes[0], v.fieldSizes[0] + v.fieldSizes[1]]);
});

test('minCount: rare values share the OOV id; kept ids stay sorted', async () => {
  const dir = tmp();
  const lines = ['b', 'a', 'b', 'c', 'b', 'a', 'd'].map((c, i) => `${i % 2}\t${I([])}\t${C([c])}`);
  const train = put(dir, 'train.txt', lines.join('\n') + '\n');
  const d = await loadData({ format: 'criteo', train, valid: train, minCount: 2, noCache: true });
  const off = d.vocab.fieldOffsets[13];
  assert.equal(d.vocab.fieldSizes[13], 3); // a, b + OOV
  const got = Array.from({ length: 7 }, (_, i) => row(d.train, i)[13] - off);
  assert.deepEqual(got, [1, 0, 1, 2, 1, 0, 2]);
  assert.deepEqual(Array.from({ length: 7 }, (_, i) => row(d.valid!, i)[13] - off), got);
});

// ------------------------------------------------------------------ avazu
test('avazu: id dropped, click label, hour of day + weekday + is_weekend', async () => {
  const dir = tmp();
  const header = 'id,click,hour,C1,site_id';
  const train = put(dir, 'train.csv', [header, '11,0,14102100,1005,s1', '12,1,14102513,1005,s2', '13,0,14102623,1002,s1'].join('\n') + '\n');
  const test_ = put(dir, 'test.csv', [header, '14,1,14102209,9999,s2'].join('\n'));
  assert.equal(findSplits(dir).format, 'avazu');
  const d = await loadData({ format: 'avazu', train, test: test_, noCache: true });
  assert.deepEqual(d.vocab.fieldNames, ['hour', 'C1', 'site_id', 'weekday', 'is_weekend']);
  // hour: ['00','13','23']; 2014-10-21 Tue=2, 10-25 Sat=6, 10-26 Sun=0 → weekday ['0','2','6']
  const v = d.vocab;
  const local = (s: EncodedSplit, i: number): number[] => row(s, i).map((x, j) => x - v.fieldOffsets[j]);
  assert.deepEqual(local(d.train, 0), [0, 1, 0, 1, 0]);
  assert.deepEqual(local(d.train, 1), [1, 1, 1, 2, 1]);
  assert.deepEqual(local(d.train, 2), [2, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(d.train.labels), [0, 1, 0]);
  // test: hour '09' unseen → OOV; 1005? no, 9999 → OOV; 2014-10-22 Wed=3 → OOV; weekend 0
  assert.deepEqual(local(d.test!, 0), [3, 2, 1, 3, 0]);
});

// ------------------------------------------------------------------ libfm
test('libfm: ±1 and 0/1 labels, fields are positions', async () => {
  const dir = tmp();
  const train = put(dir, 'train.libfm', '1 5:1 10:1 20:1\n-1 6:1 10:1 21:1\r\n0 5:1 11:1 20:1\n1 7:0.5 10:1 20:1\n');
  const valid = put(dir, 'valid.libfm', '-1 8:1 10:1 20:1\n');
  const d = await loadData({ format: 'libfm', train, valid, noCache: true });
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 0, 1]);
  assert.deepEqual(d.vocab.fieldSizes, [4, 3, 3]);
  assert.deepEqual(row(d.train, 3), [2, 4 + 0, 7 + 0]);
  assert.deepEqual(row(d.valid!, 0), [3, 4, 7]);
});

// ------------------------------------------------------------------ generic csv
test('csv: schema with threshold label, categorical and bucketed numeric columns', async () => {
  const dir = tmp();
  const train = put(dir, 'train.tsv', ['1\t10\t5\t3.5', '2\t10\t3\t120', '1\t11\t4\t', '3\t12\t1\t7'].join('\n') + '\n');
  const d = await loadData({
    format: 'csv', train, noCache: true,
    schema: { delimiter: '\t', header: false, label: 2, labelThreshold: 4, categorical: [0, 1], numeric: [{ column: 3, buckets: [1, 10, 100] }] },
  });
  assert.deepEqual(d.vocab.fieldNames, ['c0', 'c1', 'c3']);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 1, 0]);
  // numeric keys: 3.5→'b1', 120→'b3', ''→'', 7→'b1' → sorted ['', 'b1', 'b3']
  const off = d.vocab.fieldOffsets[2];
  assert.deepEqual([0, 1, 2, 3].map((i) => row(d.train, i)[2] - off), [1, 2, 0, 1]);
  const named = put(dir, 'named.csv', 'user,item,rating,ts\nu1,i1,5,100\nu2,i1,2,200\n');
  const e = await loadData({ format: 'csv', train: named, noCache: true, schema: { label: 'rating', labelThreshold: 4, categorical: ['item', 'user'], numeric: [{ column: 'ts', rule: 'log2' }] } });
  assert.deepEqual(e.vocab.fieldNames, ['item', 'user', 'ts']);
  assert.deepEqual(e.vocab.fieldSizes, [2, 3, 3]);
});

// ------------------------------------------------------------------ errors
test('malformed lines name file, line and field; skipBad counts them', async () => {
  const dir = tmp();
  const good = `1\t${I([])}\t${C([])}`;
  const cases: [string, string, RegExp][] = [
    ['criteo', `${good}\n\n0\t${I(['1', '2', '3', '4', 'abc'])}\t${C([])}\n`, /train\.txt:3: field I5: "abc" is not a number/],
    ['criteo', `${good}\nyes\t${I([])}\t${C([])}\n`, /train\.txt:2: field label: "yes" is not a number/],
    ['criteo', `${good}\n0\t${I(['1.5'])}\t${C([])}\n`, /train\.txt:2: field I1: "1\.5" is not an integer/],
    ['criteo', `${good}\n0\t1\t2\n`, /train\.txt:2: expected 40 tab-separated columns, found 3/],
    ['libfm', '1 1:1 2:1\n1 1:1 x\n', /train\.libfm:2: field f2: bad token "x"/],
    ['libfm', '1 1:1 2:1\n1 1:1\n', /train\.libfm:2: field f2: expected 2 features, found 1/],
    ['avazu', 'id,click,hour,C1\n1,0,14102100,a\n2,0,1410,a\n', /train\.csv:3: field hour: "1410" is not YYMMDDHH/],
    ['avazu', 'id,click,hour,C1\n1,0,14102100,a\n2,0,14102100\n', /train\.csv:3: expected 4 comma-separated columns, found 3/],
  ];
  for (const [format, text, re] of cases) {
    const sub = mkdtempSync(join(dir, 'c'));
    const ext = { criteo: 'txt', libfm: 'libfm', avazu: 'csv' }[format];
    const train = put(sub, `train.${ext}`, text);
    await assert.rejects(loadData({ format: format as 'criteo', train, noCache: true }), re);
    const d = await loadData({ format: format as 'criteo', train, noCache: true, skipBad: true });
    assert.equal(d.train.skipped, 1, String(re));
    assert.equal(d.skippedRows, 1);
    assert.equal(d.train.n, 1);
  }
  const v = put(dir, 'valid.txt', `${good}\nbad\n${good}\n`);
  const t = put(dir, 'train.txt', `${good}\n`);
  const d = await loadData({ format: 'criteo', train: t, valid: v, noCache: true, skipBad: true });
  assert.equal(d.valid!.n, 2);
  assert.equal(d.skippedRows, 1);
});

test('keys that share words: trailing NULs, long keys with equal first 8 or 16 bytes', async () => {
  const dir = tmp();
  const keys = ['x', 'x\0', 'x\0\0\0\0', 'abcdefghij', 'abcdefghik', 'abcdefghijklmnopq', 'abcdefghijklmnopr', ''];
  const lines = keys.map((k, i) => `${i % 2}\t${I([])}\t${C([k])}`);
  const train = put(dir, 'train.txt', lines.join('\n') + '\n');
  const valid = put(dir, 'valid.txt', lines.slice().reverse().join('\r\n') + `\r\n0\t${I([])}\t${C(['abcdefghijklmnops'])}`);
  const d = await loadData({ format: 'criteo', train, valid, noCache: true });
  const c1 = 13;
  assert.equal(d.vocab.fieldSizes[c1], keys.length + 1);
  const sorted = keys.slice().sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const off = d.vocab.fieldOffsets[c1];
  keys.forEach((k, i) => assert.equal(d.train.ids[i * 39 + c1], off + sorted.indexOf(k), JSON.stringify(k)));
  keys.forEach((k, i) => assert.equal(d.valid!.ids[(keys.length - 1 - i) * 39 + c1], off + sorted.indexOf(k)));
  assert.equal(d.valid!.ids[keys.length * 39 + c1], off + keys.length); // unseen → OOV
});

test('parse worker and tiny read chunks: same encoding, errors and skipped rows as in-thread', async () => {
  const dir = tmp();
  const files = await writeSynthetic({ dir, rows: 2000, validRows: 300, testRows: 300, seed: 5, cardinality: 300 });
  const crlf = put(dir, 'crlf.txt', readFileSync(files.train, 'utf8').split('\n').slice(0, 500).join('\r\n')); // no final newline
  const libfm = put(dir, 'train.libfm', '1 1:1 2:1\n-1 3:1 2:1\n\n1 1:1 4:1');
  const avazu = put(dir, 'train.csv', 'id,click,hour,C1\n1,0,14102100,a\n2,1,14102201,b\n3,0,14102100,a\n');
  const runs = [
    { format: 'criteo' as const, ...files, minCount: 2 },
    { format: 'criteo' as const, train: crlf },
    { format: 'libfm' as const, train: libfm },
    { format: 'avazu' as const, train: avazu },
  ];
  const good = `1\t${I([])}\t${C([])}`;
  const bad = put(dir, 'bad.txt', [good, good, `0\t${I(['x'])}\t${C([])}`, good, '0\t1'].join('\n'));
  const inThread = await Promise.all(runs.map((r) => loadData({ ...r, noCache: true })));
  const inThreadErr = await loadData({ format: 'criteo', train: bad, noCache: true }).catch((e: Error) => e.message);
  const inThreadSkip = await loadData({ format: 'criteo', train: bad, noCache: true, skipBad: true });
  const saved = { ...parseWorker };
  try {
    for (const chunkSize of [64, 1 << 12]) {
      Object.assign(parseWorker, { minBytes: 0, chunkSize });
      for (const [i, r] of runs.entries()) {
        const w = await loadData({ ...r, noCache: true });
        assert.deepEqual(w.vocab, inThread[i].vocab);
        for (const k of ['train', 'valid', 'test'] as const) {
          assert.deepEqual(w[k]?.ids, inThread[i][k]?.ids, `${r.format} ${k} chunk ${chunkSize}`);
          assert.deepEqual(w[k]?.labels, inThread[i][k]?.labels);
        }
      }
      await assert.rejects(loadData({ format: 'criteo', train: bad, noCache: true }), (e: Error) => e.message === inThreadErr);
      const s = await loadData({ format: 'criteo', train: bad, noCache: true, skipBad: true });
      assert.equal(s.skippedRows, 2);
      assert.deepEqual(s.train.ids, inThreadSkip.train.ids);
    }
  } finally {
    Object.assign(parseWorker, saved);
  }
  assert.match(String(inThreadErr), /bad\.txt:3: field I1: "x" is not a number/);
});

// ------------------------------------------------------------------ cache
test('cache: round trip is exact; corrupt or truncated caches are detected and rebuilt', async () => {
  const dir = tmp();
  const files = await writeSynthetic({ dir, rows: 3000, seed: 3, cardinality: 200 });
  const cacheDir = join(dir, 'cache');
  const opts = { format: 'criteo' as const, ...files, cacheDir, minCount: 2 };
  const a = await loadData(opts);
  assert.equal(a.fromCache, false);
  const b = await loadData(opts);
  assert.equal(b.fromCache, true);
  assert.deepEqual(b.vocab, a.vocab);
  for (const k of ['train', 'valid', 'test'] as const) {
    assert.deepEqual(b[k]!.ids, a[k]!.ids);
    assert.deepEqual(b[k]!.labels, a[k]!.labels);
    assert.equal(b[k]!.n, a[k]!.n);
  }
  const [name] = readdirSync(cacheDir).filter((f) => f.endsWith('.alptds'));
  const path = join(cacheDir, name);
  assert.equal(readFileSync(path).toString('latin1', 0, 6), 'ALPTDS');

  // Flip one payload byte: checksum catches it.
  const bytes = readFileSync(path);
  bytes[bytes.length - 100] ^= 0x40;
  writeFileSync(path, bytes);
  const c = await captureStderr(() => loadData(opts));
  assert.equal(c.value.fromCache, false);
  assert.match(c.err, /checksum mismatch/);
  assert.deepEqual(c.value.train.ids, a.train.ids);
  assert.equal((await loadData(opts)).fromCache, true); // rewritten

  truncateSync(path, statSync(path).size - 8);
  const t = await captureStderr(() => loadData(opts));
  assert.equal(t.value.fromCache, false);
  assert.match(t.err, /unusable \(size/);
  assert.deepEqual(t.value.valid!.ids, a.valid!.ids);

  // Other options or an edited input → another key, not a stale hit; a mere touch keeps the key.
  assert.equal((await loadData({ ...opts, minCount: 1 })).fromCache, false);
  utimesSync(files.test, new Date(), new Date(Date.now() + 5000));
  assert.equal((await loadData(opts)).fromCache, true);
  writeFileSync(files.test, readFileSync(files.test, 'utf8').split('\n').slice(1).join('\n'));
  assert.equal((await loadData(opts)).fromCache, false);
  assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')).length, 0);
});

// ------------------------------------------------------------------ batcher
test('Batcher: each row once per epoch, seeded and reproducible, buffers reused', () => {
  const n = 1003, F = 3;
  const ids = new Int32Array(n * F).map((_, k) => Math.floor(k / F) * 10 + (k % F));
  const labels = new Float32Array(n).map((_, i) => i % 2);
  const split: EncodedSplit = { n, numFields: F, ids, labels, skipped: 0 };
  const order = (b: Batcher, epoch: number): number[] => {
    const seen: number[] = [];
    let first: Int32Array | null = null;
    for (const batch of b.epoch(epoch)) {
      if (batch.size === 100) {
        first ??= batch.ids;
        assert.equal(batch.ids, first); // same buffer every full batch
      }
      assert.equal(batch.ids.length, batch.size * F);
      for (let r = 0; r < batch.size; r++) {
        const i = batch.ids[r * F] / 10;
        assert.deepEqual(Array.from(batch.ids.subarray(r * F, r * F + F)), [i * 10, i * 10 + 1, i * 10 + 2]);
        assert.equal(batch.labels[r], i % 2);
        seen.push(i);
      }
    }
    return seen;
  };
  const b = new Batcher(split, { batchSize: 100, shuffle: true, seed: 42 });
  assert.equal(b.numBatches, 11);
  const e0 = order(b, 0), e1 = order(b, 1);
  assert.deepEqual([...e0].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  assert.deepEqual([...e1].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
  assert.notDeepEqual(e0, e1);
  assert.deepEqual(order(new Batcher(split, { batchSize: 100, shuffle: true, seed: 42 }), 1), e1); // epoch 1 alone
  assert.notDeepEqual(order(new Batcher(split, { batchSize: 100, shuffle: true, seed: 43 }), 0), e0);
  assert.deepEqual(order(new Batcher(split, { batchSize: 100 }), 0), Array.from({ length: n }, (_, i) => i));
  const dl = new Batcher(split, { batchSize: 100, dropLast: true });
  assert.equal(order(dl, 0).length, 1000);
});

// ------------------------------------------------------------------ synthetic + findSplits
test('writeSynthetic: deterministic, Criteo-shaped, learnable labels', async () => {
  const a = tmp(), b = tmp();
  const opts = { rows: 4000, validRows: 500, testRows: 500, seed: 11, cardinality: 1000 };
  const fa = await writeSynthetic({ dir: a, ...opts });
  await writeSynthetic({ dir: b, ...opts });
  assert.equal(readFileSync(fa.train, 'utf8'), readFileSync(join(b, 'train.txt'), 'utf8'));
  const sp = findSplits(a);
  assert.equal(sp.format, 'criteo');
  assert.deepEqual([sp.train, sp.valid, sp.test], [fa.train, fa.valid, fa.test]);
  const d = await loadData({ format: 'criteo', ...sp, noCache: true });
  assert.equal(d.train.n, 4000);
  assert.equal(d.valid!.n, 500);
  assert.equal(d.vocab.fieldNames.length, 39);
  assert.ok(readFileSync(fa.train, 'utf8').includes('\t\t'), 'some empty cells');
  const rate = d.train.labels.reduce((s, y) => s + y, 0) / d.train.n;
  assert.ok(rate > 0.18 && rate < 0.32, `positive rate ${rate}`);
  const t = teacherLogits(opts, 0);
  assert.deepEqual(Array.from(t.labels), Array.from(d.train.labels));
  const bayes = auc(t.logits, t.labels);
  assert.ok(bayes > 0.78, `teacher AUC ${bayes}`);
});

// ------------------------------------------------------------------ real data
const bench = fileURLToPath(new URL('../../../shared/data/bench', import.meta.url));

test('real data: frappe and criteo10k row counts; frappe vocabulary as torch_ref encode', async () => {
  assert.ok(existsSync(bench), `bench data expected at ${bench}`);
  const cacheDir = tmp();
  const fr = findSplits(join(bench, 'frappe'));
  assert.equal(fr.format, 'libfm');
  const f = await loadData({ ...fr, format: 'libfm', cacheDir });
  assert.deepEqual([f.train.n, f.valid!.n, f.test!.n], [69266, 8658, 8658]);
  assert.equal(f.vocab.fieldNames.length, 10);
  // Independently: distinct tokens per position in train, + 1 OOV per field.
  const distinct: Set<string>[] = Array.from({ length: 10 }, () => new Set());
  for (const line of readFileSync(fr.train, 'utf8').split('\n')) {
    if (!line) continue;
    line.split(/\s+/).slice(1).forEach((t, j) => distinct[j].add(t.split(':')[0]));
  }
  assert.equal(f.vocab.totalRows, distinct.reduce((s, d) => s + d.size + 1, 0));
  const pos = f.train.labels.reduce((s, y) => s + y, 0) / f.train.n;
  assert.ok(Math.abs(pos - 0.33) < 0.01, `frappe positive rate ${pos}`);

  const cr = findSplits(join(bench, 'criteo10k'));
  assert.equal(cr.format, 'criteo');
  const c = await loadData({ ...cr, format: 'criteo', cacheDir });
  assert.deepEqual([c.train.n, c.valid!.n, c.test!.n], [8000, 1000, 1000]);
  assert.equal(c.vocab.fieldNames.length, 39);
  assert.equal((await loadData({ ...cr, format: 'criteo', cacheDir })).fromCache, true);

  const r = await benchIngest(cr.train);
  assert.equal(r.rows, 8000);
  assert.ok(r.rowsPerSecond > 0);
});
