// `--help` of train and compare: show each training option's default (from DEFAULTS in
// src/train/config.ts) in its description. Only the text changes: the option gets no commander
// default, so configFromCommand still sees which flags were given (defaults ← file ← flags).

import type { Command } from 'commander';
import { DEFAULTS } from '../train/config.js';

const COMMANDS = ['train', 'compare'];

export function defaultText(key: string): string | undefined {
  const v = (DEFAULTS as unknown as Record<string, unknown>)[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? v.join(',') : 'none';
  if (typeof v === 'boolean') return undefined; // switches: their description says what they do
  return String(v);
}

export function showTrainDefaults(program: Command): void {
  for (const cmd of program.commands) {
    if (!COMMANDS.includes(cmd.name())) continue;
    for (const opt of cmd.options) {
      if (opt.defaultValue !== undefined || opt.negate) continue;
      const key = opt.attributeName();
      const text = key === 'bits' && cmd.name() === 'compare' ? '8,4,2' : defaultText(key);
      if (text !== undefined && !opt.description.includes('(default')) opt.description += ` (default: ${text})`;
    }
  }
}
