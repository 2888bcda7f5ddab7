import { defineProject } from '@gptoss/vitest-config';

export default defineProject();
