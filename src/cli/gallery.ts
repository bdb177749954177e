import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { MemoryGalleryStore } from '../core/gallery/memory-store.js';
import { DEFAULT_COLLECTION, type GalleryStore, type ReviewMode } from '../core/gallery/types.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FaceprintError } from '../core/errors.js';
import type { Subject } from '../core/gallery/types.js';
import { readIdentityDir } from '../node/eval/datasets.js';
import type { IdentificationReport, VerificationReport } from '../node/eval/report.js';
import { FaceGallery, type EnrollResult, type ThresholdChoice } from '../node/gallery/index.js';
import { openStore } from '../storage/open.js';
import { addAnalyzerOptions, openAnalyzer, progressBar } from './options.js';

type PrintLine = (line: string) => void;
type Parse = (v: string) => number;

const DEFAULT_STORE = './faceprint.db';

/** A SQLite path of a store URL (null for PostgreSQL and in-memory stores). */
function sqliteFile(url: string): string | null {
  if (/^postgres(ql)?:/i.test(url) || url === ':memory:') return null;
  return url.replace(/^sqlite:(\/\/)?/i, '');
}

/**
 * Commands that only read a gallery refuse one that is not there, rather than create an empty file and answer
 * "unknown" (a mistyped --store, or a first `identify` before any `enroll`).
 */
export function requireGallery(url: string): void {
  const file = sqliteFile(url);
  if (file !== null && !existsSync(file)) {
    throw new FaceprintError('GALLERY_NOT_FOUND', `no gallery at ${url} — enrol people first (faceprint enroll NAME photos…) or give --store`);
  }
}

/** `url`, once `requireGallery` has found it. */
function requiredGallery(url: string): string {
  requireGallery(url);
  return url;
}

export function storeOption(cmd: Command): Command {
  return cmd
    .option('--store <url>', 'gallery: a SQLite file or postgres://… URL', process.env.FACEPRINT_STORE ?? DEFAULT_STORE)
    .option('--collection <name>', 'the collection of the store (faceprint collections …)', process.env.FACEPRINT_COLLECTION ?? DEFAULT_COLLECTION)
    .option('--json', 'JSON output');
}

/**
 * The store of a collection: the store itself for the default one, else its collection (COLLECTION_NOT_FOUND,
 * with the command that makes it, when there is none); `close` closes the store under it.
 */
export async function openCollection(url: string | GalleryStore, collection: string = DEFAULT_COLLECTION): Promise<{ store: GalleryStore; close(): Promise<void> }> {
  const root = typeof url === 'string' ? await openStore(url) : url;
  if (collection === DEFAULT_COLLECTION) return { store: root, close: () => root.close() };
  const info = await root.catalog?.collectionInfo(collection);
  if (!info) {
    await root.close();
    throw new FaceprintError('COLLECTION_NOT_FOUND', `no collection ${JSON.stringify(collection)} in ${root.location} — create it: faceprint collections create ${collection}`);
  }
  return { store: root.catalog!.collection(collection), close: () => root.close() };
}

function thresholdOptions(cmd: Command, float: Parse): Command {
  return cmd
    .option('--threshold <cosine>', 'decision threshold (cosine); default: the calibration imported into the gallery, else the known model\'s (fixture MobileFaceNet 0.27, w600k_r50 0.40)', float)
    .option('--far <rate>', 'decision threshold at this false-accept rate, from the gallery calibration', float);
}

function choiceOf(opts: { threshold?: number; far?: number }): ThresholdChoice {
  return { threshold: opts.threshold, far: opts.far };
}

async function withGallery<T>(opts: Record<string, any>, fn: (g: FaceGallery) => Promise<T>, given: string | GalleryStore = opts.store): Promise<T> {
  const analyzer = await openAnalyzer(opts);
  let gallery: FaceGallery;
  let opened: Awaited<ReturnType<typeof openCollection>>;
  try {
    opened = await openCollection(given, opts.collection);
  } catch (e) {
    await analyzer.close();
    throw e;
  }
  const store = opened.store;
  try {
    gallery = await FaceGallery.open({
      analyzer, store, padRetry: opts.padRetry !== false, usearch: opts.usearch ? { expansionSearch: opts.usearchEf, cachePath: usearchCache(given, opts.collection) } : false, searchThreads: opts.searchThreads, search: opts.sketch ? 'sketch' : 'exact',
      // sizes given on the command line win over the ones the gallery recorded, for this run
      detSizes: opts.detSizes ?? (opts.detSize !== undefined ? [opts.detSize] : undefined),
    });
  } catch (e) {
    await opened.close().catch(() => undefined);
    await analyzer.close();
    throw e;
  }
  try {
    return await fn(gallery);
  } finally {
    await gallery.close();
    await opened.close();
    await analyzer.close();
  }
}

/** The usearch cache beside a SQLite gallery: FILE.usearch for the default collection, FILE.NAME.usearch for another. */
function usearchCache(given: string | GalleryStore, collection = DEFAULT_COLLECTION): string | undefined {
  const file = typeof given === 'string' ? sqliteFile(given) : null;
  return file === null ? undefined : `${file}${collection === DEFAULT_COLLECTION ? '' : `.${collection}`}.usearch`;
}

/** Records-only commands (subjects …) open the store without loading models. */
async function withStore<T>(target: { store: string; collection?: string }, fn: (store: GalleryStore) => Promise<T>): Promise<T> {
  const { store, close } = await openCollection(target.store, target.collection);
  try {
    return await fn(store);
  } finally {
    await close();
  }
}

async function subjectOf(store: Awaited<ReturnType<typeof openStore>>, ref: string): Promise<Subject> {
  const s = await store.subject(ref);
  if (!s) throw new FaceprintError('SUBJECT_NOT_FOUND', `no subject with id or name ${JSON.stringify(ref)}`);
  return s;
}

async function imagesIn(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => {
    throw new FaceprintError('INVALID_INPUT', `${dir}: not a readable directory`);
  })).sort();
  const files: string[] = [];
  for (const n of names) if ((await stat(join(dir, n))).isFile()) files.push(join(dir, n));
  return files;
}

function reviewMode(v: string | undefined): ReviewMode | undefined {
  if (v !== undefined && v !== 'off' && v !== 'standard' && v !== 'strict') throw new FaceprintError('INVALID_INPUT', `--review must be off, standard or strict, got ${JSON.stringify(v)}`);
  return v;
}

function formatEnroll(r: EnrollResult): string[] {
  return [
    `${r.subject.name}: +${r.accepted.length} face${r.accepted.length === 1 ? '' : 's'} (now ${r.subject.faceCount})`,
    ...r.refused.map((x) => `  refused ${x.source ?? 'image'}: ${x.reason} — ${x.message}`),
  ];
}

/** enroll, verify, identify, cluster, subjects …, calibrate: the commands on a gallery. */
export function addGalleryCommands(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  for (const add of [addEnrollCommand, addVerifyCommand, addIdentifyCommand, addClusterCommand, addSubjectsCommands, addCalibrateCommand]) add(program, out, int, float);
}

/** `faceprint enroll`: photos into a subject, or a folder per person. */
function addEnrollCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const enrollCmd = program
    .command('enroll')
    .description('enrol face images into a subject (created on first use); --dir enrols a folder per person')
    .argument('[subject]', 'subject name or id')
    .argument('[images...]', 'images holding exactly one usable face each')
    .option('--dir <dir>', 'a folder per person: each folder name is a subject')
    .option('--largest', 'take the largest usable face of an image with several')
    .option('--min-score <x>', 'refuse faces below this detection score', float, 0.6)
    .option('--min-size <px>', 'refuse faces whose box is smaller than this', float, 40)
    .option('--max-yaw <deg>', 'refuse faces turned further left or right (needs the 3-D landmark head, 1k3d68)', float)
    .option('--max-pitch <deg>', 'refuse faces tilted further up or down (needs the 3-D landmark head)', float)
    .option('--metadata <json>', 'metadata for a subject created here (JSON object)')
    .option('--review <mode>', 'enrolment review: off, standard (several faces, size, score, pose, sharpness, brightness, contrast) or strict (also a photo that matches another person better); default: the collection\'s, else standard')
    .option('--no-pad-retry', 'do not retry face-less images on a padded canvas');
  addAnalyzerOptions(storeOption(enrollCmd), int, float).action(async (subject: string | undefined, images: string[], opts) => {
    const metadata = opts.metadata ? parseMetadata(opts.metadata) : undefined;
    const jobs: { subject: string; images: string[] }[] = [];
    if (opts.dir) {
      const byLabel = new Map<string, string[]>();
      for (const { path, label } of await readIdentityDir(opts.dir)) (byLabel.get(label) ?? byLabel.set(label, []).get(label)!).push(path);
      for (const [label, paths] of byLabel) jobs.push({ subject: label, images: paths });
    } else {
      if (!subject || images.length === 0) throw new FaceprintError('INVALID_INPUT', 'give SUBJECT IMAGES…, or --dir DIR');
      jobs.push({ subject, images });
    }
    const total = jobs.reduce((n, j) => n + j.images.length, 0);
    await withGallery(opts, async (g) => {
      const bar = opts.json || total < 2 ? null : progressBar('enrolling');
      let done = 0;
      const results: EnrollResult[] = [];
      try {
        for (const job of jobs) {
          const base = done;
          try {
            results.push(await g.enroll(job.subject, job.images, { largest: opts.largest, minScore: opts.minScore, minSize: opts.minSize, maxYaw: opts.maxYaw, maxPitch: opts.maxPitch, metadata, review: reviewMode(opts.review), onProgress: (d) => bar?.update(base + d, total) }));
          } catch (e) {
            // one person with no usable image must not stop a folder enrolment
            if (!(e instanceof FaceprintError && e.code === 'ENROLL_REFUSED' && jobs.length > 1)) throw e;
            out(opts.json ? JSON.stringify({ subject: job.subject, error: e.toJSON() }) : `${job.subject}: ${e.message}`);
          }
          done += job.images.length;
          bar?.update(done, total);
        }
      } finally {
        bar?.stop();
      }
      for (const r of results) {
        if (opts.json) out(JSON.stringify(r));
        else formatEnroll(r).forEach((l) => out(l));
      }
      if (results.some((r) => r.refused.length)) process.exitCode = 1;
    });
  });
}

/** `faceprint verify`: 1:1, two photos or a photo and a subject. */
function addVerifyCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const verifyCmd = program
    .command('verify')
    .description('1:1 — is it the same person? two images, or an image and an enrolled subject')
    .argument('<image>', 'first image (its primary face)')
    .argument('[other]', 'second image')
    .option('--subject <ref>', 'compare with this enrolled subject instead of a second image')
    .option('--no-pad-retry', 'do not retry face-less images on a padded canvas');
  addAnalyzerOptions(thresholdOptions(storeOption(verifyCmd), float), int, float).action(async (image: string, other: string | undefined, opts) => {
    if (!other && !opts.subject) throw new FaceprintError('INVALID_INPUT', 'give a second image or --subject NAME');
    // Two images need no gallery: a store is read for its calibration only when one was named or already exists,
    // so comparing two photos never creates ./faceprint.db.
    const file = sqliteFile(String(opts.store));
    const named = verifyCmd.getOptionValueSource('store') !== 'default' || file === null || existsSync(file);
    if (opts.subject) requireGallery(opts.store);
    const store = opts.subject || named ? opts.store : new MemoryGalleryStore();
    await withGallery(opts, async (g) => {
      const v = opts.subject ? await g.verifySubject(image, opts.subject, choiceOf(opts)) : await g.verify(image, other!, choiceOf(opts));
      if (opts.json) out(JSON.stringify({ ...v, detSizes: g.detSizes }));
      else out(`${v.same ? 'same person' : 'different people'}: cosine ${v.score.toFixed(4)}, threshold ${v.threshold.toFixed(4)} (${v.basis}), margin ${v.margin >= 0 ? '+' : ''}${v.margin.toFixed(4)}`);
      // exit 0: same person, 1: different people (2: an error)
      if (!v.same) process.exitCode = 1;
    }, store);
  });
}

/** `faceprint identify`: 1:N against the gallery. */
function addIdentifyCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const identifyCmd = program
    .command('identify')
    .description('1:N — who is each face? top-k subjects; "unknown" below the threshold')
    .argument('<images...>', 'images')
    .option('-k, --top <k>', 'candidates per face', int, 5)
    .option('--where <key=value...>', 'only subjects whose metadata has these values')
    .option('--search-threads <n>', 'split the exact scan over this many threads (large galleries)', int, 1)
    .option('--usearch', 'propose candidates with a usearch HNSW index cached beside the SQLite file (rescored exactly)')
    .option('--usearch-ef <n>', 'HNSW search expansion (recall vs speed)', int, 64)
    .option('--sketch', 'first stage on 1-bit sketches (an eighth of the bytes; exact unless an estimate errs beyond 2.5 sigma)')
    .option('--no-pad-retry', 'do not retry face-less images on a padded canvas');
  addAnalyzerOptions(thresholdOptions(storeOption(identifyCmd), float), int, float).action(async (images: string[], opts) => {
    const where = Object.fromEntries(parseWhere(opts.where ?? []).map(([k, v]) => [k, parseValue(v)]));
    requireGallery(opts.store);
    await withGallery(opts, async (g) => {
      let basisShown = '';
      for (const image of images) {
        const faces = await g.identify(image, { ...choiceOf(opts), k: opts.top, where });
        if (opts.json) {
          out(JSON.stringify({ image, detSizes: g.detSizes, faces }));
          continue;
        }
        out(`${image}: ${faces.length} face${faces.length === 1 ? '' : 's'}`);
        for (const f of faces) {
          const [x1, y1, x2, y2] = f.face.bbox.map((v) => v.toFixed(0));
          // the threshold's basis once per run (and again only if it changes)
          const basis = `threshold ${f.threshold.toFixed(4)} (${f.basis})`;
          out(`  [${x1}, ${y1}, ${x2}, ${y2}] → ${f.subject ? `${f.subject.name} (${f.subject.score.toFixed(4)})` : 'unknown'}${basis !== basisShown ? `   ${basis}` : ''}`);
          basisShown = basis;
          for (const c of f.candidates) out(`      ${c.score.toFixed(4)}  ${c.name}`);
        }
      }
    });
  });
}

/** `faceprint cluster`: unknown faces into groups; --promote makes one a subject. */
function addClusterCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const clusterCmd = program
    .command('cluster')
    .description('group unknown faces into people, incrementally; --promote turns a cluster into a subject')
    .argument('[images...]', 'new photos whose faces join the unassigned pool')
    .option('--dir <dir>', 'add every image in this folder')
    .option('--max-distance <d>', 'largest cosine distance between neighbouring faces (default: 1 − the calibrated threshold)', float)
    .option('--min-faces <n>', 'faces needed to found a cluster', int, 3)
    .option('--min-score <x>', 'ignore faces below this detection score', float, 0.6)
    .option('--min-size <px>', 'ignore faces smaller than this', float, 40)
    .option('--promote <cluster>', 'make this cluster a subject (with --name)')
    .option('--name <name>', 'subject name for --promote')
    .option('--no-pad-retry', 'do not retry face-less images on a padded canvas');
  addAnalyzerOptions(storeOption(clusterCmd), int, float).action(async (images: string[], opts) => {
    if (opts.promote) {
      if (!opts.name) throw new FaceprintError('INVALID_INPUT', '--promote needs --name');
      await withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
        const s = await store.promoteCluster(opts.promote, opts.name);
        out(opts.json ? JSON.stringify(s) : `cluster ${opts.promote} → subject ${s.name} (${s.faceCount} faces)`);
      });
      return;
    }
    const all = [...images, ...(opts.dir ? await imagesIn(opts.dir) : [])];
    await withGallery(opts, async (g) => {
      const report = await g.cluster(all, { maxDistance: opts.maxDistance, minFaces: opts.minFaces, minScore: opts.minScore, minSize: opts.minSize });
      if (opts.json) {
        out(JSON.stringify(report));
        return;
      }
      out(`${report.clusters.length} clusters (max distance ${report.maxDistance.toFixed(3)}, min ${report.minFaces} faces); ${report.unclustered} faces unclustered; ${report.newlyAssigned} newly assigned`);
      for (const c of report.clusters) out(`  ${c.id}  ${c.size} faces: ${c.faces.slice(0, 6).map((f) => f.source ?? f.id).join(', ')}${c.size > 6 ? ', …' : ''}`);
    });
  });
}

/** `faceprint subjects …`: the records, without loading models. */
function addSubjectsCommands(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const subjects = program.command('subjects').description('list, show, rename, merge and delete subjects and faces');
  storeOption(subjects.command('list').description('subjects, paged'))
    .option('--cursor <cursor>', 'the page after this one (the nextCursor a page printed)')
    .option('--offset <n>', 'skip this many (deprecated: use --cursor)', int)
    .option('--limit <n>', 'at most this many', int, 100)
    .action(async (opts) =>
      withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
        const page = await store.listSubjects({ cursor: opts.cursor, offset: opts.offset, limit: opts.limit });
        if (opts.json) return out(JSON.stringify(page));
        out(`${page.total} subject${page.total === 1 ? '' : 's'}${page.nextCursor ? ` (more: --cursor ${page.nextCursor})` : ''}`);
        for (const s of page.subjects) out(`  ${s.name}  ${s.faceCount} face${s.faceCount === 1 ? '' : 's'}  ${s.id}${Object.keys(s.metadata).length ? `  ${JSON.stringify(s.metadata)}` : ''}`);
      }),
    );
  storeOption(subjects.command('show').description('a subject and its faces').argument('<subject>', 'name or id')).action(async (ref: string, opts) =>
    withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
      const s = await subjectOf(store, ref);
      const faces = (await store.facesOf(s.id)).map(({ embedding: _e, ...rest }) => rest);
      if (opts.json) return out(JSON.stringify({ ...s, faces }));
      out(`${s.name}  ${s.id}  ${s.faceCount} faces  ${JSON.stringify(s.metadata)}`);
      for (const f of faces) out(`  ${f.id}  ${f.source ?? f.imageSha256.slice(0, 12)}  score ${f.score.toFixed(3)}  quality ${f.quality.toFixed(2)}`);
    }),
  );
  storeOption(subjects.command('rename').argument('<subject>').argument('<name>')).action(async (ref: string, name: string, opts) =>
    withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
      const s = await store.updateSubject((await subjectOf(store, ref)).id, { name });
      out(opts.json ? JSON.stringify(s) : `renamed to ${s.name}`);
    }),
  );
  storeOption(subjects.command('update').description('replace a subject\'s metadata').argument('<subject>').requiredOption('--metadata <json>', 'JSON object')).action(
    async (ref: string, opts) =>
      withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
        const s = await store.updateSubject((await subjectOf(store, ref)).id, { metadata: parseMetadata(opts.metadata) });
        out(opts.json ? JSON.stringify(s) : `${s.name}: ${JSON.stringify(s.metadata)}`);
      }),
  );
  storeOption(subjects.command('merge').description('move every face of FROM into INTO, then delete FROM').argument('<into>').argument('<from>')).action(
    async (into: string, from: string, opts) =>
      withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
        const a = await subjectOf(store, into);
        const b = await subjectOf(store, from);
        if (a.id === b.id) throw new FaceprintError('INVALID_INPUT', 'cannot merge a subject into itself');
        const s = await store.mergeSubjects(a.id, b.id);
        out(opts.json ? JSON.stringify(s) : `${b.name} merged into ${s.name} (${s.faceCount} faces)`);
      }),
  );
  storeOption(subjects.command('rm').description('delete a subject and its faces (embeddings erased)').argument('<subject>')).action(async (ref: string, opts) =>
    withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
      const s = await subjectOf(store, ref);
      const n = await store.deleteSubject(s.id);
      out(opts.json ? JSON.stringify({ deleted: s.id, faces: n }) : `deleted ${s.name} and ${n} face${n === 1 ? '' : 's'}`);
    }),
  );
  storeOption(subjects.command('rm-face').description('delete one face (its subject\'s template is recomputed)').argument('<face-id>')).action(async (id: string, opts) =>
    withStore({ store: requiredGallery(opts.store), collection: opts.collection }, async (store) => {
      if (!(await store.deleteFace(id))) throw new FaceprintError('FACE_NOT_FOUND', `no face with id ${JSON.stringify(id)}`);
      out(opts.json ? JSON.stringify({ deleted: id }) : `deleted face ${id}`);
    }),
  );
}

/** `faceprint calibrate`: an eval report's thresholds into the gallery. */
function addCalibrateCommand(program: Command, out: PrintLine, int: Parse, float: Parse): void {
  const calibrate = program
    .command('calibrate')
    .description('import the thresholds of a `faceprint eval lfw|pairs|identify --json` report into a gallery (FAR → cosine)')
    .requiredOption('--report <file>', 'eval report JSON');
  storeOption(calibrate).action(async (opts) => {
    const report = JSON.parse(await readFile(opts.report, 'utf8').catch(() => {
      throw new FaceprintError('INVALID_INPUT', `cannot read ${opts.report}`);
    })) as Partial<VerificationReport | IdentificationReport>;
    const c = report.calibration;
    if ((report.kind !== 'verification' && report.kind !== 'identification') || !c || !Array.isArray(c.points)) {
      throw new FaceprintError('INVALID_INPUT', `${opts.report} is not a faceprint eval lfw|pairs|identify --json report`);
    }
    if (c.points.length === 0) throw new FaceprintError('INVALID_INPUT', `${opts.report}: too few impostor pairs to measure any FAR`);
    await withStore({ store: opts.store, collection: opts.collection }, async (store) => {
      const binding = await store.binding();
      if (binding && c.recognizerSha256 && binding.recognizerSha256 !== c.recognizerSha256) {
        throw new FaceprintError('GALLERY_MODEL_MISMATCH', `the report measured recognizer ${c.recognizerSha256.slice(0, 12)}…, the gallery holds ${binding.recognizerName} (${binding.recognizerSha256.slice(0, 12)}…)`);
      }
      await store.setCalibration({ source: c.source, bestThreshold: c.bestThreshold, points: c.points, recognizerSha256: c.recognizerSha256 ?? undefined });
      out(opts.json ? JSON.stringify(c) : `calibration from ${c.source}: default threshold ${c.bestThreshold}; ${c.points.map((p) => `FAR ${p.far} → ${p.threshold.toFixed(4)}`).join(', ')}`);
    });
  });
}


function parseMetadata(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FaceprintError('INVALID_INPUT', '--metadata must be a JSON object');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FaceprintError('INVALID_INPUT', '--metadata must be a JSON object');
  return v as Record<string, unknown>;
}

/** `--where n=3` matches the number 3, `--where team=lab` the string (JSON where it parses, else text). */
function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function parseWhere(items: string[]): [string, string][] {
  return items.map((s) => {
    const i = s.indexOf('=');
    if (i <= 0) throw new FaceprintError('INVALID_INPUT', `--where wants key=value, got ${s}`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}
