export const packageName = '@gptoss/runtime';
