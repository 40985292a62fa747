// Chart specs of the report (Vega-Lite, data inline) and their rendering to SVG in Node, so the
// page shows its charts without JavaScript and without the network. Every mark layer has a name
// (`<name>_marks` in the SVG's class list), which the browser test counts.

import * as vl from 'vega-lite';
import * as vega from 'vega';
import type { ReportData, ReportRun } from './data.js';

// Vega-Lite's spec type is very wide; the specs here are plain JSON checked by vl.compile.
type Spec = Record<string, unknown>;

export interface Chart {
  id: string;
  title: string;
  /** What the chart shows, one or two sentences under it. */
  caption: string;
  spec: Spec;
  /** Mark layer name → number of marks the chart must draw (for tests). */
  marks: Record<string, number>;
}

const FONT = { font: 'DejaVu Sans, Helvetica, Arial, sans-serif' };
const base = (width = 520, height = 300): Spec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width,
  height,
  config: { ...FONT, view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } },
});

/** Test AUC against table bytes per row: one point per method × bits, mean ± std over seeds. */
export function aucVsBytes(d: ReportData): Chart {
  const rows = d.grid
    .filter((g) => Number.isFinite(g.test_auc_mean))
    .map((g) => ({
      cell: g.method === 'fp32' ? 'fp32' : `${g.method}-${g.bits}`,
      method: g.method,
      bits: g.method === 'fp32' ? 32 : g.bits,
      bytes_per_row: g.bytes_per_row,
      auc: g.test_auc_mean,
      lo: g.test_auc_mean - g.test_auc_std,
      hi: g.test_auc_mean + g.test_auc_std,
      seeds: g.seeds,
    }));
  const fp32 = d.grid.find((g) => g.method === 'fp32' && Number.isFinite(g.test_auc_mean));
  const x = { field: 'bytes_per_row', type: 'quantitative', title: 'table bytes per row (codes + steps + optimizer state)', scale: { type: 'log', nice: false } };
  const y = { field: 'auc', type: 'quantitative', title: 'test AUC', scale: { zero: false } };
  const layer: Spec[] = [
    { name: 'auc_err', mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { zero: false } }, y2: { field: 'hi' }, color: { field: 'method', type: 'nominal' } } },
    {
      name: 'auc_points',
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x, y,
        color: { field: 'method', type: 'nominal', title: 'method' },
        shape: { field: 'method', type: 'nominal' },
        tooltip: [{ field: 'cell' }, { field: 'auc', format: '.4f' }, { field: 'bytes_per_row', format: '.1f' }, { field: 'seeds' }],
      },
    },
    { name: 'auc_labels', mark: { type: 'text', dx: 8, align: 'left', fontSize: 10, color: '#444' }, encoding: { x, y, text: { field: 'bits' } } },
  ];
  const marks: Record<string, number> = { auc_points: rows.length, auc_err: rows.length, ref_bytes: 1 };
  // The reference: fp32 + Adam's bytes per row (vertical) and, when the grid has fp32, its AUC (horizontal).
  layer.push({
    name: 'ref_bytes',
    data: { values: [{ x: d.fp32AdamBytesPerRow, label: `fp32 + Adam: ${d.fp32AdamBytesPerRow} B/row` }] },
    mark: { type: 'rule', strokeDash: [5, 4], color: '#888' },
    encoding: { x: { field: 'x', type: 'quantitative' } },
  });
  if (fp32) {
    marks.ref_auc = 1;
    layer.push({
      name: 'ref_auc',
      data: { values: [{ y: fp32.test_auc_mean }] },
      mark: { type: 'rule', strokeDash: [2, 3], color: '#888' },
      encoding: { y: { field: 'y', type: 'quantitative' } },
    });
  }
  return {
    id: 'auc-vs-bytes',
    title: 'Test AUC against table bytes per row',
    caption: `Mean test AUC over seeds (bars: ± one standard deviation), labelled with the bit width. Dashed: fp32 + Adam's ${d.fp32AdamBytesPerRow} bytes per row${fp32 ? ` and the fp32 runs' AUC (${fp32.test_auc_mean.toFixed(4)})` : ''}.`,
    spec: { ...base(), data: { values: rows }, layer },
    marks,
  };
}

const METRICS = [
  { key: 'train_loss', title: 'train loss (epoch mean)' },
  { key: 'valid_auc', title: 'valid AUC' },
  { key: 'valid_logloss', title: 'valid logloss' },
] as const;

/** Training curves: one chart per metric, one line per run, x = training step. */
export function curves(d: ReportData): Chart[] {
  return METRICS.map(({ key, title }) => {
    const values = d.runs.flatMap((r) =>
      r.curve
        .filter((p) => typeof p[key] === 'number' && Number.isFinite(p[key] as number))
        .map((p) => ({ run: r.id, cell: r.group, step: p.step, epoch: p.epoch, value: p[key] as number })),
    );
    const enc = {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: 'value', type: 'quantitative', title, scale: { zero: false } },
      color: { field: 'cell', type: 'nominal', title: 'method-bits' },
      detail: { field: 'run', type: 'nominal' },
    };
    const runsWithPoints = new Set(values.map((v) => v.run)).size;
    return {
      id: `curve-${key}`,
      title: `Training curves: ${title}`,
      caption: key === 'train_loss'
        ? 'Mean training loss of each epoch, one line per run (seeds share a colour).'
        : `${title} after each epoch and at every --eval-every evaluation, one line per run.`,
      spec: {
        ...base(520, 240),
        data: { values },
        layer: [
          { name: `${key}_lines`, mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 }, encoding: enc },
          { name: `${key}_points`, mark: { type: 'point', filled: true, size: 18 }, encoding: { ...enc, tooltip: [{ field: 'run' }, { field: 'epoch' }, { field: 'step' }, { field: 'value', format: '.5f' }] } },
        ],
      },
      // One line (path) per run; one point per curve point.
      marks: { [`${key}_lines`]: runsWithPoints, [`${key}_points`]: values.length },
    };
  });
}

/** The first run of each grid cell that carries the table statistics. */
function statRuns(d: ReportData, pick: (r: ReportRun) => boolean): ReportRun[] {
  const seen = new Set<string>();
  return d.runs.filter((r) => {
    if (!pick(r) || seen.has(r.group)) return false;
    seen.add(r.group);
    return true;
  });
}

const sci = (x: number) => x.toExponential(1).replace('e-', 'e−');

/** Step sizes Δ per field at the end of training: a heat map (field × log-spaced bin) per run. */
export function stepHistograms(d: ReportData): Chart[] {
  return statRuns(d, (r) => !!r.summary.step_size_histogram).map((r) => {
    const h = r.summary.step_size_histogram!;
    const E = h.edges;
    const binLabel = (i: number) => (i === 0 ? `< ${sci(E[0])}` : i === E.length ? `≥ ${sci(E[E.length - 1])}` : `${sci(E[i - 1])}`);
    const values = h.fields.flatMap((f) => {
      const n = f.counts.reduce((s, c) => s + c, 0) || 1;
      return f.counts.map((c, i) => ({ field: f.field, bin: i, label: binLabel(i), share: c / n, rows: c }));
    });
    return {
      id: `steps-${r.group}`,
      title: `Step sizes Δ per field: ${r.id}`,
      caption: `Share of each field's rows whose final step size falls in each log-spaced bin (bin label: its lower edge). Median over all rows ${sci(median(h.fields.map((f) => f.median)))}.`,
      spec: {
        ...base(440, Math.max(120, Math.min(14 * h.fields.length, 560))),
        data: { values },
        layer: [{
          name: 'step_cells',
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'label', type: 'ordinal', title: 'step size Δ (bin lower edge)', sort: { field: 'bin' }, axis: { labelAngle: -45 } },
            y: { field: 'field', type: 'ordinal', title: 'field', sort: null },
            color: { field: 'share', type: 'quantitative', title: 'share of rows', scale: { scheme: 'blues' } },
            tooltip: [{ field: 'field' }, { field: 'label', title: 'bin' }, { field: 'rows' }, { field: 'share', format: '.3f' }],
          },
        }],
      },
      marks: { step_cells: values.length },
    };
  });
}

function median(a: number[]): number {
  const s = a.filter(Number.isFinite).sort((x, y) => x - y);
  return s.length ? s[s.length >> 1] : NaN;
}

/** Code usage at the end of training: share of codes per value; the clip limits highlighted. */
export function codeHistograms(d: ReportData): Chart[] {
  return statRuns(d, (r) => !!r.summary.code_histogram).map((r) => {
    const h = r.summary.code_histogram!;
    const total = h.counts.reduce((s, c) => s + c, 0) || 1;
    const hi = h.lo + h.counts.length - 1;
    const values = h.counts.map((c, i) => ({ code: h.lo + i, share: c / total, limit: h.lo + i === h.lo || h.lo + i === hi ? 'at a clip limit' : 'inside' }));
    const worst = [...h.fields].sort((a, b) => b.at_limits - a.at_limits).slice(0, 3);
    return {
      id: `codes-${r.group}`,
      title: `Code usage: ${r.id}`,
      caption: `Share of the table's integer codes per value (${h.bits} bits: ${h.lo} … ${hi}); ${(100 * h.at_limits).toFixed(2)}% sit at the clip limits (most: ${worst.map((w) => `${w.field} ${(100 * w.at_limits).toFixed(1)}%`).join(', ')}).`,
      spec: {
        ...base(h.counts.length > 64 ? 640 : 440, 220),
        data: { values },
        layer: [{
          name: 'code_bars',
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'code', type: 'ordinal', title: 'code value q', axis: h.counts.length > 32 ? { values: [h.lo, h.lo / 2, 0, hi >> 1, hi] } : {} },
            y: { field: 'share', type: 'quantitative', title: 'share of codes' },
            color: { field: 'limit', type: 'nominal', title: null, scale: { domain: ['inside', 'at a clip limit'], range: ['#4c78a8', '#e45756'] } },
            tooltip: [{ field: 'code' }, { field: 'share', format: '.4f' }],
          },
        }],
      },
      marks: { code_bars: values.length },
    };
  });
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);

/** Training speed per grid cell (mean over seeds) and the table memory per row, part by part. */
export function speedAndMemory(d: ReportData): Chart[] {
  const cells = [...new Set(d.runs.map((r) => r.group))];
  const speed = cells.map((c) => {
    const rs = d.runs.filter((r) => r.group === c);
    return { cell: c, samples_per_s: mean(rs.map((r) => r.summary.train_samples_per_s)), runs: rs.length };
  });
  const parts = [
    ['codes', 'codes / weights'], ['steps', 'step sizes'], ['optimizerState', 'optimizer state'],
    ['stepOptimizerState', 'step optimizer state'], ['master', 'fp32 master copy'],
  ] as const;
  const mem = cells.flatMap((c) => {
    const m = d.runs.find((r) => r.group === c)!.summary.memory;
    return parts.map(([k, label], order) => ({ cell: c, part: label, order, bytes_per_row: (m[k] ?? 0) / Math.max(1, m.rows) })).filter((v) => v.bytes_per_row > 0);
  });
  return [
    {
      id: 'speed',
      title: 'Training speed',
      caption: 'Training samples per second (mean over seeds), evaluation excluded.',
      spec: {
        ...base(440, Math.max(80, 22 * cells.length)),
        data: { values: speed },
        layer: [{
          name: 'speed_bars',
          mark: { type: 'bar', color: '#4c78a8' },
          encoding: {
            y: { field: 'cell', type: 'nominal', title: 'method-bits', sort: null },
            x: { field: 'samples_per_s', type: 'quantitative', title: 'samples / s' },
            tooltip: [{ field: 'cell' }, { field: 'samples_per_s', format: ',.0f' }, { field: 'runs' }],
          },
        }],
      },
      marks: { speed_bars: speed.length },
    },
    {
      id: 'memory',
      title: 'Table memory per row',
      caption: `Bytes per embedding row by part, from the tables' own allocations; dashed: fp32 + Adam (${d.fp32AdamBytesPerRow} B/row).`,
      spec: {
        ...base(440, Math.max(80, 22 * cells.length)),
        layer: [
          {
            name: 'memory_bars',
            data: { values: mem },
            mark: { type: 'bar' },
            encoding: {
              y: { field: 'cell', type: 'nominal', title: 'method-bits', sort: null },
              x: { field: 'bytes_per_row', type: 'quantitative', title: 'bytes per row', stack: 'zero' },
              color: { field: 'part', type: 'nominal', title: 'part', sort: parts.map((p) => p[1]) },
              order: { field: 'order' },
              tooltip: [{ field: 'cell' }, { field: 'part' }, { field: 'bytes_per_row', format: '.2f' }],
            },
          },
          {
            name: 'memory_ref',
            data: { values: [{ x: d.fp32AdamBytesPerRow }] },
            mark: { type: 'rule', strokeDash: [5, 4], color: '#888' },
            encoding: { x: { field: 'x', type: 'quantitative' } },
          },
        ],
      },
      marks: { memory_bars: mem.length, memory_ref: 1 },
    },
  ];
}

export function allCharts(d: ReportData): { headline: Chart; curves: Chart[]; steps: Chart[]; codes: Chart[]; speed: Chart[] } {
  return { headline: aucVsBytes(d), curves: curves(d), steps: stepHistograms(d), codes: codeHistograms(d), speed: speedAndMemory(d) };
}

/** Vega-Lite → Vega → SVG, headless (no canvas, no network: the data is inline). */
export async function renderSvg(spec: Spec): Promise<string> {
  const vg = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
