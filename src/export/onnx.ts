// Placeholder until the ONNX graph builder lands (branch onnx).
import type { ModelFile } from '../artifact/model-file.js';
export function exportOnnx(_file: ModelFile): Uint8Array {
  throw new Error('ONNX export is not built yet');
}
