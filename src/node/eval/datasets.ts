import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FaceprintError } from '../../core/errors.js';

export interface LabelledPair { a: string; b: string; same: boolean; fold?: number }

/**
 * LFW's pairs.txt: a header "folds n", then per fold n matched lines (name i j) and n mismatched lines
 * (name1 i name2 j). Image paths follow the LFW layout images/Name/Name_0001.jpg.
 */
export async function readLfwPairs(pairsFile: string, imagesDir: string): Promise<LabelledPair[]> {
  const text = await readFile(pairsFile, 'utf8').catch((e) => {
    throw new FaceprintError('INVALID_INPUT', `${pairsFile}: cannot read pairs (${(e as NodeJS.ErrnoException).code})`);
  });
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const [folds, perFold] = lines[0].split(/\s+/).map(Number);
  const img = (name: string, n: string): string => join(imagesDir, name, `${name}_${n.padStart(4, '0')}.jpg`);
  const pairs: LabelledPair[] = [];
  for (let i = 1; i < lines.length; i++) {
    const t = lines[i].split(/\s+/);
    const fold = Number.isFinite(folds) && perFold ? Math.floor((i - 1) / (2 * perFold)) + 1 : undefined;
    if (t.length === 3) pairs.push({ a: img(t[0], t[1]), b: img(t[0], t[2]), same: true, fold });
    else if (t.length === 4) pairs.push({ a: img(t[0], t[1]), b: img(t[2], t[3]), same: false, fold });
    else throw new FaceprintError('INVALID_INPUT', `${pairsFile}:${i + 1}: expected 3 or 4 fields, got ${t.length}`);
  }
  if (Number.isFinite(folds) && perFold && pairs.length !== folds * perFold * 2) {
    throw new FaceprintError('INVALID_INPUT', `${pairsFile}: header promises ${folds}×${2 * perFold} pairs, found ${pairs.length}`);
  }
  return pairs;
}

/** A CSV of labelled pairs: path_a,path_b,same (1/0/true/false); a header line is skipped; paths relative to the CSV. */
export async function readPairsCsv(csvFile: string): Promise<LabelledPair[]> {
  const text = await readFile(csvFile, 'utf8').catch((e) => {
    throw new FaceprintError('INVALID_INPUT', `${csvFile}: cannot read pairs (${(e as NodeJS.ErrnoException).code})`);
  });
  const base = dirname(resolve(csvFile));
  const pairs: LabelledPair[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const [a, b, s] = line.split(',').map((x) => x.trim());
    const label = (s ?? '').toLowerCase();
    const same = label === '1' || label === 'true';
    const diff = label === '0' || label === 'false';
    if (!same && !diff) {
      if (i === 0) return; // header
      throw new FaceprintError('INVALID_INPUT', `${csvFile}:${i + 1}: third column must be 1/0 or true/false, got "${s}"`);
    }
    pairs.push({ a: resolve(base, a), b: resolve(base, b), same });
  });
  return pairs;
}

/** A folder per person: label = folder name, every file inside an image. */
export async function readIdentityDir(dir: string): Promise<{ path: string; label: string }[]> {
  const people = await readdir(dir, { withFileTypes: true }).catch(() => {
    throw new FaceprintError('INVALID_INPUT', `${dir}: not a readable directory`);
  });
  const out: { path: string; label: string }[] = [];
  for (const p of people.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(join(dir, p.name))).sort();
    for (const f of files) {
      const path = join(dir, p.name, f);
      if ((await stat(path)).isFile()) out.push({ path, label: p.name });
    }
  }
  return out;
}
