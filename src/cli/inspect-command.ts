// `alpt inspect FILE`: what a model (or checkpoint) file holds — config, fields, rows, bytes per
// part, checksums, the training summary — after verifying every byte.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '../util/safetensors.js';
import { readTensorFile } from '../util/tensor-file.js';

export function inspectFile(path: string): Record<string, unknown> {
  const { meta } = readTensorFile(path); // verifies version, kind and checksums
  const buf = readFileSync(path);
  const file = decodeSafetensors(buf, path);
  const parts: Record<string, number> = { header: 8 + file.headerBytes };
  const partOf = (name: string): string => {
    if (name.startsWith('table.main.')) return name.slice('table.'.length).replace('main.', 'table ');
    if (name.startsWith('table.first.')) return 'first-order weights';
    if (name.startsWith('param.')) return 'dense parameters';
    if (name.startsWith('buffer.')) return 'batchnorm statistics';
    if (name.startsWith('vocab.')) return 'vocabulary';
    if (name.startsWith('dense.')) return 'dense optimizer state';
    if (name.startsWith('best.')) return 'best weights';
    return name;
  };
  for (const [name, t] of Object.entries(file.tensors)) {
    const p = partOf(name);
    parts[p] = (parts[p] ?? 0) + (t.end - t.start);
  }
  const rows: number = meta.vocab?.totalRows ?? 0;
  const table = meta.table ?? null;
  const tableBytes = Object.entries(file.tensors).filter(([n]) => n.startsWith('table.main.')).reduce((s, [, t]) => s + t.end - t.start, 0);
  return {
    file: path,
    kind: meta.kind,
    bytes: file.size,
    sha256: createHash('sha256').update(buf).digest('hex'),
    header_crc32: file.metadata['alpt.header_crc32'],
    model: meta.config?.model,
    embedding: meta.config?.embedding,
    bits: table?.bits ?? meta.config?.bits,
    dim: meta.config?.dim,
    mlp: meta.config?.mlp,
    format: meta.input?.format ?? meta.config?.format ?? null,
    rows,
    fields: (meta.vocab?.fieldNames ?? []).map((name: string, j: number) => ({ name, size: meta.vocab.fieldSizes[j] })),
    hash: meta.vocab?.hash ?? null,
    parts,
    table_bytes_per_row: rows > 0 ? tableBytes / rows : null,
    fp32_table_bytes_per_row: meta.config ? meta.config.dim * 4 : null,
    summary: meta.summary ?? null,
  };
}

export function runInspect(path: string, o: { json?: boolean }): void {
  const r = inspectFile(path);
  if (o.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const kb = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
  const out: string[] = [];
  out.push(`${r.file}: alpt ${r.kind}, ${kb(r.bytes as number)} (${r.bytes} bytes), checksums verified`);
  out.push(`  sha256 ${r.sha256}`);
  out.push(`  model ${r.model}, embedding ${r.embedding}${r.bits !== 32 ? ` ${r.bits}-bit` : ''}, dim ${r.dim}, mlp ${(r.mlp as number[] | undefined)?.join(',') ?? '-'}, input format ${r.format}`);
  const fields = r.fields as { name: string; size: number }[];
  out.push(`  ${r.rows} embedding rows in ${fields.length} fields: ${fields.map((f) => `${f.name} ${f.size}`).join(', ')}`);
  const h = r.hash as { version: number; seed: number } | null;
  if (h) out.push(`  hashed ids (no vocabulary): hash version ${h.version}, seed ${h.seed}; field sizes above are the rows per field`);
  out.push('  bytes by part:');
  for (const [p, b] of Object.entries(r.parts as Record<string, number>)) out.push(`    ${p.padEnd(24)} ${String(b).padStart(12)}  ${kb(b)}`);
  if (r.table_bytes_per_row !== null) out.push(`  table: ${(r.table_bytes_per_row as number).toFixed(2)} bytes/row (fp32: ${r.fp32_table_bytes_per_row})`);
  const s = r.summary as Record<string, unknown> | null;
  if (s) out.push(`  training: test AUC ${s.test_auc}, test logloss ${s.test_logloss}, best epoch ${s.best_epoch} of ${s.epochs_run}, ${s.train_rows} train rows`);
  process.stdout.write(out.join('\n') + '\n');
}
