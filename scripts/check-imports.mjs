#!/usr/bin/env node
// Enforces the dependency direction of DESIGN.md: agent and server depend on
// protocol, never on each other; protocol depends on neither; inside the
// server, the chunk store and catalog import nothing above them. A wrong import
// is an error with the reason.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RULES = [
  { dir: 'protocol/src', forbid: [/@strata\/(server|agent)/, /\/(server|agent)\/src\//], why: 'the protocol is shared by agent and server and depends on neither' },
  { dir: 'agent/src', forbid: [/@strata\/server/, /(\.\.\/)+server\//], why: 'the agent talks to the server only over the wire protocol' },
  { dir: 'server/src', forbid: [/@strata\/agent/, /(\.\.\/)+agent\//], why: 'the server drives agents only over the wire protocol' },
  // (@strata/native, the small addon in agent/native, is shared: the server takes its allocator settings from it.)
  { dir: 'server/src/chunk-store', forbid: [/\.\.\/(api|gateway|jobs|cli|services|catalog)\//], why: 'the chunk store is a bottom layer: it imports nothing above it' },
  { dir: 'server/src/catalog', forbid: [/\.\.\/(api|gateway|jobs|cli|services|chunk-store)\//], why: 'the catalog is a bottom layer: it imports nothing above it' },
];

export function check() {
  const problems = [];
  for (const rule of RULES) {
    const base = path.join(root, rule.dir);
    if (!fs.existsSync(base)) continue;
    for (const file of walk(base)) {
      const src = fs.readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (rule.forbid.some((re) => re.test(m[1]))) problems.push(`${path.relative(root, file)}: imports '${m[1]}': ${rule.why}`);
      }
    }
  }
  return problems;
}

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) yield p;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const problems = check();
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}
