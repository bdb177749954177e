// The Cameras card: the server's monitors (serve), their state, a live view of the selected one and its events
// as they come. Server mode only: cameras are watched by the server, not by this page.
import type { HttpBackend } from '../backend.js';
import { $, confirmed, errorWords, noteError } from '../dom.js';
import { say, text } from '../strings.js';

interface MonitorView {
  id: string; name: string; source: string; enabled: boolean; state: string; lastError: string | null; fps: number; cooldownS: number;
  keepFaces: boolean; stats: { analysed: number; dropped: number; lagP99Ms: number };
}
interface MonitorEvent { id: number; type: string; time: string; subject: { name: string } | null; score: number | null; face?: string; message?: string }

const tell = (words: string, error = false): void => {
  $('cameras-result').textContent = words;
  $('cameras-result').classList.toggle('error', error);
};
const fail = (e: unknown): void => {
  tell(errorWords(e), true);
  noteError(errorWords(e));
};

/** A name field and a button that enrol an unknown face (an event's JPEG) as that person, in one click. */
function enrolForm(faceBase64: string, call: <T>(method: string, path: string, body?: unknown) => Promise<T>): HTMLElement {
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
    const fd = new FormData();
    fd.append('images', new Blob([Uint8Array.from(atob(faceBase64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }), 'camera-face.jpg');
    const r = await call<{ accepted: unknown[]; refused: { reason: string }[]; subject: { faceCount: number } }>('POST', `/v1/subjects/${encodeURIComponent(who)}/faces?create=true`, fd);
    if (r.accepted.length === 0) throw new Error(say.notEnrolled(r.refused.map((x) => x.reason)));
    tell(say.cameraEnrolled(who, r.subject.faceCount));
  })().catch(fail));
  span.append(' ', name, button);
  return span;
}

/** One event as a line of the timeline (its face, and for an unknown face the form that enrols it). */
function eventLine(e: MonitorEvent, call: <T>(method: string, path: string, body?: unknown) => Promise<T>): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.event = e.type;
  li.textContent = say.eventLine(new Date(e.time).toLocaleTimeString(), e.type, e.subject?.name ?? null, e.score, e.message);
  if (e.face) {
    const face = document.createElement('img');
    face.src = `data:image/jpeg;base64,${e.face}`;
    face.alt = e.subject ? e.subject.name : say.unknownFace;
    face.width = 48;
    li.prepend(face);
    if (e.type === 'unknown-enter') li.append(enrolForm(e.face, call));
  }
  return li;
}

/** Sets up the card; `key()` is the API key in the header field, `active()` whether the page is in server mode. */
export function initCameras(api: HttpBackend, base: string, key: () => string, active: () => boolean): { refresh(): Promise<void> } {
  let selected: string | null = null;
  let after = 0;
  const call = <T>(method: string, path: string, body?: unknown): Promise<T> => api.call<T>(method, path, body as FormData | object | undefined);

  async function refresh(): Promise<void> {
    if (!active()) return;
    const { monitors } = await call<{ monitors: MonitorView[] }>('GET', '/v1/monitors');
    $('cameras-list').replaceChildren(...monitors.map((m) => {
      const li = document.createElement('li');
      li.dataset.monitor = m.id;
      li.textContent = say.cameraLine({ name: m.name, state: m.state, lastError: m.lastError, analysed: m.stats.analysed, lag: m.stats.lagP99Ms, source: m.source });
      const button = (label: string, run: () => Promise<unknown>) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.addEventListener('click', () => void run().then(refresh, fail));
        li.append(b);
      };
      button(say.cameraButtons.view, async () => select(m.id));
      button(say.cameraButtons.edit, async () => {
        // the source stays as it is (it is never sent back to the page: its password is the server's)
        const name = prompt(say.cameraPromptName, m.name);
        if (name === null) return;
        const fps = Number(prompt(say.cameraPromptFps, String(m.fps)) ?? m.fps);
        const cooldownS = Number(prompt(say.cameraPromptCooldown, String(m.cooldownS)) ?? m.cooldownS);
        await call('PATCH', `/v1/monitors/${m.id}`, { name: name.trim() || m.name, fps, cooldownS });
      });
      button(m.enabled ? say.cameraButtons.stop : say.cameraButtons.start, () => call('POST', `/v1/monitors/${m.id}/${m.enabled ? 'stop' : 'start'}`));
      button(say.cameraButtons.remove, async () => {
        if (await confirmed(say.cameraRemove(m.name))) await call('DELETE', `/v1/monitors/${m.id}`);
      });
      return li;
    }));
    if (monitors.length === 0) tell(say.camerasNone);
  }

  function select(id: string): void {
    selected = id;
    after = 0;
    $('camera-events').replaceChildren();
    $<HTMLImageElement>('camera-view').hidden = false;
  }

  async function tick(): Promise<void> {
    if (!selected || !active()) return;
    const res = await fetch(`${base}/v1/monitors/${selected}/snapshot.jpg`, { headers: key() ? { authorization: `Bearer ${key()}` } : {} });
    if (res.status === 200) {
      const img = $<HTMLImageElement>('camera-view');
      const old = img.src;
      img.src = URL.createObjectURL(await res.blob());
      if (old.startsWith('blob:')) URL.revokeObjectURL(old);
    }
    const page = await call<{ events: MonitorEvent[]; dropped: boolean }>('GET', `/v1/monitors/${selected}/events?after=${after}`);
    for (const e of page.events) {
      after = e.id;
      $('camera-events').prepend(eventLine(e, call));
    }
  }

  $('camera-add').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $<HTMLInputElement>('camera-name').value.trim();
    const source = $<HTMLInputElement>('camera-source').value.trim();
    void call<MonitorView>('POST', '/v1/monitors', { name, source, keepFaces: $<HTMLInputElement>('camera-faces').checked })
      .then((m) => { tell(say.cameraAdded(m.name, m.state)); select(m.id); return refresh(); }, fail);
  });
  $('cameras-refresh').addEventListener('click', () => void refresh().catch(fail));
  setInterval(() => void tick().catch(() => undefined), 1000);
  return { refresh };
}
