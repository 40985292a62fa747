// Rough edges met in use: progress in logs, quoted CSV, format guessing, --help defaults, the
// backend actually used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData, type CsvSchema } from '../src/data/index.js';
import { guessFormatWhy } from '../src/data/splits.js';
import { splitCsvHeader } from '../src/data/formats.js';
import { dataProgress } from '../src/cli/progress.js';
import { createBackend } from '../src/kernels/index.js';
import { describeBackend } from '../src/kernels/describe.js';

const bin = fileURLToPath(new URL('../../bin/alpt.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'alpt-edges-'));
const env = { ...process.env, ALPT_CACHE_DIR: join(tmp, 'cache') };
const alpt = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });

test('without a terminal, data progress is one event per line (no \\r)', () => {
  const dir = join(tmp, 'synth');
  assert.equal(alpt('synth', '--out', dir, '--rows', '2000', '--seed', '4').status, 0);
  const r = alpt('train', '--data', dir, '--format', 'criteo', '--model', 'lr', '--epochs', '1', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /\r/);
  const lines = r.stderr.split('\n');
  assert.ok(lines.some((l) => /^count:train: \d+ rows$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^data: 2000 train/.test(l)), r.stderr);
  // Throttled to one a second within a phase, with the phase's last event kept.
  const written: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  let t = 0;
  process.stderr.write = ((s: string) => { written.push(s); return true; }) as typeof process.stderr.write;
  try {
    const p = dataProgress('auto', '', false, () => t);
    p('count:train', 10); t += 10;
    p('count:train', 20); t += 10;
    p('count:train', 30); t += 10;
    p('encode:valid', 5);
  } finally {
    process.stderr.write = orig;
  }
  assert.deepEqual(written, ['count:train: 10 rows\n', 'count:train: 30 rows\n', 'encode:valid: 5 rows\n']);
});

const schema: CsvSchema = { label: 'click', categorical: ['site', 'ad text'], numeric: [{ column: 'price', buckets: [1, 10] }] };

test('quoted CSV (RFC 4180, as pandas writes it) gives the same ids as the plain file', async () => {
  const plain = join(tmp, 'plain.csv');
  const quoted = join(tmp, 'quoted.csv');
  const minimal = join(tmp, 'minimal.csv');
  const rows = [[1, 'a', 'x', 3], [0, 'b', 'y', 12], [1, 'a', 'y', ''], [0, 'c', 'x', 0.5]];
  writeFileSync(plain, ['click,site,ad text,price', ...rows.map((r) => r.join(','))].join('\n') + '\n');
  // QUOTE_ALL: every cell quoted, header too.
  writeFileSync(quoted, ['"click","site","ad text","price"', ...rows.map((r) => r.map((v) => `"${v}"`).join(','))].join('\r\n') + '\r\n');
  const a = await loadData({ format: 'csv', train: plain, schema, noCache: true });
  const b = await loadData({ format: 'csv', train: quoted, schema, noCache: true });
  assert.deepEqual(b.train.ids, a.train.ids);
  assert.deepEqual(b.train.labels, a.train.labels);
  assert.deepEqual(b.vocab, a.vocab);
  // QUOTE_MINIMAL: quotes only around cells with the delimiter or a quote; "" is one quote.
  writeFileSync(minimal, 'click,site,ad text,price\n1,"a,b","say ""hi""",3\n0,b,plain,2\n1,"a,b",plain,\n');
  const c = await loadData({ format: 'csv', train: minimal, schema, noCache: true });
  assert.deepEqual(c.vocab.fieldSizes, [3, 3, 3]);
  assert.match(Buffer.from(c.vocabKeys!.bytes).toString(), /a,b.*say "hi"/s);
  assert.deepEqual(splitCsvHeader('"a,b",c,"d""e"', ','), ['a,b', 'c', 'd"e']);
  // An unterminated quote names file, line and column.
  const bad = join(tmp, 'bad.csv');
  writeFileSync(bad, 'click,site,ad text,price\n1,"a,x,3\n');
  await assert.rejects(loadData({ format: 'csv', train: bad, schema, noCache: true }), /bad\.csv:2: column 2: unterminated quoted field/);
});

test('a missing CSV column names the file and lists the header found', async () => {
  const f = join(tmp, 'other.csv');
  writeFileSync(f, '"clicked","site","ad text","price"\n1,a,x,3\n');
  await assert.rejects(
    loadData({ format: 'csv', train: f, schema, noCache: true }),
    /other\.csv:1: csv schema: no column "click" in header \(found: "clicked", "site", "ad text", "price"\)/,
  );
});

test('formats are guessed from content, and the guess is said', () => {
  const d = join(tmp, 'guess');
  mkdirSync(d);
  const fm = join(d, 'train.fm.txt');
  writeFileSync(fm, '1 3:1 7:1 9:1\n-1 2:1 7:1 8:1\n');
  assert.deepEqual(guessFormatWhy(fm), { format: 'libfm', why: 'line 1 is `label id:value …`' });
  const cr = join(d, 'crit.dat');
  writeFileSync(cr, ['0', ...Array(13).fill('1'), ...Array(26).fill('ab')].join('\t') + '\n');
  assert.equal(guessFormatWhy(cr)?.format, 'criteo');
  const av = join(d, 'av.txt');
  writeFileSync(av, 'id,click,hour,C1\n1,0,14102100,a\n');
  assert.equal(guessFormatWhy(av)?.format, 'avazu');
  const r = alpt('train', '--data', d, '--model', 'lr', '--epochs', '1', '--threads', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /guessed --format libfm for .*train\.fm\.txt \(line 1 is `label id:value …`\)/);
});

test('--help of train and compare shows the defaults', () => {
  const r = alpt('train', '--help');
  assert.equal(r.status, 0);
  const oneLine = r.stdout.replace(/\s+/g, ' ');
  for (const re of [/--epochs <n>\s+maximum epochs \(default:? 15\)/, /--batch <n>\s+batch size \(default:? 1024\)/, /--threads <n>.*\(default:? 0\)/, /--seed <n>\s+run seed.*\(default:? 2024\)/, /--mlp <sizes>.*\(default:? 400,400,400\)/]) {
    assert.match(oneLine, re);
  }
  assert.match(alpt('compare', '--help').stdout.replace(/\s+/g, ' '), /--bits <list>.*\(default:? 8,4,2\)/);
});

test('the summary reports the backend and kernels actually used', async () => {
  const be = await createBackend({ kind: 'auto', threads: 1 });
  try {
    const d = describeBackend(be);
    assert.ok(['blas', 'wasm', 'js'].includes(d.name), d.name);
    if (d.name === 'blas') assert.match(d.kernels, /^OpenBLAS \S+ sgemm \+ /);
    if (d.name === 'wasm') assert.equal(typeof d.wasm_relaxed_simd, 'boolean');
  } finally {
    be.dispose();
  }
  const js = await createBackend({ kind: 'js' });
  assert.deepEqual(describeBackend(js), { name: 'js', threads: js.threads, kernels: 'plain TypeScript' });
  js.dispose();
});

test('the demo uses the lightest memory settings, compares with fp32 + Adam and writes its report', () => {
  const out = join(tmp, 'demo');
  const r = alpt('demo', '--rows', '2000', '--epochs', '1', '--threads', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /demo: alpt 8-bit table 22\.0 bytes\/row vs 192 for fp32 \+ Adam \(8\.7× smaller/);
  assert.match(r.stderr, new RegExp(`demo: report written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/report\\.html`));
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.memory.steps / s.memory.rows, 2, 'f16 steps');
  assert.ok(s.step_size_histogram && s.code_histogram && s.backend);
});
