// `alpt predict`: score a file with a model file; CSV out, JSON summary as the last stdout line.
import cliProgress from 'cli-progress';
import { loadModel } from '../predict/loaded-model.js';
import { predictFile } from '../predict/predict-file.js';

export interface PredictFlags {
  model: string;
  input: string;
  format?: string;
  out: string;
  idColumn?: string;
  skipBad?: boolean;
  threads?: number;
  backend?: 'auto' | 'blas' | 'wasm' | 'js';
  progress: 'auto' | 'bar' | 'none';
}

export async function runPredict(o: PredictFlags): Promise<void> {
  const m = await loadModel(o.model, { kind: o.backend, threads: o.threads || undefined });
  try {
    if (o.format && m.info.format && o.format !== m.info.format) {
      throw new Error(`--format ${o.format}: the model reads ${m.info.format} (its vocabulary and parsing rules are those of its training data)`);
    }
    const useBar = o.progress === 'bar' || (o.progress === 'auto' && process.stderr.isTTY === true);
    const bar = useBar
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'predict [{bar}] {percentage}% | {rows} rows | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic)
      : null;
    let started = false;
    const summary = await predictFile(m, o.input, {
      out: o.out,
      idColumn: o.idColumn,
      skipBad: o.skipBad,
      onProgress: bar ? (bytes, total, rows) => {
        if (!started) {
          bar.start(total, 0, { rows: 0 });
          started = true;
        }
        bar.update(bytes, { rows });
      } : undefined,
    });
    if (started) bar!.stop();
    const line = JSON.stringify({ model: o.model, ...summary });
    // With the scores on stdout, the summary goes to stderr so that stdout stays one CSV.
    if (o.out === '-') process.stderr.write(line + '\n');
    else process.stdout.write(line + '\n');
  } finally {
    m.dispose();
  }
}
