import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs script without types
import { check } from '../../scripts/check-imports.mjs';

describe('dependency direction', () => {
  it('no package imports against the layering of DESIGN.md', () => {
    expect(check()).toEqual([]);
  });
});
