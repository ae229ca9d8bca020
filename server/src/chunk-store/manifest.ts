/**
 * index/MANIFEST.json: which index runs are current, the table of packs whose
 * entries are in those runs, tombstoned (deleted) pack ids, and the id
 * high-water marks. Always replaced whole with writeFileDurable.
 */
import { promises as fsp } from 'node:fs';
import { writeFileDurable } from '../util/durable.js';
import { errnoCode, StoreFormatError } from './errors.js';
import { MANIFEST_FORMAT_NAME, MANIFEST_VERSION } from './format.js';

export interface RunInfo { id: number; count: number }
export interface PackInfo { chunks: number; bytes: number }

export interface Manifest {
  nextPackId: number;
  nextRunId: number;
  runs: RunInfo[];
  /** Packs whose entries live in the runs: id → chunk count and bytes. */
  packs: Map<number, PackInfo>;
  /** Deleted packs; index entries pointing into them are ignored. */
  tombstones: Set<number>;
}

export function emptyManifest(): Manifest {
  return { nextPackId: 1, nextRunId: 1, runs: [], packs: new Map(), tombstones: new Set() };
}

interface ManifestJson {
  format: string;
  version: number;
  nextPackId: number;
  nextRunId: number;
  runs: RunInfo[];
  packs: Array<[number, number, number]>;
  tombstones: number[];
}

export async function readManifest(storeDir: string, file: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  let j: ManifestJson;
  try {
    j = JSON.parse(text) as ManifestJson;
  } catch {
    throw new StoreFormatError(storeDir, file, 'not valid JSON');
  }
  if (j.format !== MANIFEST_FORMAT_NAME) throw new StoreFormatError(storeDir, file, 'not an index manifest');
  if (j.version !== MANIFEST_VERSION) throw new StoreFormatError(storeDir, file, `unsupported version ${j.version}`);
  return {
    nextPackId: j.nextPackId,
    nextRunId: j.nextRunId,
    runs: j.runs,
    packs: new Map(j.packs.map(([id, chunks, bytes]) => [id, { chunks, bytes }])),
    tombstones: new Set(j.tombstones),
  };
}

export async function writeManifest(file: string, m: Manifest): Promise<void> {
  const j: ManifestJson = {
    format: MANIFEST_FORMAT_NAME,
    version: MANIFEST_VERSION,
    nextPackId: m.nextPackId,
    nextRunId: m.nextRunId,
    runs: m.runs,
    packs: [...m.packs].sort((a, b) => a[0] - b[0]).map(([id, p]) => [id, p.chunks, p.bytes]),
    tombstones: [...m.tombstones].sort((a, b) => a - b),
  };
  await writeFileDurable(file, Buffer.from(JSON.stringify(j)));
}
