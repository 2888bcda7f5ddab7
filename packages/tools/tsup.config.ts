import { copyFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // The Pyodide worker is started by path (`new Worker(url)`), so it ships as a file next to the bundle.
  onSuccess: async () => {
    await copyFile('src/python/pyodide-worker.mjs', 'dist/pyodide-worker.mjs');
  },
});
