import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { Conversation, Message, type ReasoningEffort } from '@gptoss/harmony';
import {
  BACKEND_NAMES,
  DEFAULT_MODEL_NOTICE,
  GptossError,
  createCheckpoint,
  ensureDefaultModel,
  listBackends,
  loadModel,
  openCheckpoint,
  type BackendName,
  type GenerateOptions,
  type Model,
  type PresetName,
} from '@gptoss/runtime';
import { startServer } from '@gptoss/server';
import { runAgentTurn } from '@gptoss/tools';
import { chatPreamble, createChatTools, type ChatToolFlags, type ChatTools } from './chat-tools.js';
import { historyPath, loadHistory, saveHistory, HISTORY_SIZE } from './history.js';
import { EventPrinter, RawPrinter, bold, dim } from './render.js';
import { parseFloatArg, parseIntArg, parsePort, parseTokenList } from './options.js';

const color = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
const err = (s: string) => process.stderr.write(s);

function backendOption(flags = '-b, --backend <name>'): Option {
  return new Option(flags, 'compute backend (default: the fastest available)').choices([...BACKEND_NAMES, 'auto']).default('auto');
}

function samplingOptions(cmd: Command): Command {
  return cmd
    .option('-n, --max-tokens <n>', 'stop after this many tokens', parseIntArg('--max-tokens', 1))
    .option('-t, --temperature <t>', 'sampling temperature (0 = greedy)', parseFloatArg('--temperature', 0, 100), 1.0)
    .option('--top-p <p>', 'nucleus sampling', parseFloatArg('--top-p', 0, 1), 1.0)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', parseIntArg('--top-k'), 0)
    .option('--min-p <p>', 'drop tokens below p × the top probability', parseFloatArg('--min-p', 0, 1), 0)
    .option('--seed <n>', 'sampling seed (reproducible output)', parseIntArg('--seed'))
    .addOption(new Option('-r, --reasoning-effort <level>', 'reasoning effort in the system message').choices(['low', 'medium', 'high']).default('medium'))
    .option('-i, --instructions <text>', 'developer instructions (a developer message before the conversation)')
    .option('--context <n>', 'largest number of tokens per conversation (KV cache size)', parseIntArg('--context', 16));
}

interface ChatFlags extends ChatToolFlags {
  showBrowserResults?: boolean;
  raw?: boolean;
}

interface SamplingFlags {
  maxTokens?: number;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  seed?: number;
  reasoningEffort: ReasoningEffort;
  instructions?: string;
  context?: number;
  backend: BackendName | 'auto';
}

function generateOptions(o: SamplingFlags, maxTokens: number): GenerateOptions {
  return { maxTokens: o.maxTokens ?? maxTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, seed: o.seed };
}

/** Resolves the model argument, creating the embedded random model when it is absent. */
async function resolveModel(path: string | undefined): Promise<{ path: string; isDefault: boolean }> {
  if (path) return { path, isDefault: false };
  const r = await ensureDefaultModel({ onCreate: (p) => err(dim(color, `creating the built-in tiny model in ${p} …\n`)) });
  err(`${DEFAULT_MODEL_NOTICE}\n`);
  return { path: r.path, isDefault: true };
}

async function open(path: string | undefined, backend: BackendName | 'auto', quiet = false, maxContext?: number): Promise<Model> {
  const m = await resolveModel(path);
  const model = await loadModel(m.path, {
    backend,
    maxContext,
    onProgress: quiet || !process.stderr.isTTY ? undefined : (p) => err(`\rloading ${((100 * p.loadedBytes) / Math.max(1, p.totalBytes)).toFixed(0)}%`),
  });
  if (!quiet && process.stderr.isTTY) err('\r\x1b[K');
  if (!quiet) {
    const skipped = model.choice.skipped.map((s) => s.name);
    err(
      dim(
        color,
        `model ${m.path} (${model.checkpoint.layout} layout) on the ${model.backend} backend` +
          (skipped.length ? ` (${skipped.join(', ')} unavailable: see \`gptoss backends\`)` : '') +
          '\n',
      ),
    );
  }
  return model;
}

/** The conversation's opening: system message (reasoning effort, today's date) and optional developer instructions. */
function preamble(o: SamplingFlags, tools?: ChatTools): Message[] {
  return chatPreamble(o, tools);
}

async function runGenerate(modelArg: string | undefined, prompt: string, o: SamplingFlags & { stats?: boolean }, maxTokens = 256): Promise<void> {
  const model = await open(modelArg, o.backend, false, o.context);
  try {
    const convo = Conversation.fromMessages([...preamble(o), Message.fromRoleAndContent('user', prompt)]);
    const printer = new EventPrinter({ answer: process.stdout, side: process.stderr, color }, model.encoding.tokenizer);
    for await (const ev of model.generate(convo, generateOptions(o, maxTokens))) printer.on(ev);
    err(`${printer.summary(model.backend)}\n`);
  } finally {
    await model.close();
  }
}

async function runChat(modelArg: string | undefined, o: SamplingFlags & ChatFlags): Promise<void> {
  const model = await open(modelArg, o.backend, false, o.context);
  let chatTools: ChatTools | undefined;
  try {
    chatTools = await createChatTools(o, { cwd: process.cwd() });
  } catch (e) {
    await model.close();
    throw e;
  }
  const tools = chatTools;
  const enabled = tools.tools.map((t) => t.name);
  if (enabled.length) err(dim(color, `tools: ${enabled.join(', ')}${tools.applyPatch ? ` (apply_patch edits files under ${process.cwd()})` : ''}\n`));
  const interactive = Boolean(process.stdin.isTTY);
  // Input history (Up/Down) survives sessions, as in the reference chat; readline keeps it for terminals only.
  const histFile = historyPath();
  let historyBroken = false;
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: interactive,
    ...(interactive ? { history: loadHistory(histFile), historySize: HISTORY_SIZE } : {}),
  });
  if (interactive) {
    rl.on('history', (history: string[]) => {
      if (historyBroken) return;
      try {
        saveHistory(histFile, history);
      } catch (e) {
        historyBroken = true;
        err(dim(color, `(chat history not saved: ${(e as Error).message})\n`));
      }
    });
  }
  const raw = o.raw ? new RawPrinter(process.stdout, model.encoding, color) : undefined;
  let messages: Message[] = preamble(o, tools);
  raw?.messages(messages);
  let current: AbortController | undefined;
  rl.on('SIGINT', () => {
    if (current) current.abort(new Error('interrupted'));
    else rl.close();
  });
  if (interactive) err(dim(color, 'Type a message; /reset starts over, /exit or Ctrl-D quits, Ctrl-C stops an answer.\n'));
  const ask = () => {
    if (interactive) rl.setPrompt(raw ? raw.userStart : bold(color, '> '));
    if (interactive) rl.prompt();
  };
  try {
    ask();
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        tools.resetBrowser();
        messages = preamble(o, tools);
        err(dim(color, '(conversation cleared)\n'));
        raw?.messages(messages);
        ask();
        continue;
      }
      if (text.length === 0) {
        ask();
        continue;
      }
      messages.push(Message.fromRoleAndContent('user', text));
      raw?.user(text, interactive);
      current = new AbortController();
      const signal = current.signal;
      const browser = tools.browser;
      const printer = raw ?? new EventPrinter({ answer: process.stdout, side: process.stdout, color }, model.encoding.tokenizer, 16, {
        ...(browser ? { citations: () => browser.pageStack } : {}),
        showBrowserResults: o.showBrowserResults,
      });
      try {
        const turn = runAgentTurn(messages, { generate: (c) => model.generate(c, { ...generateOptions(o, 512), signal }), tools: tools.tools, signal });
        for await (const ev of turn) {
          printer.onAgent(ev);
          if (ev.type === 'agent-done') {
            if (ev.stopReason === 'context-full') err(dim(color, '(the context is full: /reset, or restart with a larger --context)\n'));
            if (ev.stopReason === 'function-call') err(dim(color, `(the model called ${ev.pendingCall?.recipient}, which no enabled tool handles)\n`));
            if (ev.stopReason === 'tool-limit') err(dim(color, '(too many tool calls in one turn: stopped)\n'));
            const answers = ev.messages.filter((m) => m.author.role === 'assistant');
            messages.push(...(answers.length ? ev.messages : [Message.fromRoleAndContent('assistant', printer.answerText).withChannel('final')]));
          }
        }
        // Raw text has no line ends of its own; on a terminal the stats line goes below it, not glued to it.
        err(`${raw && interactive ? '\n' : ''}${printer.summary(model.backend)}\n`);
      } catch (e) {
        if (signal.aborted) {
          process.stdout.write('\n');
          err(dim(color, '(stopped)\n'));
          messages.pop();
        } else if (GptossError.isInstance(e)) {
          // e.g. the conversation outgrew the context: say so and let the user /reset instead of exiting.
          err(`error: ${(e as Error).message}\n`);
          messages.pop();
        } else {
          throw e;
        }
      } finally {
        current = undefined;
      }
      ask();
    }
  } finally {
    rl.close();
    await tools.close();
    await model.close();
  }
}

interface ServeFlags {
  port: number;
  host: string;
  modelId?: string;
  maxOutputTokens: number;
  context?: number;
  backend: BackendName | 'auto';
}

/** Serves until SIGINT/SIGTERM, then stops accepting, lets requests in flight finish (briefly) and frees the model. */
async function runServe(modelArg: string | undefined, o: ServeFlags): Promise<void> {
  const model = await open(modelArg, o.backend, false, o.context);
  let running;
  try {
    const modelId = o.modelId ?? (modelArg ? basename(resolve(modelArg).replace(/\/original\/?$/, '')) : 'gpt-oss-tiny-random');
    running = await startServer(model, { modelId, port: o.port, host: o.host, maxOutputTokens: o.maxOutputTokens });
    err(`serving ${modelId} on ${running.url}/v1 (Responses API, Chat Completions); Ctrl-C stops\n`);
  } catch (e) {
    await model.close();
    throw e;
  }
  const server = running;
  const signal = await new Promise<NodeJS.Signals>((res) => {
    process.once('SIGINT', () => res('SIGINT'));
    process.once('SIGTERM', () => res('SIGTERM'));
  });
  err(dim(color, `${signal}: closing the server\n`));
  // Streams still open after a grace period are cut, so a stuck client cannot keep the process alive.
  const force = setTimeout(() => (server.server as { closeAllConnections?: () => void }).closeAllConnections?.(), 5000);
  try {
    await server.close();
  } finally {
    clearTimeout(force);
    await model.close();
  }
  err(dim(color, 'server closed\n'));
}

export function createProgram(): Command {
  const program = new Command('gptoss')
    .description('gpt-oss in TypeScript: run, chat with and inspect gpt-oss checkpoints (original/ or Hugging Face layout).')
    .showHelpAfterError()
    // Set before the subcommands are added so that they inherit it: errors come back to main() instead of exit(1).
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(color ? `\x1b[31m${s}\x1b[39m` : s) });

  samplingOptions(
    program
      .command('generate')
      .description('answer one prompt (streams the answer to stdout, reasoning and stats to stderr)')
      .argument('[model]', 'checkpoint folder (default: the built-in tiny random model)')
      .requiredOption('-p, --prompt <text>', 'the user message')
      .addOption(backendOption()),
  ).action(async (model: string | undefined, o: SamplingFlags & { prompt: string }) => runGenerate(model, o.prompt, o));

  samplingOptions(
    program
      .command('chat')
      .description('interactive chat, streaming; reasoning is shown dimmed apart from the answer; tools with -b, -p, -a')
      .argument('[model]', 'checkpoint folder (default: the built-in tiny random model)')
      // -b is the browser here, as in the reference chat, so the backend has only its long name.
      .addOption(backendOption('--backend <name>'))
      .option('-b, --browser', 'browser tool (BROWSER_BACKEND: youcom, exa, or keyless local search of BROWSER_DOCS_DIR plus web pages)')
      .option('--show-browser-results', 'print what the browser returns instead of [Search results fed to the model]')
      .option('-p, --python', 'python tool (Pyodide sandbox: no files, no network)')
      .option('-a, --apply-patch', 'apply_patch function: the model may edit files under the current directory')
      .option('--raw', 'print the raw harmony text (special tokens included) instead of rendering it'),
  ).action(async (model: string | undefined, o: SamplingFlags & ChatFlags) => runChat(model, o));

  program
    .command('serve')
    .description('OpenAI-compatible HTTP server (Responses API, Chat Completions) for the openai client, Codex, agents')
    .argument('[model]', 'checkpoint folder (default: the built-in tiny random model)')
    .option('--port <n>', 'TCP port (0 picks a free one)', parsePort, 8000)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--model-id <name>', 'model name reported by the API (default: the folder name)')
    .option('--max-output-tokens <n>', 'upper bound on generated tokens per request', parseIntArg('--max-output-tokens', 1), 4096)
    .option('--context <n>', 'largest number of tokens per conversation (KV cache size)', parseIntArg('--context', 16))
    .addOption(backendOption())
    .action(async (modelArg: string | undefined, o: ServeFlags) => runServe(modelArg, o));

  program
    .command('logits')
    .description('write raw little-endian float32 logits [n_tokens × vocab], row-major, from one prefill')
    .argument('<model>', 'checkpoint folder')
    .requiredOption('--tokens <ids>', 'comma-separated token ids, e.g. 1,2,3', parseTokenList)
    .requiredOption('-o, --out <file>', 'output file')
    .addOption(backendOption())
    .action(async (modelArg: string, o: { tokens: number[]; out: string; backend: BackendName | 'auto' }) => {
      const model = await open(modelArg, o.backend, true);
      try {
        const t0 = performance.now();
        const logits = await model.logits(o.tokens);
        const ms = performance.now() - t0;
        const bytes = new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength);
        if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
          // Big-endian host: byte-swap so the file is little-endian as documented.
          for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
        }
        await writeFile(o.out, bytes);
        err(`${o.out}: ${o.tokens.length} x ${model.config.vocabSize} float32 LE (${model.backend}, ${ms.toFixed(0)} ms)\n`);
      } finally {
        await model.close();
      }
    });

  program
    .command('create-model')
    .description('write a random checkpoint with the real names, dtypes and shapes (MXFP4 experts)')
    .argument('<dir>', 'output folder')
    .addOption(new Option('--preset <name>', 'model size').choices(['tiny', 'gpt-oss-20b', 'gpt-oss-120b']).default('tiny'))
    .addOption(new Option('--layout <layout>', 'original/ (block.N.*) or Hugging Face (model.layers.N.*)').choices(['original', 'hf']).default('original'))
    .option('--seed <n>', 'weights seed', parseIntArg('--seed'), 0)
    .action(async (dir: string, o: { preset: PresetName; layout: 'original' | 'hf'; seed: number }) => {
      const t0 = performance.now();
      let lastPct = -1;
      const tty = Boolean(process.stderr.isTTY);
      const r = await createCheckpoint({
        dir,
        preset: o.preset,
        layout: o.layout,
        seed: o.seed,
        onProgress: (p) => {
          const pct = Math.floor((100 * p.writtenBytes) / p.totalBytes);
          if (pct === lastPct) return;
          lastPct = pct;
          const s = (performance.now() - t0) / 1000;
          const line = `writing ${pct}% ${(p.writtenBytes / 1e9).toFixed(2)}/${(p.totalBytes / 1e9).toFixed(2)} GB ${(p.writtenBytes / 1e6 / Math.max(s, 1e-3)).toFixed(0)} MB/s`;
          if (tty) err(`\r${line}\x1b[K`);
          else if (pct % 10 === 0) err(`${line}\n`);
        },
      });
      if (tty) err('\n');
      err(`wrote ${r.dir} (${o.preset}, ${o.layout} layout, seed ${o.seed}, ${(r.byteLength / 1e9).toFixed(2)} GB) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    });

  program
    .command('info')
    .description('validate a checkpoint and print its layout, config and size (reads headers only)')
    .argument('[model]', 'checkpoint folder (default: the built-in tiny random model)')
    .option('--json', 'machine-readable output')
    .action(async (modelArg: string | undefined, o: { json?: boolean }) => {
      const m = await resolveModel(modelArg);
      const ck = await openCheckpoint(m.path);
      try {
        const info = { path: ck.path, layout: ck.layout, tensors: ck.weights.names.length, bytes: ck.byteLength, config: ck.config };
        if (o.json) {
          console.log(JSON.stringify(info, null, 2));
        } else {
          console.log(`${ck.path}: valid gpt-oss checkpoint, ${ck.layout} layout, ${info.tensors} tensors, ${(ck.byteLength / 1e9).toFixed(2)} GB`);
          for (const [k, v] of Object.entries(ck.config)) console.log(`  ${k.padEnd(22)} ${v}`);
        }
      } finally {
        await ck.close();
      }
    });

  program
    .command('backends')
    .description('list the compute backends and whether each can run here')
    .action(async () => {
      for (const b of await listBackends()) console.log(`${b.name.padEnd(10)} ${b.ok ? 'available' : 'unavailable'}${b.reason ? `  (${b.reason})` : ''}`);
    });

  program
    .command('start')
    .description('what `npm start` runs: prepare the built-in model, then chat (terminal) or a one-shot demo (no terminal)')
    .addOption(backendOption())
    .action(async (o: { backend: BackendName | 'auto' }) => {
      const flags: SamplingFlags = { temperature: 1.0, topP: 1.0, topK: 0, minP: 0, reasoningEffort: 'low', backend: o.backend };
      if (process.stdin.isTTY) {
        await runChat(undefined, flags);
      } else {
        const prompt = 'In one sentence, what is gpt-oss?';
        err(dim(color, `demo (stdin is not a terminal, so no chat): generating an answer to "${prompt}"\n`));
        await runGenerate(undefined, prompt, { ...flags, seed: 0 }, 48);
      }
    });

  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    const code = (e as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // Help and version exit 0; usage errors exit 2 like other Unix tools.
      return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    }
    if (GptossError.isInstance(e)) {
      err(`${color ? '\x1b[31merror\x1b[39m' : 'error'}: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}
