// hourly_page.test.mjs — the hourly chart, the °C/°F toggle, "use my
// location" and recent places in a real headless Chromium.
//
//   node hourly_page.test.mjs <front-url> <place-path> <lat,lon> <artifacts-dir>
//
// The caller (tests/integration/test_front_browser.py) runs the suite and has
// the place stored fresh. This script proves:
//   1. the chart renders: an <svg role="img"> with an aria-label, drawn
//      (a temperature line and bars with real size on screen), in light and
//      dark mode (prefers-color-scheme: the page's colours change); a
//      screenshot of each;
//   2. the unit toggle switches every figure (current values, their units,
//      the chart's label, the forecast days, the hour table) to what the
//      api's imperial document says, survives a reload, and holds for a page
//      opened later without the parameter (cookie); it switches back;
//   3. "use my location" with a granted (fake) position opens that place's
//      page; with the position refused it says so and stays;
//   4. places seen are listed as recent places on the search page;
//   5. no console or page errors, nothing fetched from elsewhere.
// Exit 0 = passed; 1 = failed (reason on stderr).
import { check, launch } from './lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [frontUrl, placePath, coords, artifacts] = process.argv.slice(2);
if (!frontUrl || !placePath || !coords || !artifacts) {
  console.error('usage: node hourly_page.test.mjs <front-url> <place-path> <lat,lon> <artifacts-dir>');
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });
const origin = new URL(frontUrl).origin;
const url = (p) => new URL(p, frontUrl).toString();
const [lat, lon] = coords.split(',').map(Number);

function watch(page, problems) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:'))
      problems.push('request outside the front: ' + r.url());
  });
}

// What the chart shows on screen.
const chartFacts = () => {
  const svg = document.querySelector('svg.hourly');
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const line = svg.querySelector('polyline.temp');
  return {
    role: svg.getAttribute('role'),
    label: svg.getAttribute('aria-label'),
    width: box.width, height: box.height,
    lines: svg.querySelectorAll('polyline.temp').length,
    lineWidth: line ? line.getBoundingClientRect().width : 0,
    bars: svg.querySelectorAll('rect.pop').length,
    stroke: line ? getComputedStyle(line).stroke : '',
    background: getComputedStyle(document.body).backgroundColor,
    rows: document.querySelectorAll('[data-f="hours"] tr').length,
  };
};

// Every figure of the page that depends on the units.
const figures = () => {
  const f = (n) => Array.from(document.querySelectorAll(`[data-f="${n}"]`)).map((e) => e.textContent);
  return {
    temperature: f('temperature')[0], feels: f('apparent_temperature')[0],
    wind: f('wind_speed')[0], precipitation: f('precipitation')[0],
    uTemp: f('u-temp'), uWind: f('u-wind')[0], uPrecip: f('u-precip')[0],
    days: Array.from(document.querySelectorAll('[data-f="daily"] li .t')).map((e) => e.textContent),
    rows: Array.from(document.querySelectorAll('[data-f="hours"] tr td:nth-child(3)')).map((e) => e.textContent),
    label: document.querySelector('svg.hourly').getAttribute('aria-label'),
    units: document.getElementById('wx').dataset.units,
    current: document.querySelector('.units a[aria-current="true"]').textContent,
  };
};

const fmt = (v, d) => (typeof v === 'number' ? v.toFixed(d).replace(/^-(0(\.0+)?)$/, '$1') : '\u2013');

async function api(pathAndQuery) {
  const r = await fetch(url(pathAndQuery));
  if (r.status !== 200) throw new Error(`${pathAndQuery}: ${r.status}`);
  return r.json();
}

const browser = await launch();
let failed = false;
try {
  const problems = [];
  // ---- 1. the chart, light and dark ---------------------------------------
  for (const scheme of ['light', 'dark']) {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 1400 }, colorScheme: scheme });
    const page = await ctx.newPage();
    watch(page, problems);
    const resp = await page.goto(url(placePath), { waitUntil: 'load' });
    check(resp.status() === 200, `${scheme}: page answers 200`);
    const c = await page.evaluate(chartFacts);
    check(c && c.role === 'img' && /^Hourly forecast for the next \d+ hours/.test(c.label),
          `${scheme}: chart is an <svg role="img"> saying what it shows ("${c && c.label}")`);
    check(c.width > 500 && c.height > 120, `${scheme}: chart drawn at ${Math.round(c.width)}×${Math.round(c.height)} px`);
    check(c.lines >= 1 && c.lineWidth > 300, `${scheme}: temperature line across the chart (${Math.round(c.lineWidth)} px)`);
    check(c.rows >= 24, `${scheme}: hour table with ${c.rows} rows`);
    const [r, g, b] = c.background.match(/\d+/g).map(Number);
    if (scheme === 'dark') {
      check(r + g + b < 150, `dark: dark background (${c.background})`);
      check(c.stroke === 'rgb(255, 154, 98)', `dark: the line uses the dark palette (${c.stroke})`);
    } else {
      check(r + g + b > 600, `light: light background (${c.background})`);
      check(c.stroke === 'rgb(224, 98, 45)', `light: the line uses the light palette (${c.stroke})`);
    }
    await page.screenshot({ path: path.join(artifacts, `front-hourly-${scheme}.png`), fullPage: true });
    await ctx.close();
  }

  // ---- 2. the unit toggle ---------------------------------------------------
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 1400 } });
  const page = await ctx.newPage();
  watch(page, problems);
  await page.goto(url(placePath), { waitUntil: 'load' });
  const metric = await page.evaluate(figures);
  check(metric.units === 'metric' && metric.current === '°C' && metric.uTemp.every((u) => u === '°C'),
        'page starts in °C');
  await Promise.all([page.waitForNavigation(), page.click('.units a[data-units="imperial"]')]);
  const imp = await api(placePath + '?format=json&units=imperial');
  const check_imperial = async (when) => {
    const f = await page.evaluate(figures);
    check(f.units === 'imperial' && f.current === '°F', `${when}: the toggle shows °F`);
    check(f.temperature === fmt(imp.current.temperature, 1) && f.feels === fmt(imp.current.apparent_temperature, 1),
          `${when}: temperatures in °F (${f.temperature}, feels ${f.feels})`);
    check(f.uTemp.length >= 2 && f.uTemp.every((u) => u === '°F') && f.uWind === 'mph' && f.uPrecip === 'in',
          `${when}: units say °F, mph, in`);
    // (a last digit may round either way: printf rounds ties to even, toFixed up)
    const near = (text, v, tol) => v === null ? text === '\u2013' : Math.abs(Number(text) - v) <= tol;
    check(near(f.wind, imp.current.wind_speed, 0.51), `${when}: wind in mph (${f.wind})`);
    check(near(f.precipitation, imp.current.precipitation, 0.0051),
          `${when}: precipitation in inches (${f.precipitation})`);
    const maxima = imp.daily.map((d) => d.temperature_max);
    check(f.days.length === metric.days.length && f.days.every((d) => {
      const hi = parseFloat(d);
      return maxima.some((m) => m !== null && Math.abs(m - hi) <= 0.51);
    }), `${when}: forecast days in °F (${f.days.slice(0, 2).join(', ')})`);
    check(f.rows.length > 0 && f.rows.every((t) => t.endsWith('°F')) &&
          f.rows[0] === fmt(imp.hourly[0].temperature, 1) + ' °F', `${when}: hour table in °F (${f.rows[0]})`);
    check(/ °F, chance/.test(f.label) || / °F$/.test(f.label), `${when}: chart label in °F`);
    check(f.temperature !== metric.temperature || imp.current.temperature === null, `${when}: every figure changed`);
  };
  await check_imperial('after the toggle');
  await page.reload({ waitUntil: 'load' });
  await check_imperial('after a reload');
  await page.goto(url(placePath), { waitUntil: 'load' }); // no parameter: the cookie
  await check_imperial('a later visit');
  await page.screenshot({ path: path.join(artifacts, 'front-hourly-imperial.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('.units a[data-units="metric"]')]);
  const back = await page.evaluate(figures);
  check(back.units === 'metric' && back.temperature === metric.temperature, 'the toggle switches back to °C');
  await ctx.close();

  // ---- 3. use my location ---------------------------------------------------
  const geo = await browser.newContext({ viewport: { width: 1000, height: 1000 },
                                         permissions: ['geolocation'],
                                         geolocation: { latitude: lat, longitude: lon, accuracy: 20 } });
  const gp = await geo.newPage();
  watch(gp, problems);
  await gp.goto(url(placePath), { waitUntil: 'load' });
  await gp.goto(url('/'), { waitUntil: 'load' });
  check(await gp.isVisible('#locate'), '"Use my location" is offered where the browser can');
  const want = `/${lat.toFixed(2)},${lon.toFixed(2)}`;
  await Promise.all([gp.waitForURL((u) => u.pathname === want, { timeout: 15000 }), gp.click('#locate')]);
  const here = await gp.evaluate(() => ({
    src: document.getElementById('wx')?.dataset.src,
    name: document.querySelector('[data-f="name"]')?.textContent,
    temperature: document.querySelector('[data-f="temperature"]')?.textContent,
  }));
  check(here.src === want && /^-?\d+\.\d$/.test(here.temperature || ''),
        `the granted position opens its page (${gp.url()}: ${here.name}, ${here.temperature})`);

  // ---- 4. recent places -----------------------------------------------------
  await gp.goto(url('/'), { waitUntil: 'load' });
  const recent = await gp.evaluate(() => Array.from(document.querySelectorAll('#recent a'))
    .map((a) => [a.textContent, a.getAttribute('href')]));
  const hrefs = recent.map((r) => r[1]);
  check(!(await gp.evaluate(() => document.getElementById('recent').hidden)) &&
        hrefs[0] === want && hrefs.includes(placePath),
        `recent places on the search page (${JSON.stringify(recent)})`);
  await gp.screenshot({ path: path.join(artifacts, 'front-recent-places.png'), fullPage: true });
  await geo.close();

  const denied = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const dp = await denied.newPage();
  watch(dp, problems);
  await dp.goto(url('/'), { waitUntil: 'load' });
  await dp.click('#locate');
  await dp.waitForFunction(() => /Couldn't get your position/.test(document.getElementById('locate-msg').textContent),
                           null, { timeout: 15000 });
  check(new URL(dp.url()).pathname === '/', 'a refused position says so and stays on the page');
  await denied.close();

  check(problems.length === 0, 'no console errors, page errors or foreign requests' +
        (problems.length ? ': ' + problems.join('; ') : ''));
} catch (e) {
  failed = true;
  console.error('FAILED: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
