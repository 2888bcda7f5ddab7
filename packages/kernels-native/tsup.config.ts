import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  // The addon lives in build/Release; clean only dist.
  clean: true,
  target: 'node20',
});
