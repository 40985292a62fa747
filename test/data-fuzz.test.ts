// Fuzzing the line readers: real lines of every format with seeded mutations (byte flips,
// truncations, inserted separators, huge numbers, invalid UTF-8, empty lines, CRs). An
// independent oracle says which lines are well formed and what their categorical keys are; every
// line must be parsed exactly when the oracle accepts it, with its keys in the right fields, and
// otherwise be reported as `file:line: ...`, never crash.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadData, type CsvSchema, type DataFormat } from '../src/data/index.js';
import { CounterRng, Stream } from '../src/util/rng.js';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const bench = fileURLToPath(new URL('../../../shared/data/bench', import.meta.url));

/** The first `count` lines of a file (only its head is read). */
function headLines(path: string, count: number): Buffer[] {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 18);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const lines: Buffer[] = [];
  for (let p = 0; lines.length < count;) {
    const nl = buf.indexOf(10, p);
    assert.ok(nl > 0 && nl < n, `${path} has ${count} lines in its head`);
    lines.push(buf.subarray(p, nl));
    p = nl + 1;
  }
  return lines;
}

// ------------------------------------------------------------------ oracle
/** What the oracle expects of a line: refused, or parsed with this label and categorical keys (null: not compared). */
type Verdict = { ok: false } | { ok: true; label: number; keys: (string | null)[] };
const REFUSED: Verdict = { ok: false };
const isNumber = (s: string): boolean => /^ *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? *$/.test(s) && Number.isFinite(Number(s));
const binary = (s: string): number | null => (isNumber(s) && (Number(s) === 0 || Number(s) === 1) ? Math.abs(Number(s)) : null);

interface Format {
  format: DataFormat;
  file: string;
  schema?: CsvSchema;
  separator: string;
  /** Index of the label among the separated cells. */
  labelCell: number;
  header?: Buffer;
  /** The first data line: a good one (fixing libfm's field count), never mutated. */
  first: Buffer;
  lines: Buffer[];
  /** Judges a line (latin1 text, so one character per byte) with its trailing CR already dropped. */
  judge(line: string): Verdict;
}

function criteo(): Format {
  const [first, ...lines] = headLines(join(bench, 'criteo10k', 'train.txt'), 121);
  return {
    format: 'criteo', file: 'train.txt', separator: '\t', labelCell: 0, first, lines,
    judge(line) {
      const cells = line.split('\t');
      const label = binary(cells[0]);
      if (cells.length !== 40 || label === null) return REFUSED;
      if (!cells.slice(1, 14).every((c) => /^([+-]?\d+)?$/.test(c))) return REFUSED;
      return { ok: true, label, keys: [...Array(13).fill(null), ...cells.slice(14)] };
    },
  };
}

function avazu(): Format {
  const [head, first, ...lines] = headLines(join(bench, 'avazu14k', 'train.csv'), 122);
  const header = head.toString('latin1').split(',');
  const [click, hour] = [header.indexOf('click'), header.indexOf('hour')];
  return {
    format: 'avazu', file: 'train.csv', separator: ',', labelCell: click, header: head, first, lines,
    judge(line) {
      const cells = line.split(',');
      const label = binary(cells[click] ?? '');
      if (cells.length !== header.length || label === null) return REFUSED;
      const h = cells[hour];
      if (!/^\d{8}$/.test(h)) return REFUSED;
      const [yy, mm, dd] = [+h.slice(0, 2), +h.slice(2, 4), +h.slice(4, 6)];
      if (mm < 1 || mm > 12 || dd < 1 || dd > new Date(Date.UTC(2000 + yy, mm, 0)).getUTCDate()) return REFUSED;
      const keys = cells.map((c, j) => (j === hour ? c.slice(6) : c)).filter((_, j) => header[j] !== 'id' && j !== click);
      return { ok: true, label, keys: [...keys, null, null] };
    },
  };
}

function libfm(): Format {
  const [first, ...lines] = headLines(join(bench, 'frappe', 'train.libfm'), 121);
  const fields = first.toString('latin1').trim().split(/\s+/).length - 1;
  return {
    format: 'libfm', file: 'train.libfm', separator: ' ', labelCell: 0, first, lines,
    judge(line) {
      const tokens = line.split(/[ \t\n\v\f\r]+/).filter((t) => t !== '');
      if (tokens.length !== fields + 1 || !isNumber(tokens[0]) || ![-1, 0, 1].includes(Number(tokens[0]))) return REFUSED;
      const keys: string[] = [];
      for (const t of tokens.slice(1)) {
        const colon = t.indexOf(':');
        if (colon <= 0 || !/^[0-9.+\-eE]+$/.test(t.slice(colon + 1))) return REFUSED;
        keys.push(t.slice(0, colon));
      }
      return { ok: true, label: Number(tokens[0]) > 0 ? 1 : 0, keys };
    },
  };
}

function csv(): Format {
  const rng = new CounterRng(7, Stream.bench, 99);
  const row = (): string => [rng.int(2), `u${rng.int(50)}`, `i${rng.int(20)}`, (rng.next() * 200).toFixed(2), String(rng.int(1e6))].join(',');
  const schema: CsvSchema = {
    label: 'clicked', categorical: ['user', 'item'],
    numeric: [{ column: 'price', buckets: [1, 10, 100] }, { column: 'ts', rule: 'log2' }],
  };
  return {
    format: 'csv', file: 'train.csv', schema, separator: ',', labelCell: 0, header: Buffer.from('clicked,user,item,price,ts'),
    first: Buffer.from(row()), lines: Array.from({ length: 120 }, () => Buffer.from(row())),
    judge(line) {
      const cells = line.split(',');
      const label = binary(cells[0]);
      if (cells.length !== 5 || label === null || !cells.slice(3).every((c) => c === '' || isNumber(c))) return REFUSED;
      return { ok: true, label, keys: [cells[1], cells[2], null, null] };
    },
  };
}

// ------------------------------------------------------------------ mutations
const HUGE = ['1e400', '-1e400', '99999999999999999999', '9'.repeat(400), 'NaN', 'Infinity', '0x1F'];
const LABELS = ['2', '-1', '0.5', '1.0', '+1', ' 1', '', '1e0', '00', '-0', '.'];
const BAD_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf]];

/** One seeded mutation of line; `split` marks a separator inserted inside a token (the line must then be refused). */
function mutate(line: Buffer, f: Format, rng: CounterRng): { bytes: Buffer; split: boolean } {
  const at = (n: number): number => rng.int(n + 1);
  const splice = (p: number, del: number, ins: Buffer): Buffer => Buffer.concat([line.subarray(0, p), ins, line.subarray(p + del)]);
  switch (rng.int(11)) {
    case 0: { // byte flip (not to '\n', which would make two lines)
      const b = rng.int(255);
      return { bytes: splice(rng.int(line.length), 1, Buffer.from([b >= 10 ? b + 1 : b])), split: false };
    }
    case 1: return { bytes: line.subarray(0, at(line.length)), split: false };
    case 2: { // separator inserted
      const p = at(line.length);
      const inside = f.format === 'libfm'
        ? p > 0 && p < line.length && line[p - 1] !== 32 && line[p] !== 32 // libfm: only inside a token changes the row
        : true;
      return { bytes: splice(p, 0, Buffer.from(f.separator)), split: inside };
    }
    case 3: { // a cell replaced by a huge or non-decimal number
      const cells = line.toString('latin1').split(f.separator);
      const j = rng.int(cells.length);
      const v = HUGE[rng.int(HUGE.length)];
      cells[j] = f.format === 'libfm' && j > 0 ? `${rng.next() < 0.5 ? v : '1'}:${v}` : v;
      return { bytes: Buffer.from(cells.join(f.separator), 'latin1'), split: false };
    }
    case 4: return { bytes: splice(at(line.length), 0, Buffer.from(BAD_UTF8[rng.int(BAD_UTF8.length)])), split: false };
    case 5: return { bytes: Buffer.alloc(0), split: false };
    case 6: return { bytes: Buffer.concat([line, Buffer.from('\r')]), split: false };
    case 7: return { bytes: splice(rng.int(line.length), 1, Buffer.alloc(0)), split: false }; // byte deleted
    case 8: { // another label
      const cells = line.toString('latin1').split(f.separator);
      cells[f.labelCell] = LABELS[rng.int(LABELS.length)];
      return { bytes: Buffer.from(cells.join(f.separator), 'latin1'), split: false };
    }
    default: return { bytes: line, split: false };
  }
}

function judge(f: Format, bytes: Buffer): Verdict | 'empty' {
  let s = bytes.toString('latin1');
  if (s.endsWith('\r')) s = s.slice(0, -1); // the reader drops one CR before the newline
  return s === '' ? 'empty' : f.judge(s);
}

/** A thrown value that is one of the loader's messages: `dir/file:line: ...`, not a crash. */
function lineNumberOf(e: unknown, f: Format): number {
  assert.ok(e instanceof Error && e.constructor === Error, `not a plain Error: ${(e as Error)?.stack}`);
  const m = new RegExp(`^[^/]+/${f.file.replace('.', '\\.')}:(\\d+): \\S`).exec(e.message);
  assert.ok(m, `message without file:line: ${e.message}`);
  assert.ok(e.message.length < 1024, `long message: ${e.message.length} chars`);
  return Number(m[1]);
}

for (const make of [criteo, avazu, libfm, csv]) {
  const f = make();
  test(`fuzz ${f.format}: each mutated line is parsed as the oracle says or refused with file:line`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `alpt-fuzz-${f.format}-`));
    made.push(dir);
    const path = join(dir, f.file);
    const load = (skipBad: boolean) => loadData({ format: f.format, train: path, schema: f.schema, noCache: true, skipBad });
    const rng = new CounterRng(2024, Stream.bench, f.lines.length);
    const mutated = f.lines.map((l) => mutate(l, f, rng));
    const firstVerdict = judge(f, f.first);
    assert.ok(firstVerdict !== 'empty' && firstVerdict.ok);
    const prefix = [...(f.header ? [f.header] : []), f.first].flatMap((l) => [l, Buffer.from('\n')]);
    const counts = { parsed: 0, refused: 0, split: 0 };

    // One mutated line after the fixed first line: parsed exactly when the oracle accepts it.
    for (const [i, m] of mutated.entries()) {
      const want = judge(f, m.bytes);
      const what = `line ${i}: ${JSON.stringify(m.bytes.toString('latin1').slice(0, 300))}`;
      if (m.split) {
        assert.ok(want !== 'empty' && !want.ok, `oracle accepts a split token, ${what}`);
        counts.split++;
      }
      writeFileSync(path, Buffer.concat([...prefix, m.bytes, Buffer.from('\n')]));
      const got = await load(false).catch((e: unknown) => e);
      if (want === 'empty' || want.ok) {
        assert.ok(!(got instanceof Error), `refused a good ${what}: ${(got as Error).message}`);
        const d = got as Awaited<ReturnType<typeof load>>;
        assert.equal(d.train.n, want === 'empty' ? 1 : 2, what);
        if (want === 'empty') continue;
        const F = d.train.numFields;
        assert.equal(F, want.keys.length, what);
        assert.equal(d.train.labels[1], want.label, what);
        // Same key in a field as the first line ⇔ same id: no column silently shifted.
        for (let j = 0; j < F; j++) {
          if (want.keys[j] === null || firstVerdict.keys[j] === null) continue;
          assert.equal(d.train.ids[F + j] === d.train.ids[j], want.keys[j] === firstVerdict.keys[j], `field ${j}, ${what}`);
        }
        counts.parsed++;
      } else {
        assert.equal(lineNumberOf(got, f), prefix.length / 2 + 1, what);
        const s = await load(true);
        assert.equal(s.train.skipped, 1, what);
        counts.refused++;
      }
    }
    assert.ok(counts.parsed >= 10 && counts.refused >= 20 && counts.split >= 3, JSON.stringify(counts));

    // All lines in one file: the first refused line is reported; skipBad counts every refused one.
    const verdicts = mutated.map((m) => judge(f, m.bytes));
    writeFileSync(path, Buffer.concat([...prefix, ...mutated.flatMap((m) => [m.bytes, Buffer.from('\n')])]));
    const firstBad = verdicts.findIndex((v) => v !== 'empty' && !v.ok);
    assert.equal(lineNumberOf(await load(false).catch((e: unknown) => e), f), prefix.length / 2 + 1 + firstBad);
    const all = await load(true);
    assert.equal(all.train.skipped, verdicts.filter((v) => v !== 'empty' && !v.ok).length);
    const good = verdicts.filter((v): v is Verdict & { ok: true } => v !== 'empty' && v.ok);
    assert.deepEqual(Array.from(all.train.labels), [firstVerdict.label, ...good.map((v) => v.label)]);
  });
}
