export const packageName = '@gptoss/kernels-native';
