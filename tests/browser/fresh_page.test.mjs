// fresh_page.test.mjs — a fresh page revalidates when its max-age runs out.
//
//   node fresh_page.test.mjs <front-url> <place-path> <artifacts-dir>
//
// The caller runs the api with a short --fresh-ttl-s, so the page arrives
// fresh with a small max-age. This proves the script waits for max-age (no
// request before it), then revalidates once, in place, and ends fresh again —
// no polling in between. Exit 0 = passed.
import { check, launch } from './lib.mjs';
import path from 'node:path';

const [frontUrl, placePath, artifacts] = process.argv.slice(2);
if (!frontUrl || !placePath || !artifacts) {
  console.error('usage: node fresh_page.test.mjs <front-url> <place-path> <artifacts-dir>');
  process.exit(2);
}

const browser = await launch();
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  const jsonAt = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => { if (r.url().includes('format=json')) jsonAt.push(Date.now()); });
  await page.addInitScript(() => { window.__nimbusMarker = 'kept'; });

  const resp = await page.goto(new URL(placePath, frontUrl).toString(), { waitUntil: 'domcontentloaded' });
  const loadedAt = Date.now();
  check(resp.status() === 200, 'page answers 200');
  const first = await page.evaluate(() => ({
    state: document.getElementById('wx').dataset.state,
    maxAge: parseInt(document.getElementById('wx').dataset.maxAge, 10),
    pillHidden: document.querySelector('[data-f="state"]').hidden,
    fetchedAt: document.getElementById('wx').dataset.fetchedAt,
  }));
  check(first.state === 'fresh' && first.pillHidden, 'page arrives fresh, no "updating…"');
  check(first.maxAge >= 1 && first.maxAge <= 10, `short max-age from the api (${first.maxAge} s)`);

  await page.waitForFunction(() => document.getElementById('wx').dataset.revalidations === '1',
                             null, { timeout: (first.maxAge + 5) * 1000 });
  const waited = jsonAt[0] - loadedAt;
  check(waited >= first.maxAge * 1000 - 300, `no request before max-age ran out (first after ${waited} ms)`);
  await page.waitForFunction(
    (f) => { const wx = document.getElementById('wx'); return wx.dataset.state === 'fresh' && wx.dataset.fetchedAt !== f; },
    first.fetchedAt, { timeout: 10000 });
  const after = await page.evaluate(() => ({
    marker: window.__nimbusMarker,
    navigations: performance.getEntriesByType('navigation').length,
    revalidations: document.getElementById('wx').dataset.revalidations,
    maxAge: parseInt(document.getElementById('wx').dataset.maxAge, 10),
  }));
  check(after.marker === 'kept' && after.navigations === 1, 'renewed in place, no reload');
  check(jsonAt.length === parseInt(after.revalidations, 10) && jsonAt.length <= 3,
        `${jsonAt.length} revalidation request(s), no polling`);
  check(after.maxAge >= 1, `fresh again with max-age ${after.maxAge} s`);
  await page.screenshot({ path: path.join(artifacts, 'front-fresh-renewed.png'), fullPage: true });
  check(problems.length === 0, 'no console or page errors' + (problems.length ? ': ' + problems.join('; ') : ''));
  await ctx.close();
} catch (e) {
  failed = true;
  console.error('FAILED: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
