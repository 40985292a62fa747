// Refused and tolerated input: labels outside the format's set, byte-order marks, giant malformed
// lines, and a cache that must follow the files' content rather than their size and mtime.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadData, findSplits, type DataOptions } from '../src/data/index.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'alpt-input-test-'));
  made.push(d);
  return d;
};
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
function put(dir: string, name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const criteoLine = (label: string, c1 = 'c'): string =>
  [label, ...Array(13).fill('1'), c1, ...Array(25).fill('c')].join('\t');

/** The message loadData rejects with. */
async function failure(o: DataOptions): Promise<string> {
  try {
    await loadData(o);
  } catch (e) {
    assert.ok(!(e instanceof TypeError) && !(e instanceof RangeError), String((e as Error).stack));
    return (e as Error).message;
  }
  return assert.fail('expected a rejection');
}

// ------------------------------------------------------------------ labels
test('labels: criteo and avazu 0/1 only; bad ones name file:line and count as skipped', async () => {
  const dir = tmp();
  const labels = ['1', '5', '0', '2', '-1', '0.5', '1.0', 'nan', '1e400', '0'];
  const bad = new Set(['5', '2', '-1', '0.5', 'nan', '1e400']);
  const train = put(dir, 'train.txt', labels.map((y) => criteoLine(y)).join('\n') + '\n');
  assert.match(await failure({ format: 'criteo', train, noCache: true }), /train\.txt:2: field label: "5" is not 0 or 1/);
  const d = await loadData({ format: 'criteo', train, noCache: true, skipBad: true });
  assert.equal(d.train.skipped, bad.size);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 1, 0]);

  const avazu = put(dir, 'train.csv', 'id,click,hour,C1\n1,1,14102100,a\n2,2,14102100,a\n3,0,14102100,b\n');
  assert.match(await failure({ format: 'avazu', train: avazu, noCache: true }), /train\.csv:3: field click: "2" is not 0 or 1/);
  const a = await loadData({ format: 'avazu', train: avazu, noCache: true, skipBad: true });
  assert.deepEqual([a.train.n, a.train.skipped], [2, 1]);
});

test('labels: libfm -1/0/1 (+1 → 1, -1 → 0); anything else is malformed', async () => {
  const dir = tmp();
  const train = put(dir, 'train.libfm', ['+1 1:1', '-1 2:1', '2 1:1', '0 2:1', '0.5 1:1', '1.0 1:1', '-2 1:1', '1 2:1'].join('\n'));
  assert.match(await failure({ format: 'libfm', train, noCache: true }), /train\.libfm:3: field label: "2" is not -1, 0 or 1/);
  const d = await loadData({ format: 'libfm', train, noCache: true, skipBad: true });
  assert.equal(d.train.skipped, 3);
  assert.deepEqual(Array.from(d.train.labels), [1, 0, 0, 1, 1]);
});

test('labels: csv 0/1 without labelThreshold; any finite number with it', async () => {
  const dir = tmp();
  const train = put(dir, 'train.csv', 'y,a\n1,x\n3,y\n0,x\n-inf,x\n1e400,y\n0x1,y\n2.5,x\n');
  const schema = { label: 'y', categorical: ['a'] };
  assert.match(await failure({ format: 'csv', train, schema, noCache: true }), /train\.csv:3: field y: "3" is not 0 or 1/);
  const plain = await loadData({ format: 'csv', train, schema, noCache: true, skipBad: true });
  assert.deepEqual(Array.from(plain.train.labels), [1, 0]);
  assert.equal(plain.train.skipped, 5);
  const th = await loadData({ format: 'csv', train, schema: { ...schema, labelThreshold: 2 }, noCache: true, skipBad: true });
  assert.deepEqual(Array.from(th.train.labels), [0, 1, 0, 1]);
  assert.equal(th.train.skipped, 3, 'infinite and hexadecimal labels are not numbers');
  assert.match(await failure({ format: 'csv', train, schema: { ...schema, labelThreshold: 2 }, noCache: true }), /train\.csv:5: field y: "-inf" is not a number/);
});

// ------------------------------------------------------------------ byte-order mark
test('a leading UTF-8 BOM is ignored in every format', async () => {
  const dir = tmp();
  const bom = '\uFEFF';
  const cases: { name: string; format: DataOptions['format']; text: string; schema?: DataOptions['schema'] }[] = [
    { name: 'train.txt', format: 'criteo', text: `${criteoLine('1', 'p')}\n${criteoLine('0', 'q')}\n` },
    { name: 'train.libfm', format: 'libfm', text: '1 3:1 4:1\n-1 5:1 4:1\n' },
    { name: 'train.csv', format: 'avazu', text: 'id,click,hour,C1\n1,1,14102100,a\n2,0,14102101,b\n' },
    { name: 'data.csv', format: 'csv', text: 'label,item\n1,a\n0,b\n', schema: { label: 'label', categorical: ['item'] } },
  ];
  for (const c of cases) {
    const plain = put(mkdtempSync(join(dir, 'p')), c.name, c.text);
    const marked = put(mkdtempSync(join(dir, 'b')), c.name, bom + c.text);
    const a = await loadData({ format: c.format, train: plain, schema: c.schema, noCache: true });
    const b = await loadData({ format: c.format, train: marked, schema: c.schema, noCache: true });
    assert.deepEqual(b.vocab, a.vocab, c.format);
    assert.deepEqual(b.train.ids, a.train.ids, c.format);
    assert.deepEqual(Array.from(b.train.labels), [1, 0], c.format);
  }
  const avazuDir = mkdtempSync(join(dir, 'g'));
  put(avazuDir, 'train.csv', bom + cases[2].text);
  assert.equal(findSplits(avazuDir).format, 'avazu');
});

test('split errors name the split that is wrong', async () => {
  const dir = tmp();
  const train = put(dir, 'train.csv', 'id,click,hour,C1\n1,1,14102100,a\n');
  const valid = put(dir, 'valid.csv', 'id,click,hour,C2\n1,1,14102100,a\n');
  assert.match(await failure({ format: 'avazu', train, valid, noCache: true }), /valid\.csv.*fields \[hour,C2,weekday,is_weekend\] differ from train's \[hour,C1,/);
  const schema = { label: 'y', categorical: ['a'] };
  const csvTrain = put(dir, 'train.tsv', 'y,a\n1,x\n');
  const csvTest = put(dir, 'test.tsv', 'y,b\n1,x\n');
  assert.match(await failure({ format: 'csv', train: csvTrain, test: csvTest, schema, noCache: true }), /test\.tsv:1: csv schema: no column "a" in header/);
  const noRows = put(dir, 'empty.txt', '\n\n');
  assert.match(await failure({ format: 'criteo', train: noRows, noCache: true }), /empty\.txt: no data rows/);
});

// ------------------------------------------------------------------ giant lines
test('a 10 MB malformed line gives a short message that still names file:line', async () => {
  const dir = tmp();
  const huge = 'x'.repeat(10 << 20);
  const cases: { name: string; format: DataOptions['format']; text: string; schema?: DataOptions['schema']; field: RegExp }[] = [
    { name: 'train.txt', format: 'criteo', text: `${criteoLine('1')}\n${huge}\n`, field: /field label: "x{20,80}…" \(10485760 bytes\) is not a number/ },
    { name: 'train.txt', format: 'criteo', text: `${criteoLine('1')}\n${criteoLine('0')}\t${huge}\n`, field: /expected 40 tab-separated columns, found 41/ },
    { name: 'train.txt', format: 'criteo', text: `${criteoLine('1')}\n${criteoLine('1').replace('\t1\t', `\t${huge}\t`)}\n`, field: /field I1: "x+…" \(10485760 bytes\) is not a number/ },
    { name: 'train.libfm', format: 'libfm', text: `1 1:1\n1 ${huge}\n`, field: /field f1: bad token "x+…" \(10485760 bytes\)/ },
    { name: 'train.csv', format: 'avazu', text: `id,click,hour\n1,0,${huge}\n`, field: /field hour: "x+…" \(10485760 bytes\) is not YYMMDDHH/ },
    { name: 'd.csv', format: 'csv', text: `y,a\n1,a\n${huge},b\n`, schema: { label: 'y', categorical: ['a'] }, field: /field y: "x+…" \(10485760 bytes\) is not a number/ },
    { name: 'd.csv', format: 'csv', text: `y,a\n1,a\n1,b\n`.replace('y,a', `y,${huge}`), schema: { label: 'y', categorical: ['a'] }, field: /csv schema: no column "a" in header/ },
  ];
  for (const c of cases) {
    const train = put(mkdtempSync(join(dir, 'c')), c.name, c.text);
    const msg = await failure({ format: c.format, train, schema: c.schema, noCache: true });
    assert.ok(msg.length < 1024, `${c.format}: ${msg.length} chars: ${msg.slice(0, 200)}`);
    assert.match(msg, new RegExp(`${c.name.replace('.', '\\.')}:[1-3]: `));
    assert.match(msg, c.field);
  }
  // A header-mismatch message quotes field names as excerpts too.
  const t = put(dir, 'train.csv', `id,click,hour,${huge}\n1,1,14102100,a\n`);
  const v = put(dir, 'valid.csv', `id,click,hour,C1\n1,1,14102100,a\n`);
  const msg = await failure({ format: 'avazu', train: t, valid: v, noCache: true });
  assert.ok(msg.length < 1024 && /valid\.csv/.test(msg), msg.slice(0, 300));
});

// ------------------------------------------------------------------ cache
test('cache: keyed on content; an edit keeping size and mtime re-encodes', async () => {
  const dir = tmp();
  const lines = Array.from({ length: 50 }, (_, i) => criteoLine(String(i % 3 === 0 ? 1 : 0), `k${i % 7}`));
  const train = put(dir, 'train.txt', lines.join('\n') + '\n');
  const when = new Date('2024-01-02T03:04:05Z'); // whole seconds, so utimes can restore it exactly
  utimesSync(train, when, when);
  const cacheDir = join(dir, 'cache');
  const a = await loadData({ format: 'criteo', train, cacheDir });
  assert.equal(a.fromCache, false);
  assert.equal((await loadData({ format: 'criteo', train, cacheDir })).fromCache, true);
  const { mtimeMs, size } = statSync(train);
  const flipped = readFileSync(train, 'utf8').split('\n').map((l) => (l ? (l[0] === '1' ? '0' : '1') + l.slice(1) : l)).join('\n');
  writeFileSync(train, flipped);
  utimesSync(train, when, when);
  assert.equal(statSync(train).size, size);
  assert.equal(statSync(train).mtimeMs, mtimeMs);
  const b = await loadData({ format: 'criteo', train, cacheDir });
  assert.equal(b.fromCache, false, 'same size and mtime, other content: not a cache hit');
  assert.deepEqual(Array.from(b.train.labels), Array.from(a.train.labels, (y) => 1 - y));
  const c = await loadData({ format: 'criteo', train, cacheDir });
  assert.equal(c.fromCache, true);
  assert.deepEqual(c.train.labels, b.train.labels);
});

// ------------------------------------------------------------------ numbers
test('criteo integers past the double range keep floor(ln(v)^2), as Python computes it', async () => {
  const dir = tmp();
  const big = ['1' + '0'.repeat(400), '1' + '0'.repeat(500), '99999999999999999999', '17' + '0'.repeat(308)];
  const train = put(dir, 'train.txt', big.map((v) => criteoLine('0').replace('\t1\t', `\t${v}\t`)).join('\n'));
  const d = await loadData({ format: 'criteo', train, noCache: true });
  // keys 848303, 1325474, 2120, 506985 (Python), sorted as bytes: '1325474' '2120' '506985' '848303'
  assert.deepEqual([0, 1, 2, 3].map((i) => d.train.ids[i * 39]), [3, 0, 1, 2]);
});
