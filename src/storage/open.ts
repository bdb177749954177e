import { FaceprintError } from '../core/errors.js';
import type { GalleryStore } from '../core/gallery/types.js';
import { SqliteGalleryStore } from './sqlite.js';

/** Opens a store from `--store`: `postgres://…` / `postgresql://…`, else a SQLite file (`sqlite:` prefix optional). */
export async function openStore(url: string): Promise<GalleryStore> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { PostgresGalleryStore } = await import('./postgres.js');
    return PostgresGalleryStore.open(url);
  }
  const path = url.replace(/^sqlite:(\/\/)?/i, '');
  if (path === '') throw new FaceprintError('INVALID_INPUT', 'empty gallery path');
  return SqliteGalleryStore.open(path);
}
