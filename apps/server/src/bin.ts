#!/usr/bin/env node
import { DEFAULT_MODEL_NOTICE, ensureDefaultModel, loadModel } from '@gptoss/runtime';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './serve.js';

const USAGE = `usage: gptoss-server [model-dir] [--port 8000] [--host 127.0.0.1] [--backend auto|webgpu|cpu|reference] [--model-id NAME]`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      backend: { type: 'string', default: 'auto' },
      'model-id': { type: 'string' },
      'max-output-tokens': { type: 'string', default: '4096' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let dir = positionals[0];
  if (!dir) {
    dir = (await ensureDefaultModel()).path;
    console.error(DEFAULT_MODEL_NOTICE);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer in 0..65535, got "${values.port}"`);
  const model = await loadModel(dir, { backend: values.backend as 'auto' });
  const modelId = values['model-id'] ?? basename(dir.replace(/\/original\/?$/, ''));
  const running = await startServer(model, { modelId, port, host: values.host, maxOutputTokens: Number(values['max-output-tokens']) });
  console.error(`gptoss-server: ${modelId} on the ${model.backend} backend, listening on ${running.url}/v1`);
  // Graceful stop: no new connections, requests in flight get a few seconds, then the model is freed. A second
  // signal kills the process at once (the handlers are gone by then).
  const signal = await new Promise<string>((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
  console.error(`gptoss-server: ${signal}, closing`);
  const force = setTimeout(() => (running.server as { closeAllConnections?: () => void }).closeAllConnections?.(), 5000);
  try {
    await running.close();
  } finally {
    clearTimeout(force);
    await model.close();
  }
}

main().catch((e: unknown) => {
  console.error(`gptoss-server: ${(e as Error).message}`);
  process.exit(1);
});
