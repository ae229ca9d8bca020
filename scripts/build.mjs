#!/usr/bin/env node
// Bundles the two programs with esbuild into plain JavaScript — what a
// production install runs (no TypeScript transform at start-up):
//   server/dist/strata.mjs        (+ lazily loaded chunks: `strata server` code
//                                  loads only for that command)
//   agent/dist/strata-agent.mjs
// npm dependencies stay external (native addons such as better-sqlite3 and
// zstd-napi must load from node_modules); the workspace packages are inlined,
// except the agent's addon (@strata/native).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deps = (pkg) => Object.keys(JSON.parse(fs.readFileSync(path.join(root, pkg, 'package.json'), 'utf8')).dependencies ?? {}).filter((d) => !d.startsWith('@strata/'));

const common = {
  bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, logLevel: 'warning',
  // Node's ESM has no require(); some CommonJS dependencies inlined by esbuild need one.
  banner: { js: "import { createRequire as __strataCreateRequire } from 'node:module'; const require = __strataCreateRequire(import.meta.url);" },
};

export async function buildAll() {
  for (const [pkg, entry, name] of [['server', 'server/src/cli/main.ts', 'strata'], ['agent', 'agent/src/cli/main.ts', 'strata-agent']]) {
    const outdir = path.join(root, pkg, 'dist');
    fs.rmSync(outdir, { recursive: true, force: true });
    await build({
      ...common, entryPoints: { [name]: path.join(root, entry) }, outdir, splitting: true, outExtension: { '.js': '.mjs' },
      // @strata/native is a workspace package but a native addon: it loads from node_modules (agent/native/build).
      external: [...deps(pkg), 'pg-native', '@strata/native'],
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await buildAll();
  console.log('built server/dist/strata.mjs and agent/dist/strata-agent.mjs');
}
