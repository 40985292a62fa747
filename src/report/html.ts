// The report page: one self-contained HTML file (inline CSS, inline SVG charts, no script, no
// external reference), readable offline and without JavaScript.

import type { ReportData } from './data.js';
import { allCharts, renderSvg, type Chart } from './charts.js';

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const f = (x: number | null | undefined, d: number): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const CSS = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1em;margin-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.chart{margin:1em 0 1.5em}.chart svg{max-width:100%;height:auto}.caption{font-size:.85em;color:#555;margin:.2em 0}
.grid{display:flex;flex-wrap:wrap;gap:1em}.muted{color:#777;font-size:.85em}code{background:#f4f4f4;padding:0 .2em}
`;

/** Vega numbers its SVG ids (gradient_0, clip1) from 0 in every chart: make them unique in the page. */
function scopeIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`).replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

async function figure(c: Chart): Promise<string> {
  const svg = scopeIds(await renderSvg(c.spec), c.id);
  return `<figure class="chart" id="${esc(c.id)}" data-marks="${esc(JSON.stringify(c.marks))}"><h3>${esc(c.title)}</h3>${svg}<figcaption class="caption">${esc(c.caption)}</figcaption></figure>`;
}

function gridTable(d: ReportData): string {
  const head = '<tr><th>method</th><th>bits</th><th>seeds</th><th>test AUC</th><th>± std</th><th>test logloss</th><th>bytes/row</th><th>vs fp32 + Adam</th><th>s/epoch</th><th>epochs</th></tr>';
  const rows = d.grid.map((g) =>
    `<tr><td>${esc(g.method)}</td><td>${g.method === 'fp32' ? 32 : g.bits}</td><td>${g.seeds}</td><td>${f(g.test_auc_mean, 4)}</td><td>${f(g.test_auc_std, 4)}</td><td>${f(g.test_logloss_mean, 4)}</td><td>${f(g.bytes_per_row, 1)}</td><td>${f(g.ratio_to_fp32_adam, 3)}</td><td>${f(g.seconds_per_epoch, 1)}</td><td>${f(g.epochs_mean, 1)}</td></tr>`);
  return `<table id="grid-table">${head}${rows.join('')}</table>`;
}

function runTable(d: ReportData): string {
  const head = '<tr><th>run</th><th>test AUC</th><th>best epoch</th><th>samples/s</th><th>codes B/row</th><th>steps B/row</th><th>optimizer B/row</th><th>total B/row</th><th>Δ at limits</th><th>backend</th></tr>';
  const rows = d.runs.map((r) => {
    const s = r.summary, m = s.memory, n = Math.max(1, m.rows);
    const be = s.backend ? `${s.backend.kernels}, ${s.backend.threads} thread${s.backend.threads === 1 ? '' : 's'}` : 'not recorded';
    return `<tr><td>${esc(r.id)}</td><td>${f(s.test_auc, 4)}</td><td>${s.best_epoch}/${s.epochs_run}</td><td>${f(s.train_samples_per_s, 0)}</td><td>${f(m.codes / n, 1)}</td><td>${f(m.steps / n, 2)}</td><td>${f((m.optimizerState + m.stepOptimizerState) / n, 1)}</td><td>${f(m.bytesPerRow, 1)}</td><td>${s.code_histogram ? (100 * s.code_histogram.at_limits).toFixed(2) + '%' : ''}</td><td>${esc(be)}</td></tr>`;
  });
  return `<table id="run-table">${head}${rows.join('')}</table>`;
}

/** The whole page as a string. */
export async function renderReportHtml(d: ReportData): Promise<string> {
  const c = allCharts(d);
  const section = async (title: string, intro: string, charts: Chart[], empty: string) =>
    `<section><h2>${esc(title)}</h2><p class="muted">${esc(intro)}</p>${charts.length ? `<div class="grid">${(await Promise.all(charts.map(figure))).join('')}</div>` : `<p class="muted">${esc(empty)}</p>`}</section>`;
  const first = d.runs[0].summary;
  const cfg = d.config
    ? `<p class="muted">Config: ${esc(['model', 'dim', 'mlp', 'batch', 'lr', 'sparseOptimizer', 'stepDtype', 'stepLr', 'epochs'].filter((k) => d.config![k] !== undefined).map((k) => `${k} ${Array.isArray(d.config![k]) ? (d.config![k] as unknown[]).join(',') : d.config![k]}`).join(', '))}</p>`
    : '';
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(d.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(d.title)}</h1>`,
    `<p class="muted">${d.runs.length} run(s) from ${esc(d.sources.join(', '))}; model ${esc(first.model)}, dim ${first.dim}, ${first.fields} fields, ${first.rows} embedding rows, ${first.train_rows} training rows. Generated ${esc(new Date().toISOString())} by <code>alpt report</code>.</p>`,
    cfg,
    '<section><h2>Accuracy against memory</h2>',
    await figure(c.headline),
    gridTable(d),
    '</section>',
    await section('Training curves', 'From each run\'s metrics.jsonl (run folders) or the curve in its summary (compare results).', c.curves, 'No training curves recorded.'),
    await section('Step sizes', 'Per-row step sizes Δ of the low-precision tables at the end of training (first seed of each method and bit width).', c.steps, 'No low-precision run with per-row step sizes.'),
    await section('Code usage', 'How the packed integer codes are used at the end of training, and how many sit at the clip limits.', c.codes, 'No low-precision run with packed codes.'),
    await section('Speed and memory', 'Training throughput and the table\'s bytes per row (codes, step sizes, optimizer state).', c.speed, ''),
    `<section><h2>Runs</h2>${runTable(d)}</section>`,
    '</body></html>',
  ];
  return parts.join('\n') + '\n';
}
