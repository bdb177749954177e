import { collectionName } from '../../core/gallery/store-rules.js';
import { DEFAULT_COLLECTION } from '../../core/gallery/types.js';
import { randomUUID } from 'node:crypto';
import { FaceprintError } from '../../core/errors.js';
import type { GalleryStore } from '../../core/gallery/types.js';
import type { MonitorEvent } from '../../core/monitors/visits.js';
import { MonitorRunner, type MonitorDeps, type MonitorSettings, type MonitorState } from './runner.js';
import { checkSource, redactSource, type SourceBox } from './source.js';
import { checkWebhook, WebhookSender, type DeliveryState } from './webhooks.js';

/** What a client may set on a monitor. */
export type MonitorInput = Partial<Omit<MonitorSettings, 'id'>>;

/** A monitor as the API shows it: the source without its credentials, the state and counters. */
export interface MonitorView extends Omit<MonitorSettings, 'source'> {
  source: string;
  state: MonitorState;
  lastError: string | null;
  stats: MonitorRunner['stats'] & { lagP50Ms: number; lagP99Ms: number };
  /** Delivery to its webhook (and the global one), when there is one. */
  delivery: DeliveryState | null;
}

export interface MonitorManagerOptions {
  store: GalleryStore;
  box: SourceBox;
  deps: Omit<MonitorDeps, 'onEvent'>;
  maxMonitors?: number;
  webhookHosts?: readonly string[];
  /** A URL every monitor's events are posted to too. */
  globalWebhook?: string | null;
  /** The signing secret, read (or made) when the first webhook is posted to. */
  webhookSecret?: (() => Promise<Buffer>) | null;
  webhookBackoffMs?: number;
}

const RECORD = 'monitors';

/** A runner's lag percentiles, sorted once. */
function lagOf(r: MonitorRunner): { lagP50Ms: number; lagP99Ms: number } {
  const { p50, p99 } = r.lag();
  return { lagP50Ms: p50, lagP99Ms: p99 };
}
const DEFAULTS: Omit<MonitorSettings, 'id' | 'name' | 'source'> = { enabled: true, fps: 5, detEvery: 1, maxFaces: 0, threshold: null, cooldownS: 30, keepFaces: false, webhook: null, collection: DEFAULT_COLLECTION };

function checked(input: MonitorInput, webhookHosts: readonly string[]): MonitorInput {
  const out: MonitorInput = { ...input };
  if (input.name !== undefined && (typeof input.name !== 'string' || !input.name.trim() || input.name.length > 100)) throw new FaceprintError('INVALID_INPUT', 'name: 1 to 100 characters');
  if (input.source !== undefined) out.source = checkSource(input.source);
  if (input.webhook) out.webhook = checkWebhook(input.webhook, webhookHosts);
  if (input.collection !== undefined) out.collection = collectionName(input.collection);
  return out;
}

/**
 * The service's cameras: kept in the gallery store (sources sealed with the monitor secret), started again when
 * the service starts, at most `maxMonitors` of them; events go to each monitor's ring and its webhooks.
 */
export class MonitorManager {
  private readonly runners = new Map<string, MonitorRunner>();
  private readonly senders = new Map<string, WebhookSender>();
  private readonly global: WebhookSender | null;

  private constructor(private readonly options: MonitorManagerOptions) {
    this.global = options.globalWebhook && options.webhookSecret ? new WebhookSender(options.globalWebhook, options.webhookSecret, options.webhookBackoffMs) : null;
  }

  /** The monitors kept in the store, the enabled ones started. */
  static async open(options: MonitorManagerOptions): Promise<MonitorManager> {
    const m = new MonitorManager(options);
    const saved = ((await options.store.serviceRecord?.(RECORD)) ?? []) as (MonitorSettings & { source: string })[];
    for (const s of saved) m.add({ ...DEFAULTS, ...s, source: await options.box.open(s.source) });
    return m;
  }

  list(): MonitorView[] {
    return [...this.runners.values()].map((r) => this.view(r));
  }

  get(id: string): MonitorView {
    return this.view(this.runner(id));
  }

  runner(id: string): MonitorRunner {
    const r = this.runners.get(id);
    if (!r) throw new FaceprintError('MONITOR_NOT_FOUND', `no monitor ${JSON.stringify(id)}`);
    return r;
  }

  async create(input: MonitorInput): Promise<MonitorView> {
    if (this.runners.size >= (this.options.maxMonitors ?? 4)) throw new FaceprintError('INVALID_INPUT', `at most ${this.options.maxMonitors ?? 4} monitors (serve --max-monitors)`);
    const c = checked(input, this.options.webhookHosts ?? []);
    if (!c.name || !c.source) throw new FaceprintError('INVALID_INPUT', 'a monitor needs a name and a source');
    const settings: MonitorSettings = { ...DEFAULTS, ...c, id: randomUUID(), name: c.name.trim(), source: c.source };
    const r = this.add(settings);
    await this.save();
    return this.view(r);
  }

  async update(id: string, input: MonitorInput): Promise<MonitorView> {
    const r = this.runner(id);
    const c = checked(input, this.options.webhookHosts ?? []);
    const restart = r.state !== 'stopped';
    await r.stop();
    r.settings = { ...r.settings, ...c, id };
    this.senders.get(id)?.close();
    this.senders.delete(id);
    if (r.settings.webhook && this.options.webhookSecret) this.senders.set(id, new WebhookSender(r.settings.webhook, this.options.webhookSecret, this.options.webhookBackoffMs));
    if (r.settings.enabled && (restart || c.enabled)) r.start();
    await this.save();
    return this.view(r);
  }

  async remove(id: string): Promise<void> {
    const r = this.runner(id);
    await r.stop();
    this.runners.delete(id);
    this.senders.get(id)?.close();
    this.senders.delete(id);
    await this.save();
  }

  async setEnabled(id: string, enabled: boolean): Promise<MonitorView> {
    return this.update(id, { enabled });
  }

  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    for (const s of this.senders.values()) s.close();
    this.global?.close();
  }

  private add(settings: MonitorSettings): MonitorRunner {
    const onEvent = (e: MonitorEvent) => {
      this.senders.get(settings.id)?.send(e);
      this.global?.send(e);
    };
    const r = new MonitorRunner(settings, { ...this.options.deps, onEvent });
    this.runners.set(settings.id, r);
    if (settings.webhook && this.options.webhookSecret) this.senders.set(settings.id, new WebhookSender(settings.webhook, this.options.webhookSecret, this.options.webhookBackoffMs));
    if (settings.enabled) r.start();
    return r;
  }

  private async save(): Promise<void> {
    if (!this.options.store.setServiceRecord) return;
    const records = [];
    for (const r of this.runners.values()) records.push({ ...r.settings, source: await this.options.box.seal(r.settings.source) });
    await this.options.store.setServiceRecord(RECORD, records);
  }

  private view(r: MonitorRunner): MonitorView {
    const delivery = this.senders.get(r.settings.id)?.state ?? this.global?.state ?? null;
    const degraded = r.state === 'running' && (r.dropRatio() > 0.5 || !!delivery?.failing);
    return { ...r.settings, source: redactSource(r.settings.source), state: degraded ? 'degraded' : r.state, lastError: r.lastError, stats: { ...r.stats, ...lagOf(r) }, delivery: delivery ? { ...delivery } : null };
  }
}
