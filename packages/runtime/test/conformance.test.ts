import { test } from 'vitest';
import { conformanceCases } from '../src/internal.js';
import { referenceBackend } from '../src/backends/reference/reference-backend.js';

for (const c of conformanceCases({ backend: referenceBackend() })) test(c.name, c.run);
