import pg from 'pg';
import type { IndexChange } from '../../core/gallery/types.js';
import { faceChange, templateChange, type FaceRow, type SubjectRow } from '../common.js';
import { CHANNEL, mapError } from './sql.js';

/**
 * One LISTEN connection per store for other processes' commits; it marks every collection's feed of that store
 * dirty (a commit of one collection costs the others one indexed max(seq) read).
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  readonly feeds = new Set<ChangeFeed>();

  get listening(): boolean {
    return this.client !== null;
  }

  async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', () => this.markAll());
    client.on('error', () => {
      this.client = null;
      this.markAll();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
    } catch {
      await client.end().catch(() => undefined);
    }
  }

  private markAll(): void {
    for (const f of this.feeds) f.markDirty();
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => undefined);
  }
}

/**
 * What changed in one collection since a sequence number, for the processes' in-memory indexes: while the
 * listener has heard nothing, one indexed max(seq) read confirms that nothing committed (a NOTIFY can arrive after
 * another process's commit is already visible); otherwise the changed rows are read in one REPEATABLE READ snapshot.
 */
export class ChangeFeed {
  private dirty = true;

  constructor(
    private readonly pool: pg.Pool,
    private readonly location: string,
    /** True when this collection's templates are searched in SQL (pgvector): the feed then carries only the unassigned faces. */
    private readonly templatesInSql: () => boolean,
    private readonly collection: string,
    private readonly listener: ChangeListener,
  ) {
    listener.feeds.add(this);
  }

  /** This process wrote: the next read must look. */
  markDirty(): void {
    this.dirty = true;
  }

  async changesSince(seq: number): Promise<{ seq: number; changes: IndexChange[] }> {
    // No notification since we last looked: one indexed max(seq) read confirms nothing committed (a NOTIFY can
    // arrive after another process's commit is already visible, so it alone would leave a short stale window).
    if (seq > 0 && !this.dirty && this.listener.listening) {
      const head = Number((await this.pool.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes').catch((e) => { throw mapError(e, this.location); })).rows[0].s);
      if (head === seq) return { seq, changes: [] };
    }
    this.dirty = false;
    const c = await this.pool.connect().catch((e) => { throw mapError(e, this.location); });
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const head = Number((await c.query<{ s: string }>('SELECT coalesce(max(seq), 0) AS s FROM faceprint_changes')).rows[0].s);
      let changes: IndexChange[];
      const templatesHere = !this.templatesInSql();
      const col = this.collection;
      if (seq <= 0) {
        const templates = templatesHere ? (await c.query<SubjectRow>('SELECT * FROM faceprint_subjects WHERE template IS NOT NULL AND collection = $1', [col])).rows.map(templateChange) : [];
        const faces = (await c.query<FaceRow>('SELECT * FROM faceprint_faces WHERE subject_id IS NULL AND collection = $1', [col])).rows.map(faceChange);
        changes = [...templates, ...faces];
      } else {
        const changed = (await c.query<{ kind: string; ref: string }>('SELECT kind, ref FROM faceprint_changes WHERE collection = $2 AND seq > $1 GROUP BY kind, ref ORDER BY max(seq)', [seq, col])).rows;
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

  close(): void {
    this.listener.feeds.delete(this);
  }
}
