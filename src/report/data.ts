// Data gathering for `alpt report`: run folders (summary.json + metrics.jsonl) and compare result
// folders (runs.jsonl / compare.json) become one list of runs plus the grid of method × bits.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CurvePoint, TrainSummary } from '../train/trainer.js';
import { fp32AdamBytesPerRow, summarizeGrid, type GridRow } from '../train/compare-table.js';

export interface ReportRun {
  /** Short label, e.g. `alpt-4 seed 2` or the run folder's name. */
  id: string;
  /** `alpt-4`, `fp32`: the grid cell the run belongs to. */
  group: string;
  summary: TrainSummary;
  curve: CurvePoint[];
  /** Where it came from (a run folder or a runs.jsonl). */
  source: string;
}

export interface ReportData {
  title: string;
  sources: string[];
  runs: ReportRun[];
  grid: GridRow[];
  /** The reference: fp32 weights + Adam (m, v), bytes per row at the runs' dim. */
  fp32AdamBytesPerRow: number;
  /** The compare grid's config when known (compare.json). */
  config: Record<string, unknown> | null;
}

export const groupOf = (s: Pick<TrainSummary, 'embedding' | 'bits'>): string => (s.embedding === 'fp32' ? 'fp32' : `${s.embedding}-${s.bits}`);

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new Error(`${path}:${i + 1}: not a JSON line`);
      }
    });
}

/** metrics.jsonl lines: epoch records (train_loss) and --eval-every records, in file order. */
export function readCurve(path: string): CurvePoint[] {
  return readJsonl<CurvePoint>(path).filter((r) => typeof r.epoch === 'number' && typeof r.step === 'number');
}

function runsFromSummaries(list: TrainSummary[], source: string): ReportRun[] {
  return list.map((s) => ({ id: `${groupOf(s)} seed ${s.seed}`, group: groupOf(s), summary: s, curve: s.curve ?? [], source }));
}

/** One path: a run folder, a compare results folder, a runs.jsonl / compare.json / summary.json file. */
export function readSource(path: string): { runs: ReportRun[]; config: Record<string, unknown> | null } {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`${path}: no such file or folder`);
  if (statSync(p).isDirectory()) {
    if (existsSync(join(p, 'summary.json'))) {
      const s = JSON.parse(readFileSync(join(p, 'summary.json'), 'utf8')) as TrainSummary;
      const m = join(p, 'metrics.jsonl');
      const curve = existsSync(m) ? readCurve(m) : s.curve ?? [];
      return { runs: [{ id: basename(p), group: groupOf(s), summary: s, curve, source: path }], config: null };
    }
    if (existsSync(join(p, 'runs.jsonl'))) {
      const config = existsSync(join(p, 'compare.json')) ? (JSON.parse(readFileSync(join(p, 'compare.json'), 'utf8')).config ?? null) : null;
      return { runs: runsFromSummaries(readJsonl<TrainSummary>(join(p, 'runs.jsonl')), path), config };
    }
    if (existsSync(join(p, 'compare.json'))) return readSource(join(p, 'compare.json'));
    throw new Error(`${path}: neither a run folder (summary.json) nor compare results (runs.jsonl, compare.json)`);
  }
  if (p.endsWith('.jsonl')) return { runs: runsFromSummaries(readJsonl<TrainSummary>(p), path), config: null };
  const j = JSON.parse(readFileSync(p, 'utf8'));
  if (Array.isArray(j.runs)) return { runs: runsFromSummaries(j.runs as TrainSummary[], path), config: j.config ?? null };
  if (typeof j.test_auc !== 'undefined' && typeof j.embedding === 'string') return { runs: runsFromSummaries([j as TrainSummary], path), config: null };
  throw new Error(`${path}: not a summary.json, compare.json or runs.jsonl`);
}

export function gatherReport(paths: string[], title?: string): ReportData {
  if (paths.length === 0) throw new Error('report: give at least one run folder or compare results folder');
  const runs: ReportRun[] = [];
  let config: Record<string, unknown> | null = null;
  for (const path of paths) {
    const r = readSource(path);
    runs.push(...r.runs);
    config ??= r.config;
  }
  if (runs.length === 0) throw new Error(`report: no runs in ${paths.join(', ')}`);
  // Run ids must be unique (two folders may hold the same method, bits and seed).
  const seen = new Map<string, number>();
  for (const r of runs) {
    const n = seen.get(r.id) ?? 0;
    seen.set(r.id, n + 1);
    if (n > 0) r.id = `${r.id} (${n + 1})`;
  }
  const dim = runs[0].summary.dim;
  const ref = fp32AdamBytesPerRow(dim);
  const first = runs[0].summary;
  return {
    title: title ?? `alpt report: ${first.model}, dim ${dim}, ${runs.length} run${runs.length === 1 ? '' : 's'}`,
    sources: paths,
    runs,
    grid: summarizeGrid(runs.map((r) => r.summary), ref),
    fp32AdamBytesPerRow: ref,
    config,
  };
}
