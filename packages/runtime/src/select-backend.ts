import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { referenceBackend } from './backends/reference/reference-backend.js';
import { BackendUnavailableError } from './errors.js';
import type { Backend, BackendName } from './backend/types.js';

/** Fastest first. */
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'cpu', 'reference'];

export interface BackendStatus {
  name: BackendName;
  ok: boolean;
  /** Why it cannot run (when !ok), or a short description (when ok). */
  reason?: string;
  backend?: Backend;
}

/**
 * The optional fast backends live in src/backends/{cpu,webgpu}/index.ts (built to dist/backends/…/index.js) and export
 * `cpuBackend()` / `webgpuBackend()`. They are imported on demand, so a missing native addon or GPU package costs
 * nothing until asked for and only disables that backend.
 */
async function importOptional(name: 'cpu' | 'webgpu'): Promise<Backend | string> {
  for (const ext of ['.js', '.ts']) {
    const url = new URL(`./backends/${name}/index${ext}`, import.meta.url);
    if (!existsSync(fileURLToPath(url))) continue;
    try {
      const m = (await import(/* @vite-ignore */ url.href)) as Record<string, unknown>;
      const factory = (m[`${name}Backend`] ?? m.default) as (() => Backend) | undefined;
      if (typeof factory !== 'function') return `backends/${name}/index${ext} does not export ${name}Backend()`;
      return factory();
    } catch (e) {
      return `failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return 'not included in this build of @gptoss/runtime';
}

const extra = new Map<BackendName, Backend>();

/** Replaces or adds the implementation used for a backend name (tests, embedders with their own backend). */
export function registerBackend(backend: Backend): void {
  extra.set(backend.name, backend);
}

export async function getBackend(name: BackendName): Promise<Backend | string> {
  const registered = extra.get(name);
  if (registered) return registered;
  if (name === 'reference') return referenceBackend();
  if (name === 'cpu' || name === 'webgpu') return importOptional(name);
  return `unknown backend "${String(name)}" (expected ${BACKEND_NAMES.join(', ')})`;
}

/** Whether one backend can run here; a failing availability check counts as unavailable, with its message. */
async function probe(name: BackendName): Promise<BackendStatus> {
  const b = await getBackend(name);
  if (typeof b === 'string') return { name, ok: false, reason: b };
  try {
    const a = await b.available();
    return a.ok ? { name, ok: true, reason: a.detail, backend: b } : { name, ok: false, reason: a.reason, backend: b };
  } catch (e) {
    return { name, ok: false, reason: `availability check failed: ${(e as Error).message}` };
  }
}

/** Availability of every backend, fastest first. */
export async function listBackends(): Promise<BackendStatus[]> {
  const out: BackendStatus[] = [];
  for (const name of BACKEND_NAMES) out.push(await probe(name));
  return out;
}

export interface BackendChoice {
  backend: Backend;
  /** Faster backends that were skipped, with the reason. */
  skipped: { name: BackendName; reason: string }[];
}

/**
 * Picks a backend. `'auto'` (default): the fastest available, reporting those skipped. A named backend that is not
 * available throws BackendUnavailableError with the reason.
 */
export async function selectBackend(want: BackendName | 'auto' = 'auto'): Promise<BackendChoice> {
  if (want !== 'auto') {
    if (!BACKEND_NAMES.includes(want)) {
      throw new BackendUnavailableError(String(want), `unknown backend; expected one of ${BACKEND_NAMES.join(', ')}`);
    }
    const b = await getBackend(want);
    if (typeof b === 'string') throw new BackendUnavailableError(want, b);
    const a = await b.available();
    if (!a.ok) throw new BackendUnavailableError(want, a.reason);
    return { backend: b, skipped: [] };
  }
  const skipped: { name: BackendName; reason: string }[] = [];
  // Probed one at a time and only until one runs: slower backends are not imported or checked (the cpu addon load).
  for (const name of BACKEND_NAMES) {
    const s = await probe(name);
    if (s.ok && s.backend) return { backend: s.backend, skipped };
    skipped.push({ name: s.name, reason: s.reason ?? 'unavailable' });
  }
  throw new BackendUnavailableError('auto', skipped.map((s) => `${s.name}: ${s.reason}`).join('; '));
}
