// Cross-origin isolation where the host sends no COOP/COEP (most static hosts cannot): onnxruntime-web needs it
// for WASM threads. This worker adds both headers to the page's own document and to the same-origin files it
// loads (scripts, workers, WASM, models); the page registers it only when it is not isolated already, and reloads
// once so its document comes through it. Other documents in its scope (another app on the same host) are left
// as the host serves them: isolation is the page's choice, not theirs.
const PAGE = new URL('./', self.registration.scope).pathname;
const isPageDocument = (url) => url.pathname === PAGE || url.pathname === `${PAGE}index.html`;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && !isPageDocument(url)) return;
  // Chromium quirk: such a request cannot be fetched again from a worker
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0 || response.type === 'opaqueredirect') return response;
      const headers = new Headers(response.headers);
      headers.set('Cross-Origin-Opener-Policy', 'same-origin');
      headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
