/**
 * The catalog's migrations, oldest first. Append only: a released migration
 * is never edited or removed.
 */
import type { MigrationInterface } from 'typeorm';
import { InitialCatalog1764000000000 } from './1764000000000-InitialCatalog.js';
import { ProtectionGroups1795614641094 } from './1795614641094-ProtectionGroups.js';
import { VaultService1795620000000 } from './1795620000000-VaultService.js';

export const MIGRATIONS: (new () => MigrationInterface)[] = [
  InitialCatalog1764000000000,
  ProtectionGroups1795614641094,
  VaultService1795620000000,
];
