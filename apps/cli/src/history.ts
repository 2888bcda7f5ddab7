import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** Lines of chat input kept across sessions. */
export const HISTORY_SIZE = 1000;

/**
 * Where `chat` keeps its input history: `$XDG_STATE_HOME/gptoss/chat_history` when that variable is an absolute
 * path (the XDG spec says to ignore relative ones), else `~/.gptoss/chat_history`.
 */
export function historyPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const state = env.XDG_STATE_HOME;
  if (state && isAbsolute(state)) return join(state, 'gptoss', 'chat_history');
  return join(home, '.gptoss', 'chat_history');
}

/**
 * Reads the history file (one entry a line, oldest first) into readline's order (newest first), at most `size`
 * entries. A missing or unreadable file is an empty history.
 */
export function loadHistory(path: string, size = HISTORY_SIZE): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.length > 0).slice(-size).reverse();
}

/**
 * Writes readline's history (newest first) as the file's lines, oldest first, keeping the newest `size`. The file
 * may hold private prompts, so it is readable by its owner only. Throws on failure (the caller warns and goes on).
 */
export function saveHistory(path: string, history: readonly string[], size = HISTORY_SIZE): void {
  // A line break inside an entry (pasted text) would split it in two on the next load.
  const lines = history.slice(0, size).map((l) => l.replace(/[\r\n]+/g, ' ')).reverse();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
}
