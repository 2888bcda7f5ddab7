import { test } from 'vitest';
import { conformanceCases } from '../src/internal.js';
import { referenceBackend } from '../src/backends/reference/reference-backend.js';

for (const c of conformanceCases({ backend: referenceBackend() })) test(c.name, c.run);

// The same suite on the Hugging Face layout, one case: layouts must not matter to a backend.
for (const c of conformanceCases({ backend: referenceBackend(), layout: 'hf', cases: ['h64-l2-e8'] })) test(c.name, c.run);
