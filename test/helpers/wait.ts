// Waiting for a condition, not for a length of time: a loaded machine makes the wait longer, never the test wrong.

/** Calls `probe` until `done` holds for its value (every 20 ms, at most `timeoutMs`); returns that value. */
export async function until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
