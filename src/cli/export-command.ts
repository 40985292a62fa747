// `alpt export`: a model file from a run folder or a checkpoint, or a model file to ONNX or plain
// safetensors (+ a JSON description) for other runtimes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { modelFileFrom, modelFromCheckpoint, readModelFile, sourceOf, writeModelFile, type ModelFile } from '../artifact/model-file.js';
import { exportSafetensors } from '../export/safetensors-export.js';
import { exportOnnxFile } from '../export/onnx-file.js';

export interface ExportFlags {
  run?: string;
  checkpoint?: string;
  model?: string;
  format: 'alpt' | 'onnx' | 'safetensors';
  out?: string;
}

export async function runExport(o: ExportFlags): Promise<void> {
  const sources = [o.run, o.checkpoint, o.model].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new Error('give exactly one of --run DIR, --checkpoint FILE, --model FILE');
  let file: ModelFile;
  if (o.run || o.checkpoint) {
    const ckpt = o.checkpoint ?? join(o.run!, 'checkpoint.alpt');
    if (!existsSync(ckpt)) throw new Error(`${ckpt}: no checkpoint (train with --out DIR to get one)`);
    const src = modelFromCheckpoint(ckpt);
    if (o.format === 'alpt') {
      const target = o.out ?? join(ckpt, '..', 'model.alpt');
      writeModelFile(target, src);
      return done({ format: 'alpt', out: target });
    }
    file = modelFileFrom(src);
  } else {
    file = readModelFile(o.model!);
    if (o.format === 'alpt') {
      if (!o.out) throw new Error('--out FILE is needed to copy a model file');
      writeModelFile(o.out, sourceOf(file));
      return done({ format: 'alpt', out: o.out });
    }
  }
  const out = o.out ?? (o.format === 'onnx' ? 'model.onnx' : 'model.safetensors');
  if (o.format === 'onnx') return done({ format: 'onnx', out, ...(await exportOnnxFile(file, out)) });
  return done({ format: 'safetensors', out, ...exportSafetensors(file, out) });
}

function done(r: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}
