// The Cameras card: the server's monitors (serve), their state, a live view of the selected one and its events
// as they come. Server mode only: cameras are watched by the server, not by this page.
import type { FaceprintClient } from '../../../src/client/index.js';
import type { Monitor, MonitorEvent } from '../../../src/client/types.js';
import { $, confirmed, errorWords, noteError } from '../dom.js';
import { say, text } from '../strings.js';


const tell = (words: string, error = false): void => {
  $('cameras-result').textContent = words;
  $('cameras-result').classList.toggle('error', error);
};
const fail = (e: unknown): void => {
  tell(errorWords(e), true);
  noteError(errorWords(e));
};

/** A name field and a button that enrol an unknown face (an event's JPEG) as that person of the camera's
 * collection (the one it recognises from), in one click. */
function enrolForm(faceBase64: string, collection: string, client: FaceprintClient): HTMLElement {
  const span = document.createElement('span');
  const name = document.createElement('input');
  name.placeholder = text['enrol.name'];
  name.setAttribute('aria-label', text['enrol.name.label']);
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = say.cameraButtons.enrol;
  button.addEventListener('click', () => void (async () => {
    const who = name.value.trim();
    if (!who) throw new Error(say.givePersonName);
    const face = new Blob([Uint8Array.from(atob(faceBase64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' });
    const r = await client.enroll(who, [{ data: face, name: 'camera-face.jpg' }], { create: true, collection });
    if (r.accepted.length === 0) throw new Error(say.notEnrolled(r.refused.map((x) => x.reason)));
    tell(say.cameraEnrolled(who, r.subject.faceCount));
  })().catch(fail));
  span.append(' ', name, button);
  return span;
}

/** One event as a line of the timeline (its face, and for an unknown face the form that enrols it). */
function eventLine(e: MonitorEvent, collection: string, client: FaceprintClient): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.event = e.type;
  li.textContent = say.eventLine(new Date(e.time).toLocaleTimeString(), e.type, e.subject?.name ?? null, e.score, e.message);
  if (e.face) {
    const face = document.createElement('img');
    face.src = `data:image/jpeg;base64,${e.face}`;
    face.alt = e.subject ? e.subject.name : say.unknownFace;
    face.width = 48;
    li.prepend(face);
    if (e.type === 'unknown-enter') li.append(enrolForm(e.face, collection, client));
  }
  return li;
}

/** Sets up the card; `active()` says whether the page is in server mode, `collection()` which collection the
 * header picked (a camera added here recognises that collection's people). */
export function initCameras(client: FaceprintClient, active: () => boolean, collection: () => string): { refresh(): Promise<void> } {
  let selected: Monitor | null = null;
  let after = 0;

  async function refresh(): Promise<void> {
    if (!active()) return;
    const { monitors } = await client.listMonitors();
    $('cameras-list').replaceChildren(...monitors.map((m) => {
      const li = document.createElement('li');
      li.dataset.monitor = m.id;
      li.textContent = say.cameraLine({ name: m.name, state: m.state, lastError: m.lastError, analysed: m.stats.analysed, lag: m.stats.lagP99Ms, source: m.source, collection: m.collection });
      const button = (label: string, run: () => Promise<unknown>) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.addEventListener('click', () => void run().then(refresh, fail));
        li.append(b);
      };
      button(say.cameraButtons.view, async () => select(m));
      button(say.cameraButtons.edit, async () => {
        // the source stays as it is (it is never sent back to the page: its password is the server's)
        const name = prompt(say.cameraPromptName, m.name);
        if (name === null) return;
        const fps = Number(prompt(say.cameraPromptFps, String(m.fps)) ?? m.fps);
        const cooldownS = Number(prompt(say.cameraPromptCooldown, String(m.cooldownS)) ?? m.cooldownS);
        await client.updateMonitor(m.id, { name: name.trim() || m.name, fps, cooldownS });
      });
      button(m.enabled ? say.cameraButtons.stop : say.cameraButtons.start, () => (m.enabled ? client.stopMonitor(m.id) : client.startMonitor(m.id)));
      button(say.cameraButtons.remove, async () => {
        if (await confirmed(say.cameraRemove(m.name))) await client.deleteMonitor(m.id);
      });
      return li;
    }));
    if (monitors.length === 0) tell(say.camerasNone);
  }

  function select(m: Monitor): void {
    selected = m;
    after = 0;
    $('camera-events').replaceChildren();
    $<HTMLImageElement>('camera-view').hidden = false;
  }

  async function tick(): Promise<void> {
    if (!selected || !active()) return;
    const { id, collection } = selected;
    const snapshot = await client.monitorSnapshot(id);
    if (snapshot) {
      const img = $<HTMLImageElement>('camera-view');
      const old = img.src;
      img.src = URL.createObjectURL(snapshot);
      if (old.startsWith('blob:')) URL.revokeObjectURL(old);
    }
    const page = await client.monitorEvents(id, { after });
    for (const e of page.events) {
      after = e.id;
      $('camera-events').prepend(eventLine(e, collection, client));
    }
  }

  $('camera-add').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $<HTMLInputElement>('camera-name').value.trim();
    const source = $<HTMLInputElement>('camera-source').value.trim();
    void client.createMonitor({ name, source, keepFaces: $<HTMLInputElement>('camera-faces').checked, collection: collection() })
      .then((m) => { tell(say.cameraAdded(m.name, m.state)); select(m); return refresh(); }, fail);
  });
  $('cameras-refresh').addEventListener('click', () => void refresh().catch(fail));
  setInterval(() => void tick().catch(() => undefined), 1000);
  return { refresh };
}
