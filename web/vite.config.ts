import { defineConfig } from 'vite';

// The page is static files: `faceprint serve` serves dist/web at /, and the files work from any static host.
export default defineConfig({
  root: __dirname,
  base: './',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
});
