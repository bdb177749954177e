import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { FaceprintError } from '../../core/errors.js';
import type { MonitorEvent } from '../../core/monitors/visits.js';
import { secretFile } from './source.js';

/** A webhook target checked: http(s) and a host the operator allowed (`--webhook-hosts`), as image URLs are. */
export function checkWebhook(url: string, allowedHosts: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FaceprintError('INVALID_INPUT', 'webhook: not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FaceprintError('INVALID_INPUT', 'webhook: http or https only');
  if (u.username || u.password) throw new FaceprintError('INVALID_INPUT', 'webhook: no credentials in the URL (requests are signed instead)');
  if (!allowedHosts.includes(u.host)) throw new FaceprintError('INVALID_INPUT', `webhook: ${u.host} is not among the hosts this server may post to (serve --webhook-hosts)`);
  return u.href;
}

/** The signing secret, from its file (made, 0600, on first use). */
export async function webhookSecret(path: string): Promise<Buffer> {
  return Buffer.from(await secretFile(path, () => randomBytes(32).toString('hex')), 'utf8');
}

/** `sha256=<hex>` of the body under the secret: what a receiver recomputes to trust the event. */
export function signature(secret: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** failing: the last event could not be delivered. */
export interface DeliveryState { delivered: number; failed: number; queued: number; lastError: string | null; failing: boolean }

const QUEUE = 200;
const ATTEMPTS = 4;
const TIMEOUT_MS = 5000;

/**
 * Posts events to one URL, in order, signed (X-Faceprint-Signature), retrying a failed post 3 times with back-off
 * (1, 2, 4 s); at most 200 wait, the oldest dropped beyond that. Its state says how delivery goes.
 */
export class WebhookSender {
  readonly state: DeliveryState = { delivered: 0, failed: 0, queued: 0, lastError: null, failing: false };
  private readonly queue: MonitorEvent[] = [];
  private running = false;
  private closed = false;

  constructor(readonly url: string, private readonly secret: () => Promise<Buffer>, private readonly backoffMs = 1000) {}

  send(event: MonitorEvent): void {
    if (this.closed) return;
    if (this.queue.length >= QUEUE) {
      this.queue.shift();
      this.state.failed++;
      this.state.lastError = 'queue full: the oldest event was dropped';
    }
    this.queue.push(event);
    this.state.queued = this.queue.length;
    if (!this.running) void this.drain();
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length && !this.closed) {
        const event = this.queue[0];
        const body = JSON.stringify(event);
        const signed = signature(await this.secret(), body);
        let ok = false;
        for (let attempt = 0; attempt < ATTEMPTS && !ok && !this.closed; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
          try {
            const res = await request(this.url, {
              method: 'POST', body, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS,
              headers: { 'content-type': 'application/json', 'x-faceprint-event': event.type, 'x-faceprint-delivery': `${event.monitorId}:${event.id}`, 'x-faceprint-signature': signed },
            });
            await res.body.dump();
            ok = res.statusCode >= 200 && res.statusCode < 300;
            if (!ok) this.state.lastError = `HTTP ${res.statusCode}`;
          } catch (e) {
            this.state.lastError = (e as Error).message;
          }
        }
        this.queue.shift();
        this.state.queued = this.queue.length;
        if (ok) this.state.delivered++;
        else this.state.failed++;
        this.state.failing = !ok;
      }
    } finally {
      this.running = false;
    }
  }
}
