export { createProgram, main } from './cli.js';
export { EventPrinter } from './render.js';
export type { RenderTarget } from './render.js';
