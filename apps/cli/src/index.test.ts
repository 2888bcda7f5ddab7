import { expect, test } from 'vitest';
import { packageName } from './index.js';

test('package name', () => {
  expect(packageName).toBe('@gptoss/cli');
});
