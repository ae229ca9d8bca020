/**
 * Column types and value transformers shared by the entity schemas. The two
 * engines differ only in the timestamp type: `timestamptz` on PostgreSQL,
 * `datetime` (UTC text "YYYY-MM-DD HH:MM:SS.SSS", sortable) on SQLite; TypeORM
 * converts both to and from Date. Migrations keep their own frozen copy of
 * these choices; test/catalog checks that the two agree.
 */
import { FindOperator, type EntitySchemaColumnOptions, type ValueTransformer } from 'typeorm';

export type Engine = 'sqlite' | 'postgres';

/** bigint columns: pg hands them back as strings, better-sqlite3 as numbers. */
export const bigintToNumber: ValueTransformer = {
  to(value: unknown) {
    if (value === null || value === undefined) return value;
    if (value instanceof FindOperator) return value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new TypeError(`catalog: size/count must be a safe integer, got ${String(value)}`);
    }
    return value;
  },
  from(value: unknown) {
    if (value === null || value === undefined) return value;
    const n = typeof value === 'bigint' ? Number(value) : Number(value as string | number);
    if (!Number.isSafeInteger(n)) throw new TypeError(`catalog: stored integer ${String(value)} is not a safe JS integer`);
    return n;
  },
};

/** JSON kept in a text column; a JS null is stored as SQL NULL. */
export const jsonText: ValueTransformer = {
  to(value: unknown) {
    if (value === null || value === undefined) return value; // SQL NULL, not the text "null"
    if (value instanceof FindOperator) return value;
    return JSON.stringify(value);
  },
  from(value: unknown) {
    if (value === null || value === undefined) return value;
    return JSON.parse(value as string) as unknown;
  },
};

export interface ColumnKit {
  id(name: string, opts?: { primary?: boolean; nullable?: boolean }): EntitySchemaColumnOptions;
  timestamp(name: string, opts?: { nullable?: boolean }): EntitySchemaColumnOptions;
  bigint(name: string, opts?: { nullable?: boolean }): EntitySchemaColumnOptions;
  integer(name: string): EntitySchemaColumnOptions;
  varchar(name: string, length: number, opts?: { nullable?: boolean }): EntitySchemaColumnOptions;
  text(name: string, opts?: { nullable?: boolean }): EntitySchemaColumnOptions;
  json(name: string, opts?: { nullable?: boolean }): EntitySchemaColumnOptions;
  boolean(name: string): EntitySchemaColumnOptions;
}

export function columnKit(engine: Engine): ColumnKit {
  return {
    id: (name, opts) => ({
      name,
      type: 'varchar',
      length: 36,
      primary: opts?.primary ?? false,
      nullable: opts?.nullable ?? false,
    }),
    timestamp: (name, opts) => ({
      name,
      type: engine === 'postgres' ? 'timestamptz' : 'datetime',
      nullable: opts?.nullable ?? false,
    }),
    bigint: (name, opts) => ({ name, type: 'bigint', nullable: opts?.nullable ?? false, transformer: bigintToNumber }),
    integer: (name) => ({ name, type: 'integer', nullable: false }),
    varchar: (name, length, opts) => ({ name, type: 'varchar', length, nullable: opts?.nullable ?? false }),
    text: (name, opts) => ({ name, type: 'text', nullable: opts?.nullable ?? false }),
    json: (name, opts) => ({ name, type: 'text', nullable: opts?.nullable ?? false, transformer: jsonText }),
    boolean: (name) => ({ name, type: 'boolean', nullable: false }),
  };
}
