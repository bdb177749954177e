// What every view shares: the backend in use (the server's API or this device's engine), what the server said
// of itself, the API key, the thresholds in force, and the thumbnails of the store in use.
import { HttpBackend, type Backend } from './backend.js';
import { $ } from './dom.js';
import { Thumbnails } from './face-crops.js';
import type { LocalBackend } from './local-backend.js';
import { say } from './strings.js';

const KEY_STORAGE = 'faceprint.apiKey';

/** What /v1/info said: how this server authenticates, its recognizer, the models it offers the page. */
export interface ServerInfo {
  auth?: string;
  recognizer?: string;
  embeddingSize?: number;
  detSizes?: number[];
  models?: { role: string; url: string; sha256: string }[];
}

export const key = (): string => $<HTMLInputElement>('api-key').value.trim();
export const http = new HttpBackend(location.origin, key);

export const app = {
  backend: http as Backend,
  local: null as LocalBackend | null,
  info: null as ServerInfo | null,
  /** Whether the server watches cameras (serve --max-monitors 0 has none: no Cameras view). */
  hasCameras: true,
  /** Whether the server's collection in use keeps thumbnails of its faces (the People view then shows them). */
  serverThumbnails: false,
  thumbnails: new Thumbnails(`server:${location.origin}`),
  /** The page's query: options for the on-device engine and the live view (?threads, ?detSizes, ?cuts, …). */
  params: new URLSearchParams(location.search),
};

export const onServer = (): boolean => app.backend === http;
export const needsKey = (): boolean => app.info?.auth === 'keys' && !key();

/** This device before its models are loaded: every call says to load them (never the server's answer instead). */
export const devicePending = new Proxy({} as Backend, {
  get: (_t, name) => (name === 'label' ? 'on-device' : () => Promise.reject(Object.assign(new Error(say.loadModelsFirst), { code: 'MODEL_MISSING' }))),
});
/** Whether the backend in use can answer: a server needs its API (and key), the device its models. */
export const usable = (): boolean => (onServer() ? !!app.info?.auth && !needsKey() : app.backend !== devicePending);

/** Switches the backend (and whose thumbnails are shown). */
export function useBackend(b: Backend): void {
  app.backend = b;
  app.thumbnails = new Thumbnails(b === http ? `server:${location.origin}` : 'device');
}

/**
 * The key lives as long as the tab (sessionStorage), not on the disk for ever: any script that ever ran on this
 * origin could read localStorage. A key left there by an older page is removed.
 */
export function restoreKey(onChange: () => void): void {
  localStorage.removeItem(KEY_STORAGE);
  const input = $<HTMLInputElement>('api-key');
  input.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
  input.addEventListener('change', () => {
    sessionStorage.setItem(KEY_STORAGE, key());
    onChange();
  });
}

/** What showThresholds put in each field: a field left at that value lets the backend use the threshold in force. */
export const inForce: Record<string, string> = {};
export function thresholdOf(id: string): number | undefined {
  const v = $<HTMLInputElement>(id).value;
  return v === '' || v === inForce[id] ? undefined : Number(v);
}
