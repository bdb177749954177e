// Views by URL: #/detect, #/people/<id>, … One view shows at a time; the hash is the state, so a view can be
// linked, reloaded and reached with the browser's back button, on any static host.
import { $ } from './dom.js';

/** Route name → the section that holds its view. */
export const VIEWS = {
  overview: 'overview', detect: 'analyze', compare: 'compare', people: 'people', identify: 'identify',
  group: 'clusters', cameras: 'cameras', system: 'system', models: 'models',
} as const;
export type ViewName = keyof typeof VIEWS;

type Shown = (args: string[]) => void | Promise<void>;
const listeners = new Map<ViewName, Shown[]>();
let available: (v: ViewName) => boolean = () => true;
let fallback: ViewName = 'overview';

/** Runs `f` each time the view is shown, with the route's further parts (#/people/<id> → [id]). */
export function onShow(view: ViewName, f: Shown): void {
  listeners.set(view, [...(listeners.get(view) ?? []), f]);
}

export function currentRoute(): { view: ViewName; args: string[] } {
  // a hand-typed address may hold a stray %: the part stays as typed rather than failing the view
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const [name, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decode);
  const view = (name in VIEWS ? name : fallback) as ViewName;
  return available(view) ? { view, args } : { view: fallback, args: [] };
}

export function go(view: ViewName, ...args: string[]): void {
  const hash = `#/${[view, ...args].map(encodeURIComponent).join('/')}`;
  if (location.hash === hash) void show();
  else location.hash = hash;
}

/** Shows the route's view, marks its link, closes the phone menu; resolves when the view has its data. */
export async function show(): Promise<void> {
  const { view, args } = currentRoute();
  for (const [name, id] of Object.entries(VIEWS)) $(id).hidden = name !== view;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    const name = a.getAttribute('href')!.slice(2) as ViewName;
    a.hidden = !available(name);
    if (name === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setMenu(false);
  await Promise.all((listeners.get(view) ?? []).map(async (f) => f(args)));
}

/** Which views this page offers now (no Cameras on-device, no Models without a device mode…); show() redraws. */
export function setAvailable(isAvailable: (v: ViewName) => boolean, home: ViewName = 'overview'): void {
  available = isAvailable;
  fallback = home;
}

function setMenu(open: boolean): void {
  $('nav-toggle').setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('menu-open', open);
}

export function initRouter(): void {
  window.addEventListener('hashchange', () => void show());
  $('nav-toggle').addEventListener('click', () => setMenu($('nav-toggle').getAttribute('aria-expanded') !== 'true'));
  // a view chosen from the menu closes it at once (the hashchange that shows the view comes a moment later)
  $('nav').addEventListener('click', (e) => { if ((e.target as HTMLElement).closest('a')) setMenu(false); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') setMenu(false); });
}
