import { defineConfig } from 'vite';

// The page is static files: `faceprint serve` serves dist/page at /, and the files work from any static host.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { outDir: '../dist/page', emptyOutDir: true, target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2048, modulePreload: { polyfill: false } },
  // cross-origin isolation (WASM threads) however the page is served during development: vite dev and vite preview
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  preview: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
