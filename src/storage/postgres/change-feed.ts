import pg from 'pg';
import type { IndexChange } from '../../core/gallery/types.js';
import { faceChange, templateChange, type FaceRow, type SubjectRow } from '../common.js';
import { CHANNEL, mapError } from './sql.js';

/**
 * What changed since a sequence number, for the processes' in-memory indexes: a dedicated connection LISTENs for
 * other processes' commits; while it has heard nothing, one indexed max(seq) read confirms that nothing committed
 * (a NOTIFY can arrive after another process's commit is already visible); otherwise the changed rows are read in
 * one REPEATABLE READ snapshot.
 */
export class ChangeFeed {
  private listener: pg.Client | null = null;
  private dirty = true;

  constructor(
    private readonly pool: pg.Pool,
    private readonly location: string,
    /** With pgvector the templates are searched in SQL: the feed carries only the unassigned faces. */
    private readonly templatesInSql: boolean,
  ) {}

  /** This process wrote: the next read must look. */
  markDirty(): void {
    this.dirty = true;
  }

  /** A dedicated connection LISTENing for other processes' commits; without it every search asks for changes. */
  async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', () => {
      this.dirty = true;
    });
    client.on('error', () => {
      this.listener = null;
      this.dirty = true;
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
    } catch {
      await client.end().catch(() => undefined);
    }
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    // No notification since we last looked: one indexed max(seq) read confirms nothing committed (a NOTIFY can
    // arrive after another process's commit is already visible, so it alone would leave a short stale window).
    if (seq > 0 && !this.dirty && this.listener) {
      const head = Number((await this.pool.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes').catch((e) => { throw mapError(e, this.location); })).rows[0].s);
      if (head === seq) return { seq, changes: [] };
    }
    this.dirty = false;
    const c = await this.pool.connect().catch((e) => { throw mapError(e, this.location); });
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const head = Number((await c.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes')).rows[0].s);
      let changes: IndexChange[];
      const templatesHere = !this.templatesInSql;
      if (seq <= 0) {
        const templates = templatesHere ? (await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE template IS NOT NULL')).rows.map(templateChange) : [];
        const faces = (await c.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id IS NULL')).rows.map(faceChange);
        changes = [...templates, ...faces];
      } else {
        const changed = (await c.query<{ kind: string; ref: string }>('SELECT kind, ref FROM faceprint_changes WHERE seq > $1 GROUP BY kind, ref ORDER BY max(seq)', [seq])).rows;
        const templateIds = changed.filter((x) => x.kind === 'template' && templatesHere).map((x) => x.ref);
        const faceIds = changed.filter((x) => x.kind === 'face').map((x) => x.ref);
        const subjects = new Map((await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE id = ANY($1::uuid[])', [templateIds])).rows.map((r) => [r.id, r]));
        const faces = new Map((await c.query<FaceRow>('SELECT * FROM faceprint_faces WHERE id = ANY($1::uuid[])', [faceIds])).rows.map((r) => [r.id, r]));
        changes = [
          ...templateIds.map((id): IndexChange => (subjects.has(id) ? templateChange(subjects.get(id)!) : { kind: 'template', id, name: '', metadata: {}, embedding: null })),
          ...faceIds.map((id): IndexChange => (faces.has(id) ? faceChange(faces.get(id)!) : { kind: 'face', id, clusterId: null, embedding: null })),
        ];
      }
      await c.query('COMMIT');
      return { seq: head, changes };
    } catch (e) {
      this.dirty = true;
      await c.query('ROLLBACK').catch(() => undefined);
      throw mapError(e, this.location);
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
  }
}
