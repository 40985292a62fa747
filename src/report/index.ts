// `alpt report` as a library call: gather runs, render the charts, write one self-contained HTML file.

import { writeFileAtomic } from '../util/atomic.js';
import { gatherReport, type ReportData } from './data.js';
import { renderReportHtml } from './html.js';

export { gatherReport, readSource, type ReportData, type ReportRun } from './data.js';
export { allCharts, renderSvg, type Chart } from './charts.js';
export { renderReportHtml } from './html.js';

/** Writes the report of the given run folders / compare results to `out`; returns the gathered data. */
export async function writeReport(paths: string[], out: string, title?: string): Promise<ReportData> {
  const data = gatherReport(paths, title);
  await writeReportData(data, out);
  return data;
}

export async function writeReportData(data: ReportData, out: string): Promise<void> {
  writeFileAtomic(out, [await renderReportHtml(data)]);
}
