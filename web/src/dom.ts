// Small DOM helpers the views share: find, build, fill in the strings, run an action with its outcome shown.
import { say, text, type TextKey } from './strings.js';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** An element with attributes (a `text` key sets textContent) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'className') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children);
  return el;
}

/** Puts the strings module's words into the elements that name them by key. */
export function applyStrings(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLElement>('[data-t]')) el.textContent = text[el.dataset.t as TextKey];
  for (const [attr, data] of [['placeholder', 'tPlaceholder'], ['aria-label', 'tAriaLabel'], ['title', 'tTitle'], ['alt', 'tAlt']] as const) {
    for (const el of root.querySelectorAll<HTMLElement>(`[data-t-${attr}]`)) el.setAttribute(attr, text[el.dataset[data] as TextKey]);
  }
}

function codeOf(e: unknown): string | undefined {
  // the API's (FaceprintApiError) and the engine's (FaceprintError) errors both carry a string code
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An error in words with its code beside (the API's, or the engine's FaceprintError code). */
export function errorWords(e: unknown): string {
  return say.error(codeOf(e), String((e as Error)?.message ?? e));
}

/** The same as elements: the code as a badge, then the words. */
function errorNodes(e: unknown): (Node | string)[] {
  const code = codeOf(e);
  const words = String((e as Error)?.message ?? e);
  return code ? [h('code', { className: 'code', text: code }), `: ${words}`] : [words];
}

/** The errors this tab met, newest first, for the Overview. */
export const recentErrors: { time: Date; words: string }[] = [];
export function noteError(words: string): void {
  recentErrors.unshift({ time: new Date(), words });
  recentErrors.length = Math.min(recentErrors.length, 20);
  document.dispatchEvent(new CustomEvent('faceprint:error'));
}

/** Runs an action, showing its outcome (or its error, code beside) in `out`, busy meanwhile; an error clears `canvas`. */
export async function act(out: HTMLElement, work: () => Promise<string | void>, canvas?: HTMLCanvasElement): Promise<void> {
  out.classList.remove('error');
  out.textContent = say.busy;
  const view = out.closest('section');
  view?.setAttribute('aria-busy', 'true');
  try {
    const done = await work();
    out.textContent = done ?? '';
  } catch (e) {
    if (canvas) clearCanvasOf(canvas);
    out.classList.add('error');
    out.replaceChildren(...errorNodes(e));
    noteError(errorWords(e));
  } finally {
    view?.removeAttribute('aria-busy');
  }
}

function clearCanvasOf(canvas: HTMLCanvasElement): void {
  canvas.width = 0;
  canvas.height = 0;
}

/** Asks before something that cannot be undone, in the page's own dialog; true when confirmed. */
export function confirmed(question: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('confirm');
  $('confirm-text').textContent = question;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}
