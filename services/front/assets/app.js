/* app.js — nimbus front: stale-while-revalidate in the page.
 *
 * The server renders the page with the data it has, stale or not, and puts
 * the freshness facts on <main id="wx"> (data-state, data-max-age, data-swr,
 * data-etag, data-src). This script revalidates as early as those allow:
 * stale data at once, fresh data when max-age runs out (while the tab is
 * visible). It fetches <data-src>?format=json with cache: 'no-cache' and
 * If-None-Match, and swaps the new values into the DOM without a reload.
 * One request at a time, bounded backoff, and it gives up after a few
 * failures, keeping the stale data on screen and saying so.
 * No innerHTML anywhere: every value goes in through textContent. */
(function () {
  'use strict';

  var wx = document.getElementById('wx');
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

  function renderDaily(daily) {
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
      li.appendChild(span('p', fmt(d.precipitation_probability_max, 0) + ' % \u00B7 ' +
                                fmt(d.precipitation_sum, 1) + ' mm'));
      items.push(li);
    });
    list.replaceChildren.apply(list, items);
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
    setText('temperature', fmt(cur.temperature, 1));
    setText('condition', cur.condition || '');
    setText('apparent_temperature', fmt(cur.apparent_temperature, 1));
    setText('relative_humidity', fmt(cur.relative_humidity, 0));
    setText('wind_speed', fmt(cur.wind_speed, 0));
    setText('wind_dir', compass(cur.wind_direction));
    setText('precipitation', fmt(cur.precipitation, 1));
    setText('sunrise', today.sunrise ? today.sunrise.slice(11) : MISSING);
    setText('sunset', today.sunset ? today.sunset.slice(11) : MISSING);
    renderDaily(doc.daily);
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
    var src = wx.dataset.src + (wx.dataset.src.indexOf('?') < 0 ? '?' : '&') + 'format=json';
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
  tick();
  planFromState();
})();
