#!/usr/bin/env node
// Runs the TypeScript agent through tsx (no build step).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
