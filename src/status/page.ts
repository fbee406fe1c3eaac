/**
 * The status page: one self-contained HTML document (inline CSS and script, no framework,
 * nothing fetched from elsewhere) that polls GET /api/status every 2 s and draws it: the
 * ring as SVG (this peer, successors, predecessors and fingers placed by Node-ID on a
 * circle), links with RTTs, stored data per Kind, message counters, the conferences this
 * peer serves as a focus and the usages' own sections. Text from the node is set with
 * textContent only, never parsed as HTML.
 *
 * Test hooks: every peer marker carries data-node-id and data-roles ("successor finger"…),
 * the own marker data-role="self"; <body data-refreshes="N"> counts successful refreshes.
 */

/** How often the page polls the API, ms. */
export const STATUS_REFRESH_MS = 2_000;

const CSS = `
:root { --bg:#f6f7f9; --fg:#1d2330; --muted:#6b7383; --card:#fff; --line:#d9dde5;
  --self:#1d2330; --succ:#1a9e5a; --pred:#2f6fdf; --finger:#e08a1e; --bad:#c93636; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
header { padding:14px 20px; background:var(--fg); color:#fff; display:flex; flex-wrap:wrap; gap:6px 24px; align-items:baseline; }
header h1 { font-size:17px; margin:0; font-weight:600; }
header .id { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:13px; opacity:.9; }
header .meta { font-size:13px; opacity:.8; }
#banner { display:none; background:var(--bad); color:#fff; padding:6px 20px; }
#banner.show { display:block; }
main { display:grid; grid-template-columns: minmax(320px, 440px) 1fr; gap:16px; padding:16px 20px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; margin-bottom:16px; }
section h2 { font-size:14px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:3px 8px 3px 0; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
.mono { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; }
.empty { color:var(--muted); font-style:italic; }
svg { width:100%; height:auto; display:block; }
svg .ring { fill:none; stroke:var(--line); stroke-width:2; }
svg .chord { stroke:var(--finger); stroke-width:1.2; stroke-dasharray:4 3; opacity:.8; }
svg .arc-succ { stroke:var(--succ); stroke-width:2; fill:none; opacity:.7; }
svg .self circle { fill:var(--self); }
svg .peer circle { stroke:#fff; stroke-width:2; }
svg circle.fill-successor { fill:var(--succ); }
svg circle.fill-predecessor { fill:var(--pred); }
svg circle.fill-finger { fill:var(--finger); }
svg circle.also { fill:none; stroke-width:2.5; }
svg circle.also-successor { stroke:var(--succ); }
svg circle.also-predecessor { stroke:var(--pred); }
svg circle.also-finger { stroke:var(--finger); }
svg text { font-size:10px; fill:var(--fg); font-family:ui-monospace, Menlo, Consolas, monospace; }
.legend { display:flex; flex-wrap:wrap; gap:12px; margin-top:8px; font-size:12px; color:var(--muted); }
.legend span.note::before { display:none; }
.legend span::before { content:""; display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:5px; vertical-align:-1px; background:var(--c); }
.counters { display:grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap:8px; margin-bottom:10px; }
.counter { border:1px solid var(--line); border-radius:6px; padding:6px 8px; }
.counter b { display:block; font-size:18px; font-variant-numeric: tabular-nums; }
.counter small { color:var(--muted); }
.role { display:inline-block; padding:0 6px; border-radius:9px; font-size:11px; color:#fff; margin-right:3px; }
.role.successor { background:var(--succ); } .role.predecessor { background:var(--pred); } .role.finger { background:var(--finger); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var REFRESH_MS = ${STATUS_REFRESH_MS};
  var SVG = 'http://www.w3.org/2000/svg';
  var refreshes = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function short(id) { return id ? id.slice(0, 8) + '\\u2026' : '?'; }
  function fmtBytes(n) {
    if (n === null || n === undefined) return '\\u2013';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }
  function fmtDuration(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + r + 's';
  }
  /** Position on the circle from the Node-ID's leading 52 bits: 0 at the top, clockwise. */
  function angleOf(hex) {
    var frac = parseInt(hex.slice(0, 13), 16) / Math.pow(2, 52);
    return frac * 2 * Math.PI - Math.PI / 2;
  }
  function table(container, headers, rows, numeric) {
    container.textContent = '';
    if (rows.length === 0) { container.appendChild(el('p', { 'class': 'empty' }, 'none')); return; }
    var t = el('table'), thead = el('thead'), tr = el('tr');
    headers.forEach(function (h, i) { tr.appendChild(el('th', numeric && numeric[i] ? { 'class': 'num' } : null, h)); });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c, i) {
        var cls = (numeric && numeric[i] ? 'num' : '') + (c && c.mono ? ' mono' : '');
        var td = el('td', cls ? { 'class': cls.trim() } : null);
        if (c && c.node) td.appendChild(c.node);
        else td.textContent = c && typeof c === 'object' && 'text' in c ? c.text : (c === null || c === undefined ? '\\u2013' : String(c));
        if (c && c.title) td.title = c.title;
        row.appendChild(td);
      });
      tb.appendChild(row);
    });
    t.appendChild(tb);
    container.appendChild(t);
  }

  function drawRing(ring) {
    var svg = $('ring');
    svg.textContent = '';
    var C = 200, R = 160;
    svg.appendChild(svgEl('circle', { 'class': 'ring', cx: C, cy: C, r: R }));
    var peers = {};
    function add(list, role) {
      list.forEach(function (id, i) {
        if (id === ring.self) return;
        var p = peers[id] || (peers[id] = { id: id, roles: [], labels: [] });
        if (p.roles.indexOf(role) < 0) p.roles.push(role);
        p.labels.push(role === 'successor' ? 'S' + (i + 1) : role === 'predecessor' ? 'P' + (i + 1) : 'F');
      });
    }
    add(ring.successors, 'successor');
    add(ring.predecessors, 'predecessor');
    add(ring.fingers, 'finger');
    var a0 = angleOf(ring.self);
    var sx = C + R * Math.cos(a0), sy = C + R * Math.sin(a0);
    // Finger chords first, under the markers.
    Object.keys(peers).forEach(function (id) {
      var p = peers[id];
      if (p.roles.indexOf('finger') < 0) return;
      var a = angleOf(id);
      svg.appendChild(svgEl('line', { 'class': 'chord', x1: sx, y1: sy, x2: C + R * Math.cos(a), y2: C + R * Math.sin(a) }));
    });
    Object.keys(peers).forEach(function (id) {
      var p = peers[id];
      var a = angleOf(id);
      var x = C + R * Math.cos(a), y = C + R * Math.sin(a);
      var g = svgEl('g', { 'class': 'peer ' + p.roles.join(' '), 'data-node-id': id, 'data-roles': p.roles.join(' ') });
      var t = svgEl('title', {});
      t.textContent = id + ' (' + p.roles.join(', ') + ')';
      g.appendChild(t);
      // Filled in the first role's colour, one outer ring per further role.
      p.roles.slice(1).forEach(function (role, k) {
        g.appendChild(svgEl('circle', { 'class': 'also also-' + role, cx: x, cy: y, r: 10 + 3.5 * k }));
      });
      g.appendChild(svgEl('circle', { 'class': 'fill-' + p.roles[0], cx: x, cy: y, r: 7 }));
      var lx = C + (R + 20) * Math.cos(a), ly = C + (R + 20) * Math.sin(a);
      var label = svgEl('text', { x: lx, y: ly + 3, 'text-anchor': 'middle' });
      label.textContent = p.labels.join(' ');
      g.appendChild(label);
      svg.appendChild(g);
    });
    var me = svgEl('g', { 'class': 'self', 'data-role': 'self', 'data-node-id': ring.self });
    var mt = svgEl('title', {});
    mt.textContent = ring.self + ' (this peer)';
    me.appendChild(mt);
    me.appendChild(svgEl('circle', { cx: sx, cy: sy, r: 10 }));
    svg.appendChild(me);
    var center = svgEl('text', { x: C, y: C, 'text-anchor': 'middle' });
    center.textContent = short(ring.self);
    svg.appendChild(center);
    var count = svgEl('text', { x: C, y: C + 16, 'text-anchor': 'middle' });
    count.textContent = ring.successors.length + ' succ \\u00b7 ' + ring.predecessors.length + ' pred \\u00b7 ' + ring.fingers.length + ' fingers';
    svg.appendChild(count);
  }

  function roleBadges(roles) {
    var span = el('span');
    roles.forEach(function (r) { span.appendChild(el('span', { 'class': 'role ' + r }, r)); });
    return span;
  }

  function render(s) {
    $('node-id').textContent = s.node.nodeId;
    $('overlay').textContent = s.node.overlay;
    $('role').textContent = s.node.role + (s.node.userName ? ' \\u00b7 ' + s.node.userName : '');
    $('uptime').textContent = fmtDuration(s.node.uptimeS);
    $('addresses').textContent = s.node.addresses.join(', ') || '(client)';
    $('updated').textContent = new Date(s.node.now).toLocaleTimeString();
    drawRing(s.ring);

    table($('links'), ['Neighbour', 'Role', 'Transport', 'Remote', 'SRTT', 'RTO', 'Sent', 'Received', 'Idle'],
      s.links.map(function (l) {
        return [
          { text: l.nodeId ? short(l.nodeId) : '(unbound)', title: l.nodeId || '', mono: true },
          { node: roleBadges(l.roles) },
          l.transport + (l.outbound ? ' \\u2192' : ' \\u2190'),
          { text: l.remote, mono: true },
          l.srttMs === null ? '\\u2013' : l.srttMs.toFixed(1) + ' ms',
          l.rtoMs + ' ms',
          fmtBytes(l.bytesSent), fmtBytes(l.bytesReceived),
          (l.idleMs / 1000).toFixed(1) + ' s'
        ];
      }), [false, false, false, false, true, true, true, true, true]);

    $('storage-summary').textContent = s.storage.resources + ' resource(s), ' + fmtBytes(s.storage.bytes);
    table($('storage'), ['Kind', 'Name', 'Model', 'Resources', 'Values', 'Bytes'],
      s.storage.kinds.map(function (k) {
        return [{ text: k.kindHex, mono: true }, k.name, k.dataModel, k.resources, k.values, fmtBytes(k.bytes)];
      }), [false, false, false, true, true, true]);

    var m = s.messages, counters = $('counters');
    counters.textContent = '';
    [['received', m.received], ['delivered', m.delivered], ['forwarded', m.forwarded], ['originated', m.originated],
     ['dropped', m.dropped], ['errors sent', m.errorsSent], ['decode errors', m.decodeErrors], ['bad signatures', m.signatureFailures],
     ['pending', m.pendingTransactions], ['bytes in', fmtBytes(m.bytesIn)], ['bytes out', fmtBytes(m.bytesOut)],
     ['EWMA out/s', fmtBytes(s.diagnostics.ewmaBytesSent)], ['EWMA in/s', fmtBytes(s.diagnostics.ewmaBytesRcvd)],
     ['congestion', s.diagnostics.congestion + '/15']].forEach(function (c) {
      var d = el('div', { 'class': 'counter', 'data-counter': c[0] });
      d.appendChild(el('b', null, c[1]));
      d.appendChild(el('small', null, c[0]));
      counters.appendChild(d);
    });
    table($('by-code'), ['Code', 'Message', 'Sent', 'Received'],
      m.byCode.map(function (c) { return [{ text: c.codeHex, mono: true }, c.name, c.sent, c.received]; }),
      [false, false, true, true]);

    var conf = $('conferences');
    conf.textContent = '';
    if (s.conferences.length === 0) conf.appendChild(el('p', { 'class': 'empty' }, 'This peer is not the focus of any conference.'));
    s.conferences.forEach(function (c) {
      var box = el('div', { 'class': 'conference', 'data-uri': c.uri });
      box.appendChild(el('h3', null, c.uri));
      var tbl = el('div');
      table(tbl, ['Participant', 'State'], (c.roster || []).map(function (p) { return [p.user, p.state || '']; }));
      box.appendChild(tbl);
      conf.appendChild(box);
    });

    var sec = $('sections');
    sec.textContent = '';
    s.sections.forEach(function (u) {
      var box = el('section', { 'data-usage': u.usage });
      box.appendChild(el('h2', null, u.title));
      var tbl = el('div');
      table(tbl, ['Field', 'Value'], Object.keys(u.fields).map(function (k) {
        var v = u.fields[k];
        return [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v];
      }));
      box.appendChild(tbl);
      sec.appendChild(box);
    });
  }

  function refresh() {
    fetch('/api/status', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (s) {
      render(s);
      refreshes++;
      document.body.setAttribute('data-refreshes', String(refreshes));
      $('banner').className = '';
    }).catch(function (err) {
      $('banner').textContent = 'Cannot reach the node: ' + err.message + ' (retrying)';
      $('banner').className = 'show';
    }).then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();
`;

/** The page. */
export function statusPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RELOAD peer status</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body data-refreshes="0">
<header>
  <h1>RELOAD peer</h1>
  <span class="id" id="node-id">…</span>
  <span class="meta">overlay <b id="overlay">…</b></span>
  <span class="meta" id="role"></span>
  <span class="meta">up <span id="uptime">…</span></span>
  <span class="meta" id="addresses"></span>
  <span class="meta">updated <span id="updated">…</span></span>
</header>
<div id="banner" role="alert"></div>
<main>
  <div>
    <section>
      <h2>Ring</h2>
      <svg id="ring" viewBox="0 0 400 400" role="img" aria-label="This peer on the ring with its neighbours and fingers"></svg>
      <div class="legend">
        <span style="--c:var(--self)">this peer</span>
        <span style="--c:var(--succ)">successor</span>
        <span style="--c:var(--pred)">predecessor</span>
        <span style="--c:var(--finger)">finger</span>
        <span class="note">(a peer with several roles: outer rings)</span>
      </div>
    </section>
    <section>
      <h2>Conferences (focus)</h2>
      <div id="conferences"></div>
    </section>
  </div>
  <div>
    <section>
      <h2>Links</h2>
      <div id="links"></div>
    </section>
    <section>
      <h2>Messages</h2>
      <div class="counters" id="counters"></div>
      <div id="by-code"></div>
    </section>
    <section>
      <h2>Stored data <span id="storage-summary" class="empty"></span></h2>
      <div id="storage"></div>
    </section>
    <div id="sections"></div>
  </div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
