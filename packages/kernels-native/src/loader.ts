import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './binding.js';
import { NativeAddonUnavailableError } from './errors.js';

const ADDON_FILE = join('build', 'Release', 'gptoss_kernels.node');

/** The package root: the nearest directory above this module with our package.json (works from src/ and dist/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === '@gptoss/kernels-native') return dir;
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

let cached: { addon?: NativeAddon; error?: NativeAddonUnavailableError } | undefined;

function load(): { addon?: NativeAddon; error?: NativeAddonUnavailableError } {
  if (cached) return cached;
  const path = process.env.GPTOSS_KERNELS_NATIVE_ADDON ?? join(packageRoot(), ADDON_FILE);
  if (!existsSync(path)) {
    cached = { error: new NativeAddonUnavailableError(`${path} does not exist`) };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    cached = { addon };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    cached = { error: new NativeAddonUnavailableError(`${path} failed to load (${msg})`, { cause: e }) };
  }
  return cached;
}

/** Whether the compiled addon loads on this machine. Never throws. */
export function isAvailable(): boolean {
  return load().addon !== undefined;
}

/** Why the addon is unavailable (an error with one actionable line), or undefined when it loads. */
export function loadError(): NativeAddonUnavailableError | undefined {
  return load().error;
}

/**
 * The raw addon. Throws `NativeAddonUnavailableError` ("native addon not built: …; install a C++ compiler and run
 * pnpm rebuild @gptoss/kernels-native") when it is missing.
 * @internal
 */
export function addon(): NativeAddon {
  const l = load();
  if (!l.addon) throw l.error!;
  return l.addon;
}
