import { ToolError } from '../errors.js';
import type { BrowserBackend } from './backend.js';
import { ExaBackend } from './exa-backend.js';
import { LocalBackend } from './local-backend.js';
import { YouComBackend } from './youcom-backend.js';

/**
 * Picks a backend from the environment, like the reference chat app's `BROWSER_BACKEND`:
 * `youcom` (YDC_API_KEY), `exa` (EXA_API_KEY) or `local` (documents from `BROWSER_DOCS_DIR`, if set, plus web
 * pages). Unset: You.com if `YDC_API_KEY` is set, else Exa if `EXA_API_KEY` is set, else local — so the browser
 * works without any key.
 *
 * @example
 * ```ts
 * const browser = new BrowserTool({ backend: browserBackendFromEnv() });
 * ```
 */
export function browserBackendFromEnv(env: NodeJS.ProcessEnv = process.env): BrowserBackend {
  const choice = (env.BROWSER_BACKEND ?? '').trim().toLowerCase();
  const local = () => new LocalBackend(env.BROWSER_DOCS_DIR ? { root: env.BROWSER_DOCS_DIR } : {});
  switch (choice) {
    case 'youcom':
    case 'you':
      return new YouComBackend({ apiKey: env.YDC_API_KEY });
    case 'exa':
      return new ExaBackend({ apiKey: env.EXA_API_KEY });
    case 'local':
      return local();
    case '':
      if (env.YDC_API_KEY) return new YouComBackend({ apiKey: env.YDC_API_KEY });
      if (env.EXA_API_KEY) return new ExaBackend({ apiKey: env.EXA_API_KEY });
      return local();
    default:
      throw new ToolError(
        `BROWSER_BACKEND must be youcom, exa or local, found ${JSON.stringify(env.BROWSER_BACKEND)}. ` +
          `Set it to one of those, or unset it to pick by the API keys present.`,
      );
  }
}
