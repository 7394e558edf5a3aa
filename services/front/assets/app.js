/* app.js — nimbus front: stale-while-revalidate in the page, the hourly
 * chart redrawn with new data, "use my location" and recent places.
 *
 * The server renders the page with the data it has, stale or not, and puts
 * the freshness facts on <main id="wx"> (data-state, data-max-age, data-swr,
 * data-etag, data-src). This script revalidates as early as those allow:
 * stale data at once, fresh data when max-age runs out (while the tab is
 * visible). It fetches <data-src>?format=json with cache: 'no-cache' and
 * If-None-Match, and swaps the new values into the DOM without a reload.
 * One request at a time, bounded backoff, and it gives up after a few
 * failures, keeping the stale data on screen and saying so.
 * The page works without this script: the chart is drawn by the server, the
 * °C/°F toggle is a link (the server keeps the choice in a cookie); the
 * script adds what needs it: revalidation, geolocation, recent places
 * (localStorage).
 * No innerHTML anywhere: every value goes in through textContent. */
(function () {
  'use strict';

  /* ---- recent places (every page) ------------------------------------ */

  var RECENT_KEY = 'nimbus.recent';
  var RECENT_MAX = 6;

  function loadRecent() {
    try {
      var list = JSON.parse(window.localStorage.getItem(RECENT_KEY) || '[]');
      return Array.isArray(list) ? list.filter(function (p) {
        return p && typeof p.name === 'string' && typeof p.path === 'string' &&
               p.path.charAt(0) === '/' && p.path.charAt(1) !== '/';
      }) : [];
    } catch (e) {
      return [];
    }
  }

  function rememberPlace(name, path) {
    var list = loadRecent().filter(function (p) { return p.path !== path; });
    list.unshift({ name: name, path: path });
    try {
      window.localStorage.setItem(RECENT_KEY, JSON.stringify(list.slice(0, RECENT_MAX)));
    } catch (e) { /* storage full or off: nothing to remember */ }
  }

  function showRecent(currentPath) {
    var nav = document.getElementById('recent');
    if (!nav) return;
    var items = loadRecent().filter(function (p) { return p.path !== currentPath; });
    if (!items.length) { nav.hidden = true; return; }
    var label = document.createElement('span');
    label.className = 'recent-label';
    label.textContent = 'Recent:';
    var nodes = [label];
    items.forEach(function (p) {
      var a = document.createElement('a');
      a.href = p.path;
      a.textContent = p.name;
      nodes.push(a);
    });
    nav.replaceChildren.apply(nav, nodes);
    nav.hidden = false;
  }

  /* ---- use my location (every page) ---------------------------------- */

  function setupLocate() {
    var btn = document.getElementById('locate');
    var msg = document.getElementById('locate-msg');
    if (!btn || !navigator.geolocation) return;
    btn.hidden = false;
    function say(text) {
      if (!msg) return;
      msg.textContent = text;
      msg.hidden = !text;
    }
    btn.addEventListener('click', function () {
      say('Finding your position\u2026');
      btn.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var c = pos.coords;
        window.location.assign('/' + c.latitude.toFixed(2) + ',' + c.longitude.toFixed(2));
      }, function (err) {
        btn.disabled = false;
        say("Couldn't get your position" + (err && err.message ? ': ' + err.message : '') +
            '. Type a place instead.');
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
    });
  }

  setupLocate();
  var wx = document.getElementById('wx');
  showRecent(wx ? wx.dataset.src : null);
  if (!wx || !window.fetch) return;

  var BACKOFF_MS = [2000, 5000, 15000, 30000];
  var MAX_ATTEMPTS = BACKOFF_MS.length + 1; /* then stop until the next visibility change */
  var REQUEST_TIMEOUT_MS = 15000;
  var DAYS_SHOWN = 7;
  var MISSING = '\u2013';

  var inFlight = false;
  var timer = null;
  var failures = 0;
  var dueWhenVisible = false;

  function $(name) { return wx.querySelector('[data-f="' + name + '"]'); }
  function setText(name, text) { var el = $(name); if (el) el.textContent = text; }
  function setAll(name, text) {
    wx.querySelectorAll('[data-f="' + name + '"]').forEach(function (el) { el.textContent = text; });
  }
  /* Rounding half away from zero, as the server's C does (lround, round). */
  function roundAway(v) { return v < 0 ? -Math.round(-v) : Math.round(v); }

  function fmt(v, decimals) {
    if (typeof v !== 'number' || !isFinite(v)) return MISSING;
    var s = v.toFixed(decimals);
    return /^-[0.]+$/.test(s) ? s.slice(1) : s;
  }

  /* Icon names from libcommon's WMO table (NB_WMO, joined in front of this
   * script at build time); the page defines #i-<name>. */
  function icon(code, isDay) {
    var w = typeof code === 'number' ? NB_WMO[String(code)] : undefined;
    if (!w) return 'unknown';
    return isDay === false ? w.night : w.icon;
  }

  var SVG_NS = 'http://www.w3.org/2000/svg';
  function iconSvg(cls, name, label) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', cls);
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label || '');
    var use = document.createElementNS(SVG_NS, 'use');
    use.setAttribute('href', '#i-' + name);
    svg.appendChild(use);
    return svg;
  }

  var POINTS = ['N', 'NNE', 'NE', 'ENE', 'E', 'ESE', 'SE', 'SSE',
                'S', 'SSW', 'SW', 'WSW', 'W', 'WNW', 'NW', 'NNW'];
  function compass(deg) {
    if (typeof deg !== 'number' || !isFinite(deg)) return '';
    var d = ((deg % 360) + 360) % 360;
    return POINTS[Math.floor(d / 22.5 + 0.5) % 16];
  }

  var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function offsetSeconds() { return parseInt(wx.dataset.utcOffset, 10) || 0; }
  function localNow() { return new Date(Date.now() + offsetSeconds() * 1000); }
  function isoDate(d) {
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
  }
  function localTime() {
    var d = localNow();
    return DAYS[d.getUTCDay()] + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }
  function dayLabel(date) {
    var today = localNow();
    var tomorrow = new Date(today.getTime() + 86400000);
    if (date === isoDate(today)) return 'Today';
    if (date === isoDate(tomorrow)) return 'Tomorrow';
    var d = new Date(date + 'T12:00:00Z');
    if (isNaN(d.getTime())) return date;
    return DAYS[d.getUTCDay()] + ' ' + pad(d.getUTCDate());
  }

  function ago(seconds) {
    if (!(seconds >= 60)) return 'just now';
    var min = Math.floor(seconds / 60);
    if (min < 120) return min + (min === 1 ? ' minute ago' : ' minutes ago');
    var hours = Math.floor(seconds / 3600);
    if (hours < 48) return hours + ' hours ago';
    return Math.floor(seconds / 86400) + ' days ago';
  }
  function ageSeconds() {
    var t = Date.parse(wx.dataset.fetchedAt || '');
    return isNaN(t) ? 0 : Math.max(0, (Date.now() - t) / 1000);
  }

  function showState(kind, text) {
    var pill = $('state');
    if (!pill) return;
    wx.dataset.view = kind; /* fresh | updating | failed */
    pill.className = 'pill' + (kind === 'failed' ? ' warn' : '');
    pill.textContent = text;
    pill.hidden = kind === 'fresh';
  }

  function tick() {
    setText('localtime', localTime());
    setText('ago', ago(ageSeconds()));
    if (wx.dataset.view === 'failed')
      showState('failed', "couldn't update \u2014 showing data from " + ago(ageSeconds()));
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  /* Index of the first day dated today (local) or later; 0 if none. */
  function firstDay(daily) {
    var today = isoDate(localNow());
    for (var i = 0; i < daily.length; i++)
      if (String(daily[i].date) >= today) return i;
    return 0;
  }

  function renderDaily(daily, units) {
    var list = $('daily');
    if (!list || !Array.isArray(daily)) return;
    var items = [];
    var first = firstDay(daily);
    daily.slice(first, first + DAYS_SHOWN).forEach(function (d) {
      var li = document.createElement('li');
      li.appendChild(span('d', dayLabel(d.date)));
      li.appendChild(iconSvg('i', icon(d.weather_code, true), d.condition));
      li.appendChild(span('c', d.condition || ''));
      var t = span('t', '');
      var b = document.createElement('b');
      b.textContent = fmt(d.temperature_max, 0) + '\u00B0';
      t.appendChild(b);
      t.appendChild(document.createTextNode(' / ' + fmt(d.temperature_min, 0) + '\u00B0'));
      li.appendChild(t);
      var inches = units && units.precipitation === 'in';
      li.appendChild(span('p', fmt(d.precipitation_probability_max, 0) + ' % \u00B7 ' +
                                fmt(d.precipitation_sum, inches ? 2 : 1) + ' ' +
                                ((units && units.precipitation) || 'mm')));
      items.push(li);
    });
    list.replaceChildren.apply(list, items);
  }


  /* ---- the hourly chart: the same geometry as the server's chart.c ------ */

  var CH = { W: 720, H: 200, X0: 34, T_TOP: 14, T_BOT: 112, P_BOT: 172, P_H: 48,
             BAND_TOP: 8, BAND_BOT: 176, LABEL_Y: 190, MIN_SPAN: 4, MAX: 48 };
  CH.PLOT_W = CH.W - CH.X0 - 6;

  function c1(v) { return (roundAway(v * 10) / 10).toFixed(1); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : NaN; }

  function svgEl(name, attrs, text) {
    var el = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function weekday(date) {
    var d = new Date(String(date).slice(0, 10) + 'T12:00:00Z');
    return isNaN(d.getTime()) ? String(date).slice(0, 10) : DAYS[d.getUTCDay()] + ' ' + pad(d.getUTCDate());
  }

  function layout(hourly) {
    var n = Math.min(hourly.length, CH.MAX), c = { n: n, x: [], y: [], bar: [], wet: [], day: [] };
    if (!n) return c;
    c.colW = CH.PLOT_W / n;
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < n; i++) {
      var t = num(hourly[i].temperature);
      if (isNaN(t)) continue;
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
    if (lo <= hi && hi - lo < CH.MIN_SPAN) {
      var mid = (lo + hi) / 2;
      lo = mid - CH.MIN_SPAN / 2;
      hi = mid + CH.MIN_SPAN / 2;
    }
    c.lo = lo <= hi ? lo : NaN;
    c.hi = lo <= hi ? hi : NaN;
    for (i = 0; i < n; i++) {
      var h = hourly[i], tv = num(h.temperature), p = num(h.precipitation_probability);
      c.x.push(CH.X0 + (i + 0.5) * c.colW);
      c.y.push(isNaN(tv) ? NaN : CH.T_BOT - (tv - c.lo) / (c.hi - c.lo) * (CH.T_BOT - CH.T_TOP));
      c.bar.push(isNaN(p) ? NaN : Math.min(Math.max(p, 0), 100) / 100 * CH.P_H);
      c.wet.push(num(h.precipitation) > 0);
      c.day.push(h.is_day === true ? 1 : h.is_day === false ? 0 : -1);
    }
    return c;
  }

  function ariaLabel(hourly, n, tunit) {
    var tmin = Infinity, tmax = -Infinity, pmax = -1;
    for (var i = 0; i < n; i++) {
      var t = num(hourly[i].temperature), p = num(hourly[i].precipitation_probability);
      if (!isNaN(t)) { tmin = Math.min(tmin, t); tmax = Math.max(tmax, t); }
      if (!isNaN(p)) pmax = Math.max(pmax, p);
    }
    var s = 'Hourly forecast for the next ' + n + ' hours';
    if (tmin <= tmax) s += ': temperature ' + roundAway(tmin) + ' to ' + roundAway(tmax) + ' ' + tunit;
    if (pmax >= 0) s += (tmin <= tmax ? ',' : ':') + ' chance of precipitation up to ' + roundAway(pmax) + ' %';
    return s;
  }

  function buildChart(hourly, tunit) {
    var c = layout(hourly), i, j, k;
    var svg = svgEl('svg', { 'class': 'hourly', 'data-f': 'chart', viewBox: '0 0 ' + CH.W + ' ' + CH.H,
                             role: 'img', 'aria-label': ariaLabel(hourly, c.n, tunit) });
    for (i = 0; i < c.n;) { /* nights */
      if (c.day[i] !== 0) { i++; continue; }
      for (j = i; j < c.n && c.day[j] === 0; j++);
      svg.appendChild(svgEl('rect', { 'class': 'night', x: c1(c.x[i] - c.colW / 2), y: c1(CH.BAND_TOP),
                                      width: c1((j - i) * c.colW), height: c1(CH.BAND_BOT - CH.BAND_TOP) }));
      i = j;
    }
    for (i = 1; i < c.n; i++) { /* midnights */
      var t = String(hourly[i].time || '');
      if (t.length !== 16 || t.slice(11) !== '00:00') continue;
      var x = c.x[i] - c.colW / 2;
      svg.appendChild(svgEl('line', { 'class': 'midnight', x1: c1(x), y1: c1(CH.BAND_TOP), x2: c1(x), y2: c1(CH.BAND_BOT) }));
      svg.appendChild(svgEl('text', { 'class': 'day', x: c1(x + 3), y: c1(CH.BAND_TOP + 9) }, weekday(t)));
    }
    var w = c.colW * 0.7;
    for (i = 0; i < c.n; i++) { /* chance of precipitation */
      if (!(c.bar[i] > 0)) continue;
      svg.appendChild(svgEl('rect', { 'class': c.wet[i] ? 'pop wet' : 'pop', x: c1(c.x[i] - w / 2),
                                      y: c1(CH.P_BOT - c.bar[i]), width: c1(w), height: c1(c.bar[i]) }));
    }
    for (i = 0; i < c.n;) { /* temperature: a line per run, a dot for a lone hour */
      if (isNaN(c.y[i])) { i++; continue; }
      for (j = i; j < c.n && !isNaN(c.y[j]); j++);
      if (j - i === 1) {
        svg.appendChild(svgEl('circle', { 'class': 'temp-dot', cx: c1(c.x[i]), cy: c1(c.y[i]), r: '2.5' }));
      } else {
        var pts = [];
        for (k = i; k < j; k++) pts.push(c1(c.x[k]) + ',' + c1(c.y[k]));
        svg.appendChild(svgEl('polyline', { 'class': 'temp', points: pts.join(' ') }));
      }
      i = j;
    }
    var step = c.n <= 12 ? 1 : c.n <= 24 ? 2 : 3;
    for (i = 0; i < c.n; i++) { /* labels */
      var tm = String(hourly[i].time || ''), hh = tm.length === 16 ? parseInt(tm.slice(11, 13), 10) : -1;
      if (!(hh >= 0) || hh % step !== 0) continue;
      svg.appendChild(svgEl('text', { 'class': 'hour', x: c1(c.x[i]), y: c1(CH.LABEL_Y) }, pad(hh)));
      if (isNaN(c.y[i])) continue;
      svg.appendChild(svgEl('text', { 'class': 'tval', x: c1(c.x[i]), y: c1(c.y[i] - 5) },
                            roundAway(hourly[i].temperature) + '\u00B0'));
    }
    if (!isNaN(c.lo)) {
      svg.appendChild(svgEl('text', { 'class': 'axis', x: c1(CH.X0 - 4), y: c1(CH.T_TOP + 4) }, roundAway(c.hi) + '\u00B0'));
      svg.appendChild(svgEl('text', { 'class': 'axis', x: c1(CH.X0 - 4), y: c1(CH.T_BOT + 4) }, roundAway(c.lo) + '\u00B0'));
      svg.appendChild(svgEl('text', { 'class': 'axis', x: c1(CH.X0 - 4), y: c1(CH.P_BOT) }, '%'));
    }
    return svg;
  }

  function buildRows(hourly, units) {
    var n = Math.min(hourly.length, CH.MAX), rows = [];
    var pdec = units.precipitation === 'in' ? 2 : 1;
    for (var i = 0; i < n; i++) {
      var h = hourly[i], tr = document.createElement('tr'), th = document.createElement('th');
      th.setAttribute('scope', 'row');
      th.textContent = weekday(h.time) + ' ' + String(h.time || '').slice(11);
      tr.appendChild(th);
      [h.condition || '',
       fmt(h.temperature, 1) + ' ' + units.temperature,
       fmt(h.apparent_temperature, 1) + ' ' + units.temperature,
       fmt(h.precipitation_probability, 0) + ' %',
       fmt(h.precipitation, pdec) + ' ' + units.precipitation,
       fmt(typeof h.wind_speed === 'number' ? roundAway(h.wind_speed) : h.wind_speed, 0) + ' ' + units.wind_speed
      ].forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      rows.push(tr);
    }
    return rows;
  }

  function renderHourly(doc) {
    var hourly = Array.isArray(doc.hourly) ? doc.hourly : [];
    var units = doc.units || {};
    var sec = wx.querySelector('.hours-sec');
    if (!sec) return;
    sec.hidden = hourly.length === 0;
    setText('nhours', String(Math.min(hourly.length, CH.MAX)));
    var old = $('chart');
    if (old) old.replaceWith(buildChart(hourly, units.temperature || '\u00B0C'));
    var body = $('hours');
    if (body) body.replaceChildren.apply(body, buildRows(hourly, {
      temperature: units.temperature || '\u00B0C', precipitation: units.precipitation || 'mm',
      wind_speed: units.wind_speed || 'km/h' }));
  }

  function apply(doc, etag) {
    var loc = doc.location || {}, cur = doc.current || {};
    var region = [loc.admin1 && loc.admin1 !== loc.name ? loc.admin1 : '', loc.country || '']
      .filter(Boolean).join(', ');
    wx.dataset.utcOffset = String(loc.utc_offset_seconds || 0);
    wx.dataset.fetchedAt = doc.fetched_at || '';
    var daily = Array.isArray(doc.daily) ? doc.daily : [];
    var today = daily[firstDay(daily)] || {};
    if (etag) wx.dataset.etag = etag;
    setText('name', loc.name || loc.key || '');
    setText('region', region);
    setText('timezone', loc.timezone || '');
    var ic = $('icon');
    if (ic) {
      ic.querySelector('use').setAttribute('href', '#i-' + icon(cur.weather_code, cur.is_day));
      ic.setAttribute('aria-label', cur.condition || '');
    }
    var units = doc.units || {};
    var inches = units.precipitation === 'in';
    setAll('u-temp', units.temperature || '\u00B0C');
    setAll('u-wind', units.wind_speed || 'km/h');
    setAll('u-precip', units.precipitation || 'mm');
    setText('temperature', fmt(cur.temperature, 1));
    setText('condition', cur.condition || '');
    setText('apparent_temperature', fmt(cur.apparent_temperature, 1));
    setText('relative_humidity', fmt(cur.relative_humidity, 0));
    setText('wind_speed', fmt(cur.wind_speed, 0));
    setText('wind_dir', compass(cur.wind_direction));
    setText('precipitation', fmt(cur.precipitation, inches ? 2 : 1));
    setText('sunrise', today.sunrise ? today.sunrise.slice(11) : MISSING);
    setText('sunset', today.sunset ? today.sunset.slice(11) : MISSING);
    setText('uv', fmt(today.uv_index_max, 0));
    renderDaily(doc.daily, units);
    renderHourly(doc);
    rememberPlace(loc.name || loc.key || '', wx.dataset.src);
    tick();
  }

  /* max-age / stale-while-revalidate from a Cache-Control value (-1 = absent). */
  function directive(cc, name) {
    var m = new RegExp('(?:^|[,\\s])' + name + '="?(\\d+)').exec(cc || '');
    return m ? parseInt(m[1], 10) : -1;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(revalidate, Math.max(0, ms));
  }

  /* Fresh data: come back when it expires; stale: right away. */
  function planFromState() {
    if (wx.dataset.state === 'stale') {
      showState('updating', 'updating\u2026');
      schedule(0);
      return;
    }
    showState('fresh', '');
    var maxAge = parseInt(wx.dataset.maxAge, 10);
    if (maxAge >= 0) schedule(maxAge * 1000 + Math.random() * 1000);
  }

  /* A revalidation that brought nothing new. error: the request failed (network,
   * 5xx, timeout) — say so at once; otherwise the api answered with the same
   * stale data (its renewal is not done yet) — keep "updating…" until the
   * attempts run out. Either way: retry after a growing pause, then stop. */
  function failed(error) {
    failures++;
    var giveUp = failures >= MAX_ATTEMPTS;
    if (error || giveUp)
      showState('failed', "couldn't update \u2014 showing data from " + ago(ageSeconds()));
    else if (wx.dataset.state === 'stale')
      showState('updating', 'updating\u2026');
    if (!giveUp)
      schedule(BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)]);
    /* else: stop; the tab becoming visible again starts a new round */
  }

  function revalidate() {
    timer = null;
    if (inFlight) return;
    if (document.hidden) { dueWhenVisible = true; return; }
    inFlight = true;
    var ctl = window.AbortController ? new AbortController() : null;
    var abortTimer = ctl ? setTimeout(function () { ctl.abort(); }, REQUEST_TIMEOUT_MS) : null;
    /* cache: 'no-cache' makes the browser send Cache-Control: max-age=0 (or
     * no-cache); front forwards either to the api as a revalidation. */
    var headers = { Accept: 'application/json' };
    if (wx.dataset.etag) headers['If-None-Match'] = wx.dataset.etag;
    var src = wx.dataset.src + (wx.dataset.src.indexOf('?') < 0 ? '?' : '&') + 'format=json' +
              (wx.dataset.units === 'imperial' ? '&units=imperial' : '');
    wx.dataset.revalidations = String((parseInt(wx.dataset.revalidations, 10) || 0) + 1);

    fetch(src, { cache: 'no-cache', headers: headers, credentials: 'same-origin',
                 signal: ctl ? ctl.signal : undefined })
      .then(function (resp) {
        var cc = resp.headers.get('Cache-Control');
        var maxAge = directive(cc, 'max-age');
        if (resp.status === 304) return { notModified: true, maxAge: maxAge, cc: cc };
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        return resp.json().then(function (doc) {
          return { doc: doc, maxAge: maxAge, cc: cc, etag: resp.headers.get('ETag') };
        });
      })
      .then(function (r) {
        if (r.doc) {
          apply(r.doc, r.etag);
          wx.dataset.state = r.doc.freshness && r.doc.freshness.state === 'fresh' ? 'fresh' : 'stale';
        } else if (r.maxAge > 0) {
          wx.dataset.state = 'fresh'; /* same data, still fresh */
        }
        if (r.maxAge >= 0) wx.dataset.maxAge = String(r.maxAge);
        var swr = directive(r.cc, 'stale-while-revalidate');
        if (swr >= 0) wx.dataset.swr = String(swr);
        if (wx.dataset.state === 'fresh') {
          failures = 0;
          planFromState();
        } else {
          failed(false); /* the api had no newer data yet: try again later */
        }
      })
      .catch(function () { failed(true); })
      .then(function () {
        if (abortTimer) clearTimeout(abortTimer);
        inFlight = false;
      });
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) return;
    tick();
    if (dueWhenVisible || (failures >= MAX_ATTEMPTS && !inFlight && !timer)) {
      dueWhenVisible = false;
      failures = 0;
      schedule(0);
    }
  });
  setInterval(tick, 30000);
  rememberPlace(($('name') || {}).textContent || '', wx.dataset.src);
  tick();
  planFromState();
})();
