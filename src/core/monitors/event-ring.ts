import type { MonitorEvent } from './visits.js';

/**
 * A monitor's recent events, at most `capacity`; each has an increasing id. A reader asks for what came after the
 * last id it saw and is told when some of those were already dropped.
 */
export class EventRing {
  private readonly events: MonitorEvent[] = [];
  private nextId: number;
  private readonly listeners = new Set<(e: MonitorEvent) => void>();

  /**
   * `firstId`: the first event's id. A monitor starts from the clock (ms × 1000), so ids keep increasing across
   * restarts of the service and a client resuming with an id from before one misses nothing after it.
   */
  constructor(private readonly capacity = 1000, private readonly firstId = 1) {
    this.nextId = firstId;
  }

  add(event: Omit<MonitorEvent, 'id'>): MonitorEvent {
    const e = { ...event, id: this.nextId++ } as MonitorEvent;
    this.events.push(e);
    if (this.events.length > this.capacity) this.events.shift();
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Events with an id above `after` (0: from the oldest kept), at most `limit`; `dropped`: some were lost to the bound. */
  after(after: number, limit = this.capacity): { events: MonitorEvent[]; dropped: boolean; last: number } {
    const oldest = this.events[0]?.id ?? this.nextId;
    const events = this.events.filter((e) => e.id > after).slice(0, limit);
    // dropped: ids this ring gave out after the cursor that it no longer holds
    return { events, dropped: oldest > Math.max(after + 1, this.firstId), last: this.nextId - 1 };
  }

  /** Calls `listener` with each new event until the returned function is called. */
  subscribe(listener: (e: MonitorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
