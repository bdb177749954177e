import type pg from 'pg';
import { FaceprintError } from '../../core/errors.js';

/** Advisory lock keys: schema creation, and the single-writer lock that makes change seqs commit in order. */
export const SCHEMA_LOCK = 0x6661_6365;
export const WRITE_LOCK = 0x6661_6366;
/** The LISTEN/NOTIFY channel writers notify at commit. */
export const CHANNEL = 'faceprint_changes';

/** Anything that runs a query: the pool or one of its clients. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

export async function logChange(c: Queryable, collection: string, kind: 'template' | 'face', ref: string): Promise<void> {
  await c.query('INSERT INTO faceprint_changes (kind, ref, collection) VALUES ($1, $2, $3)', [kind, ref, collection]);
}

export async function setMeta(c: Queryable, key: string, value: unknown): Promise<void> {
  await c.query('INSERT INTO faceprint_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
}

export function vectorLiteral(v: Float32Array): string {
  return `[${Array.from(v).join(',')}]`;
}

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

/** pg's errors as FaceprintErrors: busy (retry), name taken, unreachable; anything else unchanged. */
export function mapError(e: unknown, location: string): unknown {
  if (e instanceof FaceprintError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (code === '55P03' || code === '40P01' || code === '40001') return new FaceprintError('STORE_BUSY', `gallery ${location} is busy (${code}); retry`, { cause: e });
  if (code === '23505' && /collections_pkey/.test((e as Error).message)) return new FaceprintError('COLLECTION_EXISTS', `gallery ${location}: ${(e as Error).message}`, { cause: e });
  if (code === '23505') return new FaceprintError('SUBJECT_EXISTS', `gallery ${location}: ${(e as Error).message}`, { cause: e });
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000' || code === '57P01') {
    return new FaceprintError('STORE_UNAVAILABLE', `cannot reach gallery ${location}: ${(e as Error).message}`, { cause: e });
  }
  if (/^[0-9A-Z]{5}$/.test(code)) return new FaceprintError('STORE_UNAVAILABLE', `gallery ${location}: ${(e as Error).message} (${code})`, { cause: e });
  return e;
}
