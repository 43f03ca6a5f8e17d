// The viewer: plain browser APIs and SVG, served by the gateway, nothing fetched from elsewhere.
// EventSource reconnects by itself after a network error and sends Last-Event-ID, so the gateway
// resumes each run without gaps; after an answer other than 200 it stops for good, so follow()
// opens a new one, resuming with ?after=.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

// With a read token set, open the viewer as /?access_token=<token>: the page passes it on,
// as a header where it can and in the URL to EventSource, which cannot send headers.
const token = new URLSearchParams(location.search).get('access_token');
const withToken = (path) => token ? `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : path;
const readHeaders = token ? { Authorization: `Bearer ${token}` } : {};
const getJson = async (path) => {
  const response = await fetch(path, { headers: readHeaders });
  if (response.status === 401) $('status').textContent = 'a read token is required: open this page as /?access_token=<token>';
  return response;
};

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

function svg(tag, attrs = {}, content) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (content !== undefined) el.textContent = content;
  return el;
}

const fmt = (v, digits = 0) => v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
const palette = ['#3552a8', '#c2410c', '#1b7f4a', '#9333ea', '#b91c1c', '#0e7490', '#a16207', '#be185d', '#4d7c0f', '#475569'];

// The arena's own types EventSource reserves (message, open, error) arrive named arena.<type>.
const eventName = (type) => ['message', 'open', 'error'].includes(type) ? `arena.${type}` : type;
const arenaTypes = ['game_start', 'turn_start', 'observation', 'llm_response', 'action', 'game_end', 'error'];

// Each stream's connection state, shown in the header: connecting, live, reconnecting or offline.
const states = {};
function showConnection(name, state) {
  if (state === null) delete states[name]; else states[name] = state;
  const all = Object.values(states);
  const overall = ['offline', 'reconnecting', 'connecting'].find(s => all.includes(s)) ?? 'live';
  const el = $('connection');
  el.className = overall;
  el.textContent = { live: '● live', connecting: '◌ connecting…', reconnecting: '◌ reconnecting…', offline: '○ offline, retrying' }[overall];
  el.title = Object.entries(states).map(([n, s]) => `${n}: ${s}`).join('\n');
}

// An EventSource that never stays stopped. `url(lastId)` builds the address to (re)open;
// `listeners` maps event names to handlers; `hooks.state(s)` hears the connection's state,
// `hooks.reopened()` when it is back after a loss (to refetch what it may have missed).
function follow(name, url, listeners, hooks = {}) {
  let source = null, lastId = null, retry = null, closed = false, lost = false;
  const state = (s) => {
    if (closed) return;
    if (s === 'live' && lost) { lost = false; hooks.reopened?.(); }
    if (s !== 'live' && s !== 'connecting') lost = true;
    showConnection(name, s);
    hooks.state?.(s);
  };
  const open = (first) => {
    source = new EventSource(url(lastId));
    state(first ? 'connecting' : 'reconnecting');
    source.onopen = () => state('live');
    source.onerror = () => {
      if (closed) return;
      if (source.readyState === EventSource.CLOSED) {
        // Stopped for good by a non-200 answer: begin again after a pause, from the last event seen.
        state('offline');
        retry = setTimeout(() => open(false), 3000);
      } else {
        state('reconnecting');
      }
    };
    for (const [event, handler] of Object.entries(listeners)) {
      source.addEventListener(event, (msg) => {
        if (closed) return;
        if (msg.lastEventId) lastId = msg.lastEventId;
        handler(msg);
      });
    }
  };
  open(true);
  return { close() { closed = true; clearTimeout(retry); source.close(); showConnection(name, null); } };
}

function describe(e) {
  const p = e.payload || {};
  switch (e.type) {
    case 'game_start': return `game starts: ${(p.players || []).map(x => `${x.player_id} ${x.model}`).join(' vs ')} on ${p.map || '?'}`;
    case 'turn_start': return `turn ${p.turn}: ${p.player_id}`;
    case 'observation': return `${p.player_id} observes`;
    case 'llm_response': return `${p.player_id} (${p.model}) answered in ${Math.round(p.latency_ms)} ms, ${p.prompt_tokens}+${p.completion_tokens} tokens`;
    case 'action': return `${p.player_id} → ${JSON.stringify(p.action)}${p.valid ? '' : ` (invalid: ${p.error || '?'})`}`;
    case 'game_end': return `game over: ${(p.results || []).map(r => `#${r.rank} ${r.model}`).join(', ')}`;
    case 'error': return `${p.fatal ? 'fatal ' : ''}error: ${p.message}`;
    default: return e.type;
  }
}

// ---- The run page: one run live or replayed, with a type filter, raw events and a bounded list.

const MAX_SHOWN = 2000;
// In a replay, `ids` are the run's stream IDs in order and `position` the number played.
const run = { id: null, stream: null, mode: 'live', ids: [], index: new Map(), dropped: 0, pending: [], types: new Set(), position: 0 };

function setRunState(state) {
  const el = $('run-state');
  el.className = state.split(' ')[0];
  el.textContent = { connecting: '◌ connecting…', live: '● live', reconnecting: '◌ reconnecting…', offline: '○ offline, retrying' }[state] ?? state;
}

function updateUrl(replace) {
  const query = new URLSearchParams();
  if (token) query.set('access_token', token);
  if (run.id) query.set('run', run.id);
  if (run.id && run.mode === 'replay') { query.set('replay', '1'); query.set('speed', $('replay-speed').value); }
  const target = `${location.pathname}${query.size ? `?${query}` : ''}`;
  if (target !== location.pathname + location.search) history[replace ? 'replaceState' : 'pushState'](null, '', target);
}

function clearEvents() {
  $('events').replaceChildren();
  run.pending = [];
  run.dropped = 0;
  $('trimmed').hidden = true;
  $('new-events').hidden = true;
}

const atBottom = (list) => list.scrollHeight - list.scrollTop - list.clientHeight < 24;

// Events arrive in bursts (a run's history); they are drawn once per frame.
function queueEvent(li) {
  run.pending.push(li);
  if (run.pending.length === 1) requestAnimationFrame(flushEvents);
}

function flushEvents() {
  const list = $('events');
  const stick = atBottom(list);
  const batch = run.pending.splice(0);
  const filter = $('type-filter').value;
  for (const li of batch) li.classList.toggle('filtered', filter !== '' && li.dataset.type !== undefined && li.dataset.type !== filter);
  list.append(...batch);
  // Bounded: the oldest go. A reader scrolled up keeps their place: the scroll moves by what was removed.
  let removed = 0;
  while (list.children.length > MAX_SHOWN) {
    removed += list.firstElementChild.offsetHeight;
    list.firstElementChild.remove();
    run.dropped++;
  }
  if (run.dropped > 0) {
    $('trimmed').hidden = false;
    $('trimmed').textContent = `${run.dropped} earlier events not shown (the last ${MAX_SHOWN} are)`;
  }
  if (stick) {
    list.scrollTop = list.scrollHeight;
  } else {
    list.scrollTop -= removed;
    if (batch.length > 0) $('new-events').hidden = false;
  }
}

function eventItem(e, id) {
  const li = document.createElement('li');
  li.className = e.type + (e.type === 'action' && e.payload && !e.payload.valid ? ' invalid' : '');
  li.dataset.id = id;
  li.dataset.type = e.type;
  li.envelope = e;
  const ts = new Date(e.ts);
  const time = text('time', Number.isNaN(ts.getTime()) ? e.ts : ts.toISOString().slice(11, 23));
  time.dateTime = e.ts;
  li.append(time, text('span', e.type, 'type'), text('span', describe(e), 'what'));
  if (!run.types.has(e.type)) {
    run.types.add(e.type);
    $('type-filter').append(new Option(e.type, e.type));
  }
  return li;
}

function onRunEvent(msg) {
  const e = JSON.parse(msg.data);
  if (run.mode === 'replay') {
    run.position = (run.index.get(msg.lastEventId) ?? run.position) + 1;
    $('scrubber').value = run.position;
    scrubLabel();
  }
  if (e.type === 'game_end' || (e.type === 'error' && e.payload?.fatal)) $('replay-controls').hidden = false;
  queueEvent(eventItem(e, msg.lastEventId));
}

// The gateway's own notice: earlier events of the run are in history it could not reach; what follows is what it holds.
function onGap(msg) {
  const gap = JSON.parse(msg.data);
  queueEvent(text('li', `earlier events unavailable (${gap.reason.replaceAll('_', ' ')}); showing what follows`, 'gap'));
}

const runListeners = (extra) => ({ ...Object.fromEntries(arenaTypes.map(type => [eventName(type), onRunEvent])), 'gateway.history_unavailable': onGap, ...extra });

function openRun(runId, { replay = false, push = true } = {}) {
  if (run.stream) run.stream.close();
  run.stream = null;
  if (run.id !== runId) {
    Object.assign(run, { id: runId, ids: [], index: new Map(), position: 0, types: new Set() });
    $('type-filter').replaceChildren(new Option('all types', ''));
  }
  document.querySelectorAll('#runs li').forEach(li => li.classList.toggle('active', li.dataset.run === runId));
  $('run-title').textContent = runId;
  $('run-tools').hidden = false;
  const summary = runs.get(runId);
  $('replay-controls').hidden = !(summary && summary.status !== 'running');
  if (replay) {
    startReplay(null, push);
    return;
  }
  run.mode = 'live';
  $('replay-toggle').textContent = '▶ Replay';
  if (push) updateUrl(false);
  clearEvents();
  const path = `/v1/runs/${encodeURIComponent(runId)}/stream`;
  run.stream = follow('run', (lastId) => withToken(path + (lastId ? `?after=${encodeURIComponent(lastId)}` : '')), runListeners(),
    { state: setRunState });
}

// The run's stream IDs in order, for the scrubber: read once from a replay at full speed.
async function runIndex() {
  const response = await fetch(withToken(`/v1/runs/${encodeURIComponent(run.id)}/replay?speed=max`), { headers: readHeaders });
  return [...(await response.text()).matchAll(/^id: (.+)$/gm)].map(m => m[1]);
}

async function startReplay(afterPosition, push = true) {
  if (run.stream) run.stream.close();
  run.stream = null;
  const wasLive = run.mode === 'live';
  run.mode = 'replay';
  $('replay-controls').hidden = false;
  $('replay-toggle').textContent = '■ Live';
  updateUrl(!push || !wasLive);
  setRunState('connecting');
  if (afterPosition === null || run.ids.length === 0) {
    const ids = await runIndex();
    if (run.mode !== 'replay') return;
    run.ids = ids;
    run.index = new Map(ids.map((id, i) => [id, i]));
  }
  run.position = afterPosition ?? 0;
  $('scrubber').max = run.ids.length;
  $('scrubber').value = run.position;
  scrubLabel();
  clearEvents();
  const speed = $('replay-speed').value;
  const after = run.position > 0 ? run.ids[run.position - 1] : null;
  const path = `/v1/runs/${encodeURIComponent(run.id)}/replay?speed=${encodeURIComponent(speed)}`;
  const stream = follow('run', (lastId) => withToken(path + ((lastId ?? after) ? `&after=${encodeURIComponent(lastId ?? after)}` : '')),
    runListeners({ 'gateway.replay_end': () => {
      stream.close();
      setRunState('replay ended');
      $('events').dataset.replayEnded = 'true';
    } }),
    { state: (s) => setRunState(s === 'live' ? `replay ${speed}×` : s) });
  delete $('events').dataset.replayEnded;
  run.stream = stream;
}

function scrubLabel() {
  $('scrub-label').textContent = `${$('scrubber').value} / ${$('scrubber').max}`;
}

$('replay-toggle').onclick = () => {
  if (run.mode === 'replay') openRun(run.id); else startReplay(null);
};
$('replay-speed').onchange = () => { if (run.mode === 'replay') startReplay(run.position); };
$('scrubber').oninput = scrubLabel;
$('scrubber').onchange = () => startReplay(Number($('scrubber').value));
$('type-filter').onchange = () => {
  const filter = $('type-filter').value;
  for (const li of $('events').children) li.classList.toggle('filtered', filter !== '' && li.dataset.type !== undefined && li.dataset.type !== filter);
};
$('events').onclick = (click) => {
  const li = click.target.closest('#events li');
  if (!li || !li.envelope || click.target.closest('pre')) return;
  const raw = li.querySelector('pre.raw');
  if (raw) raw.remove(); else li.append(text('pre', JSON.stringify(li.envelope, null, 2), 'raw'));
};
$('events').onscroll = () => { if (atBottom($('events'))) $('new-events').hidden = true; };
$('new-events').onclick = () => {
  $('events').scrollTop = $('events').scrollHeight;
  $('new-events').hidden = true;
};

// ---- The run list: the persister's summary, polled.

const runs = new Map();

function drawRuns() {
  const games = [...runs.values()].filter(r => r.run_id !== 'arena-pipeline')
    .sort((a, b) => (b.last_ts ?? '').localeCompare(a.last_ts ?? ''));
  $('runs').replaceChildren(...games.map(r => {
    const li = document.createElement('li');
    li.append(text('span', r.run_id), text('span', ` · ${r.events} · ${r.status}`, 'meta'));
    li.dataset.run = r.run_id;
    if (r.run_id === run.id) li.classList.add('active');
    li.onclick = () => openRun(r.run_id);
    return li;
  }));
  $('status').textContent = `${games.length} runs`;
  if (run.id && run.mode === 'live' && runs.get(run.id)?.status !== 'running' && runs.has(run.id)) $('replay-controls').hidden = false;
}

async function refreshRuns() {
  try {
    const response = await getJson('/v1/runs');
    if (!response.ok) return;
    runs.clear();
    for (const r of (await response.json()).runs) runs.set(r.run_id, r);
    drawRuns();
  } catch {
    $('status').textContent = 'history unavailable';
  }
}

// ---- Leaderboards: the chart, the game selector, history, head to head and costs.

const boards = { game: '', global: null };
let analysisTimer = null;

function niceTicks(lo, hi, count) {
  const step0 = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map(m => m * magnitude).find(s => s >= step0);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) ticks.push(v);
  return ticks;
}

function drawBoard(b) {
  $('board-meta').textContent = `${b.games} games · updated ${new Date(b.updated_at).toLocaleTimeString()}${b.game ? ` · ${b.game}` : ''}`;
  const chart = $('board-chart');
  const models = [...b.models].sort((x, y) => x.rank - y.rank || y.rating - x.rating);
  const width = 480, left = 118, right = 182, top = 22, rowHeight = 26;
  const height = top + Math.max(models.length, 1) * rowHeight + 6;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  chart.style.height = `${height}px`;
  chart.replaceChildren();
  if (models.length === 0) {
    chart.append(svg('text', { x: 8, y: 18, class: 'muted' }, 'no ranked games yet'));
  } else {
    let lo = Math.min(...models.map(m => Math.min(m.ci_low, m.rating)));
    let hi = Math.max(...models.map(m => Math.max(m.ci_high, m.rating)));
    if (hi - lo < 20) { lo -= 10; hi += 10; }
    const x = (v) => left + (v - lo) / (hi - lo) * (width - left - right);
    const axis = svg('g', { class: 'axis' });
    for (const t of niceTicks(lo, hi, 4)) {
      axis.append(svg('line', { x1: x(t), x2: x(t), y1: top - 6, y2: height }), svg('text', { x: x(t), y: 10, 'text-anchor': 'middle', class: 'muted' }, t));
    }
    chart.append(axis);
    models.forEach((m, i) => {
      const y = top + i * rowHeight + rowHeight / 2;
      const g = svg('g', { class: 'whisker', 'data-model': m.model, 'data-rank': m.rank });
      g.append(svg('title', {}, `${m.model}: ${fmt(m.rating, 1)} (95% ${fmt(m.ci_low, 1)}–${fmt(m.ci_high, 1)})`),
        svg('text', { x: 4, y: y + 4 }, `${m.rank}. ${m.model}`.slice(0, 20)),
        svg('line', { class: 'ci', x1: x(m.ci_low), x2: x(m.ci_high), y1: y, y2: y }),
        svg('line', { class: 'cap', x1: x(m.ci_low), x2: x(m.ci_low), y1: y - 5, y2: y + 5 }),
        svg('line', { class: 'cap', x1: x(m.ci_high), x2: x(m.ci_high), y1: y - 5, y2: y + 5 }),
        svg('circle', { cx: x(m.rating), cy: y, r: 4 }),
        svg('text', { x: width - right + 8, y: y + 4, class: 'muted' },
          `${fmt(m.rating)} · ${m.games}g · ${m.wins}-${m.losses}-${m.draws} · Elo ${fmt(m.elo_online)}`));
      chart.append(g);
    });
  }
  $('costs').tBodies[0].replaceChildren(...models.map(m => {
    const tr = document.createElement('tr');
    tr.dataset.model = m.model;
    tr.append(text('td', m.model), text('td', m.avg_latency_ms == null ? '—' : `${fmt(m.avg_latency_ms)} ms`, 'num'),
      text('td', m.tokens ?? '—', 'num'), text('td', m.cost_usd == null ? '—' : `$${fmt(m.cost_usd, 4)}`, 'num'),
      text('td', m.invalid_action_rate == null ? '—' : `${fmt(m.invalid_action_rate * 100, 1)}%`, 'num'));
    return tr;
  }));
}

function drawHistory(doc) {
  const chart = $('history-chart');
  const width = 900, height = 260, left = 46, right = 150, top = 12, bottom = 24;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  chart.style.height = `${height}px`;
  chart.replaceChildren();
  const series = new Map();
  for (const s of doc.snapshots) {
    for (const m of s.models) {
      if (!series.has(m.model)) series.set(m.model, []);
      series.get(m.model).push({ t: Date.parse(s.at), rating: m.rating });
    }
  }
  if (series.size === 0) {
    chart.append(svg('text', { x: 8, y: 18, class: 'muted' }, 'no history yet'));
    return;
  }
  const points = [...series.values()].flat();
  let [t0, t1] = [Math.min(...points.map(p => p.t)), Math.max(...points.map(p => p.t))];
  if (t1 === t0) { t0 -= 60_000; t1 += 60_000; }
  let [lo, hi] = [Math.min(...points.map(p => p.rating)), Math.max(...points.map(p => p.rating))];
  if (hi - lo < 20) { lo -= 10; hi += 10; }
  const x = (t) => left + (t - t0) / (t1 - t0) * (width - left - right);
  const y = (r) => top + (hi - r) / (hi - lo) * (height - top - bottom);
  const grid = svg('g', { class: 'grid' });
  for (const r of niceTicks(lo, hi, 5)) grid.append(svg('line', { x1: left, x2: width - right, y1: y(r), y2: y(r) }), svg('text', { x: left - 4, y: y(r) + 4, 'text-anchor': 'end', class: 'muted' }, r));
  const sameDay = t1 - t0 < 86_400_000;
  const when = (t) => sameDay ? new Date(t).toLocaleTimeString() : new Date(t).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  for (const t of [t0, (t0 + t1) / 2, t1]) grid.append(svg('text', { x: x(t), y: height - 6, 'text-anchor': 'middle', class: 'muted' }, when(t)));
  chart.append(grid);
  // End labels in rating order, at least a line apart.
  const labelY = new Map();
  let previous = -Infinity;
  for (const [model, pts] of [...series.entries()].sort((a, b) => b[1].at(-1).rating - a[1].at(-1).rating)) {
    previous = Math.max(y(pts.at(-1).rating) + 4, previous + 12);
    labelY.set(model, previous);
  }
  [...series.entries()].forEach(([model, pts], i) => {
    const color = palette[i % palette.length];
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.rating).toFixed(1)}`).join('');
    const last = pts[pts.length - 1];
    const g = svg('g', { 'data-model': model, 'data-points': pts.length });
    g.append(svg('path', { class: 'series', d, stroke: color }),
      svg('circle', { cx: x(last.t), cy: y(last.rating), r: 3, fill: color }),
      svg('text', { x: width - right + 8, y: labelY.get(model), fill: color }, `${model} ${fmt(last.rating)}`));
    chart.append(g);
  });
}

function drawHeadToHead(doc) {
  const chart = $('h2h-chart');
  const n = doc.models.length, cell = 44, left = 110, top = 90;
  // Room on the right for the last column's slanted name.
  const width = left + n * cell + 70, height = top + n * cell + 4;
  chart.setAttribute('viewBox', `0 0 ${width} ${height}`);
  chart.style.height = `${height}px`;
  chart.style.maxWidth = `${width}px`;
  chart.replaceChildren();
  if (n === 0) {
    chart.append(svg('text', { x: 8, y: 18, class: 'muted' }, 'no games yet'));
    return;
  }
  const pairs = new Map(doc.pairs.map(p => [`${p.a}\u0000${p.b}`, p]));
  // Red (row model loses) through white (even) to green (row model wins).
  const mix = (from, to, t) => `rgb(${from.map((c, i) => Math.round(c + (to[i] - c) * t)).join(',')})`;
  const shade = (r) => r < 0.5 ? mix([226, 96, 96], [250, 250, 250], r / 0.5) : mix([250, 250, 250], [76, 175, 106], (r - 0.5) / 0.5);
  doc.models.forEach((m, i) => {
    chart.append(svg('text', { x: left - 6, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, m.slice(0, 16)));
    chart.append(svg('text', { x: 0, y: 0, transform: `translate(${left + i * cell + cell / 2 + 4},${top - 6}) rotate(-50)` }, m.slice(0, 16)));
  });
  doc.models.forEach((a, i) => doc.models.forEach((b, j) => {
    const px = left + j * cell, py = top + i * cell;
    if (a === b) {
      chart.append(svg('rect', { x: px, y: py, width: cell - 2, height: cell - 2, fill: '#eceef2' }));
      return;
    }
    const p = pairs.get(`${a}\u0000${b}`);
    if (!p) return;
    const g = svg('g', { class: 'cell', 'data-a': a, 'data-b': b, 'data-games': p.games, 'data-win-rate': p.win_rate });
    g.append(svg('title', {}, `${a} vs ${b}: ${p.wins}-${p.losses}-${p.draws} in ${p.games} games`),
      svg('rect', { x: px, y: py, width: cell - 2, height: cell - 2, fill: shade(p.win_rate) }),
      svg('text', { x: px + cell / 2 - 1, y: py + 18, 'text-anchor': 'middle' }, `${Math.round(p.win_rate * 100)}%`),
      svg('text', { x: px + cell / 2 - 1, y: py + 32, 'text-anchor': 'middle', class: 'muted count' }, `${p.games}`));
    chart.append(g);
  }));
}

// A panel whose endpoint this ranker does not have (404) stays hidden.
async function loadPanel(panel, path, draw) {
  try {
    const response = await getJson(path);
    if (response.status === 404) {
      $(panel).hidden = true;
      return;
    }
    if (!response.ok) return;
    $(panel).hidden = false;
    draw(await response.json());
  } catch {
    // The gateway is away: the next leaderboard event or reconnect draws it again.
  }
}

const gameQuery = () => boards.game ? `?game=${encodeURIComponent(boards.game)}` : '';

function refreshAnalysis() {
  clearTimeout(analysisTimer);
  analysisTimer = setTimeout(() => {
    loadPanel('history-panel', `/v1/leaderboard/history${gameQuery()}`, drawHistory);
    loadPanel('h2h-panel', `/v1/leaderboard/head-to-head${gameQuery()}`, drawHeadToHead);
  }, 200);
}

async function refreshGames() {
  try {
    const response = await getJson('/v1/leaderboards');
    const select = $('game-select');
    if (!response.ok) {
      select.hidden = response.status === 404 ? true : select.hidden;
      return;
    }
    select.hidden = false;
    const { leaderboards } = await response.json();
    const names = leaderboards.map(l => l.game);
    if (boards.game && !names.includes(boards.game)) names.push(boards.game);
    select.replaceChildren(new Option('All games', ''), ...names.map(g => new Option(g, g)));
    select.value = boards.game;
  } catch {
    // Retried on the next leaderboard event.
  }
}

async function showBoard() {
  if (!boards.game) {
    if (boards.global) drawBoard(boards.global);
    return;
  }
  try {
    const response = await getJson(`/v1/leaderboard${gameQuery()}`);
    if (response.ok) drawBoard(await response.json());
  } catch {
    // Retried on the next leaderboard event.
  }
}

$('game-select').onchange = () => {
  boards.game = $('game-select').value;
  showBoard();
  refreshAnalysis();
};

function refreshAll() {
  refreshRuns();
  refreshGames();
  showBoard();
  refreshAnalysis();
}

follow('leaderboard', () => withToken('/v1/leaderboard/stream'), { leaderboard: (msg) => {
  boards.global = JSON.parse(msg.data);
  showBoard();
  refreshGames();
  refreshAnalysis();
} }, { reopened: refreshAll });

// The run list is polled: the persister answers it from memory. Following the all-runs stream
// instead would send every event of every run to every viewer, and hold a third of the six
// connections a browser opens to one HTTP/1.1 origin, which the two streams already share
// with every fetch of every tab.
refreshRuns();
setInterval(refreshRuns, 5000);

// Deep links: /?run=<run_id> opens the run, &replay=1&speed=<s> replays it.
function route() {
  const query = new URLSearchParams(location.search);
  const runId = query.get('run');
  if (!runId) return;
  const speed = query.get('speed');
  if (speed) {
    if (![...$('replay-speed').options].some(o => o.value === speed)) $('replay-speed').append(new Option(`${speed}×`, speed));
    $('replay-speed').value = speed;
  }
  openRun(runId, { replay: query.get('replay') === '1', push: false });
}
window.onpopstate = route;
route();
