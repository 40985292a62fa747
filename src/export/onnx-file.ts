// Writes a model as an ONNX file (the graph itself is built in onnx.ts).
import { writeFileAtomic } from '../util/atomic.js';
import type { ModelFile } from '../artifact/model-file.js';
import { exportOnnx } from './onnx.js';

export async function exportOnnxFile(file: ModelFile, out: string): Promise<{ bytes: number }> {
  const bytes = exportOnnx(file);
  writeFileAtomic(out, [bytes]);
  return { bytes: bytes.byteLength };
}
