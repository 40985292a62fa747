// The CSV schema file (--schema) as a declared zod schema, so a typo ("categoricals") or an unknown
// bucket rule is refused by name instead of silently reading the wrong columns.
import { z } from 'zod';

const column = z.union([z.string().min(1), z.number().int().min(0)]);

export const NUMERIC_RULES = ['log2', 'criteo', 'identity'] as const;

export const NUMERIC_COLUMN_SCHEMA = z.strictObject({
  column: column.describe('column name (with a header) or 0-based index'),
  buckets: z
    .array(z.number())
    .min(1)
    .refine((b) => b.every((x, i) => i === 0 || b[i - 1] < x), 'bucket boundaries must be strictly increasing')
    .optional()
    .describe('sorted boundaries: bucket b holds values in [buckets[b-1], buckets[b])'),
  rule: z.enum(NUMERIC_RULES).optional().describe('bucketing rule when no buckets are given (default identity)'),
});

export const CSV_SCHEMA = z.strictObject({
  delimiter: z.string().length(1).optional().describe('one character (default ",")'),
  header: z.boolean().optional().describe('the first line names the columns (default true)'),
  label: column.describe('the label column'),
  categorical: z.array(column).describe('categorical columns'),
  numeric: z.array(NUMERIC_COLUMN_SCHEMA).optional().describe('numeric columns, bucketed into categories'),
  labelThreshold: z.number().optional().describe('label >= threshold → 1, else 0'),
});
