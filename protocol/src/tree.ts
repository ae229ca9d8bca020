/** The recovery-point tree: one Tree message per directory, stored as chunks. */
import type { Tree } from './messages.js';
import { TreeType } from './schema.js';

const OPTS = { longs: Number, enums: Number, bytes: Buffer, defaults: true, arrays: true } as const;

export function encodeTree(tree: Tree): Uint8Array {
  return TreeType.encode(TreeType.fromObject(tree)).finish();
}

export function decodeTree(data: Uint8Array): Tree {
  return TreeType.toObject(TreeType.decode(data), OPTS) as unknown as Tree;
}
