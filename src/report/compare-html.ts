// compare's report.html: the grid just trained (or tabulated) as a report page beside compare.md.

import { join } from 'node:path';
import type { TrainSummary } from '../train/trainer.js';
import type { TrainConfig } from '../train/config.js';
import { fp32AdamBytesPerRow, summarizeGrid } from '../train/compare-table.js';
import { groupOf, type ReportData } from './data.js';
import { writeReportData } from './index.js';

export async function writeCompareHtml(runs: TrainSummary[], dir: string, cfg: TrainConfig | null, sources: string[]): Promise<void> {
  const dim = cfg?.dim ?? runs[0].dim;
  const ref = fp32AdamBytesPerRow(dim);
  const data: ReportData = {
    title: `alpt compare: ${runs[0].model}, dim ${dim}, ${runs.length} runs`,
    sources,
    runs: runs.map((s) => ({ id: `${groupOf(s)} seed ${s.seed}`, group: groupOf(s), summary: s, curve: s.curve ?? [], source: dir })),
    grid: summarizeGrid(runs, ref),
    fp32AdamBytesPerRow: ref,
    config: cfg ? ({ ...cfg, schema: undefined } as unknown as Record<string, unknown>) : null,
  };
  const out = join(dir, 'report.html');
  await writeReportData(data, out);
  process.stderr.write(`report: ${out}\n`);
}
