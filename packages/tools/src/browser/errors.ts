import { GptossError } from '../errors.js';

/**
 * The model used a browser function wrongly (bad cursor, unknown link id, location past the end). The message is
 * shown to the model verbatim, so it follows the reference tool's wording rather than the usual
 * expected/found/fix shape.
 */
export class BrowserUsageError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrowserUsageError';
  }
}

/**
 * A search or fetch backend failed (HTTP status, timeout, size cap, missing API key). The browser shows the message
 * to the model inside ``Error during search for `…`: …`` or ``Error fetching URL `…`: …``.
 */
export class BrowserBackendError extends GptossError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrowserBackendError';
  }
}
