export const packageName = '@gptoss/harmony';
