import config from '@gptoss/eslint-config';

export default config;
