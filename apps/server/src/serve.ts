import { serve, type ServerType } from '@hono/node-server';
import type { Model } from '@gptoss/runtime';
import { PythonTool } from '@gptoss/tools';
import type { AddressInfo } from 'node:net';
import { createApp, type AppOptions } from './app.js';

export interface ServeOptions extends Omit<AppOptions, 'model'> {
  port?: number;
  host?: string;
}

export interface RunningServer {
  url: string;
  server: ServerType;
  close(): Promise<void>;
}

/**
 * Starts the HTTP server on `host:port` (port 0 picks a free one) and resolves once it listens.
 *
 * @example
 * const model = await loadModel('./gpt-oss-20b/original');
 * const { url } = await startServer(model, { modelId: 'gpt-oss-20b', port: 8000 });
 * // new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' })
 */
export function startServer(model: Model, opts: ServeOptions): Promise<RunningServer> {
  // The server owns the python sandbox it starts for code_interpreter, so close() can stop it.
  let python: PythonTool | undefined;
  const app = createApp({ pythonTool: () => (python ??= new PythonTool()), ...opts, model });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: opts.port ?? 8000, hostname: opts.host ?? '127.0.0.1' }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        server,
        close: async () => {
          await new Promise<void>((res, rej) => server.close((e?: Error) => (e ? rej(e) : res())));
          await python?.close();
        },
      });
    });
    server.once('error', reject);
  });
}
