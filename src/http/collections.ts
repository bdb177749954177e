import { FaceprintError } from '../core/errors.js';
import { collectionNotFound } from '../core/gallery/store-rules.js';
import { DEFAULT_COLLECTION, type CollectionCatalog, type CollectionInfo, type CollectionSettings } from '../core/gallery/types.js';
import type { FaceAnalyzer } from '../node/index.js';
import { FaceGallery } from '../node/gallery/index.js';

/**
 * The service's collections: the default one is the gallery the server was started with; the others are opened
 * on first use (each a FaceGallery over its collection of the same store) and kept open. A store without
 * collections (in memory) has only the default.
 */
/** How long a collection's settings are trusted before they are read again (another process may change them). */
const SETTINGS_TTL_MS = 5000;

export class Collections {
  private readonly open = new Map<string, Promise<FaceGallery>>();
  private readonly settingsRead = new Map<string, number>();

  constructor(readonly base: FaceGallery, private readonly analyzer: FaceAnalyzer) {
    this.open.set(base.gallery.store.collectionName ?? DEFAULT_COLLECTION, Promise.resolve(base));
  }

  get catalog(): CollectionCatalog | null {
    return this.base.gallery.store.catalog ?? null;
  }

  private requireCatalog(): CollectionCatalog {
    if (!this.catalog) throw new FaceprintError('INVALID_INPUT', 'this server\'s store keeps one gallery (collections need SQLite or PostgreSQL)');
    return this.catalog;
  }

  /** The gallery of a collection (default: the default one); COLLECTION_NOT_FOUND when there is none. */
  async get(name: string = DEFAULT_COLLECTION): Promise<FaceGallery> {
    const cached = this.open.get(name);
    if (cached) return this.fresh(name, await cached);
    const catalog = this.catalog;
    if (!catalog || !(await catalog.collectionInfo(name))) throw collectionNotFound(name);
    const opening = FaceGallery.open({ analyzer: this.analyzer, store: catalog.collection(name) });
    this.open.set(name, opening);
    opening.catch(() => this.open.delete(name));
    return opening;
  }

  /** The gallery with its settings as the store has them now (read again when older than a few seconds). A
   * collection another process deleted is let go here: from then on it is COLLECTION_NOT_FOUND, as in that process
   * (its writes are refused by the store at once). */
  private async fresh(name: string, g: FaceGallery): Promise<FaceGallery> {
    const read = this.settingsRead.get(name) ?? 0;
    if (Date.now() - read < SETTINGS_TTL_MS || !g.gallery.store.collectionSettings) return g;
    this.settingsRead.set(name, Date.now());
    try {
      g.gallery.useSettings(await g.gallery.store.collectionSettings());
    } catch (e) {
      if (e instanceof FaceprintError && e.code === 'COLLECTION_NOT_FOUND' && name !== DEFAULT_COLLECTION) {
        this.open.delete(name);
        this.settingsRead.delete(name);
        await g.close().catch(() => undefined);
      }
      throw e;
    }
    return g;
  }

  async list(): Promise<CollectionInfo[]> {
    return this.catalog ? this.catalog.listCollections() : [await this.defaultInfo()];
  }

  async info(name: string): Promise<CollectionInfo> {
    const info = this.catalog ? await this.catalog.collectionInfo(name) : name === DEFAULT_COLLECTION ? await this.defaultInfo() : null;
    if (!info) throw collectionNotFound(name);
    return info;
  }

  /** A new collection; bound to the server's recognizer at once, so that its contract is known from the start. */
  async create(name: string, settings: CollectionSettings): Promise<CollectionInfo> {
    await this.requireCatalog().createCollection(name, settings);
    await this.get(name);
    return this.info(name);
  }

  async update(name: string, settings: CollectionSettings): Promise<CollectionInfo> {
    const info = await this.requireCatalog().updateCollection(name, settings);
    const open = this.open.get(name);
    if (open) (await open).gallery.useSettings(info.settings);
    return info;
  }

  async delete(name: string): Promise<number> {
    const deleted = await this.requireCatalog().deleteCollection(name);
    const open = this.open.get(name);
    this.open.delete(name);
    if (open) await (await open).close().catch(() => undefined);
    return deleted;
  }

  /** Closes the collections this opened (the default one is the server's to close). */
  async close(): Promise<void> {
    for (const [name, g] of this.open) {
      if (name === (this.base.gallery.store.collectionName ?? DEFAULT_COLLECTION)) continue;
      await (await g.catch(() => null))?.close().catch(() => undefined);
    }
    this.open.clear();
  }

  private async defaultInfo(): Promise<CollectionInfo> {
    const g = this.base.gallery;
    const page = await g.listSubjects({ limit: 1 });
    return { name: DEFAULT_COLLECTION, binding: g.binding, settings: g.settings, subjects: page.total, faces: 0, createdAt: '' };
  }
}
