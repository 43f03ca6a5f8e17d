// The live viewer: plain browser APIs. EventSource reconnects by itself after a network
// error and sends Last-Event-ID, so the gateway resumes each run without gaps; after an
// answer other than 200 it stops for good, so follow() opens a new one, resuming with ?after=.
const $ = (id) => document.getElementById(id);
let runStream = null;

// With a read token set, open the viewer as /?access_token=<token>: the page passes it on,
// as a header where it can and in the URL to EventSource, which cannot send headers.
const token = new URLSearchParams(location.search).get('access_token');
const streamUrl = (path) => token ? `${path}?access_token=${encodeURIComponent(token)}` : path;
const readHeaders = token ? { Authorization: `Bearer ${token}` } : {};

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

// The arena's own types EventSource reserves (message, open, error) arrive named arena.<type>.
const eventName = (type) => ['message', 'open', 'error'].includes(type) ? `arena.${type}` : type;

// Each stream's connection state, shown in the header: live, reconnecting or offline.
const states = {};
function showConnection(name, state) {
  states[name] = state;
  const all = Object.values(states);
  const overall = all.includes('offline') ? 'offline' : all.includes('reconnecting') ? 'reconnecting' : 'live';
  const el = $('connection');
  el.className = overall;
  el.textContent = overall === 'live' ? '● live' : overall === 'reconnecting' ? '◌ reconnecting…' : '○ offline, retrying';
  el.title = Object.entries(states).map(([n, s]) => `${n}: ${s}`).join('\n');
}

// An EventSource that never stays stopped. `url(lastId)` builds the address to (re)open;
// `listeners` maps event names to handlers; close() on the returned object ends it.
function follow(name, url, listeners) {
  let source = null, lastId = null, retry = null, closed = false;
  const open = () => {
    source = new EventSource(url(lastId));
    showConnection(name, 'reconnecting');
    source.onopen = () => showConnection(name, 'live');
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && !closed) {
        // Stopped for good by a non-200 answer: begin again after a pause, from the last event seen.
        showConnection(name, 'offline');
        retry = setTimeout(open, 3000);
      } else {
        showConnection(name, 'reconnecting');
      }
    };
    for (const [event, handler] of Object.entries(listeners)) {
      source.addEventListener(event, (msg) => {
        if (msg.lastEventId) lastId = msg.lastEventId;
        showConnection(name, 'live');
        handler(msg);
      });
    }
  };
  open();
  return { close() { closed = true; clearTimeout(retry); source.close(); delete states[name]; } };
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

function openRun(runId, item) {
  document.querySelectorAll('#runs li').forEach(li => li.classList.toggle('active', li === item));
  $('run-title').textContent = runId;
  $('events').replaceChildren();
  if (runStream) runStream.close();
  const onEvent = (msg) => {
    const e = JSON.parse(msg.data);
    const li = text('li', describe(e), e.type + (e.type === 'action' && !e.payload.valid ? ' invalid' : ''));
    li.dataset.id = msg.lastEventId;
    $('events').appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
  };
  // The gateway's own notice: earlier events of the run are in history it could not reach; what follows is what it holds.
  const onGap = (msg) => {
    const gap = JSON.parse(msg.data);
    $('events').appendChild(text('li', `earlier events unavailable (${gap.reason.replaceAll('_', ' ')}); showing what follows`, 'gap'));
  };
  const types = ['game_start', 'turn_start', 'observation', 'llm_response', 'action', 'game_end', 'error'];
  const path = `/v1/runs/${encodeURIComponent(runId)}/stream`;
  runStream = follow('run', (lastId) => streamUrl(path) + (lastId ? `${token ? '&' : '?'}after=${encodeURIComponent(lastId)}` : ''),
    { ...Object.fromEntries(types.map(type => [eventName(type), onEvent])), 'gateway.history_unavailable': onGap });
}

async function refreshRuns() {
  try {
    const response = await fetch('/v1/runs', { headers: readHeaders });
    if (response.status === 401) {
      $('status').textContent = 'a read token is required: open this page as /?access_token=<token>';
      return;
    }
    const { runs } = await response.json();
    const list = $('runs');
    const active = document.querySelector('#runs li.active')?.dataset.run;
    const games = runs.filter(r => r.run_id !== 'arena-pipeline');
    list.replaceChildren(...games.map(r => {
      const li = text('li', `${r.run_id} · ${r.events} · ${r.status}`);
      li.dataset.run = r.run_id;
      if (r.run_id === active) li.classList.add('active');
      li.onclick = () => openRun(r.run_id, li);
      return li;
    }));
    $('status').textContent = `${games.length} runs`;
  } catch (err) {
    $('status').textContent = 'history unavailable';
  }
}

follow('leaderboard', () => streamUrl('/v1/leaderboard/stream'), { leaderboard: (msg) => {
  const b = JSON.parse(msg.data);
  $('board').tBodies[0].replaceChildren(...b.models.map(m => {
    const tr = document.createElement('tr');
    tr.append(text('td', m.rank, 'num'), text('td', m.model), text('td', m.rating.toFixed(0), 'num'),
      text('td', `${m.ci_low.toFixed(0)}–${m.ci_high.toFixed(0)}`, 'num'), text('td', m.games, 'num'),
      text('td', `${m.wins}-${m.losses}-${m.draws}`, 'num'));
    return tr;
  }));
  $('board-meta').textContent = `${b.games} games · updated ${new Date(b.updated_at).toLocaleTimeString()}`;
} });

refreshRuns();
setInterval(refreshRuns, 3000);
