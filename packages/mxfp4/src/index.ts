export const packageName = '@gptoss/mxfp4';
