export { webgpuBackend } from './webgpu-backend.js';
