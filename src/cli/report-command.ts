// `alpt report RUN_DIR… [--out report.html]`: one self-contained HTML page (inline SVG charts) from
// run folders (summary.json + metrics.jsonl) and/or compare results folders (runs.jsonl).

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeReport } from '../report/index.js';

export async function runReport(paths: string[], o: { out?: string; title?: string }): Promise<void> {
  for (const p of paths) if (!existsSync(p)) throw new Error(`${p}: no such file or folder`);
  // Default: beside a single input folder, else ./report.html.
  const out = o.out ?? (paths.length === 1 && statSync(paths[0]).isDirectory() ? join(paths[0], 'report.html') : 'report.html');
  const d = await writeReport(paths, out, o.title);
  process.stderr.write(`report: ${d.runs.length} run(s), ${d.grid.length} method × bits cell(s)\n`);
  process.stdout.write(out + '\n');
}
