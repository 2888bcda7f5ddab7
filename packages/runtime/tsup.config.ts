import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

// The fast backends are optional entries: they are built when their sources exist and imported lazily at run time.
const optional = ['src/backends/cpu/index.ts', 'src/backends/webgpu/index.ts'].filter((f) => existsSync(f));

export default defineConfig({
  entry: ['src/index.ts', 'src/internal.ts', ...optional],
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/internal.ts'] },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
