// lib.mjs — what the browser tests share: Debian's chromium launched the way
// this machine needs it, and a check() that prints each passed assertion.
import { chromium } from 'playwright-core';

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
  console.log('ok - ' + msg);
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.NIMBUS_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
