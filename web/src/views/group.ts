// Group: photos of people not enrolled in, one group per person out, shown as grids of their faces; a named group
// becomes a person (with the faces' thumbnails, cut from the photos this page sent).
import type { Cluster } from '../backend.js';
import { $, act, h } from '../dom.js';
import { chosenFiles } from '../drop-zone.js';
import { bitmapOf, squareCanvas } from '../face-crops.js';
import { app, thresholdOf } from '../state.js';
import { say, text } from '../strings.js';
import { refreshPeople } from './people.js';

/** The photos this page sent to be grouped, by file name: where the faces' pictures are cut from. */
const sent = new Map<string, File>();

async function faceGrid(c: Cluster): Promise<HTMLElement> {
  const grid = h('div', { className: 'face-grid small' });
  for (const f of c.faces.slice(0, 24)) {
    const photo = f.source ? sent.get(f.source) : undefined;
    if (!photo) {
      grid.append(h('span', { className: 'avatar initial', text: '?', title: f.source ?? f.id }));
      continue;
    }
    const canvas = squareCanvas(await bitmapOf(photo), f.bbox, 72);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', f.source ?? f.id);
    grid.append(canvas);
  }
  return grid;
}

/** Lists the groups, each with its faces, a name field and a button that makes it a person. */
async function renderClusters(r: { clusters: Cluster[]; unclustered: number }): Promise<string> {
  const items = await Promise.all(r.clusters.map(async (c, i) => {
    const name = h('input', { type: 'text', placeholder: text['enrol.name'], 'aria-label': `${text['enrol.name.label']} ${i + 1}` });
    const promote = h('button', { type: 'button', className: 'primary', text: text['group.promote'] });
    promote.addEventListener('click', () => void act($('cluster-result'), async () => {
      const s = await app.backend.promote(c.id, name.value.trim());
      const faces = c.faces.flatMap((f) => (f.source && sent.has(f.source) ? [{ faceId: f.id, photo: sent.get(f.source)!, bbox: f.bbox }] : []));
      await app.thumbnails.keep(s.id, faces).catch(() => undefined);
      await refreshPeople();
      await renderClusters(await app.backend.clusters());
      return say.promoted(s.name, s.faceCount);
    }));
    const sources = say.groupSources(c.faces.map((f) => f.source ?? f.id), c.size);
    const line = h('p', {}, h('strong', { text: say.groupTitle(i + 1, c.size) }), ' ', h('span', { className: 'sources', text: sources, title: sources }));
    return h('li', { className: 'card' }, line, await faceGrid(c), h('div', { className: 'actions' }, name, promote));
  }));
  $('clusters-list').replaceChildren(...items);
  return say.groups(r.clusters.length, r.unclustered);
}

export function initGroup(): void {
  $('cluster-submit').addEventListener('click', () => void act($('cluster-result'), async () => {
    const files = chosenFiles('cluster-files').map((f) => f.file);
    for (const f of files) sent.set(f.name, f);
    return renderClusters(await app.backend.cluster(files, thresholdOf('cluster-distance')));
  }));
}

/** The groups as they stand (shown when the view opens). */
export async function refreshGroups(): Promise<void> {
  await renderClusters(await app.backend.clusters());
}

export function clearGroups(): void {
  sent.clear();
  $('clusters-list').replaceChildren();
}
