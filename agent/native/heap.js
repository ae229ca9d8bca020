'use strict';
// The daemons' V8 heap policy: after a full collection V8's old generation may
// grow to (1 + percent / 100) times what survived (--heap-growing-percent).
// Why each daemon sets it: agent/src/util/memory.ts and server/src/util/heap.ts.
// Plain JavaScript, kept apart from index.js: it must apply even where the
// addon's binary did not build.
const { setFlagsFromString } = require('node:v8');

/**
 * Applies the policy unless the environment variable `envName` says otherwise
 * (another percentage; 0 keeps V8's own schedule); returns what is in force,
 * for the start-up log line.
 */
function tuneHeapGrowing(envName, percent, env = process.env) {
  const v = env[envName];
  const pct = v === undefined || v === '' ? percent : Number(v);
  if (!Number.isInteger(pct) || pct <= 0) return "V8's own heap growing";
  setFlagsFromString(`--heap-growing-percent=${pct}`);
  return `old generation grows to ${1 + pct / 100}x its live size between full collections`;
}

module.exports = { tuneHeapGrowing };
