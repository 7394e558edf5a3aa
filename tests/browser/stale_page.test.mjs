// stale_page.test.mjs — the front's page in a real headless Chromium.
//
//   node stale_page.test.mjs <front-url> <place-path> <stale-temperature> <artifacts-dir>
//                            [<failing-place-path> <its-stale-temperature>]
//
// The caller (tests/integration/test_front_browser.py) has made the place's
// record stale, with a distinctive temperature, and started the whole suite.
// This script proves, in the browser:
//   1. the stale values are on the page at once (server-rendered), marked
//      "updating…";
//   2. within a few seconds the fresh values replace them without a
//      navigation (a window marker set before survives, and there is still
//      exactly one navigation entry), with one revalidation request;
//      The hourly chart, absent from the stale record, is drawn by the script
//      from the fresh data exactly as the server draws it (same elements,
//      attributes and text as a fresh load of the page);
//   3. no console errors, no page errors, no request leaves the front's origin;
//   4. with JavaScript disabled the page shows the same data;
//   5. (optional second stale place) when the revalidation fails at the network
//      (injected through CDP: the connection is refused), the stale data stays,
//      the page says "couldn't update — showing data from …", and retries are
//      spaced by the backoff with never more than one request in flight.
// Screenshots go to <artifacts-dir>. Exit 0 = passed; 1 = failed (reason on stderr).
import { check, launch } from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [frontUrl, placePath, staleTemp, artifacts, failPath, failTemp] = process.argv.slice(2);
if (!frontUrl || !placePath || !staleTemp || !artifacts) {
  console.error('usage: node stale_page.test.mjs <front-url> <place-path> <stale-temperature> <artifacts-dir>');
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });
const pageUrl = new URL(placePath, frontUrl).toString();
const origin = new URL(frontUrl).origin;

const browser = await launch();
let failed = false;
try {
  // ---- with JavaScript: stale at once, then fresh in place ------------------
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  const jsonRequests = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:'))
      problems.push('request outside the front: ' + r.url());
    if (r.url().includes('format=json')) jsonRequests.push(r);
  });
  // Runs before the page's own scripts (devtools injection, not subject to
  // the page's CSP): records what the temperature and state showed, and when.
  await page.addInitScript(() => {
    window.__nimbusMarker = 'set-before-load';
    window.__seen = [];
    const snap = (why) => {
      const t = document.querySelector('[data-f="temperature"]');
      const s = document.querySelector('[data-f="state"]');
      const wx = document.getElementById('wx');
      window.__seen.push({
        why, at: performance.now(),
        temperature: t ? t.textContent : null,
        state: s && !s.hidden ? s.textContent : '',
        dataState: wx ? wx.dataset.state : null,
      });
    };
    document.addEventListener('DOMContentLoaded', () => {
      snap('domcontentloaded');
      new MutationObserver(() => snap('mutation')).observe(document.body, {
        subtree: true, childList: true, characterData: true, attributes: true,
        attributeFilter: ['hidden', 'data-state'],
      });
    });
  });

  // Hold the revalidation request (it still goes to the real front, unchanged)
  // until the stale state has been photographed: the renewal can be faster
  // than a screenshot. Raw CDP Fetch, not page.route(): routing makes
  // Playwright disable the cache, and Chromium then sends the page request
  // itself with Cache-Control: no-cache, i.e. as a revalidation.
  let releaseRevalidation;
  const staleShot = new Promise((resolve) => { releaseRevalidation = resolve; });
  const cdp = await ctx.newCDPSession(page);
  cdp.on('Fetch.requestPaused', async (ev) => {
    await staleShot;
    await cdp.send('Fetch.continueRequest', { requestId: ev.requestId }).catch(() => {});
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*format=json*', requestStage: 'Request' }] });

  const resp = await page.goto(pageUrl, { waitUntil: 'domcontentloaded' });
  check(resp.status() === 200, `page answers 200 (got ${resp.status()})`);
  const csp = resp.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'"), 'page carries a Content-Security-Policy');
  const navCc = (await resp.request().allHeaders())['cache-control'] || '';
  check(!/no-cache|max-age=0/.test(navCc), `page request is a plain one (Cache-Control: ${navCc || 'none'})`);
  const served = await resp.text();
  check(served.includes(`data-f="temperature">${staleTemp}<`), `server-rendered page has the stale temperature ${staleTemp}`);
  check(served.includes('data-state="stale"'), 'server-rendered page is marked stale');

  const first = await page.evaluate(() => window.__seen[0]);
  check(first && first.temperature === staleTemp, `stale temperature visible at first paint (${JSON.stringify(first)})`);
  check(first.state.includes('updating'), `"updating…" visible with the stale data (${JSON.stringify(first.state)})`);
  await page.waitForLoadState('load');
  await page.screenshot({ path: path.join(artifacts, 'front-stale-page.png'), fullPage: true });
  const stillStale = await page.evaluate(() => document.querySelector('[data-f="temperature"]').textContent);
  check(stillStale === staleTemp, 'stale page photographed (front-stale-page.png)');
  const released = Date.now();
  releaseRevalidation();

  await page.waitForFunction(
    (stale) => {
      const wx = document.getElementById('wx');
      const t = document.querySelector('[data-f="temperature"]');
      return wx && wx.dataset.state === 'fresh' && t && t.textContent !== stale;
    },
    staleTemp, { timeout: 8000 });
  const after = await page.evaluate(() => ({
    marker: window.__nimbusMarker,
    navigations: performance.getEntriesByType('navigation').length,
    temperature: document.querySelector('[data-f="temperature"]').textContent,
    pillHidden: document.querySelector('[data-f="state"]').hidden,
    view: document.getElementById('wx').dataset.view,
    revalidations: document.getElementById('wx').dataset.revalidations,
    days: document.querySelectorAll('[data-f="daily"] li').length,
    ago: document.querySelector('[data-f="ago"]').textContent,
    seen: window.__seen.map((s) => s.temperature),
  }));
  check(Date.now() - released < 5000, `fresh values within ${Date.now() - released} ms of the revalidation`);
  check(after.marker === 'set-before-load', 'window marker survived: no reload');
  check(after.navigations === 1, `one navigation entry (got ${after.navigations})`);
  check(after.temperature !== staleTemp && /^-?\d+\.\d$/.test(after.temperature), `fresh temperature swapped in (${after.temperature})`);
  check(after.pillHidden && after.view === 'fresh', '"updating…" is gone once fresh');
  check(after.revalidations === '1', `exactly one revalidation request (got ${after.revalidations})`);
  check(after.days >= 1, `daily forecast rendered by the script (${after.days} days)`);
  check(after.ago === 'just now', `"updated" shows the fresh fetch (${after.ago})`);
  check(jsonRequests.length === 1, `one JSON request in flight over the test (got ${jsonRequests.length})`);
  const jr = jsonRequests[0];
  const jh = await jr.allHeaders();
  check(/no-cache|max-age=0/.test(jh['cache-control'] || ''),
        `revalidation is sent as one (Cache-Control: ${jh['cache-control']})`);
  check(!!jh['if-none-match'], 'revalidation carries If-None-Match');
  // The chart the script drew equals the one the server draws for the same data.
  const chartShape = () => {
    const svg = document.querySelector('svg.hourly');
    if (!svg || svg.closest('[hidden]')) return null;
    const attrs = (el) => Array.from(el.attributes).map((a) => a.name + '=' + a.value).sort().join(' ');
    return [attrs(svg)].concat(Array.from(svg.children).map((el) => el.tagName + ' ' + attrs(el) + ' ' + el.textContent))
      .concat(Array.from(document.querySelectorAll('[data-f="hours"] tr')).map((tr) => tr.textContent));
  };
  const drawn = await page.evaluate(chartShape);
  check(drawn && drawn.length > 10, `the script drew the hourly chart from the fresh data (${drawn ? drawn.length : 0} parts)`);
  const served2 = await ctx.newPage();
  await served2.goto(pageUrl, { waitUntil: 'domcontentloaded' });
  const serverDrawn = await served2.evaluate(chartShape);
  await served2.close();
  const diff = drawn.findIndex((x, i) => x !== serverDrawn[i]);
  check(diff < 0 && drawn.length === serverDrawn.length,
        'the script\'s chart is the server\'s chart' + (diff < 0 ? '' : `: ${drawn[diff]} vs ${serverDrawn[diff]}`));
  await page.screenshot({ path: path.join(artifacts, 'front-fresh-page.png'), fullPage: true });
  // Give a late error a moment to show up before judging.
  await page.waitForTimeout(300);
  check(problems.length === 0, 'no console errors, page errors or foreign requests' +
        (problems.length ? ': ' + problems.join('; ') : ''));
  const freshTemp = after.temperature;
  await ctx.close();

  // ---- without JavaScript: the same data, server-rendered -------------------
  const noJs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 420, height: 900 } });
  const p2 = await noJs.newPage();
  const r2 = await p2.goto(pageUrl);
  check(r2.status() === 200, 'no-JS page answers 200');
  const nj = await p2.evaluate(() => ({
    temperature: document.querySelector('[data-f="temperature"]').textContent,
    condition: document.querySelector('[data-f="condition"]').textContent,
    name: document.querySelector('[data-f="name"]').textContent,
    days: document.querySelectorAll('[data-f="daily"] li').length,
    form: !!document.querySelector('form[action="/"][method="get"] input[name="city"]'),
    attribution: document.querySelector('footer a[href="https://open-meteo.com/"]')?.textContent,
  }));
  check(nj.temperature === freshTemp, `no-JS page shows the same temperature (${nj.temperature})`);
  check(nj.condition.length > 0 && nj.name.length > 0, `no-JS page shows place and condition (${nj.name}, ${nj.condition})`);
  check(nj.days >= 1, `no-JS page lists the forecast (${nj.days} days)`);
  check(nj.form, 'no-JS page has a plain GET search form');
  check(nj.attribution === 'Weather data by Open-Meteo.com', 'attribution links to open-meteo.com');
  await p2.screenshot({ path: path.join(artifacts, 'front-nojs-narrow.png'), fullPage: true });

  // The search form works without JavaScript.
  await p2.fill('input[name="city"]', placePath.replace(/^\//, '').replace(/%20/g, ' '));
  await Promise.all([p2.waitForNavigation(), p2.click('button[type="submit"]')]);
  const t3 = await p2.textContent('[data-f="temperature"]');
  check(t3 === freshTemp, `search form (no JS) leads to the place's page (${p2.url()})`);
  await noJs.close();

  // ---- revalidation fails: stale data stays, the page says so, backoff ------
  if (failPath) {
    const fctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const fp = await fctx.newPage();
    const pageErrors = [];
    fp.on('pageerror', (e) => pageErrors.push(e.message));
    const attempts = [];
    let inFlight = 0, maxInFlight = 0;
    const fcdp = await fctx.newCDPSession(fp);
    fcdp.on('Fetch.requestPaused', async (ev) => {
      attempts.push(Date.now());
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Hold it a little so overlapping requests would show, then refuse it.
      await new Promise((r) => setTimeout(r, 200));
      inFlight--;
      await fcdp.send('Fetch.failRequest', { requestId: ev.requestId, errorReason: 'ConnectionRefused' })
        .catch(() => {});
    });
    await fcdp.send('Fetch.enable', { patterns: [{ urlPattern: '*format=json*', requestStage: 'Request' }] });
    const fr = await fp.goto(new URL(failPath, frontUrl).toString(), { waitUntil: 'domcontentloaded' });
    check(fr.status() === 200, `second stale place answers 200 (${failPath})`);
    await fp.waitForFunction(() => document.getElementById('wx').dataset.view === 'failed', null,
                             { timeout: 5000 });
    const state = await fp.evaluate(() => ({
      temperature: document.querySelector('[data-f="temperature"]').textContent,
      pill: document.querySelector('[data-f="state"]').textContent,
      pillHidden: document.querySelector('[data-f="state"]').hidden,
      navigations: performance.getEntriesByType('navigation').length,
    }));
    check(state.temperature === failTemp, `stale data kept after a failed revalidation (${state.temperature})`);
    check(!state.pillHidden && /^couldn't update — showing data from \d+ hours? ago$/.test(state.pill),
          `failure is shown: "${state.pill}"`);
    await fp.screenshot({ path: path.join(artifacts, 'front-update-failed.png'), fullPage: true });
    // The first retry comes after the first backoff step (2 s), not before.
    const t0 = Date.now();
    while (attempts.length < 2 && Date.now() - t0 < 4000) await fp.waitForTimeout(100);
    check(attempts.length === 2, `one retry after the backoff (${attempts.length} attempts)`);
    const gap = attempts[1] - attempts[0];
    check(gap >= 1900 && gap < 3500, `retry spaced by the backoff (${gap} ms)`);
    check(maxInFlight === 1, `never more than one request in flight (max ${maxInFlight})`);
    check(state.navigations === 1, 'no reload on failure');
    check(pageErrors.length === 0, 'no page errors on failure' + (pageErrors.length ? ': ' + pageErrors.join('; ') : ''));
    await fctx.close();
  }
} catch (e) {
  failed = true;
  console.error('FAILED: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
