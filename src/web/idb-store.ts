import { FaceprintError } from '../core/errors.js';
import { GalleryRecords, MemoryGalleryStore, type GalleryState } from '../core/gallery/memory-store.js';

const STORE = 'gallery';
const KEY = 'state';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb(name: string): Promise<IDBDatabase> {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE);
  return request(r).catch((e: unknown) => {
    throw new FaceprintError('STORE_UNAVAILABLE', `IndexedDB ${name}: ${(e as Error)?.message ?? e}`, { cause: e });
  });
}

/**
 * A gallery kept in this browser's IndexedDB (database `name`): the records live in memory and each write is
 * saved whole, in one IndexedDB transaction, before it is acknowledged. Fit for the galleries a page holds
 * (thousands of faces); nothing leaves the device.
 */
export async function openIndexedDbGallery(name = 'faceprint-gallery'): Promise<MemoryGalleryStore> {
  const db = await openDb(name);
  const tx = db.transaction(STORE, 'readonly');
  const state = (await request(tx.objectStore(STORE).get(KEY))) as GalleryState | undefined;
  const records = new GalleryRecords(state ?? null, (next) => new Promise<void>((resolve, reject) => {
    const write = db.transaction(STORE, 'readwrite', { durability: 'strict' });
    write.objectStore(STORE).put(next, KEY);
    write.oncomplete = () => resolve();
    write.onerror = () => reject(write.error);
    write.onabort = () => reject(write.error ?? new Error('transaction aborted'));
  }));
  return new MemoryGalleryStore(records, `indexeddb:${name}`);
}

/** Deletes a browser gallery and everything in it. */
export async function deleteIndexedDbGallery(name = 'faceprint-gallery'): Promise<void> {
  await request(indexedDB.deleteDatabase(name) as IDBRequest<unknown>);
}
