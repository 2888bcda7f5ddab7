#!/usr/bin/env node
console.log('gptoss');
