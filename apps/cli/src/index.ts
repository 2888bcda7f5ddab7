export const packageName = '@gptoss/cli';
