// Every fixture file in openai/harmony's test-data/ (SPEC §4.11) is reproduced by at least one case of
// harmony-cases.json. The map below was checked against openai/harmony v0.0.8: each case's expected_text,
// input_text or token list equals the file's content (trailing whitespace trimmed).
import { describe, expect, it } from 'vitest';
import { loadCases } from './helpers.js';

const COVERAGE: Record<string, string[]> = {
  'test_browser_and_function_tool.txt': ['tests/test_harmony.py::test_browser_and_function_tool'],
  'test_browser_and_python_tool.txt': ['src/tests.rs::test_browser_and_python_tool', 'tests/test_harmony.py::test_browser_and_python_tool'],
  'test_browser_tool_only.txt': ['tests/test_harmony.py::test_browser_tool_only'],
  'test_does_not_drop_if_ongoing_analysis.txt': ['src/tests.rs::test_does_not_drop_if_ongoing_analysis', 'tests/test_harmony.py::test_does_not_drop_if_ongoing_analysis'],
  'test_dropping_cot_by_default.txt': ['src/tests.rs::test_dropping_cot_by_default', 'tests/test_harmony.py::test_dropping_cot_by_default'],
  'test_keep_analysis_between_finals.txt': ['tests/test_harmony.py::test_keep_analysis_between_final_messages'],
  'test_no_tools.txt': ['tests/test_harmony.py::test_no_tools'],
  'test_preserve_cot.txt': ['src/tests.rs::test_preserve_cot', 'tests/test_harmony.py::test_preserve_cot'],
  'test_reasoning_system_message.txt': ['src/tests.rs::test_reasoning_system_message', 'tests/test_harmony.py::test_reasoning_system_message'],
  'test_reasoning_system_message_no_instruction.txt': ['src/tests.rs::test_reasoning_system_message_no_instruction', 'tests/test_harmony.py::test_reasoning_system_message_no_instruction'],
  'test_reasoning_system_message_with_dates.txt': ['src/tests.rs::test_reasoning_system_message_with_dates', 'tests/test_harmony.py::test_reasoning_system_message_with_dates'],
  'test_render_functions_with_parameters.txt': ['src/tests.rs::test_render_functions_with_parameters', 'tests/test_harmony.py::test_render_functions_with_parameters'],
  'test_simple_convo.txt': ['src/tests.rs::test_simple_convo', 'tests/test_harmony.py::test_simple_convo'],
  'test_simple_convo_low_effort.txt': ['src/tests.rs::test_simple_convo_with_effort#1', 'tests/test_harmony.py::test_simple_convo_with_effort#1'],
  'test_simple_convo_medium_effort.txt': ['src/tests.rs::test_simple_convo_with_effort#2', 'tests/test_harmony.py::test_simple_convo_with_effort#2'],
  'test_simple_convo_high_effort.txt': ['src/tests.rs::test_simple_convo_with_effort#3', 'tests/test_harmony.py::test_simple_convo_with_effort#3'],
  'test_simple_convo_low_effort_no_instruction.txt': ['src/tests.rs::test_simple_convo_with_effort#4', 'tests/test_harmony.py::test_simple_convo_with_effort#4'],
  'test_simple_convo_medium_effort_no_instruction.txt': ['src/tests.rs::test_simple_convo_with_effort#5', 'tests/test_harmony.py::test_simple_convo_with_effort#5'],
  'test_simple_convo_high_effort_no_instruction.txt': ['src/tests.rs::test_simple_convo_with_effort#6', 'tests/test_harmony.py::test_simple_convo_with_effort#6'],
  'test_simple_reasoning_response.txt': ['src/tests.rs::test_simple_reasoning_response', 'tests/test_harmony.py::test_simple_reasoning_response'],
  'test_simple_tool_call.txt': ['tests/test_harmony.py::test_simple_tool_call'],
  'test_streamable_parser.txt': ['src/tests.rs::test_streamable_parser', 'tests/test_harmony.py::test_streamable_parser'],
  'test_tool_response_parsing.txt': ['src/tests.rs::test_tool_response_parsing#1', 'tests/test_harmony.py::test_tool_response_parsing#3'],
};

describe('openai/harmony test-data/ coverage', () => {
  const byName = new Map(loadCases().map((c) => [c.name, c]));

  it('lists all 23 fixture files', () => {
    expect(Object.keys(COVERAGE)).toHaveLength(23);
  });

  it.each(Object.entries(COVERAGE))('%s is reproduced by a case that names it', (file, names) => {
    for (const name of names) {
      const c = byName.get(name);
      expect(c, name).toBeDefined();
      expect(c!.notes).toContain(file);
    }
  });
});
