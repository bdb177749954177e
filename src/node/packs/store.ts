import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { faceprintHome } from '../package-info.js';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { FaceprintError } from '../../core/errors.js';
import { downloadResumable, removeQuietly, sha256File, type DownloadProgress } from './download.js';
import { INSIGHTFACE_LICENCE, MAX_PACK_FILE_BYTES, MAX_PACK_ZIP_BYTES, KNOWN_PACKS, packUrl, type PackFile, type PackSpec } from './registry.js';
import type { HeadName } from '../../core/heads/head.js';

/** Where packs live: $FACEPRINT_HOME/models (default ~/.faceprint/models). */
export function modelsHome(): string {
  return join(faceprintHome(), 'models');
}

interface LockEntry { zipSha256: string; url: string; files: Record<string, { size: number; sha256: string }>; installed: string }
type LockFile = Record<string, LockEntry>;

const lockPath = (home: string): string => join(home, 'packs.lock.json');

async function readLock(home: string): Promise<LockFile> {
  return readFile(lockPath(home), 'utf8').then((t) => JSON.parse(t) as LockFile, () => ({}));
}

async function writeLock(home: string, lock: LockFile): Promise<void> {
  const tmp = `${lockPath(home)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(lock, null, 2) + '\n');
  await rename(tmp, lockPath(home));
}

export interface PullOptions {
  home?: string;
  /** Base URL of a mirror with <pack>.zip files (default: FACEPRINT_MODEL_MIRROR, else the official release). */
  mirror?: string;
  onProgress?: (p: DownloadProgress & { stage: 'download' | 'verify' | 'extract' }) => void;
  /** Called before every download of InsightFace weights, whichever way the pull came (default: printed to stderr); false: not shown. */
  onLicence?: ((text: string) => void) | false;
  attempts?: number;
  backoffMs?: number;
  /** The per-face heads wanted (default: all): the files of the others are not extracted. A later pull that wants more adds them. */
  heads?: readonly HeadName[];
}

function packSpec(name: string): PackSpec {
  const spec = KNOWN_PACKS[name];
  if (!spec) throw new FaceprintError('PACK_UNKNOWN', `unknown pack "${name}"; known: ${Object.keys(KNOWN_PACKS).join(', ')}`);
  return spec;
}

async function installedPackDir(name: string, home = modelsHome()): Promise<string | null> {
  const dir = join(home, name);
  return stat(dir).then((s) => (s.isDirectory() ? dir : null), () => null);
}

/** The pack's files a pull installs: the detector, the recognizer and the heads wanted. */
function wantedFiles(spec: PackSpec, heads: readonly HeadName[] | undefined): PackFile[] {
  return spec.files.filter((f) => !f.head || !heads || heads.includes(f.head));
}

/** The pack directory when it holds every wanted file, else null. */
async function completePackDir(name: string, home: string, files: readonly PackFile[]): Promise<string | null> {
  const dir = await installedPackDir(name, home);
  if (!dir) return null;
  const present = new Set(await readdir(dir));
  return files.every((f) => present.has(f.name)) ? dir : null;
}

/**
 * Downloads, verifies and installs a pack: streamed with resume and retries, the zip's sha256 checked against
 * the pinned or previously recorded value, every file's size checked, extracted into a temporary directory and
 * renamed into place — so a pack directory is either complete and verified or absent. A lock file serialises
 * concurrent pulls of the same pack across processes.
 */
export async function pullPack(name: string, options: PullOptions = {}): Promise<string> {
  const spec = packSpec(name);
  const home = options.home ?? modelsHome();
  await mkdir(home, { recursive: true });
  const wanted = wantedFiles(spec, options.heads);
  const existing = await completePackDir(name, home, wanted);
  if (existing) return existing;
  const release = await acquireLock(join(home, `.${name}.lock`));
  try {
    const again = await completePackDir(name, home, wanted);
    if (again) return again;
    // A pack installed with fewer heads keeps them: the new install holds the old files and the wanted ones.
    const previous = await installedPackDir(name, home);
    const keep = new Set(previous ? await readdir(previous) : []);
    const install = spec.files.filter((f) => wanted.includes(f) || keep.has(f.name));
    const lock = await readLock(home);
    // the weights' terms, on every path that downloads them (models pull, --pack NAME, the library)
    if (options.onLicence !== false) (options.onLicence ?? ((text: string) => process.stderr.write(`faceprint: ${name}: ${text}\n`)))(INSIGHTFACE_LICENCE);
    const url = packUrl(name, options.mirror ?? process.env.FACEPRINT_MODEL_MIRROR);
    const downloads = join(home, '.downloads');
    await mkdir(downloads, { recursive: true });
    const part = join(downloads, `${name}.zip.part`);
    await downloadResumable(url, part, {
      maxBytes: spec.zipSize ?? MAX_PACK_ZIP_BYTES,
      attempts: options.attempts,
      backoffMs: options.backoffMs,
      onProgress: (p) => options.onProgress?.({ ...p, stage: 'download' }),
    });
    const zipSha = await sha256File(part);
    const expected = spec.zipSha256 ?? lock[name]?.zipSha256;
    if (expected && expected !== zipSha) {
      await removeQuietly(part);
      throw new FaceprintError('PACK_CORRUPT', `${url}: sha256 ${zipSha} does not match the ${spec.zipSha256 ? 'pinned' : 'recorded'} ${expected}; nothing installed`);
    }
    const staging = await mkdtemp(join(home, `.staging-${name}-`));
    try {
      const files = await extractOnnx(part, staging, url, new Map(install.map((f) => [f.name, f.size ?? MAX_PACK_FILE_BYTES])));
      const recorded: LockEntry['files'] = {};
      for (const f of install) {
        const got = files.get(f.name);
        if (!got) throw new FaceprintError('PACK_CORRUPT', `${url}: ${f.name} missing from the archive; nothing installed`);
        if (f.size !== undefined && got.size !== f.size) throw new FaceprintError('PACK_CORRUPT', `${url}: ${f.name} is ${got.size} bytes, expected ${f.size}; nothing installed`);
        const sha = await sha256File(join(staging, f.name));
        const want = f.sha256 ?? lock[name]?.files?.[f.name]?.sha256;
        if (want && want !== sha) throw new FaceprintError('PACK_CORRUPT', `${url}: ${f.name} sha256 ${sha} ≠ ${want}; nothing installed`);
        recorded[f.name] = { size: got.size, sha256: sha };
      }
      if (previous) {
        // Swap directories by renames so a reader never sees a half-filled pack.
        const trash = join(home, `.trash-${name}-${process.pid}`);
        await rename(previous, trash);
        await rename(staging, join(home, name));
        await rm(trash, { recursive: true, force: true });
      } else {
        await rename(staging, join(home, name));
      }
      lock[name] = { zipSha256: zipSha, url, files: recorded, installed: new Date().toISOString() };
      await writeLock(home, lock);
      await removeQuietly(part);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      if (e instanceof FaceprintError && e.code === 'PACK_CORRUPT') await removeQuietly(part);
      throw e;
    }
    return join(home, name);
  } finally {
    await release();
  }
}

/**
 * Extracts the .onnx entries named in `only` (flattening the folder some packs wrap them in) with yauzl, each
 * refused before a byte is written when its declared size passes its cap (the published size, else
 * MAX_PACK_FILE_BYTES) or it compresses like a zip bomb; yauzl checks the bytes streamed against the size declared.
 */
async function extractOnnx(zipPath: string, dir: string, label: string, only: ReadonlyMap<string, number>): Promise<Map<string, { size: number }>> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.open(zipPath, { lazyEntries: true, autoClose: true }, (err, z) => (err ? rej(new FaceprintError('PACK_CORRUPT', `${label}: not a zip archive (${err.message}); nothing installed`)) : res(z!))),
  );
  const files = new Map<string, { size: number }>();
  await new Promise<void>((resolve, reject) => {
    zip.on('error', (e) => reject(new FaceprintError('PACK_CORRUPT', `${label}: broken zip (${e.message}); nothing installed`)));
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = basename(entry.fileName);
      if (entry.fileName.endsWith('/') || !only.has(name) || name.startsWith('.')) {
        zip.readEntry();
        return;
      }
      const cap = only.get(name)!;
      if (entry.uncompressedSize > cap) {
        return reject(new FaceprintError('PACK_CORRUPT', `${label}: ${entry.fileName} would extract to ${entry.uncompressedSize} bytes, more than the ${cap} allowed; nothing installed`));
      }
      // network weights barely compress (about 1.1:1); 20:1 on a large entry is a bomb, not a model
      if (entry.uncompressedSize > 2 ** 20 && entry.uncompressedSize > 20 * entry.compressedSize) {
        return reject(new FaceprintError('PACK_CORRUPT', `${label}: ${entry.fileName} compresses ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}:1, not a model; nothing installed`));
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return reject(new FaceprintError('PACK_CORRUPT', `${label}: ${entry.fileName}: ${err?.message}`));
        pipeline(stream, createWriteStream(join(dir, name)))
          .then(() => { files.set(name, { size: entry.uncompressedSize }); zip.readEntry(); })
          .catch((e) => reject(new FaceprintError('PACK_CORRUPT', `${label}: ${entry.fileName}: ${(e as Error).message}; nothing installed`)));
      });
    });
    zip.readEntry();
  });
  return files;
}

/** An exclusive lock file (O_EXCL); a lock left by a dead process is taken over. */
async function acquireLock(path: string, timeoutMs = 30 * 60_000): Promise<() => Promise<void>> {
  const start = Date.now();
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(await readFile(path, 'utf8').catch(() => ''));
      if (holder && !isAlive(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() - start > timeoutMs) throw new FaceprintError('DOWNLOAD_FAILED', `${path}: another pull has held the lock for ${Math.round(timeoutMs / 60000)} min`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface InstalledPack { name: string; dir: string; files: { name: string; size: number }[]; recorded: boolean }

export async function listPacks(home = modelsHome()): Promise<InstalledPack[]> {
  const lock = await readLock(home);
  const entries = await readdir(home, { withFileTypes: true }).catch(() => []);
  const out: InstalledPack[] = [];
  for (const e of entries.filter((x) => x.isDirectory() && !x.name.startsWith('.'))) {
    const dir = join(home, e.name);
    const files = await Promise.all((await readdir(dir)).filter((f) => f.endsWith('.onnx')).sort().map(async (f) => ({ name: f, size: (await stat(join(dir, f))).size })));
    out.push({ name: e.name, dir, files, recorded: !!lock[e.name] });
  }
  return out;
}

/** Recomputes every file's sha256 against the lock file. */
export async function verifyPack(name: string, home = modelsHome()): Promise<{ file: string; ok: boolean; reason?: string }[]> {
  const dir = await installedPackDir(name, home);
  if (!dir) throw new FaceprintError('PACK_NOT_INSTALLED', `pack "${name}" is not installed in ${home}`);
  const entry = (await readLock(home))[name];
  if (!entry) throw new FaceprintError('PACK_NOT_INSTALLED', `pack "${name}" has no record in ${lockPath(home)}`);
  const results = [];
  for (const [file, want] of Object.entries(entry.files)) {
    const path = join(dir, file);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) { results.push({ file, ok: false, reason: 'missing' }); continue; }
    const sha = await sha256File(path);
    results.push(sha === want.sha256 && size === want.size ? { file, ok: true } : { file, ok: false, reason: `sha256 ${sha} ≠ ${want.sha256}` });
  }
  return results;
}

export async function removePack(name: string, home = modelsHome()): Promise<boolean> {
  const dir = await installedPackDir(name, home);
  if (!dir) return false;
  // Rename first so a half-deleted directory is never mistaken for an installed pack.
  const trash = join(home, `.trash-${name}-${process.pid}`);
  await rename(dir, trash);
  await rm(trash, { recursive: true, force: true });
  // The lock record stays: a later pull of the same pack is checked against the hashes seen the first time.
  return true;
}
