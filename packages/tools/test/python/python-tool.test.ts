import { Message, SystemContent, ToolNamespaceConfig } from '@gptoss/harmony';
import { afterAll, describe, expect, test } from 'vitest';
import { formatPythonResult, PythonTool } from '../../src/python/python-tool.js';
import { NO_OUTPUT_WARNING, STATELESS_PYTHON_DESCRIPTION } from '../../src/python/descriptions.js';
import { messageText } from '../../src/tool.js';

const call = (code: string, channel: string | undefined = 'analysis') => {
  const m = Message.fromRoleAndContent('assistant', code).withRecipient('python');
  return channel === undefined ? m : m.withChannel(channel);
};

async function ask(tool: PythonTool, code: string, channel?: string): Promise<Message> {
  const out: Message[] = [];
  for await (const m of tool.process(call(code, channel))) out.push(m);
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe('PythonTool descriptions', () => {
  test('stateless: the seed description of SPEC §5.3, byte for byte', () => {
    expect(STATELESS_PYTHON_DESCRIPTION).toBe(
      'Use this tool to execute STATELESS Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).\n' +
        'When you send a message containing python code to python, it will be executed in a stateless docker container, and the stdout of that process will be returned to you. You have to use print statements to access the output.\n' +
        '\n' +
        'IMPORTANT: Your python environment is not shared between calls. You will have to pass your entire code each time.',
    );
    const config = new PythonTool().toolConfig();
    expect(config.name).toBe('python');
    expect(config.description).toBe(STATELESS_PYTHON_DESCRIPTION);
    expect(config.tools).toEqual([]);
  });

  test("stateful: harmony's built-in python namespace (what the model was trained with)", () => {
    expect(new PythonTool({ stateful: true }).toolConfig()).toEqual(ToolNamespaceConfig.python());
  });
});

describe('formatPythonResult', () => {
  const limits = { stateful: false, timeoutMs: 2000, memoryLimitMb: 256 };
  const r = (over: object) => ({ status: 'ok' as const, output: '', droppedChars: 0, stateReset: false, elapsedMs: 1, ...over });
  test('empty or blank output → the [WARN] text of SPEC §5.3', () => {
    expect(NO_OUTPUT_WARNING).toBe('[WARN] No output available. Use print() to output anything to stdout to receive the output');
    expect(formatPythonResult(r({ output: '' }), limits)).toBe(NO_OUTPUT_WARNING);
    expect(formatPythonResult(r({ output: ' \n\n' }), limits)).toBe(NO_OUTPUT_WARNING);
    expect(formatPythonResult(r({ output: '1\n' }), limits)).toBe('1\n');
  });
  test('limits and truncation', () => {
    expect(formatPythonResult(r({ status: 'timeout' }), limits)).toBe('[ERROR] Execution timed out after 2 seconds and was stopped.');
    expect(formatPythonResult(r({ status: 'memory', output: 'MemoryError' }), limits)).toBe(
      'MemoryError\n[ERROR] Execution ran out of memory (limit 256 MiB) and was stopped.',
    );
    expect(formatPythonResult(r({ output: 'abc', droppedChars: 10 }), limits)).toBe(
      'abc\n[WARN] Output truncated: 10 more characters were not shown.\n',
    );
    const stateful = { ...limits, stateful: true, timeoutMs: 1500 };
    expect(formatPythonResult(r({ status: 'timeout', stateReset: true }), stateful)).toBe(
      '[ERROR] Execution timed out after 1.5 seconds and was stopped. The Python state was reset: variables, imports and files from earlier calls are gone.',
    );
    expect(formatPythonResult(r({ status: 'timeout' }), stateful)).toBe(
      '[ERROR] Execution timed out after 1.5 seconds and was stopped. Variables from earlier calls are kept.',
    );
  });
});

describe('PythonTool over Pyodide', () => {
  const stateless = new PythonTool({ timeoutMs: 2000, interruptGraceMs: 500 });
  // Booted without the snapshot, so the plain boot path is covered too.
  const stateful = new PythonTool({ stateful: true, timeoutMs: 2000, interruptGraceMs: 500, snapshot: false });
  afterAll(() => Promise.all([stateless.close(), stateful.close()]));

  test('one reply from python to assistant on the caller\'s channel', async () => {
    const m = await ask(stateless, 'print(6 * 7)');
    expect(m.toJSON()).toEqual({
      role: 'tool',
      name: 'python',
      content: [{ type: 'text', text: '42\n' }],
      channel: 'analysis',
      recipient: 'assistant',
    });
    expect((await ask(stateless, 'print(1)', 'commentary')).channel).toBe('commentary');
  });

  test('no output → [WARN]; stateless calls share nothing', async () => {
    expect(messageText(await ask(stateless, 'x = 5'))).toBe(NO_OUTPUT_WARNING);
    expect(messageText(await ask(stateless, 'print(x)'))).toContain("NameError: name 'x' is not defined");
  });

  test('sandbox errors reach the model as text and the next call works', async () => {
    expect(messageText(await ask(stateless, "open('/etc/passwd')"))).toContain('FileNotFoundError');
    // The traceback (where the code was when stopped), then the error line.
    expect(messageText(await ask(stateless, 'while True: pass'))).toMatch(
      /^Traceback \(most recent call last\):\n {2}File "<stdin>", line 1, in <module>\n[\s\S]*\nKeyboardInterrupt\n\[ERROR\] Execution timed out after 2 seconds and was stopped\.$/,
    );
    // A KeyboardInterrupt the code raises itself is just an exception.
    expect(messageText(await ask(stateless, 'raise KeyboardInterrupt'))).toMatch(/\nKeyboardInterrupt\n$/);
    expect(messageText(await ask(stateless, 'print("ok")'))).toBe('ok\n');
  });

  test('stateful: variables persist; a timeout says whether they survived', async () => {
    expect(messageText(await ask(stateful, 'total = 40'))).toBe(NO_OUTPUT_WARNING);
    expect(messageText(await ask(stateful, 'total + 2'))).toBe('42\n');
    expect(messageText(await ask(stateful, 'while True: pass'))).toMatch(
      /\nKeyboardInterrupt\n\[ERROR\] Execution timed out after 2 seconds and was stopped\. Variables from earlier calls are kept\.$/,
    );
    expect(messageText(await ask(stateful, 'total'))).toBe('40\n');
  });

  // The examples of README.md and docs/python.md, on the shared tools (each new PythonTool is a cold start).
  test('README.md examples', async () => {
    const call = Message.fromRoleAndContent('assistant', 'print(6 * 7)').withChannel('analysis').withRecipient('python');
    const printed: string[] = [];
    for await (const reply of stateless.process(call)) printed.push(`${reply.author.name} ${reply.text}`);
    expect(printed).toEqual(['python 42\n']);

    const system = SystemContent.new().withTools(stateful.toolConfig());
    expect(system.tools?.python?.description).toContain('stateful Jupyter notebook');
    const call2 = Message.fromRoleAndContent('assistant', 'x = 21\nx * 2').withChannel('analysis').withRecipient('python');
    const texts: string[] = [];
    for await (const reply of stateful.process(call2)) texts.push(reply.text);
    expect(texts).toEqual(['42\n']);
  });

  test('docs/python.md example', async () => {
    const call = Message.fromRoleAndContent('assistant', 'import math\nprint(math.factorial(20))')
      .withChannel('analysis')
      .withRecipient('python');
    const printed: string[] = [];
    for await (const reply of stateless.process(call)) printed.push(`${reply.author.name} ${reply.channel} ${reply.text}`);
    expect(printed).toEqual(['python analysis 2432902008176640000\n']);
  });
});
