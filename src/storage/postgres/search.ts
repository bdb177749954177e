import type pg from 'pg';
import type { TemplateHit } from '../../core/gallery/types.js';
import { floatsOf } from '../common.js';
import { mapError, vectorLiteral } from './sql.js';

/**
 * pgvector only: the top-k subject templates by cosine, in SQL (HNSW on halfvec, iterative scan so that a
 * metadata filter still yields k rows), over-fetched and reranked exactly on the float32 templates.
 */
export async function searchTemplatesInSql(c: pg.PoolClient, location: string, collection: string, query: Float32Array, k: number, where?: Record<string, unknown>): Promise<TemplateHit[]> {
  const fetch = Math.max(4 * k, 40);
  try {
    await c.query('BEGIN');
    await c.query(`SET LOCAL hnsw.ef_search = ${Math.max(fetch, 100)}`);
    await c.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
    const rows = (
      await c.query<{ id: string; name: string; metadata: Record<string, unknown>; template: Buffer }>(
        `SELECT id, name, metadata, template FROM faceprint_subjects
         WHERE template_vec IS NOT NULL AND collection = $3 ${where ? 'AND metadata @> $4' : ''}
         ORDER BY template_vec <=> $1 LIMIT $2`,
        [vectorLiteral(query), fetch, collection, ...(where ? [where] : [])],
      )
    ).rows;
    await c.query('COMMIT');
    let qn = 0;
    for (let i = 0; i < query.length; i++) qn += query[i] * query[i];
    qn = Math.sqrt(qn) || 1;
    return rows
      .map((r) => {
        const t = floatsOf(r.template);
        let s = 0;
        for (let i = 0; i < t.length; i++) s += t[i] * query[i];
        return { id: r.id, name: r.name, metadata: r.metadata, score: s / qn };
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw mapError(e, location);
  }
}
