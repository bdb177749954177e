const RELOADED = 'faceprint-isolation-reload';

/**
 * WASM threads need cross-origin isolation, which takes COOP/COEP headers `faceprint serve` and Vite send but most
 * static hosts cannot. There the page registers isolate-sw.js, which adds them, and reloads once so that its own
 * document comes through the worker. True when a reload is under way. Never a loop: one try per tab session; a
 * page the worker already controls that is still not isolated stays single-threaded.
 */
export async function isolateByServiceWorker(): Promise<boolean> {
  if (self.crossOriginIsolated || !self.isSecureContext || !('serviceWorker' in navigator)) return false;
  if (navigator.serviceWorker.controller || sessionStorage.getItem(RELOADED)) return false;
  try {
    await navigator.serviceWorker.register(new URL('./isolate-sw.js', location.href));
    await navigator.serviceWorker.ready;
  } catch {
    return false; // no worker (a private mode, a policy): the page runs single-threaded
  }
  sessionStorage.setItem(RELOADED, '1');
  location.reload();
  return true;
}
