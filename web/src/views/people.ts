// People: a grid of the gallery's people with their faces' thumbnails, search by name, a person's page (faces,
// add, remove, rename, delete), and enrolment by dropping photos — or a folder with one sub-folder per person.
import type { EnrolReport, Subject } from '../backend.js';
import { $, act, confirmed, errorWords, h } from '../dom.js';
import { chosenFiles, clearZone, onFiles, type ChosenFile } from '../drop-zone.js';
import { go, onShow } from '../router.js';
import { app, http, onServer, usable } from '../state.js';
import { say, text } from '../strings.js';

/** Photos sent per request: the progress bar moves, and no request carries a whole folder. */
const BATCH = 8;

let people: Subject[] = [];
/** The object URLs of each part of the view, let go when that part is drawn again (not when another is). */
const urls = { grid: [] as string[], person: [] as string[], refusals: [] as string[] };
const imageUrl = (blob: Blob, part: keyof typeof urls): string => {
  const u = URL.createObjectURL(blob);
  urls[part].push(u);
  return u;
};
const release = (part: keyof typeof urls): void => {
  for (const u of urls[part].splice(0)) URL.revokeObjectURL(u);
};

/** Up to `n` thumbnails the server kept of a subject's faces (none unless the collection keeps them). */
async function serverThumbnails(subjectId: string, n: number, faces?: { id: string; thumbnail?: boolean }[]): Promise<Map<string, Blob>> {
  const out = new Map<string, Blob>();
  if (!onServer() || !app.serverThumbnails) return out;
  const list = faces ?? (await http.subject(subjectId).catch(() => ({ faces: [] as { id: string; thumbnail?: boolean }[] }))).faces;
  for (const f of list.filter((x) => x.thumbnail).slice(0, n)) {
    const blob = await http.thumbnail(subjectId, f.id).catch(() => null);
    if (blob) out.set(f.id, blob);
  }
  return out;
}

/** A person's picture: their first kept thumbnail, else their initial. */
function avatar(thumb: Blob | undefined, name: string): HTMLElement {
  return thumb ? h('img', { src: imageUrl(thumb, 'grid'), alt: '', className: 'avatar' }) : h('span', { className: 'avatar initial', text: name.slice(0, 1).toUpperCase(), 'aria-hidden': 'true' });
}

export async function refreshPeople(): Promise<void> {
  people = await app.backend.subjects();
  await renderPeople();
}

let drawing = 0;
async function renderPeople(): Promise<void> {
  // a newer drawing (the next key typed in the search) wins over one still loading its pictures
  const mine = ++drawing;
  const query = $<HTMLInputElement>('people-search').value.trim().toLowerCase();
  const shown = people.filter((s) => s.name.toLowerCase().includes(query));
  const thumbs = await Promise.all(shown.map(async (s, i) => {
    const local = await app.thumbnails.ofSubject(s.id).catch(() => new Map<string, Blob>());
    // the server's own thumbnail where this page cut none (its collection keeps them), for the first screens
    if (local.size === 0 && i < 48) for (const [id, blob] of await serverThumbnails(s.id, 1)) local.set(id, blob);
    return local;
  }));
  if (mine !== drawing) return;
  release('grid');
  $('subjects-list').replaceChildren(...shown.map((s, i) => {
    const li = h('li', { className: 'person-card', 'data-subject': s.name },
      h('a', { href: `#/people/${encodeURIComponent(s.id)}` }, avatar([...thumbs[i].values()][0], s.name), h('span', { className: 'name', text: s.name }), h('span', { className: 'count', text: say.faceCount(s.faceCount) })));
    // photos dropped on a person are enrolled into them
    li.addEventListener('dragover', (e) => { e.preventDefault(); li.classList.add('dropping'); });
    li.addEventListener('dragleave', () => li.classList.remove('dropping'));
    li.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      li.classList.remove('dropping');
      const files = [...(e.dataTransfer?.files ?? [])].map((file) => ({ file, path: file.name }));
      if (files.length) void act($('enrol-result'), () => enrolPeople([{ name: s.name, files }]));
    });
    return li;
  }));
  $('subjects-empty').hidden = people.length > 0;
}

/** One person per folder of the drop (its name), or the name given for loose photos. */
export function planEnrolment(files: ChosenFile[], name: string): { name: string; files: ChosenFile[] }[] {
  const byFolder = new Map<string, ChosenFile[]>();
  for (const f of files) {
    const parts = f.path.split('/');
    const folder = parts.length > 1 ? parts[parts.length - 2] : '';
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
  }
  if (byFolder.size === 1) {
    const [[folder, all]] = [...byFolder];
    return [{ name: name || folder, files: all }];
  }
  return [...byFolder].map(([folder, all]) => ({ name: folder || name, files: all })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Enrols each person's photos, a batch at a time with progress, keeps the accepted faces' thumbnails, lists refusals. */
async function enrolPeople(plan: { name: string; files: ChosenFile[] }[]): Promise<string> {
  if (plan.length === 0 || plan.some((p) => !p.name || p.files.length === 0)) throw new Error(say.nameAndPhotos);
  const progress = $<HTMLProgressElement>('enrol-progress');
  const total = plan.reduce((n, p) => n + p.files.length, 0);
  let done = 0;
  let accepted = 0;
  let last: EnrolReport | null = null;
  const refused: { file?: File; words: string; short: string }[] = [];
  progress.hidden = false;
  progress.value = 0;
  try {
    for (const person of plan) {
      for (let i = 0; i < person.files.length; i += BATCH) {
        const batch = person.files.slice(i, i + BATCH);
        $('enrol-result').textContent = say.enrolling(done, total, person.name);
        try {
          last = await app.backend.enrol(person.name, batch.map((f) => f.file));
          accepted += last.accepted.length;
          await keepThumbnails(last, batch);
          for (const r of last.refused) refused.push({ file: batch.find((f) => f.file.name === r.source)?.file, words: say.refusedPhoto(r.source ?? '?', r.reason, r.message), short: `${r.source ?? say.aPhoto}: ${r.reason}` });
        } catch (e) {
          // one person's only batch refused whole: the error says why, per photo
          if (plan.length === 1 && person.files.length <= BATCH) throw e;
          for (const f of batch) refused.push({ file: f.file, words: `${f.path}: ${errorWords(e)}`, short: `${f.path}: ${(e as { code?: string }).code ?? 'ERROR'}` });
        }
        done += batch.length;
        progress.value = done / total;
      }
      // the grid fills person by person
      if (plan.length > 1) await refreshPeople().catch(() => undefined);
    }
  } finally {
    progress.hidden = true;
    showRefusals($('enrol-refused'), refused);
    await refreshPeople();
  }
  if (plan.length === 1 && last) return say.enrolled(accepted, last.subject.name, last.subject.faceCount, refused.map((r) => r.short).join(', '));
  return say.enrolledMany(plan.length, accepted, refused.length);
}

/** Each accepted face's thumbnail, cut from the photo this page sent (the server keeps no pictures). */
async function keepThumbnails(r: EnrolReport, batch: ChosenFile[]): Promise<void> {
  if (r.accepted.length === 0) return;
  const stored = await app.backend.subject(r.subject.id);
  const faces = r.accepted.flatMap((a) => {
    const face = stored.faces.find((f) => f.id === a.faceId);
    const photo = batch.find((f) => f.file.name === a.source)?.file;
    return face && photo ? [{ faceId: a.faceId, photo, bbox: face.bbox }] : [];
  });
  await app.thumbnails.keep(r.subject.id, faces).catch(() => undefined);
}

function showRefusals(list: HTMLElement, refused: { file?: File; words: string }[]): void {
  release('refusals');
  list.replaceChildren(...refused.map((r) => h('li', {}, ...(r.file ? [h('img', { src: imageUrl(r.file, 'refusals'), alt: r.file.name })] : []), h('span', { text: r.words }))));
}

/** A person's page: their faces with thumbnails, remove one, add photos, rename, delete. */
async function showPerson(id: string): Promise<void> {
  $('people-all').hidden = true;
  $('person').hidden = false;
  $('person-refused').replaceChildren();
  await act($('person-result'), async () => {
    const s = await app.backend.subject(id);
    const thumbs = await app.thumbnails.ofSubject(s.id).catch(() => new Map<string, Blob>());
    for (const [id, blob] of await serverThumbnails(s.id, 100, s.faces.filter((f) => !thumbs.has(f.id)))) thumbs.set(id, blob);
    release('person');
    $('person-name').textContent = say.personFaces(s.name, s.faces.length);
    $<HTMLInputElement>('person-rename').value = s.name;
    $('person-faces').replaceChildren(...s.faces.map((f) => {
      const remove = h('button', { type: 'button', text: text['person.removeFace'], 'aria-label': `${text['person.removeFace']} ${f.source ?? f.id}` });
      remove.addEventListener('click', () => void act($('person-result'), async () => {
        const after = await app.backend.deleteFace(s.id, f.id);
        await app.thumbnails.forgetFace(f.id).catch(() => undefined);
        await showPerson(s.id);
        return say.faceRemoved(after.faceCount);
      }));
      const thumb = thumbs.get(f.id);
      const picture = thumb ? h('img', { src: imageUrl(thumb, 'person'), alt: f.source ?? f.id }) : h('span', { className: 'avatar initial', text: '?', title: text['person.noPicture'] });
      return h('li', { 'data-face': f.id }, picture, h('span', { className: 'source', text: f.source ?? '' }), remove);
    }));
  });
}

function personId(): string {
  return decodeURIComponent(location.hash.split('/')[2] ?? '');
}

export function initPeople(): void {
  onShow('people', (args) => {
    if (args[0] && usable()) void showPerson(args[0]);
    else {
      $('people-all').hidden = false;
      $('person').hidden = true;
      if (usable()) void refreshPeople().catch(() => undefined);
    }
  });
  $('people-search').addEventListener('input', () => void renderPeople());
  $('subjects-refresh').addEventListener('click', () => void act($('enrol-result'), async () => { await refreshPeople(); }));
  onFiles('enrol-files', (files) => {
    const plan = planEnrolment(files, $<HTMLInputElement>('enrol-name').value.trim());
    // a folder of one person names them; a folder of folders names everyone
    if (plan.length === 1 && plan[0].name && !$<HTMLInputElement>('enrol-name').value.trim()) $<HTMLInputElement>('enrol-name').value = plan[0].name;
    $('enrol-result').classList.remove('error');
    $('enrol-result').textContent = plan.length > 1 ? say.folderPlan(plan.map((p) => ({ name: p.name, files: p.files.length }))) : '';
  });
  $('enrol').addEventListener('submit', (e) => {
    e.preventDefault();
    void act($('enrol-result'), () => enrolPeople(planEnrolment(chosenFiles('enrol-files'), $<HTMLInputElement>('enrol-name').value.trim())));
  });
  $('person-rename-submit').addEventListener('click', () => void act($('person-result'), async () => {
    const s = await app.backend.renameSubject(personId(), $<HTMLInputElement>('person-rename').value.trim());
    $('person-name').textContent = say.personFaces(s.name, s.faceCount);
    return say.renamed(s.name);
  }));
  $('person-delete').addEventListener('click', () => void act($('person-result'), async () => {
    const s = await app.backend.subject(personId());
    if (!(await confirmed(say.deleteConfirm(s.name, s.faces.length)))) return '';
    await app.backend.deleteSubject(s.id);
    await app.thumbnails.forgetSubject(s.id).catch(() => undefined);
    go('people');
    $('enrol-result').textContent = say.deleted(s.name);
  }));
  onFiles('person-files', (files) => void act($('person-result'), async () => {
    const s = await app.backend.subject(personId());
    const r = await app.backend.enrol(s.name, files.map((f) => f.file));
    await keepThumbnails(r, files);
    showRefusals($('person-refused'), r.refused.map((x) => ({ file: files.find((f) => f.file.name === x.source)?.file, words: say.refusedPhoto(x.source ?? '?', x.reason, x.message) })));
    clearZone('person-files');
    await showPerson(s.id);
    return say.enrolled(r.accepted.length, r.subject.name, r.subject.faceCount, '');
  }));
}

/** Empties what the People view showed (the mode changed). */
export function clearPeople(): void {
  people = [];
  for (const id of ['subjects-list', 'enrol-refused', 'person-faces', 'person-refused']) $(id).replaceChildren();
  clearZone('enrol-files');
}
