// Drop zones: a file input made into a box that takes dropped photos (and folders), shows what was chosen as
// thumbnails, and tells its view. The input stays in the page (visually hidden, focusable), so a keyboard user
// and a test can still choose files through it.
import { $, h } from './dom.js';
import { text, type TextKey } from './strings.js';

/** A chosen file with its path inside a dropped or chosen folder ("bbt/amy/amy1.png"; the name alone otherwise). */
export interface ChosenFile {
  file: File;
  path: string;
}

const chosen = new Map<string, ChosenFile[]>();
const PREVIEWS = 12;

/** The files last chosen or dropped on the zone of this input. */
export function chosenFiles(inputId: string): ChosenFile[] {
  return chosen.get(inputId) ?? [];
}

/** Listens for the files of a zone: `handler` runs after each choice or drop. */
export function onFiles(inputId: string, handler: (files: ChosenFile[]) => void): void {
  $(inputId).addEventListener('faceprint:files', () => handler(chosenFiles(inputId)));
}

/** Forgets a zone's files and thumbnails (the mode changed: what one mode was given is not shown in the other). */
export function clearZone(inputId: string): void {
  chosen.delete(inputId);
  const zone = $(inputId).closest<HTMLElement>('.drop');
  if (zone) showPreviews(zone, []);
}

function setChosen(inputId: string, files: ChosenFile[]): void {
  const images = files.filter((f) => f.file.type.startsWith('image/') || /\.(jpe?g|png|webp|gif|bmp|avif)$/i.test(f.file.name) || !f.file.type);
  chosen.set(inputId, images);
  const input = $(inputId);
  showPreviews(input.closest<HTMLElement>('.drop')!, images);
  input.dispatchEvent(new CustomEvent('faceprint:files'));
}

function showPreviews(zone: HTMLElement, files: ChosenFile[]): void {
  const box = zone.querySelector<HTMLElement>('.previews')!;
  for (const img of box.querySelectorAll('img')) URL.revokeObjectURL(img.src);
  box.replaceChildren(...files.slice(0, PREVIEWS).map((f) => h('img', { src: URL.createObjectURL(f.file), alt: f.path, title: f.path })));
  if (files.length > PREVIEWS) box.append(h('span', { className: 'more', text: `+${files.length - PREVIEWS}` }));
  zone.classList.toggle('filled', files.length > 0);
}

/** Every file under the dropped items, folders walked (their paths kept), or the plain files of the drop. */
async function droppedFiles(data: DataTransfer): Promise<ChosenFile[]> {
  const entries = [...data.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0 || !entries.some((e) => e.isDirectory)) return [...data.files].map((file) => ({ file, path: file.name }));
  const out: ChosenFile[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, '') });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries gives a batch at a time (100 in Chromium) until an empty one
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const e of batch) await walk(e);
    }
  };
  for (const e of entries) await walk(e);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Makes every `.drop` box of the page a drop zone, and each view a drop target for its first zone. */
export function initDropZones(): void {
  for (const zone of document.querySelectorAll<HTMLElement>('.drop')) {
    const inputId = zone.dataset.input!;
    const input = $<HTMLInputElement>(inputId);
    const folderId = zone.dataset.folder;
    const label = h('label', { for: inputId }, h('strong', { text: text[(zone.dataset.label ?? (input.multiple ? 'drop.photos' : 'drop.photo')) as TextKey] }), ` ${text['drop.or']} `, h('span', { className: 'link', text: text['drop.choose'] }));
    zone.append(label);
    if (folderId) zone.append(h('label', { for: folderId, className: 'link folder', text: text['drop.chooseFolder'] }));
    zone.append(h('div', { className: 'previews' }));
    const fromInput = (el: HTMLInputElement) => () => setChosen(inputId, [...(el.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.addEventListener('change', fromInput(input));
    // choosing the same file again is a choice too (an input fires no change for it unless emptied first)
    input.addEventListener('click', () => { input.value = ''; });
    if (folderId) $<HTMLInputElement>(folderId).addEventListener('change', fromInput($<HTMLInputElement>(folderId)));
    dropTarget(zone, inputId);
  }
  for (const view of document.querySelectorAll<HTMLElement>('section.view')) {
    const first = view.querySelector<HTMLElement>('.drop');
    if (first) dropTarget(view, first.dataset.input!);
  }
}

function dropTarget(el: HTMLElement, inputId: string): void {
  el.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.classList.add('dropping');
  });
  el.addEventListener('dragleave', () => el.classList.remove('dropping'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    el.classList.remove('dropping');
    if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => files.length && setChosen(inputId, files));
  });
}
