import { ApiCallError, HttpBackend, type Backend } from './backend.js';
import { drawFaces } from './draw.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const KEY_STORAGE = 'faceprint.apiKey';

const keyInput = $<HTMLInputElement>('api-key');
keyInput.value = localStorage.getItem(KEY_STORAGE) ?? '';
keyInput.addEventListener('change', () => localStorage.setItem(KEY_STORAGE, keyInput.value.trim()));

let backend: Backend = new HttpBackend(location.origin, () => keyInput.value.trim());

function setStatus(text: string): void {
  $('status').textContent = text;
}

/** Runs an action, showing its outcome (or its error code and message) in `out`. */
async function act(out: HTMLElement, work: () => Promise<string | void>): Promise<void> {
  out.classList.remove('error');
  out.textContent = '…';
  try {
    const text = await work();
    out.textContent = text ?? '';
  } catch (e) {
    out.classList.add('error');
    out.textContent = e instanceof ApiCallError ? `${e.code}: ${e.message}` : String((e as Error).message ?? e);
  }
}

const firstFile = (id: string): File | undefined => $<HTMLInputElement>(id).files?.[0];
const allFiles = (id: string): File[] => [...($<HTMLInputElement>(id).files ?? [])];
function thresholdOf(id: string): number | undefined {
  const v = $<HTMLInputElement>(id).value;
  return v === '' ? undefined : Number(v);
}

async function analyzeBlob(blob: Blob): Promise<void> {
  await act($('analyze-result'), async () => {
    const r = await backend.analyze(blob);
    await drawFaces($<HTMLCanvasElement>('analyze-canvas'), blob, r.faces);
    return `${r.faces.length} face${r.faces.length === 1 ? '' : 's'} in ${r.width}×${r.height}`;
  });
}

$('analyze-file').addEventListener('change', () => {
  const f = firstFile('analyze-file');
  if (f) void analyzeBlob(f);
});

const video = $<HTMLVideoElement>('webcam');
$('webcam-start').addEventListener('click', () => void act($('analyze-result'), async () => {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  video.hidden = false;
  $('webcam-snap').hidden = false;
  return 'webcam on: take a photo to analyse it';
}));
$('webcam-snap').addEventListener('click', () => {
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d')!.drawImage(video, 0, 0);
  c.toBlob((blob) => blob && void analyzeBlob(blob), 'image/jpeg', 0.95);
});

$('compare-submit').addEventListener('click', () => void act($('compare-result'), async () => {
  const a = firstFile('compare-a');
  const b = firstFile('compare-b');
  if (!a || !b) throw new Error('choose two photos');
  const v = await backend.verify(a, b, thresholdOf('compare-threshold'));
  return `${v.same ? 'same person' : 'different people'}: cosine ${v.score.toFixed(3)} (threshold ${v.threshold.toFixed(3)}, ${v.basis})`;
}));

$('enrol-submit').addEventListener('click', () => void act($('enrol-result'), async () => {
  const name = $<HTMLInputElement>('enrol-name').value.trim();
  const files = allFiles('enrol-files');
  if (!name || files.length === 0) throw new Error('give a name and at least one photo');
  const r = await backend.enrol(name, files);
  await refreshSubjects();
  const refused = r.refused.map((x) => `${x.source ?? 'photo'}: ${x.reason}`).join(', ');
  return `enrolled ${r.accepted.length} photo${r.accepted.length === 1 ? '' : 's'} of ${r.subject.name} (now ${r.subject.faceCount})${refused ? `; refused ${refused}` : ''}`;
}));

$('identify-file').addEventListener('change', () => void act($('identify-result'), async () => {
  const f = firstFile('identify-file');
  if (!f) return;
  const found = await backend.identify(f, thresholdOf('identify-threshold'));
  const labels = found.map((x) => (x.subject ? `${x.subject.name} ${x.subject.score.toFixed(2)}` : 'unknown'));
  await drawFaces($<HTMLCanvasElement>('identify-canvas'), f, found.map((x) => x.face), labels);
  return found.length ? labels.join(', ') : 'no face found';
}));

async function refreshSubjects(): Promise<void> {
  const list = $('subjects-list');
  const subjects = await backend.subjects();
  list.replaceChildren(...subjects.map((s) => {
    const li = document.createElement('li');
    li.textContent = `${s.name} — ${s.faceCount} face${s.faceCount === 1 ? '' : 's'}`;
    li.dataset.subject = s.name;
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.addEventListener('click', () => void backend.deleteSubject(s.id).then(refreshSubjects));
    li.append(del);
    return li;
  }));
}
$('subjects-refresh').addEventListener('click', () => void act($('status'), refreshSubjects));

$('cluster-submit').addEventListener('click', () => void act($('cluster-result'), async () => {
  const r = await backend.cluster(allFiles('cluster-files'));
  $('clusters-list').replaceChildren(...r.clusters.map((c, i) => {
    const li = document.createElement('li');
    li.textContent = `person ${i + 1}: ${c.size} faces (${c.faces.map((f) => f.source ?? f.id).slice(0, 6).join(', ')}${c.size > 6 ? ', …' : ''})`;
    const name = document.createElement('input');
    name.placeholder = 'name';
    const promote = document.createElement('button');
    promote.textContent = 'Make a person';
    promote.addEventListener('click', () => void act($('cluster-result'), async () => {
      const s = await backend.promote(c.id, name.value.trim());
      await refreshSubjects();
      return `${s.name}: ${s.faceCount} faces`;
    }));
    li.append(name, promote);
    return li;
  }));
  return `${r.clusters.length} group${r.clusters.length === 1 ? '' : 's'}, ${r.unclustered} face${r.unclustered === 1 ? '' : 's'} on their own`;
}));

async function start(): Promise<void> {
  try {
    const ready = await (await fetch(`${location.origin}/readyz`)).json() as { auth?: string; models?: { recognizer?: string } };
    $('key-box').hidden = ready.auth !== 'keys';
    setStatus(`models: ${ready.models?.recognizer?.split('/').pop() ?? '?'}${ready.auth === 'single-user' ? ' · single-user' : ''}`);
    if (ready.auth !== 'keys' || keyInput.value) await refreshSubjects();
  } catch {
    setStatus('no faceprint server here');
  }
  document.body.dataset.ready = 'true';
}

export function useBackend(b: Backend): void {
  backend = b;
  $('mode').textContent = b.label;
}

void start();
