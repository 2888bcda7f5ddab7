export const packageName = '@gptoss/kernels-webgpu';
