// Tracker events → visits (src/core/monitors/visits.ts) and the event ring, on made-up tracker events: the
// arithmetic of cooldowns and cursors, which the camera test (monitors.test.ts) cannot pin down frame by frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventRing } from '../src/core/monitors/event-ring.js';
import { VisitTracker } from '../src/core/monitors/visits.js';
import type { TrackEvent } from '../src/core/video/tracker.js';

const amy = { id: 's-amy', name: 'amy' };
const raj = { id: 's-raj', name: 'raj' };
const ev = (type: TrackEvent['type'], trackId: number, subject: TrackEvent['subject'] = null, previous?: TrackEvent['subject']): TrackEvent =>
  ({ type, trackId, frame: 0, timeMs: 0, bbox: [10, 10, 60, 60], subject, score: subject ? 0.6 : null, ...(previous !== undefined ? { previous } : {}) });

test('a person standing in view is one visit: lost and found again within the cooldown, no new enter; exit after it', () => {
  const v = new VisitTracker({ cooldownMs: 5000, unknownAfterMs: 1500 });
  const types = (events: { type: string }[]) => events.map((e) => e.type);
  assert.deepEqual(types(v.push([ev('track-started', 1)], 0)), []);
  assert.deepEqual(types(v.push([ev('identified', 1, amy)], 400)), ['person-enter']);
  assert.deepEqual(types(v.push([ev('track-ended', 1, amy)], 2000)), []);
  // back on a new track 3 s later: the same visit
  assert.deepEqual(types(v.push([ev('track-started', 2), ev('identified', 2, amy)], 5000)), []);
  assert.deepEqual(types(v.push([ev('track-ended', 2, amy)], 6000)), []);
  assert.deepEqual(types(v.push([], 10_999)), []);
  const exit = v.push([], 11_000);
  assert.deepEqual(types(exit), ['person-exit']);
  assert.equal(exit[0].subject!.name, 'amy');
  // a new visit after the exit
  assert.deepEqual(types(v.push([ev('track-started', 3), ev('identified', 3, amy)], 20_000)), ['person-enter']);
});

test('an unnamed face is unknown-enter after 1.5 s, unknown-exit when its track ends; a name given later closes it', () => {
  const v = new VisitTracker({ cooldownMs: 0, unknownAfterMs: 1500 });
  const types = (events: { type: string }[]) => events.map((e) => e.type);
  assert.deepEqual(types(v.push([ev('track-started', 7)], 0)), []);
  assert.deepEqual(types(v.push([], 1499)), []);
  assert.deepEqual(types(v.push([], 1500)), ['unknown-enter']);
  assert.deepEqual(types(v.push([ev('track-ended', 7)], 3000)), ['unknown-exit']);
  // named before 1.5 s: never unknown
  assert.deepEqual(types(v.push([ev('track-started', 8)], 4000)), []);
  assert.deepEqual(types(v.push([ev('identified', 8, raj)], 4500)), ['person-enter']);
  assert.deepEqual(types(v.push([], 7000)), []);
  // unknown, then named: the unknown visit ends, the person's begins
  v.push([ev('track-started', 9)], 8000);
  assert.deepEqual(types(v.push([], 9600)), ['unknown-enter']);
  assert.deepEqual(types(v.push([ev('identified', 9, amy)], 9700)), ['unknown-exit', 'person-enter']);
  // relabelled to raj (already in view on track 8): label-changed, amy's visit ends (cooldown 0), raj's goes on
  const relabelled = v.push([ev('label-changed', 9, raj, amy)], 9800);
  assert.deepEqual(relabelled.map((e) => [e.type, e.subject?.name]), [['label-changed', 'raj'], ['person-exit', 'amy']]);
  // raj's visit ends when the last of his two tracks does
  assert.deepEqual(types(v.push([ev('track-ended', 9, raj)], 9900)), []);
  assert.deepEqual(types(v.push([ev('track-ended', 8, raj)], 9950)), ['person-exit']);
  assert.deepEqual(types(v.finish(10_000)), []);
});

test('the event ring: increasing ids, a cursor, "dropped" when the reader fell behind the bound; subscribers see each', () => {
  const ring = new EventRing(3);
  const seen: number[] = [];
  const stop = ring.subscribe((e) => seen.push(e.id));
  for (let i = 0; i < 5; i++) ring.add({ type: 'person-enter', monitorId: 'm', time: '', trackId: i, subject: null, score: null, bbox: null });
  stop();
  ring.add({ type: 'person-exit', monitorId: 'm', time: '', trackId: 9, subject: null, score: null, bbox: null });
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.deepEqual(ring.after(0), { events: ring.after(3).events, dropped: true, last: 6 });
  assert.deepEqual(ring.after(3).events.map((e) => e.id), [4, 5, 6]);
  assert.equal(ring.after(3).dropped, false);
  assert.equal(ring.after(2).dropped, true);
  assert.deepEqual(ring.after(6).events, []);
  // ids from the clock (a monitor's): a reader that never saw any is not told of drops that did not happen, and a
  // cursor from before a restart (smaller than every id now) gets everything kept
  const clocked = new EventRing(3, 5_000_000);
  clocked.add({ type: 'person-enter', monitorId: 'm', time: '', trackId: 1, subject: null, score: null, bbox: null });
  assert.deepEqual([clocked.after(0).dropped, clocked.after(0).events[0].id, clocked.after(4_000_123).events.length], [false, 5_000_000, 1]);
});
