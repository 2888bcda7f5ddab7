/**
 * The description gpt-oss's `PythonTool` puts in the system prompt for its stateless backends (SPEC §5.3), byte for
 * byte. The stateful description is harmony's built-in one (`ToolNamespaceConfig.python()`, SPEC §4.7).
 */
export const STATELESS_PYTHON_DESCRIPTION =
  'Use this tool to execute STATELESS Python code in your chain of thought. The code will not be shown to the user. ' +
  'This tool should be used for internal reasoning, but not for code that is intended to be visible to the user ' +
  '(e.g. when creating plots, tables, or files).\n' +
  'When you send a message containing python code to python, it will be executed in a stateless docker container, ' +
  'and the stdout of that process will be returned to you. You have to use print statements to access the output.\n' +
  '\n' +
  'IMPORTANT: Your python environment is not shared between calls. You will have to pass your entire code each time.';

/** What the tool answers when a call printed nothing (SPEC §5.3). */
export const NO_OUTPUT_WARNING =
  '[WARN] No output available. Use print() to output anything to stdout to receive the output';
