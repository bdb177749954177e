import type { Command } from 'commander';
import { FaceprintError } from '../core/errors.js';
import type { CollectionInfo, CollectionSettings, ReviewMode } from '../core/gallery/types.js';
import { collectionNotFound } from '../core/gallery/store-rules.js';
import { openStore } from '../storage/open.js';
import { storeOption } from './gallery.js';

type PrintLine = (line: string) => void;
type Parse = (v: string) => number;

function settingOptions(cmd: Command, float: Parse): Command {
  return cmd
    .option('--threshold <cosine>', 'decision threshold its requests inherit', float)
    .option('--det-sizes <list>', 'detector sizes, e.g. 128,640 (fixed once it has faces)', (v) => v.split(',').map(Number))
    .option('--det-thresh <score>', 'detection score threshold', float)
    .option('--review <mode>', 'enrolment review: off, standard or strict')
    .option('--thumbnails', 'keep a 112×112 JPEG of each enrolled face')
    .option('--no-thumbnails', 'keep no thumbnails');
}

function settingsOf(opts: Record<string, unknown>, cmd: Command): CollectionSettings {
  const s: CollectionSettings = {};
  if (opts.threshold !== undefined) s.threshold = opts.threshold as number;
  if (opts.detSizes !== undefined) s.detSizes = opts.detSizes as number[];
  if (opts.detThresh !== undefined) s.detThresh = opts.detThresh as number;
  if (opts.review !== undefined) s.review = opts.review as ReviewMode;
  // commander sets thumbnails to true by default because of --no-thumbnails: only an explicit flag counts
  if (cmd.getOptionValueSource('thumbnails') === 'cli') s.thumbnails = opts.thumbnails as boolean;
  return s;
}

function line(c: CollectionInfo): string {
  const settings = Object.entries(c.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ');
  return `${c.name}  ${c.subjects} subject${c.subjects === 1 ? '' : 's'}, ${c.faces} face${c.faces === 1 ? '' : 's'}  ${c.binding ? `${c.binding.recognizerName} ${c.binding.dim}-d` : 'not bound yet'}${settings ? `  ${settings}` : ''}`;
}

/** `faceprint collections …`: several galleries in one store, each with its recognizer and settings. */
export function addCollectionCommands(program: Command, out: PrintLine, float: Parse): void {
  const collections = program.command('collections').description('several galleries in one store: list, create, show, update, delete');
  const withCatalog = async <T>(url: string, fn: (catalog: NonNullable<Awaited<ReturnType<typeof openStore>>['catalog']>) => Promise<T>): Promise<T> => {
    const store = await openStore(url);
    try {
      if (!store.catalog) throw new FaceprintError('INVALID_INPUT', `${store.location} keeps one gallery`);
      return await fn(store.catalog);
    } finally {
      await store.close();
    }
  };
  storeOption(collections.command('list').description('the collections of the store')).action(async (opts) =>
    withCatalog(opts.store, async (catalog) => {
      const all = await catalog.listCollections();
      if (opts.json) return out(JSON.stringify({ collections: all }));
      for (const c of all) out(line(c));
    }));
  const create = settingOptions(storeOption(collections.command('create').description('a new collection').argument('<name>')), float);
  create.action(async (name: string, opts) =>
    withCatalog(opts.store, async (catalog) => {
      const c = await catalog.createCollection(name, settingsOf(opts, create));
      out(opts.json ? JSON.stringify(c) : `created ${line(c)}`);
    }));
  storeOption(collections.command('show').description('one collection').argument('<name>')).action(async (name: string, opts) =>
    withCatalog(opts.store, async (catalog) => {
      const c = await catalog.collectionInfo(name);
      if (!c) throw collectionNotFound(name);
      out(opts.json ? JSON.stringify(c) : line(c));
    }));
  const update = settingOptions(storeOption(collections.command('update').description('change a collection\'s settings').argument('<name>')), float);
  update.action(async (name: string, opts) =>
    withCatalog(opts.store, async (catalog) => {
      const c = await catalog.updateCollection(name, settingsOf(opts, update));
      out(opts.json ? JSON.stringify(c) : `updated ${line(c)}`);
    }));
  storeOption(collections.command('delete').description('delete a collection with its people and faces (not the default one)').argument('<name>')).action(async (name: string, opts) =>
    withCatalog(opts.store, async (catalog) => {
      const faces = await catalog.deleteCollection(name);
      out(opts.json ? JSON.stringify({ deletedFaces: faces }) : `deleted ${name} (${faces} face${faces === 1 ? '' : 's'} erased)`);
    }));
}
