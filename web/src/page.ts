import { ApiCallError, HttpBackend, type Backend, type Cluster } from './backend.js';
import { clearCanvas, drawFaces, drawPhoto, headsLabel } from './draw.js';
import type { LocalBackend } from './local-backend.js';
import { initCameras } from './cameras.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const KEY_STORAGE = 'faceprint.apiKey';

// The key lives as long as the tab (sessionStorage), not on the disk for ever: any script that ever ran on this
// origin could read localStorage. A key left there by an older page is removed.
localStorage.removeItem(KEY_STORAGE);
const keyInput = $<HTMLInputElement>('api-key');
keyInput.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
keyInput.addEventListener('change', () => {
  sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim());
  // the threshold and the people need a key: shown as soon as one is entered, no reload
  if (backend === server) {
    void showThresholds();
    void refreshSubjects().catch(() => undefined);
    void cameras.refresh().catch(() => undefined);
  }
});

const http = new HttpBackend(location.origin, () => keyInput.value.trim());
const server: Backend = http;
// the server's cameras: shown in server mode only
const cameras = initCameras(http, location.origin, () => keyInput.value.trim(), () => backend === server && !!serverInfo?.auth);
let backend: Backend = server;
let local: LocalBackend | null = null;
const params = new URLSearchParams(location.search);

function setStatus(text: string): void {
  $('status').textContent = text;
}
/** What /v1/info said: how this server authenticates, its recognizer, the models it offers the page. */
let serverInfo: { auth?: string; recognizer?: string; models?: { role: string; url: string; sha256: string }[] } | null = null;
const needsKey = (): boolean => serverInfo?.auth === 'keys' && !keyInput.value.trim();

/** Runs an action, showing its outcome (or its error code and message) in `out`; an error clears `canvas`. */
async function act(out: HTMLElement, work: () => Promise<string | void>, canvas?: HTMLCanvasElement): Promise<void> {
  out.classList.remove('error');
  out.textContent = '…';
  try {
    const text = await work();
    out.textContent = text ?? '';
  } catch (e) {
    if (canvas) clearCanvas(canvas);
    out.classList.add('error');
    const code = (e as { code?: unknown }).code;
    out.textContent = e instanceof ApiCallError || typeof code === 'string' ? `${code}: ${(e as Error).message}` : String((e as Error).message ?? e);
  }
}

const firstFile = (id: string): File | undefined => $<HTMLInputElement>(id).files?.[0];
const allFiles = (id: string): File[] => [...($<HTMLInputElement>(id).files ?? [])];
/** What showThresholds put in each field: a field left at that value lets the backend use the threshold in force. */
const inForce: Record<string, string> = {};
function thresholdOf(id: string): number | undefined {
  const v = $<HTMLInputElement>(id).value;
  return v === '' || v === inForce[id] ? undefined : Number(v);
}

async function analyzeBlob(blob: Blob): Promise<void> {
  await act($('analyze-result'), async () => {
    const r = await backend.analyze(blob);
    await drawFaces($<HTMLCanvasElement>('analyze-canvas'), blob, r.faces, r.faces.map((_, i) => `#${i + 1}`));
    const list = $('analyze-faces');
    list.replaceChildren(...r.faces.map((f, i) => {
      const li = document.createElement('li');
      li.textContent = `#${i + 1}  score ${f.score.toFixed(2)}${headsLabel(f) ? `  ·  ${headsLabel(f)}` : ''}`;
      return li;
    }));
    return `${r.faces.length} face${r.faces.length === 1 ? '' : 's'} in ${r.width}×${r.height}`;
  }, $<HTMLCanvasElement>('analyze-canvas'));
}

$('analyze-file').addEventListener('change', () => {
  const f = firstFile('analyze-file');
  if (f) void analyzeBlob(f);
});
// choosing the same file again is a choice too (a file input fires no change for it unless emptied first)
for (const id of ['analyze-file', 'identify-file']) $(id).addEventListener('click', () => { $<HTMLInputElement>(id).value = ''; });

const video = $<HTMLVideoElement>('webcam');
$('webcam-start').addEventListener('click', () => void act($('analyze-result'), async () => {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  video.hidden = false;
  $('webcam-snap').hidden = false;
  $('webcam-live').hidden = backend.label !== 'on-device';
  return 'webcam on: take a photo to analyse it';
}));
$('webcam-snap').addEventListener('click', () => {
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d')!.drawImage(video, 0, 0);
  c.toBlob((blob) => blob && void analyzeBlob(blob), 'image/jpeg', 0.95);
});

const compareChosen = (): Promise<void> => act($('compare-result'), async () => {
  const a = firstFile('compare-a');
  const b = firstFile('compare-b');
  if (!a || !b) throw new Error('choose two photos');
  await Promise.all([drawPhoto($<HTMLCanvasElement>('compare-canvas-a'), a, 240), drawPhoto($<HTMLCanvasElement>('compare-canvas-b'), b, 240)]);
  const v = await backend.verify(a, b, thresholdOf('compare-threshold'));
  return `${v.same ? 'same person' : 'different people'}: cosine ${v.score.toFixed(3)} (threshold ${v.threshold.toFixed(3)}, ${v.basis})`;
});
$('compare-submit').addEventListener('click', () => void compareChosen());
$('compare-threshold').addEventListener('change', () => {
  if (firstFile('compare-a') && firstFile('compare-b')) void compareChosen();
});

$('enrol-submit').addEventListener('click', () => void act($('enrol-result'), async () => {
  const name = $<HTMLInputElement>('enrol-name').value.trim();
  const files = allFiles('enrol-files');
  if (!name || files.length === 0) throw new Error('give a name and at least one photo');
  const r = await backend.enrol(name, files);
  await refreshSubjects();
  const refused = r.refused.map((x) => `${x.source ?? 'photo'}: ${x.reason}`).join(', ');
  return `enrolled ${r.accepted.length} photo${r.accepted.length === 1 ? '' : 's'} of ${r.subject.name} (now ${r.subject.faceCount})${refused ? `; refused ${refused}` : ''}`;
}));

/** Identifies the chosen photo: matches in green, unknown faces in dashed orange. Re-run when the threshold changes. */
let identifyPhoto: File | undefined;
const identifyChosen = (): Promise<void> => act($('identify-result'), async () => {
  const f = firstFile('identify-file') ?? identifyPhoto;
  if (!f) return;
  identifyPhoto = f;
  const found = await backend.identify(f, thresholdOf('identify-threshold'));
  const labels = found.map((x) => (x.subject ? `${x.subject.name} ${x.subject.score.toFixed(2)}` : 'unknown'));
  await drawFaces($<HTMLCanvasElement>('identify-canvas'), f, found.map((x) => x.face), labels, 640, found.map((x) => !x.subject));
  return found.length ? `${labels.join(', ')} (threshold ${found[0].threshold.toFixed(2)}, ${sourceWords(found[0].thresholdSource)})` : 'no face found';
}, $<HTMLCanvasElement>('identify-canvas'));
$('identify-file').addEventListener('change', () => void identifyChosen());
$('identify-threshold').addEventListener('change', () => void identifyChosen());

const sourceWords = (s: string): string => ({ given: 'given', calibration: 'calibrated', 'known-model': 'known model' })[s] ?? s;

/** Puts the threshold in force into the threshold fields (what a decision uses when the box is left as it is). */
async function showThresholds(): Promise<void> {
  if (backend === server && needsKey()) {
    $('threshold-basis').textContent = 'enter an API key to use this server';
    return;
  }
  const t = await backend.threshold().catch(() => null);
  for (const [id, value] of [['compare-threshold', t?.threshold], ['identify-threshold', t?.threshold], ['cluster-distance', t?.maxDistance]] as const) {
    const input = $<HTMLInputElement>(id);
    input.value = inForce[id] = value === undefined ? '' : value.toFixed(2);
    input.placeholder = t ? '' : 'no threshold: calibrate';
  }
  $('threshold-basis').textContent = t ? `threshold ${t.threshold.toFixed(2)}: ${t.basis}` : 'no threshold for this recognizer: enter one, or calibrate (faceprint calibrate)';
}

async function refreshSubjects(): Promise<void> {
  const list = $('subjects-list');
  void backend.clusters().then(renderClusters, () => undefined);
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
/** The people list refreshed in the background; a failure is said in the status line, which is otherwise kept. */
function refreshQuietly(): void {
  refreshSubjects().catch((e: Error & { code?: string }) => setStatus(`${e.code ? `${e.code}: ` : ''}${e.message}`));
}
$('subjects-refresh').addEventListener('click', refreshQuietly);

/** Lists the groups with a name field and a button that makes each a person. */
function renderClusters(r: { clusters: Cluster[]; unclustered: number }): string {
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
      renderClusters(await backend.clusters());
      return `${s.name}: ${s.faceCount} faces`;
    }));
    li.append(name, promote);
    return li;
  }));
  return `${r.clusters.length} group${r.clusters.length === 1 ? '' : 's'}, ${r.unclustered} face${r.unclustered === 1 ? '' : 's'} on their own`;
}

$('cluster-submit').addEventListener('click', () => void act($('cluster-result'), async () => renderClusters(await backend.cluster(allFiles('cluster-files'), thresholdOf('cluster-distance')))));

/** Empties every result of the page: what one mode found is not shown beside the other mode's people. */
function clearResults(): void {
  for (const el of document.querySelectorAll<HTMLElement>('.result')) {
    el.textContent = '';
    el.classList.remove('error');
  }
  for (const c of document.querySelectorAll<HTMLCanvasElement>('main canvas')) clearCanvas(c);
  for (const id of ['analyze-faces', 'subjects-list', 'clusters-list']) $(id).replaceChildren();
  identifyPhoto = undefined;
}

/** The mode in the header: its button pressed (one only), the badge, and what runs the models. */
function showMode(b: Backend | 'device-pending'): void {
  const device = b !== server;
  if (b !== 'device-pending' && b !== backend) clearResults();
  if (b === 'device-pending') clearResults();
  $('mode-server').setAttribute('aria-pressed', String(!device));
  $('mode-device').setAttribute('aria-pressed', String(device));
  $('models').hidden = !device;
  $('cameras').hidden = device;
  $('mode').classList.toggle('pending', b === 'device-pending');
  if (b === 'device-pending') {
    $('mode').textContent = 'on-device: load models';
    setStatus('on this device: no models loaded yet');
    $('threshold-basis').textContent = '';
    return;
  }
  backend = b;
  void showThresholds();
  $('mode').textContent = b.label;
  $('webcam-live').hidden = !device || $('webcam-snap').hidden;
  if (device && local) setStatus(`on this device: ${local.analyzer.recognizerName ?? 'no recognizer'}`);
  else if (serverInfo) setStatus(`server models: ${serverInfo.recognizer || '?'}${serverInfo.auth === 'single-user' ? ' · single-user' : ''}`);
}

/** Loads the models into the page (URL fields or picked files) and opens the IndexedDB gallery. */
async function loadLocal(): Promise<string> {
  const detFile = $<HTMLInputElement>('model-detector-file').files?.[0];
  const recFile = $<HTMLInputElement>('model-recognizer-file').files?.[0];
  // a model the server offers is checked against the sha256 it gave, when its URL is the one used
  const offeredSha = (url: string): string | undefined => serverInfo?.models?.find((m) => new URL(m.url, location.href).href === url)?.sha256;
  const detUrl = new URL($<HTMLInputElement>('model-detector').value, location.href).href;
  const recUrl = new URL($<HTMLInputElement>('model-recognizer').value, location.href).href;
  const headUrls = $<HTMLInputElement>('model-heads').value.split(',').map((u) => u.trim()).filter(Boolean).map((u) => new URL(u, location.href).href);
  if (!detFile && !$<HTMLInputElement>('model-detector').value.trim()) throw new Error('pick the detector file (e.g. det_10g.onnx) or give its URL');
  const progress = $<HTMLProgressElement>('models-progress');
  const { LocalBackend, loadModelBytes } = await import('./local-backend.js');
  const started = performance.now();
  await local?.analyzer.close();
  local = await LocalBackend.open({
    detector: detFile ?? detUrl,
    recognizer: recFile ?? recUrl,
    heads: headUrls,
    ...(detFile ? {} : { detectorSha256: offeredSha(detUrl) }),
    ...(recFile ? {} : { recognizerSha256: offeredSha(recUrl) }),
    headsSha256: headUrls.map(offeredSha).filter((x): x is string => !!x).length === headUrls.length ? headUrls.map((u) => offeredSha(u)!) : undefined,
    // onnxruntime-web's default is half the cores; a page doing one thing at a time gains from all of them
    numThreads: params.has('threads') ? Number(params.get('threads')) : Math.min(4, navigator.hardwareConcurrency || 1),
    // ?detInput=image: the detector sized to each photo (faster on small photos; not bit-exact with InsightFace)
    detInput: params.get('detInput') === 'image' ? 'image' : 'model',
    // ?detSize=N: one detector size (InsightFace 0.7.3's single pass at 640); small values suit one large face a photo
    ...(params.has('detSize') ? { detSize: Number(params.get('detSize')) } : {}),
    // ?detSizes=128,640: sizes merged by one NMS; the default without either is InsightFace 1.0's Auto (128,640)
    ...(params.has('detSizes') ? { detSizes: params.get('detSizes')!.split(',').map(Number) } : {}),
    executionProviders: params.get('ep') === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    onProgress: (_model, loaded, total) => {
      progress.value = total ? loaded / total : 0;
    },
  });
  progress.value = 1;
  showMode(local);
  await showThresholds();
  // for tests and the curious: the engine this page runs
  (window as unknown as { faceprint: unknown }).faceprint = { local, loadModelBytes, crossOriginIsolated: self.crossOriginIsolated };
  await refreshSubjects();
  return `loaded in ${((performance.now() - started) / 1000).toFixed(1)} s: ${local.analyzer.recognizerName}, ${local.analyzer.embeddingSize}-d; ` +
    `${self.crossOriginIsolated ? 'WASM threads on' : 'single-threaded (no COOP/COEP)'}`;
}

$('mode-server').addEventListener('click', () => {
  showMode(server);
  if (!needsKey()) refreshQuietly();
});
$('mode-device').addEventListener('click', () => {
  if (local) {
    showMode(local);
    refreshQuietly();
  } else showMode('device-pending');
});
$('models-load').addEventListener('click', () => void act($('models-result'), loadLocal));

let live = false;
$('webcam-live').addEventListener('click', () => void act($('analyze-result'), async () => {
  live = !live;
  $('webcam-live').textContent = live ? 'Stop' : 'Identify live';
  if (!live || !local) return 'live: stopped';
  // the tracker: detection on every frame, an embedding only when a track is new or its face got clearly
  // better, names decided per track (with hysteresis), so they do not flicker and the recognizer mostly rests
  // ?cuts=off: no shot-cut detection; ?cutRatio=N: its sensitivity (the library's default 3)
  const cuts = params.get('cuts') === 'off' ? false : params.has('cutRatio') ? { ratio: Number(params.get('cutRatio')) } : undefined;
  const session = await local.liveSession(thresholdOf('identify-threshold'), cuts);
  const canvas = $<HTMLCanvasElement>('analyze-canvas');
  const started = performance.now();
  const recent: number[] = [];
  (window as unknown as { faceprint: Record<string, unknown> }).faceprint.live = session.stats;
  const loop = async (): Promise<void> => {
    if (!live || !local) return;
    const frame = await createImageBitmap(video);
    const result = await session.push(await local.analyzer.decode(frame), performance.now() - started);
    const labels = result.faces.map((f) => `#${f.trackId} ${f.subject ? f.subject.name : 'unknown'}`);
    await drawFaces(canvas, frame, result.faces.map((f) => ({ bbox: f.bbox, kps: [] })), labels, 640, result.faces.map((f) => !f.subject));
    frame.close();
    recent.push(performance.now());
    if (recent.length > 30) recent.shift();
    const fps = recent.length > 1 ? ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]) : 0;
    const names = result.faces.map((f) => (f.subject ? f.subject.name : 'unknown'));
    $('analyze-result').textContent = `live: ${names.join(', ') || 'no face'} · ${fps.toFixed(1)} fps · ${session.stats.recognizerRuns} recognizer runs in ${session.stats.frames} frames`;
    requestAnimationFrame(() => void loop());
  };
  void loop();
  return 'live: starting';
}));

/** Photos dropped on a section go to its file input, as if chosen (and the input's change handler runs). */
for (const [section, input] of [['analyze', 'analyze-file'], ['identify', 'identify-file'], ['enrol', 'enrol-files'], ['clusters', 'cluster-files']] as const) {
  const zone = $(section);
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('dropping');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dropping'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dropping');
    const files = e.dataTransfer?.files;
    if (!files?.length) return;
    const target = $<HTMLInputElement>(input);
    target.files = files;
    target.dispatchEvent(new Event('change'));
  });
}

async function start(): Promise<void> {
  let ready: typeof serverInfo = null;
  try {
    const res = await fetch(`${location.origin}/v1/info`);
    if (res.ok) ready = await res.json();
  } catch {
    ready = null;
  }
  serverInfo = ready;
  const offered = ready?.models ?? [];
  const detector = offered.find((m) => m.role === 'detector');
  const recognizer = offered.find((m) => m.role === 'recognizer');
  if (detector) $<HTMLInputElement>('model-detector').value = detector.url;
  if (recognizer) $<HTMLInputElement>('model-recognizer').value = recognizer.url;
  const heads = offered.filter((m) => m.role === 'head');
  if (heads.length) $<HTMLInputElement>('model-heads').value = heads.map((m) => m.url).join(', ');
  $('models-offer').textContent = detector
    ? `This server offers its own models (${offered.map((m) => m.url.split('/').pop()).join(', ')}), checked by their sha256: press Load models.`
    : 'No models are offered here: pick the detector and recognizer .onnx files below (buffalo_l\'s det_10g.onnx and w600k_r50.onnx, or the fixtures\' det_500m.onnx and mobilefacenet.onnx), or give their URLs.';
  if (ready?.auth) {
    $('key-box').hidden = ready.auth !== 'keys';
    showMode(server);
    if (!needsKey()) {
      await refreshSubjects().catch(() => undefined);
      // a server without monitors (serve --max-monitors 0) has no cameras to show
      await cameras.refresh().catch((e: { status?: number }) => { if (e.status === 404) $('cameras').hidden = true; });
    }
  } else {
    $('cameras').hidden = true;
    // static hosting: no API, everything on this device
    $('mode-server').hidden = true;
    setStatus('static page: models run on this device');
    $('models').hidden = false;
    $('mode').textContent = 'on-device';
  }
  for (const [param, id] of [['detector', 'model-detector'], ['recognizer', 'model-recognizer'], ['heads', 'model-heads']] as const) {
    const v = params.get(param);
    if (v) $<HTMLInputElement>(id).value = v;
  }
  if (params.has('detector') && params.has('recognizer')) await act($('models-result'), loadLocal);
  else await showThresholds();
  document.body.dataset.ready = 'true';
}

void start();
