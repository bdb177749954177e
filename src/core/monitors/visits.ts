import type { SubjectRef, TrackEvent } from '../video/tracker.js';

/** What a monitor tells: people and unknown faces coming and going, and its own troubles. */
export type MonitorEventType = 'person-enter' | 'person-exit' | 'unknown-enter' | 'unknown-exit' | 'label-changed' | 'monitor-error' | 'monitor-recovered';

export interface MonitorEvent {
  /** Increasing per monitor: the cursor of the events API and the SSE id. */
  id: number;
  type: MonitorEventType;
  monitorId: string;
  /** ISO time of the frame (of the error, for monitor-*). */
  time: string;
  trackId: number | null;
  subject: SubjectRef | null;
  score: number | null;
  /** The last observed box, in the analysed frame's pixels. */
  bbox: [number, number, number, number] | null;
  /** label-changed: the label before. */
  previous?: SubjectRef | null;
  /** monitor-error: what went wrong, in words (never the source's credentials). */
  message?: string;
  /** The track's best face as a small JPEG, base64 (only when the monitor keeps faces). */
  face?: string;
}

export type VisitEvent = Omit<MonitorEvent, 'id' | 'monitorId' | 'face'> & { trackId: number };

export interface VisitOptions {
  /** A person's visit ends this long after their last track did; coming back sooner is the same visit. */
  cooldownMs: number;
  /** A track still unnamed after this long is an unknown face entering. */
  unknownAfterMs: number;
}

interface Visit { trackIds: Set<number>; exitDueMs: number | null; last: VisitEvent }

/**
 * Tracker events → visits. A person entering is one `person-enter` however often their track is lost and found
 * while they stand in view; `person-exit` comes `cooldownMs` after the last of their tracks ended. A face nobody
 * knows becomes `unknown-enter` once it stayed unnamed for `unknownAfterMs`, and `unknown-exit` when its track ends.
 */
export class VisitTracker {
  private readonly people = new Map<string, Visit>();
  /** Tracks not (yet) named: when they started, and whether unknown-enter was told. */
  private readonly unnamed = new Map<number, { startMs: number; told: boolean; last: TrackEvent }>();
  /** Named tracks → their subject's id. */
  private readonly named = new Map<number, string>();

  constructor(private readonly options: VisitOptions) {}

  /** The tracker's events of one frame at `nowMs`; returns the visit events they make, in order. */
  push(events: readonly TrackEvent[], nowMs: number): VisitEvent[] {
    const out: VisitEvent[] = [];
    const at = (e: Pick<TrackEvent, 'trackId' | 'bbox' | 'subject' | 'score'>, type: VisitEvent['type'], extra: Partial<VisitEvent> = {}): VisitEvent =>
      ({ type, time: new Date(nowMs).toISOString(), trackId: e.trackId, subject: e.subject, score: e.score, bbox: [...e.bbox] as VisitEvent['bbox'], ...extra });
    for (const e of events) {
      if (e.type === 'track-started' || e.type === 'track-resumed') {
        if (!e.subject && !this.named.has(e.trackId) && !this.unnamed.has(e.trackId)) this.unnamed.set(e.trackId, { startMs: nowMs, told: false, last: e });
      } else if (e.type === 'identified' || (e.type === 'label-changed' && e.subject)) {
        const was = this.unnamed.get(e.trackId);
        this.unnamed.delete(e.trackId);
        if (was?.told) out.push(at(e, 'unknown-exit', { subject: null, score: null }));
        const before = this.named.get(e.trackId);
        if (before && before !== e.subject!.id) {
          this.leave(before, e.trackId, nowMs);
          out.push(at(e, 'label-changed', { previous: e.previous ?? null }));
        }
        this.named.set(e.trackId, e.subject!.id);
        this.enter(e, nowMs, out, at);
      } else if (e.type === 'track-ended') {
        const unnamed = this.unnamed.get(e.trackId);
        this.unnamed.delete(e.trackId);
        if (unnamed?.told) out.push(at(e, 'unknown-exit', { subject: null, score: null }));
        const id = this.named.get(e.trackId);
        this.named.delete(e.trackId);
        if (id) this.leave(id, e.trackId, nowMs);
      }
    }
    for (const [trackId, u] of this.unnamed) {
      if (!u.told && nowMs - u.startMs >= this.options.unknownAfterMs) {
        u.told = true;
        out.push(at({ ...u.last, trackId }, 'unknown-enter', { subject: null, score: null }));
      }
    }
    for (const [id, v] of this.people) {
      if (v.exitDueMs !== null && nowMs >= v.exitDueMs) {
        this.people.delete(id);
        out.push({ ...v.last, type: 'person-exit', time: new Date(nowMs).toISOString() });
      }
    }
    return out;
  }

  /** Every visit ends now (the monitor stopped or lost its stream). */
  finish(nowMs: number): VisitEvent[] {
    const out: VisitEvent[] = [];
    for (const [trackId, u] of this.unnamed) if (u.told) out.push({ type: 'unknown-exit', time: new Date(nowMs).toISOString(), trackId, subject: null, score: null, bbox: [...u.last.bbox] as VisitEvent['bbox'] });
    for (const v of this.people.values()) out.push({ ...v.last, type: 'person-exit', time: new Date(nowMs).toISOString() });
    this.unnamed.clear();
    this.named.clear();
    this.people.clear();
    return out;
  }

  private enter(e: TrackEvent, nowMs: number, out: VisitEvent[], at: (e: TrackEvent, type: VisitEvent['type']) => VisitEvent): void {
    const id = e.subject!.id;
    const visit = this.people.get(id);
    if (visit) {
      // the same person again within the cooldown (or on a second track): the same visit
      visit.trackIds.add(e.trackId);
      visit.exitDueMs = null;
      return;
    }
    const event = at(e, 'person-enter');
    this.people.set(id, { trackIds: new Set([e.trackId]), exitDueMs: null, last: event });
    out.push(event);
  }

  private leave(subjectId: string, trackId: number, nowMs: number): void {
    const visit = this.people.get(subjectId);
    if (!visit) return;
    visit.trackIds.delete(trackId);
    if (visit.trackIds.size === 0) visit.exitDueMs = nowMs + this.options.cooldownMs;
  }
}
