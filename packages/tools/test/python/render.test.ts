import { loadHarmonyEncoding, Message, SystemContent } from '@gptoss/harmony';
import { expect, test } from 'vitest';
import { PythonTool } from '../../src/python/python-tool.js';

test('the stateless python namespace renders in the system message as SPEC §4.5/§5.3 say', () => {
  const enc = loadHarmonyEncoding();
  const system = SystemContent.new().withTools(new PythonTool().toolConfig());
  const text = enc.decodeUtf8(enc.render(Message.fromRoleAndContent('system', system)));
  expect(text).toContain(
    '# Tools\n\n## python\n\n' +
      'Use this tool to execute STATELESS Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).\n' +
      'When you send a message containing python code to python, it will be executed in a stateless docker container, and the stdout of that process will be returned to you. You have to use print statements to access the output.\n' +
      '\n' +
      'IMPORTANT: Your python environment is not shared between calls. You will have to pass your entire code each time.\n\n' +
      '# Valid channels',
  );
});
