// loadData: cache hit → views on the cache file; otherwise parse, build the vocabulary, encode,
// and write the cache for next time.
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import type { DataOptions, EncodedSplit, InputSpec, LoadedData } from './types.js';
import { buildVocab } from './vocab.js';
import { countTrain, encodeSplit, hashSplit, remapTrain, type PassOptions } from './encode.js';
import { HASH_VERSION, RowHasher, hashRowsPerField, hashVocab } from './hash-rows.js';
import { CacheError, cacheKey, readCache, writeCache } from './cache.js';
import { removeStaleTempFiles } from '../util/atomic.js';

export async function loadData(opts: DataOptions): Promise<LoadedData> {
  const train = resolve(opts.train);
  const valid = opts.valid ? resolve(opts.valid) : undefined;
  const test = opts.test ? resolve(opts.test) : undefined;
  const minCount = opts.minCount ?? 1;
  const skipBad = opts.skipBad ?? false;
  if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`minCount must be a positive integer, got ${minCount}`);
  if ((opts.format === 'csv' || opts.format === 'parquet') && !opts.schema) throw new Error(`format ${opts.format} needs a schema`);
  if (opts.hash && minCount > 1) throw new Error(`--min-count ${minCount} needs a vocabulary (counts per value); hashed ids (--hash-rows) keep none: give one or the other`);

  let cachePath: string | null = null;
  let key = '';
  if (!opts.noCache) {
    const hash = opts.hash ? { version: HASH_VERSION, seed: opts.hash.seed, rows: opts.hash.rows ?? null, total: opts.hash.total ?? null } : null;
    key = await cacheKey([train, valid, test], { format: opts.format, minCount, skipBad, schema: opts.schema ?? null, ...(hash ? { hash } : {}) });
    const dir = opts.cacheDir ? resolve(opts.cacheDir) : await defaultCacheDir(train);
    cachePath = join(dir, `${basename(dirname(train))}-${key}.alptds`);
    removeStaleTempFiles(dir); // cache writes interrupted by kill -9
    try {
      opts.onProgress?.('cache:read', 0);
      const hit = await readCache(cachePath, key);
      if (hit?.splits.train) {
        const { train: tr, valid: va, test: te } = hit.splits;
        opts.onProgress?.('cache:read', tr.n);
        return {
          vocab: hit.vocab, train: tr, valid: va, test: te, fromCache: true, skippedRows: skippedOf(tr, va, te),
          ...(hit.vocab.hash ? {} : { vocabKeys: hit.keys }), input: hit.input,
        };
      }
    } catch (e) {
      if (!(e instanceof CacheError)) throw e;
      process.stderr.write(`alpt: warning: data cache ${cachePath} is unusable (${e.message}); re-encoding\n`);
    }
  }

  const pass = (phase: string): PassOptions => ({ skipBad, phase, onProgress: opts.onProgress });
  if (opts.hash) {
    const ho = opts.hash;
    const tr = await hashSplit(train, { format: opts.format, schema: opts.schema }, (F, names) =>
      new RowHasher({ version: HASH_VERSION, seed: ho.seed, rows: hashRowsPerField(ho, F, names) }), pass('hash:train'));
    if (tr.split.n === 0) throw new Error(`${train}: no data rows`);
    const spec = { format: opts.format, schema: opts.schema, numFields: tr.hasher.numFields };
    const va = valid ? (await hashSplit(valid, spec, tr.hasher, pass('hash:valid'), tr.fieldNames)).split : undefined;
    const te = test ? (await hashSplit(test, spec, tr.hasher, pass('hash:test'), tr.fieldNames)).split : undefined;
    const vocab = hashVocab(tr.fieldNames, tr.hasher.spec);
    const input: InputSpec = { format: opts.format === 'parquet' ? 'csv' : opts.format, numFields: tr.hasher.numFields };
    if (opts.schema) input.schema = opts.schema;
    if (tr.header !== undefined) input.header = tr.header;
    const keys = { bytes: new Uint8Array(0), ends: new Uint32Array(0) };
    const splits = { train: tr.split, valid: va, test: te };
    if (cachePath) {
      try {
        opts.onProgress?.('cache:write', tr.split.n);
        writeCache(cachePath, key, { vocab, splits, keys, input });
      } catch (e) {
        process.stderr.write(`alpt: warning: could not write data cache ${cachePath}: ${(e as Error).message}\n`);
      }
    }
    return { vocab, ...splits, fromCache: false, skippedRows: skippedOf(tr.split, va, te), input };
  }
  const counted = await countTrain(train, { format: opts.format, schema: opts.schema }, pass('count:train'));
  const { vocab, remaps, keys } = buildVocab(counted.fieldNames, counted.tables, counted.entries, minCount);
  const oov = vocab.fieldOffsets.map((o, j) => o + vocab.fieldSizes[j] - 1);
  const F = vocab.fieldNames.length;
  const enc = (path: string | undefined, name: string): Promise<EncodedSplit | undefined> =>
    path ? encodeSplit(path, { format: opts.format, schema: opts.schema, numFields: F }, counted, remaps, oov, pass(`encode:${name}`))
      : Promise.resolve(undefined);
  const va = await enc(valid, 'valid');
  const te = await enc(test, 'test');
  const tr = remapTrain(counted, remaps);
  const input: InputSpec = { format: opts.format === 'parquet' ? 'csv' : opts.format, numFields: F };
  if (opts.schema) input.schema = opts.schema;
  if (counted.header !== undefined) input.header = counted.header;

  if (cachePath) {
    try {
      opts.onProgress?.('cache:write', tr.n);
      writeCache(cachePath, key, { vocab, splits: { train: tr, valid: va, test: te }, keys, input });
    } catch (e) {
      process.stderr.write(`alpt: warning: could not write data cache ${cachePath}: ${(e as Error).message}\n`);
    }
  }
  return { vocab, train: tr, valid: va, test: te, fromCache: false, skippedRows: skippedOf(tr, va, te), vocabKeys: keys, input };
}

function skippedOf(...s: (EncodedSplit | undefined)[]): number {
  return s.reduce((a, x) => a + (x?.skipped ?? 0), 0);
}

/** <dir of train>/.alpt-cache, or a temp-dir cache when the data folder is read-only. */
async function defaultCacheDir(train: string): Promise<string> {
  const dir = join(dirname(train), '.alpt-cache');
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return dir;
  } catch {
    return join(tmpdir(), 'alpt-cache');
  }
}
