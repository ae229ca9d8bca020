/** V8's old-generation growth for a daemon (heap.js): `percent`, unless `env[envName]` gives another (0: V8's own). Returns the log line's text. */
export function tuneHeapGrowing(envName: string, percent: number, env?: NodeJS.ProcessEnv): string;
