import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createCheckpoint } from './checkpoint/create-checkpoint.js';
import { presetConfig } from './config.js';

/** Bumped whenever createCheckpoint's output for the default model changes, so stale caches are rebuilt. */
const DEFAULT_MODEL_VERSION = 1;

export const DEFAULT_MODEL_NOTICE =
  'Using the built-in tiny model: its weights are RANDOM, so its output is gibberish. It is there to show that ' +
  'everything runs. For real answers download gpt-oss-20b (https://huggingface.co/openai/gpt-oss-20b, e.g. ' +
  '`huggingface-cli download openai/gpt-oss-20b --local-dir gpt-oss-20b`) and pass its folder as the model.';

/** `$XDG_CACHE_HOME/gptoss` or `~/.cache/gptoss`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'gptoss');
}

export function defaultModelPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'models', `tiny-random-v${DEFAULT_MODEL_VERSION}`);
}

/**
 * Returns the path of the embedded default model (a `tiny` random checkpoint), creating it on first use. Creation
 * goes to a temporary folder renamed into place, so an interrupted run never leaves a half-written model.
 */
export async function ensureDefaultModel(options: { env?: NodeJS.ProcessEnv; onCreate?: (path: string) => void } = {}): Promise<{ path: string; created: boolean }> {
  const path = defaultModelPath(options.env);
  if (existsSync(join(path, 'config.json'))) return { path, created: false };
  options.onCreate?.(path);
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await createCheckpoint({ dir: tmp, config: presetConfig('tiny'), seed: 0 });
  // A folder without config.json is a leftover of something else interrupted: replace it.
  if (!existsSync(join(path, 'config.json'))) await rm(path, { recursive: true, force: true });
  try {
    await rename(tmp, path);
  } catch (e) {
    // Another process finished first: use its model.
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(join(path, 'config.json'))) return { path, created: false };
    throw e;
  }
  return { path, created: true };
}
