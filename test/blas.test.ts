import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Backend } from '../src/kernels/backend.js';
import { blasInfo, chooseCoretype, createBlasBackend, loadBlas } from '../src/kernels/blas.js';
import { createBackend } from '../src/kernels/index.js';
import { gemmJs } from '../src/kernels/js.js';
import { rand, relErr } from './gemm-helpers.js';
const built = loadBlas() !== undefined;
const INDEX = fileURLToPath(new URL('../src/kernels/index.js', import.meta.url));


/** Runs `code` (an async function body with `idx` = kernels/index.js) in a child node with extra env. */
function child(code: string, env: Record<string, string>): string {
  // CommonJS -e with an async body: --input-type=module would be inherited by the wasm workers.
  const src = `(async () => { const idx = await import(${JSON.stringify(pathToFileURL(INDEX).href)});\n${code}\n})();`;
  const r = spawnSync(process.execPath, ['-e', src], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('OpenBLAS core type choice', () => {
  const avx512 = new Set(['avx2', 'fma', 'avx512f', 'avx512dq', 'avx512bw', 'avx512vl']);
  const avx2 = new Set(['avx2', 'fma']);
  it('AVX-512 gets SkylakeX, even over an exported Haswell', () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
    assert.equal(chooseCoretype(env, avx512), 'SkylakeX');
    assert.equal(env.OPENBLAS_CORETYPE, 'SkylakeX');
  });
  it('ALPT_OPENBLAS_CORETYPE overrides', () => {
    const env: NodeJS.ProcessEnv = { ALPT_OPENBLAS_CORETYPE: 'Haswell' };
    assert.equal(chooseCoretype(env, avx512), 'Haswell');
    assert.equal(env.OPENBLAS_CORETYPE, 'Haswell');
  });
  it('without AVX-512 an exported value stays; else AVX2 gets Haswell; else OpenBLAS decides', () => {
    assert.equal(chooseCoretype({ OPENBLAS_CORETYPE: 'Zen' }, avx2), 'Zen');
    assert.equal(chooseCoretype({}, avx2), 'Haswell');
    assert.equal(chooseCoretype({}, new Set(['avx512f', 'avx2', 'fma'])), 'Haswell'); // AVX-512F alone (Xeon Phi) is not enough
    assert.equal(chooseCoretype({}, new Set(['sse4_2'])), undefined);
  });
});

describe('backend selection with and without the addon', () => {
  it('ALPT_BLAS=0: auto falls back to wasm, kind blas throws a clear error', () => {
    const out = child(`
      const be = await idx.createBackend({ threads: 2 });
      let msg = '';
      try { await idx.createBackend({ kind: 'blas', threads: 1 }); } catch (e) { msg = e.message; }
      console.log(JSON.stringify({ name: be.name, msg }));
      be.dispose();`, { ALPT_BLAS: '0' });
    const { name, msg } = JSON.parse(out) as { name: string; msg: string };
    assert.match(name, /^wasm/);
    assert.match(msg, /backend 'blas' is unavailable: disabled by ALPT_BLAS=0/);
  });

  it(built ? 'auto picks blas (addon built)' : 'auto falls back and kind blas explains (addon not built)', async () => {
    const auto = await createBackend({ threads: 2 });
    try {
      assert.equal(auto.threads, 2);
      if (built) assert.equal(auto.name, 'blas');
      else assert.match(auto.name, /^(wasm|js)/);
    } finally {
      auto.dispose();
    }
    if (!built) {
      await assert.rejects(createBackend({ kind: 'blas' }), /backend 'blas' is unavailable: .*(libopenblas-dev|does not load)/);
    }
  });
});

describe('blas backend', { skip: !built && 'OpenBLAS addon not built (apt-get install libopenblas-dev; npm ci)' }, () => {
  const SIZES: [number, number, number][] = [
    [1, 1, 1], [1, 17, 3], [3, 1, 5], [3, 5, 7], [17, 33, 1], [33, 17, 130], [130, 33, 17],
    [64, 48, 257], [257, 130, 600], [67, 1029, 33], [1, 624, 700], [700, 1, 400], [513, 257, 129], [0, 3, 4], [3, 0, 4], [3, 4, 0],
  ];
  const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
  let one: Backend;
  let two: Backend;
  before(async () => {
    one = await createBlasBackend({ threads: 1 });
    two = await createBlasBackend({ threads: 2 });
  });
  after(() => {
    one.dispose();
    two.dispose();
  });

  it('reports its OpenBLAS build; AVX-512 CPUs get the SkylakeX kernels', () => {
    const info = blasInfo()!;
    assert.match(info.config, /OpenBLAS/);
    assert.ok(info.corename.length > 0);
    if (info.coretype) assert.equal(info.corename.toLowerCase(), info.coretype.toLowerCase());
    if (info.coretype === 'SkylakeX') {
      // In a fresh process too (the variable must be set before libopenblas loads).
      const out = child('console.log(idx.blasInfo().corename)', {});
      assert.equal(out.toUpperCase(), 'SKYLAKEX');
    }
  });

  for (const threads of [1, 2]) {
    for (const useAlloc of [true, false]) {
      it(`matches the js backend (${threads} thread(s), ${useAlloc ? 'shared wasm memory' : 'plain arrays'})`, () => {
        const be = threads === 1 ? one : two;
        assert.equal(be.name, 'blas');
        let seed = 1;
        for (const [m, n, k] of SIZES) {
          for (const [tA, tB] of TRANS) {
            for (const [alpha, beta, withBias] of [[1, 0, false], [0.5, 1, true], [-1.5, 0.25, false], [2, 0, true]] as const) {
              const a = rand(m * k, seed++);
              const b = rand(k * n, seed++);
              const c0 = rand(m * n, seed++);
              if (beta === 0) c0.fill(NaN); // beta = 0 must overwrite C, NaN included
              const bias = withBias ? rand(n, seed++) : undefined;
              const want = c0.slice();
              gemmJs(tA, tB, m, n, k, alpha, a, b, beta, want, bias);
              const put = (x: Float32Array): Float32Array => {
                if (!useAlloc) return x.slice();
                const y = be.alloc(x.length);
                y.set(x);
                assert.ok(y.buffer instanceof SharedArrayBuffer);
                return y;
              };
              const c = put(c0);
              be.gemm(tA, tB, m, n, k, alpha, put(a), put(b), beta, c, bias && put(bias));
              const e = relErr(c, want);
              assert.ok(e < 1e-5, `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta} ` +
                `bias=${withBias} alloc=${useAlloc}: rel err ${e}`);
            }
          }
        }
      });
    }
  }

  it('works on subarray views (offset into a buffer) and larger-than-needed arrays', () => {
    const [m, n, k] = [37, 21, 45];
    const big = rand(10_000, 7);
    const a = big.subarray(13, 13 + m * k);
    const b = big.subarray(5000, 5000 + k * n + 50);
    const c = new Float32Array(m * n + 9);
    const want = new Float32Array(m * n + 9);
    one.gemm(false, true, m, n, k, 1, a, b, 0, c);
    gemmJs(false, true, m, n, k, 1, a, b, 0, want);
    assert.ok(relErr(c, want) < 1e-5);
    assert.equal(c[m * n], 0); // nothing written past m×n
  });

  it('bad arguments throw JS errors instead of crashing', () => {
    const f = (n: number) => new Float32Array(n);
    const cases: [string, () => void, RegExp][] = [
      ['short A', () => one.gemm(false, false, 4, 4, 4, 1, f(15), f(16), 0, f(16)), /A has 15 elements, needs 16/],
      ['short B', () => one.gemm(false, false, 4, 4, 4, 1, f(16), f(3), 0, f(16)), /B has 3 elements/],
      ['short C', () => one.gemm(true, true, 4, 4, 4, 1, f(16), f(16), 0, f(15)), /C has 15 elements/],
      ['short bias', () => one.gemm(false, false, 4, 4, 4, 1, f(16), f(16), 0, f(16), f(3)), /bias has 3 elements/],
      ['Float64Array', () => one.gemm(false, false, 2, 2, 2, 1, new Float64Array(4) as never, f(4), 0, f(4)), /A must be a Float32Array/],
      ['plain array', () => one.gemm(false, false, 2, 2, 2, 1, f(4), [1, 2, 3, 4] as never, 0, f(4)), /B must be a Float32Array/],
      ['missing C', () => one.gemm(false, false, 2, 2, 2, 1, f(4), f(4), 0, undefined as never), /C must be a Float32Array/],
      ['bias not f32', () => one.gemm(false, false, 2, 2, 2, 1, f(4), f(4), 0, f(4), new Int32Array(2) as never), /bias must be a Float32Array/],
      ['negative m', () => one.gemm(false, false, -1, 2, 2, 1, f(4), f(4), 0, f(4)), /m, n and k must be integers/],
      ['fractional k', () => one.gemm(false, false, 2, 2, 1.5, 1, f(4), f(4), 0, f(4)), /m, n and k must be integers/],
      ['NaN n', () => one.gemm(false, false, 2, NaN, 2, 1, f(4), f(4), 0, f(4)), /m, n and k must be integers/],
      ['huge sizes', () => one.gemm(false, false, 2 ** 31, 2, 2, 1, f(4), f(4), 0, f(4)), /m, n and k must be integers/],
      ['overflowing product', () => one.gemm(false, false, 65536, 65536, 1, 1, f(4), f(4), 0, f(4)), /elements, needs/],
      ['string alpha', () => one.gemm(false, false, 2, 2, 2, '1' as never, f(4), f(4), 0, f(4)), /alpha and beta must be numbers/],
      ['object trans', () => one.gemm({} as never, false, 2, 2, 2, 1, f(4), f(4), 0, f(4)), /transA and transB must be booleans/],
    ];
    for (const [what, call, msg] of cases) assert.throws(call, msg, what);
    const addon = loadBlas()!;
    assert.throws(() => (addon.sgemm as unknown as (...a: unknown[]) => void)(false, false, 2), /too few arguments/);
    assert.throws(() => addon.setThreads(0), /setThreads/);
    // A detached buffer has no elements left.
    const detached = f(16);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    assert.throws(() => one.gemm(false, false, 4, 4, 4, 1, detached, f(16), 0, f(16)), /A has 0 elements/);
    // Still alive and correct afterwards.
    const c = f(1);
    one.gemm(false, false, 1, 1, 1, 1, Float32Array.of(3), Float32Array.of(4), 0, c);
    assert.equal(c[0], 12);
  });

  it('keeps the base backend around everything but gemm, and dispose stops it', async () => {
    const be = await createBlasBackend({ threads: 2 });
    const x = be.alloc(8);
    assert.ok(x.buffer instanceof SharedArrayBuffer);
    const base = Object.getPrototypeOf(be) as Backend;
    assert.equal(be.ops, base.ops); // the wasm element-wise kernels
    assert.equal(be.alloc, base.alloc);
    be.dispose();
    assert.throws(() => be.gemm(false, false, 1, 1, 1, 1, Float32Array.of(1), Float32Array.of(1), 0, new Float32Array(1)), /disposed/);
  });
});
