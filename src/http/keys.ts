import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { FaceprintError } from '../core/errors.js';

/** read: analyse, verify, identify, browse. write: also enrol, edit, delete, cluster. admin: also metrics, calibration. */
export type Scope = 'read' | 'write' | 'admin';
const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** sha256 of the secret part, hex: the key itself is shown once, at creation, and never stored. */
  sha256: string;
  createdAt: string;
  revokedAt?: string;
}

interface KeyFile {
  version: 1;
  keys: ApiKeyRecord[];
}

/** What a request carries once its key checks out. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: ReadonlySet<Scope>;
}

const KEY_PATTERN = /^fp_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

/** Each scope includes the ones before it. */
function expandScopes(scopes: readonly Scope[]): Set<Scope> {
  const rank = Math.max(...scopes.map((s) => SCOPES.indexOf(s)));
  return new Set(SCOPES.slice(0, rank + 1));
}

export function parseScopes(text: string): Scope[] {
  const scopes = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of scopes) {
    if (!SCOPES.includes(s as Scope)) throw new FaceprintError('INVALID_INPUT', `unknown scope ${JSON.stringify(s)} (read, write, admin)`);
  }
  if (scopes.length === 0) throw new FaceprintError('INVALID_INPUT', 'a key needs at least one scope (read, write, admin)');
  return scopes as Scope[];
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/**
 * API keys in a JSON file (mode 0600), hashed. Keys are 256-bit random secrets, so one sha256 is enough (no slow
 * hash: there is no password to guess). The server re-reads the file when it changes, so `faceprint keys revoke`
 * takes effect on a running server within a second.
 */
export class KeyStore {
  readonly path: string;
  private records: ApiKeyRecord[] = [];
  private loadedMtime = -1;
  private checkedAt = 0;

  private constructor(path: string) {
    this.path = path;
  }

  static async open(path: string): Promise<KeyStore> {
    const ks = new KeyStore(path);
    await ks.reload(true);
    return ks;
  }

  list(): ApiKeyRecord[] {
    return this.records.map((r) => ({ ...r, scopes: [...r.scopes] }));
  }

  /** Active (not revoked) keys. */
  get activeCount(): number {
    return this.records.filter((r) => !r.revokedAt).length;
  }

  /** Creates a key; returns its record and the key, which is not kept anywhere. */
  async create(name: string, scopes: Scope[]): Promise<{ record: ApiKeyRecord; key: string }> {
    await this.reload(true);
    if (!name.trim()) throw new FaceprintError('INVALID_INPUT', 'a key needs a name');
    // names are how keys are revoked: two active keys never share one
    if (this.records.some((r) => !r.revokedAt && r.name === name)) throw new FaceprintError('INVALID_INPUT', `an active key is already named ${JSON.stringify(name)}; choose another name or revoke it first`);
    const id = randomBytes(5).toString('hex').slice(0, 8);
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = { id, name, scopes, sha256: digest(secret).toString('hex'), createdAt: new Date().toISOString() };
    this.records.push(record);
    await this.save();
    return { record, key: `fp_${id}_${secret}` };
  }

  /** Revokes the key with this id, or the one active key with this name; a name shared by several is refused. */
  async revoke(ref: string): Promise<ApiKeyRecord> {
    await this.reload(true);
    let r = this.records.find((k) => k.id === ref);
    if (!r) {
      const named = this.records.filter((k) => k.name === ref);
      const active = named.filter((k) => !k.revokedAt);
      if (active.length > 1) throw new FaceprintError('INVALID_INPUT', `${active.length} active keys are named ${JSON.stringify(ref)} (ids ${active.map((k) => k.id).join(', ')}): revoke each by its id`);
      r = active[0] ?? named[0];
    }
    if (!r) throw new FaceprintError('INVALID_INPUT', `no key with id or name ${JSON.stringify(ref)}`);
    r.revokedAt ??= new Date().toISOString();
    await this.save();
    return r;
  }

  /** The principal for a presented key, or null (unknown, malformed, revoked). */
  async authenticate(presented: string): Promise<Principal | null> {
    await this.reload(false);
    const m = KEY_PATTERN.exec(presented);
    if (!m) return null;
    const r = this.records.find((k) => k.id === m[1]);
    if (!r || r.revokedAt) return null;
    if (!timingSafeEqual(digest(m[2]), Buffer.from(r.sha256, 'hex'))) return null;
    return { keyId: r.id, name: r.name, scopes: expandScopes(r.scopes) };
  }

  // Synchronous on purpose (a small file, at most once a second): authentication must never wait behind image
  // decodes in libuv's thread pool, where fs/promises would queue it.
  private async reload(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let mtime: number | null;
    try {
      mtime = statSync(this.path).mtimeMs;
    } catch {
      mtime = null;
    }
    if (mtime === null) {
      this.records = [];
      this.loadedMtime = -1;
      return;
    }
    if (!force && mtime === this.loadedMtime) return;
    let file: KeyFile;
    try {
      file = JSON.parse(readFileSync(this.path, 'utf8')) as KeyFile;
    } catch (e) {
      throw new FaceprintError('STORE_INVALID', `${this.path}: not a faceprint key file (${(e as Error).message})`);
    }
    if (file.version !== 1 || !Array.isArray(file.keys)) throw new FaceprintError('STORE_INVALID', `${this.path}: not a faceprint key file`);
    this.records = file.keys;
    this.loadedMtime = mtime;
  }

  private async save(): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: 1, keys: this.records } satisfies KeyFile, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path);
    this.loadedMtime = (await stat(this.path)).mtimeMs;
  }
}
