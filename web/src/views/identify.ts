// Identify: every face of a photo boxed and named (matches green, unknown dashed orange), each face's top
// candidates with their scores, and an unknown face enrolled into a person from here.
import type { Identified } from '../backend.js';
import { $, act, h } from '../dom.js';
import { drawFaces, fitWidth } from '../draw.js';
import { chosenFiles, onFiles } from '../drop-zone.js';
import { bitmapOf, faceFile } from '../face-crops.js';
import { app, thresholdOf } from '../state.js';
import { say, text } from '../strings.js';
import { refreshPeople } from './people.js';
import { faceCard } from './detect.js';

let photo: File | undefined;

/** A name field and a button that enrol this face (cut from the photo) into a person, new or known. */
function enrolForm(face: Identified, n: number, from: File): HTMLElement {
  const name = h('input', { type: 'text', placeholder: text['enrol.name'], 'aria-label': `${text['enrol.name.label']} #${n}`, value: face.subject?.name ?? '' });
  const button = h('button', { type: 'button', text: text['identify.enrolAs'] });
  const out = h('span', { className: 'result', role: 'status' });
  button.addEventListener('click', () => void act(out, async () => {
    const who = name.value.trim();
    if (!who) throw new Error(say.givePersonName);
    const cut = await faceFile(from, face.face.bbox, `${from.name.replace(/\.[^.]+$/, '')}-face${n}.jpg`);
    // the cut may hold a neighbour's face too: the largest is the one asked for
    const r = await app.backend.enrol(who, [cut], { largest: true });
    if (r.accepted.length === 0) throw new Error(say.notEnrolled(r.refused.map((x) => x.reason)));
    await app.thumbnails.keep(r.subject.id, [{ faceId: r.accepted[0].faceId, photo: from, bbox: face.face.bbox }]).catch(() => undefined);
    void refreshPeople().catch(() => undefined);
    return say.enrolFromPhoto(who, r.subject.faceCount);
  }));
  return h('div', { className: 'actions' }, name, button, out);
}

async function identifyChosen(): Promise<void> {
  const canvas = $<HTMLCanvasElement>('identify-canvas');
  $('identify-faces').replaceChildren();
  await act($('identify-result'), async () => {
    const f = chosenFiles('identify-file')[0]?.file ?? photo;
    if (!f) return;
    photo = f;
    const found = await app.backend.identify(f, thresholdOf('identify-threshold'));
    const labels = found.map((x) => (x.subject ? say.match(x.subject.name, x.subject.score) : say.unknown));
    await drawFaces(canvas, f, found.map((x) => x.face), labels, fitWidth(canvas), found.map((x) => !x.subject));
    const bitmap = await bitmapOf(f);
    $('identify-faces').replaceChildren(...found.map((x, i) => {
      const candidates = h('ol', { className: 'candidates' }, ...x.candidates.slice(0, 3).map((c) => h('li', { className: c.score >= x.threshold ? 'match' : '', text: say.candidate(c.name, c.score) })));
      const card = faceCard(bitmap, x.face, i + 1, [h('p', { className: x.subject ? 'match' : 'unknown', text: labels[i] }), candidates, enrolForm(x, i + 1, f)]);
      card.classList.toggle('unknown', !x.subject);
      return card;
    }));
    return found.length ? say.identified(labels, found[0].threshold, say.thresholdSource(found[0].thresholdSource)) : say.noFace;
  }, canvas);
}

export function initIdentify(): void {
  onFiles('identify-file', () => void identifyChosen());
  $('identify-threshold').addEventListener('change', () => void identifyChosen());
}

export function clearIdentify(): void {
  photo = undefined;
  $('identify-faces').replaceChildren();
}
