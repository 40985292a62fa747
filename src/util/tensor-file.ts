// alpt's files of named arrays (checkpoints, model files): a safetensors container whose metadata
// says what it is (alpt.kind), which layout version (alpt.version) and carries alpt's own JSON
// description (alpt.meta). See safetensors.ts for the checksums.
import { openSync, readSync, closeSync } from 'node:fs';
import { readSafetensors, writeSafetensors, SafetensorsError, type ReadOptions, type TensorIn } from './safetensors.js';

/** Layout version of alpt's tensor files; version 1 was a home-made container (ALPTTNSR). */
export const TENSOR_FILE_VERSION = 2;

export interface TensorFileMeta {
  kind: string;
  [key: string]: unknown;
}

export function writeTensorFile(path: string, meta: TensorFileMeta, arrays: Record<string, ArrayBufferView | TensorIn>): void {
  writeSafetensors(path, arrays, {
    format: 'alpt',
    'alpt.kind': meta.kind,
    'alpt.version': String(TENSOR_FILE_VERSION),
    'alpt.meta': JSON.stringify(meta),
  });
}

export class TensorFileError extends Error {}

/**
 * Reads and verifies an alpt tensor file; `kind` (when given) must match. Every refusal says which
 * file and what is wrong: truncated, damaged (which part), another version, another kind.
 */
export function readTensorFile(path: string, kind?: string, opts: ReadOptions = {}): { meta: any; arrays: Record<string, ArrayBufferView> } {
  if (startsWith(path, 'ALPTTNSR')) {
    throw new TensorFileError(`${path}: written by an older alpt (file version 1); this alpt reads version ${TENSOR_FILE_VERSION}: train again or export with that version`);
  }
  let file;
  try {
    file = readSafetensors(path, path, true, opts);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new TensorFileError(`not a valid alpt file: ${e.message}`);
    throw e;
  }
  const md = file.metadata;
  if (md.format !== 'alpt' || md['alpt.meta'] === undefined) throw new TensorFileError(`${path}: a safetensors file, but not one written by alpt`);
  const version = Number(md['alpt.version']);
  if (version !== TENSOR_FILE_VERSION) {
    throw new TensorFileError(`${path}: file version ${md['alpt.version']}, this alpt reads version ${TENSOR_FILE_VERSION}`);
  }
  if (kind !== undefined && md['alpt.kind'] !== kind) {
    const hint = md['alpt.kind'] === 'checkpoint' && kind === 'model' ? ' (make a model from it with `alpt export --checkpoint FILE`)' : '';
    throw new TensorFileError(`${path}: is a ${md['alpt.kind']} file, not a ${kind}${hint}`);
  }
  const meta = JSON.parse(md['alpt.meta']);
  const arrays: Record<string, ArrayBufferView> = {};
  for (const [name, t] of Object.entries(file.tensors)) arrays[name] = t.data;
  return { meta, arrays };
}

function startsWith(path: string, magic: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(magic.length);
    const n = readSync(fd, b, 0, b.length, 0);
    return n === b.length && b.toString('latin1') === magic;
  } finally {
    closeSync(fd);
  }
}
