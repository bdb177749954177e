// The console's frame: the mode (server or this device), the API key, the status pill, the threshold in force,
// the navigation between views; each view is its own module in views/.
import type { Backend } from './backend.js';
import { $, act, applyStrings, h } from './dom.js';
import { clearZone, initDropZones } from './drop-zone.js';
import { initRouter, onShow, setAvailable, show, type ViewName } from './router.js';
import { app, devicePending, http, inForce, needsKey, onServer, restoreKey, usable, useBackend } from './state.js';
import { say, text } from './strings.js';
import { initCameras } from './views/cameras.js';
import { initCompare } from './views/compare.js';
import { initDetect } from './views/detect.js';
import { clearGroups, initGroup, refreshGroups } from './views/group.js';
import { clearIdentify, initIdentify } from './views/identify.js';
import { loadModels, showOffer } from './views/models.js';
import { initOverview, refreshOverview } from './views/overview.js';
import { clearPeople, initPeople, refreshPeople } from './views/people.js';
import { initSystem, refreshSystem } from './views/system.js';

applyStrings(document);
initRouter();
initDropZones();
initDetect();
initCompare();
initPeople();
initIdentify();
initGroup();
initOverview();
initSystem();
// the server's cameras: shown in server mode only
const cameras = initCameras(http.client, () => onServer() && !!app.info?.auth, () => http.collection);
restoreKey(() => {
  // the threshold and the people need a key: shown as soon as one is entered, no reload
  if (onServer()) void showCollections().then(refreshAll);
});

onShow('overview', () => refreshOverview());
onShow('group', () => usable() ? refreshGroups().catch(() => undefined) : undefined);
onShow('system', () => usable() ? refreshSystem() : undefined);
onShow('cameras', () => usable() ? cameras.refresh().catch(() => undefined) : undefined);

function setStatus(words: string): void {
  $('status').textContent = words;
}

/** Puts the threshold in force into the threshold fields (what a decision uses when the box is left as it is). */
async function showThresholds(): Promise<void> {
  if (!usable()) {
    $('threshold-basis').textContent = onServer() ? say.needKey : '';
    return;
  }
  const t = await app.backend.threshold().catch(() => null);
  for (const [id, value] of [['compare-threshold', t?.threshold], ['identify-threshold', t?.threshold], ['cluster-distance', t?.maxDistance]] as const) {
    const input = $<HTMLInputElement>(id);
    input.value = inForce[id] = value === undefined ? '' : value.toFixed(2);
    input.placeholder = t ? '' : say.noThresholdField;
  }
  $('threshold-basis').textContent = t ? say.thresholdInForce(t.threshold, t.basis) : say.noThreshold;
}

/** The threshold, the people and the view in sight, for the backend now in use. */
async function refreshAll(): Promise<void> {
  await showThresholds();
  if (usable()) await refreshPeople().catch((e: Error & { code?: string }) => setStatus(say.error(e.code, e.message)));
  await show();
}

/** Empties every result: what one mode found is not shown beside the other mode's people. */
function clearResults(): void {
  for (const el of document.querySelectorAll<HTMLElement>('.result')) {
    el.textContent = '';
    el.classList.remove('error');
  }
  for (const c of document.querySelectorAll<HTMLCanvasElement>('main canvas')) {
    c.width = 0;
    c.height = 0;
  }
  for (const id of ['analyze-faces', 'compare-crops']) $(id).replaceChildren();
  $('analyze-json-box').hidden = true;
  $('compare-meter').hidden = true;
  $('compare-decision').textContent = '';
  for (const id of ['analyze-file', 'compare-a', 'compare-b', 'identify-file', 'cluster-files', 'person-files']) clearZone(id);
  clearPeople();
  clearIdentify();
  clearGroups();
}

/** Views each mode has: the server's cameras and system report in server mode, the models panel on the device. */
function offered(device: boolean, staticPage: boolean): (v: ViewName) => boolean {
  const server = !device && !staticPage;
  return (v) => (v === 'models' ? device : v === 'system' ? server : v === 'cameras' ? server && app.hasCameras : true);
}

/** The mode in the header: its button pressed (one only), the badge, the status, and the views it offers. */
function showMode(b: Backend | 'device-pending'): void {
  const device = b !== http;
  if (b === 'device-pending' || b !== app.backend) clearResults();
  $('mode-server').setAttribute('aria-pressed', String(!device));
  $('mode-device').setAttribute('aria-pressed', String(device));
  $('mode').classList.toggle('pending', b === 'device-pending');
  document.body.dataset.mode = device ? 'device' : 'server';
  useBackend(b === 'device-pending' ? devicePending : b);
  $('collection-box').hidden = device || $<HTMLSelectElement>('collection').options.length === 0;
  setAvailable(offered(device, !app.info?.auth), b === 'device-pending' ? 'models' : 'overview');
  if (b === 'device-pending') {
    $('mode').textContent = say.devicePendingBadge;
    setStatus(say.devicePending);
    $('threshold-basis').textContent = '';
    return;
  }
  $('mode').textContent = device ? text['badge.device'] : text['badge.server'];
  $('webcam-live').hidden = !device || $('webcam-snap').hidden;
  if (device && app.local) setStatus(say.deviceStatus(app.local.analyzer.recognizerName ?? say.noRecognizer));
  else if (app.info) setStatus(say.serverStatus(app.info.recognizer ?? '', app.info.auth === 'single-user'));
}

$('mode-server').addEventListener('click', () => {
  showMode(http);
  void refreshAll();
});
$('mode-device').addEventListener('click', () => {
  if (app.local) {
    showMode(app.local);
    void refreshAll();
  } else {
    showMode('device-pending');
    history.replaceState(null, '', '#/models');
    void refreshAll();
  }
});
const loadLocal = async (): Promise<string> => {
  const { local, words } = await loadModels();
  app.local = local;
  showMode(local);
  await refreshAll();
  return words;
};
$('models-load').addEventListener('click', () => void act($('models-result'), loadLocal));

const COLLECTION_STORAGE = 'faceprint.collection';

/** The server's collections in the header's picker (the one in use kept for the tab); hidden when it lists none. */
async function showCollections(): Promise<void> {
  const picker = $<HTMLSelectElement>('collection');
  const list = await http.client.listCollections({ limit: 1000 }).then((r) => r.collections, () => []);
  $('collection-box').hidden = list.length === 0 || !onServer();
  const wanted = sessionStorage.getItem(COLLECTION_STORAGE) ?? 'default';
  http.collection = list.some((c) => c.name === wanted) ? wanted : 'default';
  picker.replaceChildren(...list.map((c) => h('option', { value: c.name, text: c.name, selected: c.name === http.collection })));
  app.serverThumbnails = !!list.find((c) => c.name === http.collection)?.settings.thumbnails;
}
$('collection').addEventListener('change', () => {
  sessionStorage.setItem(COLLECTION_STORAGE, $<HTMLSelectElement>('collection').value);
  http.collection = $<HTMLSelectElement>('collection').value;
  clearResults();
  void showCollections().then(refreshAll);
});

async function start(): Promise<void> {
  try {
    const res = await fetch(`${location.origin}/v1/info`);
    app.info = res.ok ? await res.json() : null;
  } catch {
    app.info = null;
  }
  showOffer();
  if (app.info?.auth) {
    $('key-box').hidden = app.info.auth !== 'keys';
    if (!needsKey()) {
      // a server without monitors (serve --max-monitors 0) has no cameras to show
      await cameras.refresh().catch((e: { status?: number }) => { if (e.status === 404) app.hasCameras = false; });
    }
    showMode(http);
    if (!needsKey()) await showCollections();
  } else {
    // static hosting: no API, everything on this device
    $('mode-server').hidden = true;
    showMode('device-pending');
    setStatus(say.staticPage);
    $('mode').textContent = text['badge.device'];
  }
  await refreshAll();
  if (app.params.has('detector') && app.params.has('recognizer')) await act($('models-result'), loadLocal);
  document.body.dataset.ready = 'true';
}

void start();
