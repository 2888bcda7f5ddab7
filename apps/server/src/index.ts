export const packageName = '@gptoss/server';
