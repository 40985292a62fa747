import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../src/kernels/backend.js';
import { createBackend } from '../src/kernels/index.js';
import { gemmJs } from '../src/kernels/js.js';
import { createWasmBackend } from '../src/kernels/wasm.js';
import { rand, relErr } from './gemm-helpers.js';

const SIZES: [number, number, number][] = [
  [1, 1, 1], [1, 17, 3], [3, 1, 5], [3, 5, 7], [17, 33, 1], [33, 17, 130], [2, 16, 300],
  [130, 33, 17], [64, 48, 257], [257, 130, 600], [67, 1029, 33], [1, 624, 700], [700, 1, 400], [512, 600, 1],
];
const TRANS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

function check(be: Backend, useAlloc: boolean): void {
  let seed = 1;
  for (const [m, n, k] of SIZES) {
    for (const [tA, tB] of TRANS) {
      for (const [alpha, beta, withBias] of [[1, 0, false], [0.5, 1, true], [-1.5, 0.25, false]] as const) {
        const a = rand(m * k, seed++);
        const b = rand(k * n, seed++);
        const c0 = rand(m * n, seed++);
        const bias = withBias ? rand(n, seed++) : undefined;
        const want = c0.slice();
        gemmJs(tA, tB, m, n, k, alpha, a, b, beta, want, bias);
        const put = (x: Float32Array): Float32Array => {
          if (!useAlloc) return x.slice();
          const y = be.alloc(x.length);
          y.set(x);
          return y;
        };
        const c = put(c0);
        be.gemm(tA, tB, m, n, k, alpha, put(a), put(b), beta, c, bias && put(bias));
        const e = relErr(c, want);
        assert.ok(e < 1e-5, `${be.name}/${be.threads} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} m=${m} n=${n} k=${k} ` +
          `alpha=${alpha} beta=${beta} bias=${withBias} alloc=${useAlloc}: rel err ${e}`);
      }
    }
  }
}

describe('js gemm', () => {
  it('matches the textbook definition', () => {
    for (const [m, n, k] of [[1, 1, 1], [5, 3, 7], [9, 17, 4]]) {
      for (const [tA, tB] of TRANS) {
        const a = rand(m * k, m + 1), b = rand(k * n, n + 2), c = rand(m * n, k + 3), bias = rand(n, 4);
        const want = new Float32Array(m * n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
            want[i * n + j] = 0.5 * s + 2 * c[i * n + j] + bias[j];
          }
        }
        gemmJs(tA, tB, m, n, k, 0.5, a, b, 2, c, bias);
        assert.ok(relErr(c, want) < 1e-6);
      }
    }
  });
});

for (const fma of [false, true]) {
  for (const threads of [1, 2]) {
    describe(`wasm gemm (fma=${fma}, threads=${threads})`, () => {
      let be: Backend;
      before(async () => {
        be = await createWasmBackend({ threads, fma });
        // The very first job right after start-up must be picked up by the workers.
        const c = be.alloc(128 * 128);
        be.gemm(false, false, 128, 128, 128, 1, be.alloc(128 * 128).fill(1), be.alloc(128 * 128).fill(1), 0, c);
        assert.equal(c[128 * 128 - 1], 128);
      });
      after(() => be.dispose());
      it('matches js on alloc() arrays', () => check(be, true));
      it('matches js on plain Float32Arrays', () => check(be, false));
      it('ignores NaNs in C when beta = 0', () => {
        const c = be.alloc(6).fill(NaN);
        be.gemm(false, false, 2, 3, 1, 1, Float32Array.of(1, 2), Float32Array.of(1, 2, 3), 0, c);
        assert.deepEqual(Array.from(c), [1, 2, 3, 2, 4, 6]);
      });
      it('handles subarray views and k = 0', () => {
        const big = be.alloc(40).fill(7);
        const c = big.subarray(5, 11);
        be.gemm(false, false, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 2, c, Float32Array.of(1, 2, 3));
        assert.deepEqual(Array.from(c), [15, 16, 17, 15, 16, 17]);
        assert.equal(big[4], 7);
        assert.equal(big[11], 7);
      });
      it('keeps working after the memory grows', () => {
        const a = be.alloc(64 * 64).fill(1);
        be.alloc(8 << 20); // forces memory.grow; `a` is a view on the old buffer object
        const c = be.alloc(64 * 64);
        be.gemm(false, true, 64, 64, 64, 1, a, a, 0, c);
        assert.equal(c[0], 64);
        assert.equal(c[64 * 64 - 1], 64);
      });
      it('rejects too-short arrays', () => {
        assert.throws(() => be.gemm(false, false, 4, 4, 4, 1, new Float32Array(15), new Float32Array(16), 0, new Float32Array(16)), RangeError);
      });
    });
  }
}

describe('createBackend', () => {
  it('auto picks blas or wasm and js works', async () => {
    const auto = await createBackend({ threads: 2 });
    assert.match(auto.name, /^(blas|wasm)/);
    assert.equal(auto.threads, 2);
    auto.dispose();
    const js = await createBackend({ kind: 'js' });
    assert.equal(js.name, 'js');
    const c = js.alloc(4);
    js.gemm(true, false, 2, 2, 2, 1, Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 0, 0, 1), 0, c);
    assert.deepEqual(Array.from(c), [1, 3, 2, 4]);
  });
});
