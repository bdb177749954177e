// The Cameras card: the server's monitors (serve), their state, a live view of the selected one and its events
// as they come. Server mode only: cameras are watched by the server, not by this page.
import { ApiCallError } from './api-error.js';
import type { HttpBackend } from './backend.js';

interface MonitorView {
  id: string; name: string; source: string; enabled: boolean; state: string; lastError: string | null; fps: number; cooldownS: number;
  keepFaces: boolean; stats: { analysed: number; dropped: number; lagP99Ms: number };
}
interface MonitorEvent { id: number; type: string; time: string; subject: { name: string } | null; score: number | null; face?: string; message?: string }

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const say = (text: string, error = false): void => {
  $('cameras-result').textContent = text;
  $('cameras-result').classList.toggle('error', error);
};
const fail = (e: unknown): void => say(e instanceof ApiCallError ? `${e.code}: ${e.message}` : String((e as Error).message ?? e), true);

/** A name field and a button that enrol an unknown face (an event's JPEG) as that person, in one click. */
function enrolForm(faceBase64: string, call: <T>(method: string, path: string, body?: unknown) => Promise<T>): HTMLElement {
  const span = document.createElement('span');
  const name = document.createElement('input');
  name.placeholder = 'name';
  name.setAttribute('aria-label', 'name of this person');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Enrol';
  button.addEventListener('click', () => void (async () => {
    const who = name.value.trim();
    if (!who) throw new Error('give the person a name');
    const fd = new FormData();
    fd.append('images', new Blob([Uint8Array.from(atob(faceBase64), (c) => c.charCodeAt(0))], { type: 'image/jpeg' }), 'camera-face.jpg');
    const r = await call<{ accepted: unknown[]; refused: { reason: string }[]; subject: { faceCount: number } }>('POST', `/v1/subjects/${encodeURIComponent(who)}/faces?create=true`, fd);
    if (r.accepted.length === 0) throw new Error(`not enrolled: ${r.refused.map((x) => x.reason).join(', ')}`);
    say(`enrolled ${who} from the camera (now ${r.subject.faceCount} face${r.subject.faceCount === 1 ? '' : 's'})`);
  })().catch(fail));
  span.append(' ', name, button);
  return span;
}

/** One event as a line of the timeline (its face, and for an unknown face the form that enrols it). */
function eventLine(e: MonitorEvent, call: <T>(method: string, path: string, body?: unknown) => Promise<T>): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.event = e.type;
  li.textContent = `${new Date(e.time).toLocaleTimeString()} ${e.type}${e.subject ? ` ${e.subject.name}` : ''}${e.score !== null ? ` (${e.score.toFixed(2)})` : ''}${e.message ? `: ${e.message}` : ''}`;
  if (e.face) {
    const face = document.createElement('img');
    face.src = `data:image/jpeg;base64,${e.face}`;
    face.alt = e.subject ? e.subject.name : 'unknown face';
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
      li.textContent = `${m.name} — ${m.state}${m.lastError ? ` (${m.lastError})` : ''} · ${m.stats.analysed} frames analysed, lag p99 ${m.stats.lagP99Ms} ms · ${m.source}`;
      const button = (label: string, run: () => Promise<unknown>) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = label;
        b.addEventListener('click', () => void run().then(refresh, fail));
        li.append(b);
      };
      button('View', async () => select(m.id));
      button('Edit', async () => {
        // the source stays as it is (it is never sent back to the page: its password is the server's)
        const name = prompt('Name', m.name);
        if (name === null) return;
        const fps = Number(prompt('Frames analysed a second (0.2–30)', String(m.fps)) ?? m.fps);
        const cooldownS = Number(prompt('Seconds before a person who left is "exit" (0–3600)', String(m.cooldownS)) ?? m.cooldownS);
        await call('PATCH', `/v1/monitors/${m.id}`, { name: name.trim() || m.name, fps, cooldownS });
      });
      button(m.enabled ? 'Stop' : 'Start', () => call('POST', `/v1/monitors/${m.id}/${m.enabled ? 'stop' : 'start'}`));
      button('Remove', async () => {
        if (confirm(`Remove the camera ${m.name}?`)) await call('DELETE', `/v1/monitors/${m.id}`);
      });
      return li;
    }));
    if (monitors.length === 0) say('no cameras yet: add one with a name and its stream (rtsp://…, http://…, or a file on the server)');
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
      .then((m) => { say(`added ${m.name}: ${m.state}`); select(m.id); return refresh(); }, fail);
  });
  $('cameras-refresh').addEventListener('click', () => void refresh().catch(fail));
  setInterval(() => void tick().catch(() => undefined), 1000);
  return { refresh };
}
