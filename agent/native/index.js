'use strict';
// Loads the compiled addon (node-gyp puts it in build/Release during `npm ci`).
// The wrapper the agent uses (queueing, parameters from params.ts) is
// agent/src/chunker/native.ts; this file only finds the binary.
module.exports = require('./build/Release/strata_native.node');
