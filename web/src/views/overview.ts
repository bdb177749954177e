// Overview: the service's state (ready, store, models with their sha256, execution provider, threshold in force
// and its basis), counts at a glance, and the errors this tab met.
import { $, h, recentErrors } from '../dom.js';
import { app, http, onServer, usable } from '../state.js';
import { say, text } from '../strings.js';
import { facts, modelLine, systemReport } from './system.js';

function tile(n: number | string, label: string, href: string): HTMLElement {
  return h('a', { className: 'tile', href, 'data-count': label }, h('strong', { text: String(n) }), h('span', { text: label }));
}

export async function refreshOverview(): Promise<void> {
  showErrors();
  if (!usable()) {
    facts($('overview-state'), onServer() ? [['auth', [say.authWords('keys'), say.needKey]]] : [['state', [say.deviceOverview, say.loadModelsFirst]]]);
    $('overview-counts').replaceChildren();
    return;
  }
  const [subjects, groups, threshold, report, cameras] = await Promise.all([
    app.backend.subjects().catch(() => []),
    app.backend.clusters().catch(() => ({ clusters: [], unclustered: 0 })),
    app.backend.threshold().catch(() => null),
    onServer() ? systemReport().catch(() => null) : Promise.resolve(null),
    onServer() && app.hasCameras ? http.client.listMonitors().then((r) => r.monitors.length, () => null) : Promise.resolve(null),
  ]);
  const faces = subjects.reduce((n, s) => n + s.faceCount, 0);
  $('overview-counts').replaceChildren(
    tile(subjects.length, text['count.people'], '#/people'), tile(faces, text['count.faces'], '#/people'),
    tile(groups.clusters.length, text['count.clusters'], '#/group'), ...(cameras !== null ? [tile(cameras, text['count.cameras'], '#/cameras')] : []));
  const thresholdLine = threshold ? say.thresholdInForce(threshold.threshold, threshold.basis) : say.noThreshold;
  if (!onServer()) {
    const a = app.local?.analyzer;
    facts($('overview-state'), [['state', [say.deviceOverview]], ['recognizer', [a?.recognizerName ?? say.noRecognizer]], ['embedding', [a ? say.embeddingSize(a.embeddingSize) : '—']], ['threshold', [thresholdLine]]]);
    return;
  }
  const info = app.info;
  facts($('overview-state'), [
    ['state', [say.ready]],
    ['auth', [say.authWords(info?.auth ?? '')]],
    ['recognizer', [info?.recognizer ?? '?']],
    ...(report ? [['models', report.models.map(modelLine)], ['providers', [report.executionProviders.join(', ')]], ['store', [report.store.kind]]] as [string, (string | Node)[]][] : []),
    ['detection', [say.detSizes(info?.detSizes ?? [640])]],
    ['threshold', [thresholdLine]],
  ]);
}

function showErrors(): void {
  $('overview-errors').replaceChildren(...(recentErrors.length ? recentErrors.map((e) => h('li', { text: `${e.time.toLocaleTimeString()} ${e.words}` })) : [h('li', { className: 'hint', text: text['overview.noErrors'] })]));
}

export function initOverview(): void {
  document.addEventListener('faceprint:error', showErrors);
}
