import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CandidateAccelerator, Gallery } from '../../core/gallery/gallery.js';

export interface UsearchOptions {
  /** Cache file (the index, plus FILE.json with its ids and the change number it reflects); none: in memory only. */
  cachePath?: string;
  /** HNSW neighbours per node (default 16). */
  connectivity?: number;
  /** Candidate list while building (default 128). */
  expansionAdd?: number;
  /** Candidate list while searching (default 64; raise for recall). */
  expansionSearch?: number;
}

interface CacheMeta {
  /** The index file this map belongs to (a name beside the cache path): the map names its pair. */
  indexFile?: string;
  recognizerSha256: string;
  dim: number;
  seq: number;
  connectivity: number;
  ids: [string, number][];
  nextKey: number;
}

type UsearchIndex = {
  add(keys: bigint | BigUint64Array, vectors: Float32Array): void;
  remove(key: bigint): number;
  contains(key: bigint): boolean;
  search(q: Float32Array, k: number, threads?: number): { keys: BigUint64Array; distances: Float32Array };
  size(): number;
  save(path: string): void;
  load(path: string): void;
};

/**
 * usearch f16 HNSW over subject templates, as a candidate source for `Gallery.identify`: the gallery rescores
 * its candidates exactly. It is a cache of the records, never a record: on open it is loaded from its file and
 * caught up through the store's change feed from the change number saved with it, or rebuilt from the gallery's
 * templates when the file is missing, unreadable or from another recognizer. Saving writes the index under a new
 * name, then replaces the id map (which names its index file) by a rename — the one commit point — and only then
 * removes the old index: a crash at any moment leaves the old pair or the new one, both loadable.
 */
let saveCount = 0;
/** The suffix of an index file written by save(): `.<time>-<pid>-<n>`. */
const INDEX_FILE = /^\.[0-9a-z]+-\d+-[0-9a-z]+$/;
/** A map a killed save left half-written: `.json.<pid>.tmp`. */
const ORPHAN_MAP = /^\.json\.\d+\.tmp$/;

export class UsearchAccelerator implements CandidateAccelerator {
  private readonly index: UsearchIndex;
  private readonly keyOf = new Map<string, number>();
  private readonly idOf = new Map<number, string>();
  private nextKey = 1;

  private constructor(index: UsearchIndex, private readonly options: UsearchOptions) {
    this.index = index;
  }

  /** Builds or loads the index for a gallery and attaches it; returns how it came up. */
  static async attach(gallery: Gallery, options: UsearchOptions = {}): Promise<{ accelerator: UsearchAccelerator; source: 'cache' | 'rebuilt'; caughtUp: number }> {
    const usearch = await import('usearch');
    const make = () =>
      new usearch.Index({
        dimensions: gallery.binding.dim,
        metric: usearch.MetricKind.Cos,
        quantization: usearch.ScalarKind.F16,
        connectivity: options.connectivity ?? 16,
        expansion_add: options.expansionAdd ?? 128,
        expansion_search: options.expansionSearch ?? 64,
        multi: false,
      }) as unknown as UsearchIndex;
    await gallery.sync();
    const cached = options.cachePath ? await UsearchAccelerator.load(make(), gallery, options) : null;
    if (cached) {
      // catch up from the change number the file reflects to the one the gallery is at
      const { changes } = await gallery.store.changesSince(cached.seq);
      let caughtUp = 0;
      for (const c of changes) {
        if (c.kind !== 'template') continue;
        caughtUp++;
        const v = gallery.templates.vector(c.id);
        if (v) cached.accelerator.upsert(c.id, v);
        else cached.accelerator.remove(c.id);
      }
      gallery.useAccelerator(cached.accelerator);
      return { accelerator: cached.accelerator, source: 'cache', caughtUp };
    }
    const accelerator = new UsearchAccelerator(make(), options);
    accelerator.build(gallery);
    gallery.useAccelerator(accelerator);
    if (options.cachePath) await accelerator.save(gallery);
    return { accelerator, source: 'rebuilt', caughtUp: 0 };
  }

  private static async load(index: UsearchIndex, gallery: Gallery, options: UsearchOptions): Promise<{ accelerator: UsearchAccelerator; seq: number } | null> {
    const path = options.cachePath!;
    try {
      const meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as CacheMeta;
      const fits =
        meta.recognizerSha256 === gallery.binding.recognizerSha256 &&
        meta.dim === gallery.binding.dim &&
        meta.connectivity === (options.connectivity ?? 16) &&
        meta.seq <= gallery.syncedSeq;
      if (!fits) return null;
      index.load(meta.indexFile ? join(dirname(path), meta.indexFile) : path);
      if (index.size() !== meta.ids.length) return null;
      const acc = new UsearchAccelerator(index, options);
      for (const [id, key] of meta.ids) {
        acc.keyOf.set(id, key);
        acc.idOf.set(key, id);
      }
      acc.nextKey = meta.nextKey;
      return { accelerator: acc, seq: meta.seq };
    } catch {
      return null; // missing or damaged: rebuild
    }
  }

  private build(gallery: Gallery): void {
    const ids = gallery.templates.ids();
    if (ids.length === 0) return;
    const dim = gallery.binding.dim;
    const keys = new BigUint64Array(ids.length);
    const vectors = new Float32Array(ids.length * dim);
    ids.forEach((id, i) => {
      const key = this.nextKey++;
      this.keyOf.set(id, key);
      this.idOf.set(key, id);
      keys[i] = BigInt(key);
      vectors.set(gallery.templates.vector(id)!, i * dim);
    });
    this.index.add(keys, vectors); // usearch adds a batch on all cores
  }

  get size(): number {
    return this.keyOf.size;
  }

  upsert(id: string, vector: Float32Array): void {
    this.remove(id);
    const key = this.nextKey++;
    this.keyOf.set(id, key);
    this.idOf.set(key, id);
    this.index.add(BigInt(key), vector);
  }

  remove(id: string): void {
    const key = this.keyOf.get(id);
    if (key === undefined) return;
    this.index.remove(BigInt(key));
    this.keyOf.delete(id);
    this.idOf.delete(key);
  }

  candidates(query: Float32Array, n: number): string[] {
    if (this.keyOf.size === 0) return [];
    const { keys } = this.index.search(query, Math.min(n, this.keyOf.size));
    const out: string[] = [];
    for (const k of keys) {
      const id = this.idOf.get(Number(k));
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  /** Writes the index and its id map as a new pair; the map's rename commits it (see the class comment). */
  async save(gallery: Gallery): Promise<void> {
    const path = this.options.cachePath;
    if (!path) return;
    const base = basename(path);
    const indexFile = `${base}.${Date.now().toString(36)}-${process.pid}-${(saveCount++).toString(36)}`;
    const meta: CacheMeta = {
      indexFile,
      recognizerSha256: gallery.binding.recognizerSha256,
      dim: gallery.binding.dim,
      seq: gallery.syncedSeq,
      connectivity: this.options.connectivity ?? 16,
      ids: [...this.keyOf.entries()],
      nextKey: this.nextKey,
    };
    const dir = dirname(path);
    const tmpMeta = `${path}.json.${process.pid}.tmp`;
    try {
      this.index.save(join(dir, indexFile));
      await writeFile(tmpMeta, JSON.stringify(meta));
      await rename(tmpMeta, `${path}.json`);
    } catch (e) {
      await rm(join(dir, indexFile), { force: true });
      await rm(tmpMeta, { force: true });
      throw e;
    }
    // the new pair is in place: index files no map names any more (the old one, leftovers of crashed saves) go
    for (const name of await readdir(dir)) {
      if (name === indexFile || !name.startsWith(base)) continue;
      const rest = name.slice(base.length);
      if (rest === '' || INDEX_FILE.test(rest) || ORPHAN_MAP.test(rest)) await rm(join(dir, name), { force: true });
    }
  }
}
