// System: what the server runs (GET /v1/system) — versions, models with their sha256, execution providers, store
// and index sizes, uptime, the last hour's errors. The Overview shows the part a user needs at a glance.
import { FaceprintApiError } from '../../../src/client/error.js';
import { $, act, h } from '../dom.js';
import { http, needsKey } from '../state.js';
import { say } from '../strings.js';
import type { SystemReport } from '../../../src/client/types.js';


/** The server's report, or null where it gives none (no key yet, an older server). */
export async function systemReport(): Promise<SystemReport | null> {
  if (needsKey()) return null;
  try {
    return await http.client.system();
  } catch (e) {
    if (e instanceof FaceprintApiError && (e.status === 404 || e.status === 401 || e.status === 403)) return null;
    throw e;
  }
}

/** A definition list of facts: term, then one or more lines. */
export function facts(list: HTMLElement, rows: [string, (string | Node)[]][]): void {
  list.replaceChildren(...rows.flatMap(([term, lines]) => [h('dt', { text: say.fields[term] ?? term }), ...lines.map((l) => h('dd', {}, l))]));
}

export const modelLine = (m: SystemReport['models'][number]): HTMLElement =>
  h('span', {}, `${m.role}: ${m.file} (${say.bytes(m.bytes)}) `, h('code', { className: 'sha', title: m.sha256, text: `sha256 ${m.sha256.slice(0, 16)}…` }));

export async function refreshSystem(): Promise<void> {
  await act($('system-result'), async () => {
    const r = await systemReport();
    if (!r) return say.systemUnavailable;
    const errors = Object.entries(r.errorsLastHour).map(([code, n]) => say.errorCount(code, n));
    facts($('system-facts'), [
      ['versions', say.versionLines(r.versions)],
      ['models', r.models.map(modelLine)],
      ['providers', [r.executionProviders.join(', ')]],
      ['embedding', [say.embeddingSize(r.embeddingSize)]],
      ['detection', [say.detSizes(r.detSizes)]],
      ['store', [say.storeLine(r.store.kind, r.store.subjects, r.store.bytes)]],
      ['index', [say.indexLine(r.index.templates, r.index.unassignedFaces)]],
      ['uptime', [say.uptime(r.uptimeS)]],
      ['errors', errors.length ? errors : ['—']],
    ]);
  });
}

export function initSystem(): void {
  $('system-refresh').addEventListener('click', () => void refreshSystem());
}
