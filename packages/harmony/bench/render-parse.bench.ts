// Render + parse of a 50-message conversation (ops/s): @gptoss/harmony, and the same renderer driven by tiktoken
// (WASM) and js-tiktoken as the BPE, in one process. Run with `pnpm bench:render-parse`.
import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import {
  Author,
  Conversation,
  DeveloperContent,
  HarmonyEncoding,
  loadHarmonyEncoding,
  Message,
  SystemContent,
  type Tokenizer,
} from '../src/index.js';

const enc = loadHarmonyEncoding();

function conversation50(): Conversation {
  const tool = {
    name: 'get_weather',
    description: 'Gets the current weather for a city.',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name, e.g. "Paris"' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
        days: { type: 'integer', default: 1 },
      },
      required: ['city'],
    },
  };
  const messages: Message[] = [
    Message.fromRoleAndContent('system', SystemContent.new().withConversationStartDate('2025-06-28').withBrowserTool()),
    Message.fromRoleAndContent('developer', DeveloperContent.new().withInstructions('Answer concisely and cite sources.').withFunctionTools([tool])),
  ];
  const cities = ['Paris', 'Tokyo', 'São Paulo', 'Zürich', '北京', 'Reykjavík'];
  for (let turn = 0; messages.length < 50; turn++) {
    const city = cities[turn % cities.length];
    messages.push(Message.fromRoleAndContent('user', `What's the weather like in ${city} this week? Also, should I pack an umbrella? (turn ${turn})`));
    messages.push(
      Message.fromRoleAndContent('assistant', `The user asks about ${city}. I should call get_weather with the city and then summarise the forecast, mentioning rain probability.`).withChannel('analysis'),
    );
    messages.push(
      Message.fromRoleAndContent('assistant', JSON.stringify({ city, unit: 'celsius', days: 7 }))
        .withChannel('commentary')
        .withRecipient('functions.get_weather')
        .withContentType('<|constrain|>json'),
    );
    messages.push(
      Message.fromAuthorAndContent(new Author('tool', 'functions.get_weather'), JSON.stringify({ city, forecast: [18, 21, 19, 17, 22, 23, 20], rain: [0.1, 0.6, 0.3, 0.8, 0.05, 0, 0.2] }))
        .withChannel('commentary')
        .withRecipient('assistant'),
    );
    messages.push(Message.fromRoleAndContent('assistant', `In ${city} expect 17–23 °C this week. Rain is likely on Tuesday and Thursday, so yes: pack an umbrella ☔.`).withChannel('final'));
  }
  return Conversation.fromMessages(messages.slice(0, 50));
}

// The renderer only needs `encodeOrdinary` and the parser `tokenToBytes`; these adapters let the same harmony code
// run on the peers' BPE (harmony's special ids are not in o200k_base, so the adapters answer those themselves).
function tiktokenWasmAdapter(): Tokenizer {
  const t = get_encoding('o200k_base');
  const bytesOf = (id: number) => (enc.tokenizer.isSpecial(id) ? enc.tokenizer.tokenToBytes(id) : t.decode_single_token_bytes(id));
  return { encodeOrdinary: (s: string) => Array.from(t.encode_ordinary(s)), tokenToBytes: bytesOf, decodeUtf8: (ids: number[]) => enc.tokenizer.decodeUtf8(ids) } as unknown as Tokenizer;
}

function jsTiktokenAdapter(): Tokenizer {
  const t = getEncoding('o200k_base');
  return {
    encodeOrdinary: (s: string) => t.encode(s, [], []),
    tokenToBytes: (id: number) => enc.tokenizer.tokenToBytes(id), // js-tiktoken has no public bytes API
    decodeUtf8: (ids: number[]) => enc.tokenizer.decodeUtf8(ids),
  } as unknown as Tokenizer;
}

// The machine is shared, so load drifts during a run: measure in short samples, round-robin over every
// implementation and operation, and report each one's median.
function sample(fn: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    fn();
    n++;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);

const convo = conversation50();
const cfg = { autoDropAnalysis: false };
const tokens = enc.renderConversation(convo, cfg);
const impls = [
  ['@gptoss/harmony', enc],
  ['same renderer on tiktoken 1.x (WASM) BPE', new HarmonyEncoding(tiktokenWasmAdapter())],
  ['same renderer on js-tiktoken BPE', new HarmonyEncoding(jsTiktokenAdapter())],
] as const;
const ops = impls.map(([name, e]) => {
  if (e.renderConversation(convo, cfg).join() !== tokens.join()) throw new Error(`${name}: rendered tokens differ from @gptoss/harmony`);
  return [
    () => e.renderConversation(convo, cfg),
    () => e.parseMessagesFromCompletionTokens(tokens, null),
    () => e.parseMessagesFromCompletionTokens(e.renderConversation(convo, cfg), null),
  ];
});
for (const fns of ops) for (const fn of fns) for (let i = 0; i < 30; i++) fn(); // warm-up
const rates = ops.map((fns) => fns.map(() => [] as number[]));
for (let r = 0; r < ROUNDS; r++) {
  ops.forEach((fns, i) => fns.forEach((fn, j) => rates[i][j].push(sample(fn, 150))));
}
const rows = impls.map(([name], i) => [name, ...rates[i].map(median)] as const);

console.log(`50-message conversation: ${tokens.length} tokens, ${new TextEncoder().encode(enc.decodeUtf8(tokens)).length} bytes`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
console.log('| BPE used by the harmony renderer | render ops/s | parse ops/s | render+parse ops/s |');
console.log('|---|---:|---:|---:|');
for (const [name, r, p, b] of rows) console.log(`| ${name} | ${r.toFixed(0)} | ${p.toFixed(0)} | ${b.toFixed(0)} |`);
