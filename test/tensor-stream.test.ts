// Streamed reading of alpt's tensor files (checkpoints and model files of any size): header only,
// straight into existing arrays, and damage found in any chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../src/util/safetensors.js';

function fixture(): { dir: string; path: string; codes: Uint8Array; steps: Float32Array } {
  const dir = mkdtempSync(join(tmpdir(), 'alpt-stream-'));
  const path = join(dir, 't.safetensors');
  const codes = Uint8Array.from({ length: 100003 }, (_, i) => (i * 37) & 0xff);
  const steps = Float32Array.from({ length: 1001 }, (_, i) => i / 7);
  writeSafetensors(path, { codes, steps }, { format: 'test' });
  return { dir, path, codes, steps };
}

test('headerOnly: metadata and a verified header, no tensor read', () => {
  const f = fixture();
  try {
    const h = readSafetensors(f.path, 'f', true, { headerOnly: true });
    assert.equal(h.metadata.format, 'test');
    assert.deepEqual(h.tensors, {});
    // a damaged header is still refused
    const b = readFileSync(f.path);
    b[12] ^= 1;
    writeFileSync(f.path, b);
    assert.throws(() => readSafetensors(f.path, 'f', true, { headerOnly: true }), /header/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('into: tensors are read straight into the given arrays (no copy), others are allocated', () => {
  const f = fixture();
  try {
    const dst = new Uint8Array(f.codes.length);
    const wrongSize = new Float32Array(5);
    const r = readSafetensors(f.path, 'f', true, { into: { codes: dst, steps: wrongSize } });
    assert.equal(r.tensors.codes.data, dst);
    assert.deepEqual(dst, f.codes);
    assert.notEqual(r.tensors.steps.data, wrongSize);
    assert.deepEqual(r.tensors.steps.data, f.steps);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('a flipped byte in a tensor read into an array is refused, naming the tensor', () => {
  const f = fixture();
  try {
    const b = readFileSync(f.path);
    b[b.length - 5000] ^= 0x10; // inside codes (the largest-element tensors come first: steps, then codes)
    writeFileSync(f.path, b);
    assert.throws(() => readSafetensors(f.path, 'f', true, { into: { codes: new Uint8Array(f.codes.length) } }), /tensor codes .* is damaged/);
    writeFileSync(f.path, b.subarray(0, b.length - 10));
    assert.throws(() => readSafetensors(f.path, 'f'), /truncated/);
  } finally {
    rmSync(f.dir, { recursive: true, force: true });
  }
});
