#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';
main(process.argv).catch((e) => {
  process.stderr.write(`alpt: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.ALPT_DEBUG) console.error(e);
  process.exit(1);
});
