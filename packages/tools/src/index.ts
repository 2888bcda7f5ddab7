export const packageName = '@gptoss/tools';
