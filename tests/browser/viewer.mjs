// The viewer in headless Chromium: the leaderboard chart, rating history and head-to-head (or
// their panels hidden where the ranker answers 404), a run page with a type filter and raw
// events, a long run read scrolled up while events arrive, a gateway restart survived without
// a reload, a deep link, and a replay at 4×.
// Screenshots of each go to <screenshot-dir>. The test reads the lines it prints; after
// RESTART it restarts the gateway, posts more events and writes POSTED to stdin.
// Usage: node viewer.mjs <gateway-url> <read-token> <run-id> <replay-run-id> <replay-events> <screenshot-dir>
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, token, runId, replayRunId, replayEvents, dir] = process.argv.slice(2);
mkdirSync(dir, { recursive: true });
const url = (query = '') => `${new URL('/', base)}?${query}${query ? '&' : ''}access_token=${encodeURIComponent(token)}`;
const stdinLines = [];
const waiters = [];
const stdin = createInterface({ input: process.stdin }).on('line', (line) => { stdinLines.push(line); waiters.forEach(w => w()); });
const told = (line) => new Promise((resolve) => {
  const check = () => { if (stdinLines.includes(line)) resolve(); };
  waiters.push(check);
  check();
});
const fail = (message) => { throw new Error(message); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function newPage() {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  // Every dispatch of 'error' on any EventSource of the page: a connection error has no data,
  // an event frame named `error` would carry the envelope.
  await page.addInitScript(() => {
    window.errorDispatches = [];
    window.opened = [];
    const Native = window.EventSource;
    window.EventSource = class extends Native {
      constructor(...args) {
        super(...args);
        window.opened.push({ url: this.url, at: performance.now() });
        this.addEventListener('error', (e) => window.errorDispatches.push({ url: this.url, data: e.data ?? null }));
      }
    };
  });
  return page;
}

const status = (page, path) => page.evaluate(async ([p, t]) => (await fetch(p, { headers: { Authorization: `Bearer ${t}` } })).status, [path, token]);
const shot = async (locator, name) => {
  const path = join(dir, name);
  await locator.screenshot({ path });
  console.log(`screenshot: ${path}`);
};

try {
  const page = await newPage();
  await page.goto(url());

  // The leaderboard as whiskers, one per model, in rank order.
  await page.waitForFunction(() => document.querySelectorAll('#board-chart g.whisker').length >= 3, null, { timeout: 30000 });
  const whiskers = await page.$$eval('#board-chart g.whisker', (gs) => gs.map(g => ({
    model: g.dataset.model, rank: Number(g.dataset.rank), ci: g.querySelectorAll('line.ci').length, dot: g.querySelectorAll('circle').length,
  })));
  console.log(`whiskers: ${whiskers.map(w => `${w.rank}. ${w.model}`).join(', ')}`);
  whiskers.forEach((w, i) => {
    if (w.ci !== 1 || w.dot !== 1) fail(`the whisker of ${w.model} is not drawn`);
    if (i > 0 && w.rank < whiskers[i - 1].rank) fail('the whiskers are not in rank order');
  });
  const costRows = await page.locator('#costs tbody tr').count();
  if (costRows !== whiskers.length) fail(`${costRows} cost rows for ${whiskers.length} models`);
  await shot(page.locator('#board-panel'), 'leaderboard.png');

  // Panels of endpoints the ranker has are drawn; the others are hidden.
  const historyStatus = await status(page, '/v1/leaderboard/history');
  if (historyStatus === 200) {
    await page.waitForFunction(() => document.querySelectorAll('#history-chart g[data-model] path.series').length >= 3, null, { timeout: 30000 });
    await shot(page.locator('#history-panel'), 'history.png');
  } else {
    await page.waitForFunction(() => document.querySelector('#history-panel').hidden, null, { timeout: 30000 });
  }
  console.log(`history: ranker answered ${historyStatus}, panel ${historyStatus === 200 ? 'drawn' : 'hidden'}`);
  const h2hStatus = await status(page, '/v1/leaderboard/head-to-head');
  if (h2hStatus === 200) {
    await page.waitForFunction(() => document.querySelectorAll('#h2h-chart g.cell').length >= 4, null, { timeout: 30000 });
    const cells = await page.$$eval('#h2h-chart g.cell', (gs) => gs.map(g => ({ games: g.dataset.games, shown: g.querySelector('text.count')?.textContent })));
    if (cells.some(c => c.games !== c.shown || Number(c.games) < 1)) fail(`head-to-head cells without their counts: ${JSON.stringify(cells)}`);
    console.log(`head-to-head cells: ${cells.length}`);
    await shot(page.locator('#h2h-panel'), 'head-to-head.png');
  } else {
    await page.waitForFunction(() => document.querySelector('#h2h-panel').hidden, null, { timeout: 30000 });
  }
  console.log(`head-to-head: ranker answered ${h2hStatus}, panel ${h2hStatus === 200 ? 'drawn' : 'hidden'}`);
  if (await status(page, '/v1/leaderboards') === 200) {
    await page.waitForFunction(() => [...document.querySelectorAll('#game-select option')].some(o => o.value === 'chess'), null, { timeout: 30000 });
    await page.selectOption('#game-select', 'chess');
    await page.waitForFunction(() => document.querySelector('#board-meta').textContent.includes('chess')
      && document.querySelectorAll('#board-chart g.whisker').length === 2, null, { timeout: 30000 });
    console.log(`per-game board: ${await page.locator('#board-meta').textContent()}`);
    await page.selectOption('#game-select', '');
  }

  // A run: its URL, its events, its own error event shown and never taken for a dropped connection.
  const item = page.locator(`#runs li[data-run="${runId}"]`);
  await item.waitFor({ timeout: 30000 });
  await item.click();
  if (new URL(page.url()).searchParams.get('run') !== runId) fail(`the URL does not name the run: ${page.url()}`);
  await page.waitForFunction(() => document.querySelectorAll('#events li[data-id]').length >= 6, null, { timeout: 30000 });
  const shownError = await page.locator('#events li.error').textContent({ timeout: 10000 });
  if (!shownError.includes('engine desync')) fail(`the run's error event is shown as '${shownError}'`);
  const mistaken = await page.evaluate(() => window.errorDispatches.filter((d) => d.data !== null));
  if (mistaken.length > 0) fail(`an event reached EventSource's error listeners: ${JSON.stringify(mistaken)}`);
  await page.waitForFunction(() => document.querySelector('#connection').className === 'live'
    && document.querySelector('#run-state').className === 'live', null, { timeout: 10000 });
  console.log(`connection: ${await page.locator('#connection').textContent()}, run: ${await page.locator('#run-state').textContent()}`);

  // The type filter hides the other types; a click shows an event's raw JSON.
  await page.selectOption('#type-filter', 'turn_start');
  const visible = await page.$$eval('#events li[data-id]', (lis) => lis.filter(li => getComputedStyle(li).display !== 'none').map(li => li.dataset.type));
  if (visible.length !== 3 || visible.some(t => t !== 'turn_start')) fail(`the filter shows ${JSON.stringify(visible)}`);
  await page.selectOption('#type-filter', '');
  await page.locator('#events li.game_start').click();
  const raw = await page.locator('#events li.game_start pre.raw').textContent();
  if (!raw.includes('"type": "game_start"') || !raw.includes('"stream_id"')) fail(`the raw event is ${raw}`);
  await shot(page, 'run.png');

  // A long run, scrolled up by its reader: new events must not pull the list down.
  await page.locator('#runs li[data-run="run-long"]').click();
  await page.waitForFunction(() => document.querySelectorAll('#events li[data-id]').length >= 60, null, { timeout: 30000 });
  const overflows = await page.$eval('#events', (list) => { list.scrollTop = 0; return list.scrollHeight > list.clientHeight + 100; });
  if (!overflows) fail('the long run does not overflow its list');

  // The gateway restarts: the open page reconnects and goes on without a reload.
  await page.evaluate(() => {
    window.notReloaded = true;
    window.seenStates = new Set();
    new MutationObserver(() => window.seenStates.add(document.querySelector('#connection').className))
      .observe(document.querySelector('#connection'), { attributes: true, childList: true, characterData: true, subtree: true });
  });
  const gamesBefore = parseInt(await page.locator('#board-meta').textContent(), 10);
  const eventsBefore = await page.locator('#events li[data-id]').count();
  console.log('RESTART');
  await told('POSTED');
  await page.waitForFunction((n) => document.querySelectorAll('#events li[data-id]').length > n, eventsBefore, { timeout: 60000 });
  await page.waitForFunction((n) => parseInt(document.querySelector('#board-meta').textContent, 10) > n, gamesBefore, { timeout: 60000 });
  await page.locator('#runs li[data-run$="-after-restart"]').waitFor({ timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('#connection').className === 'live', null, { timeout: 30000 });
  const scroll = await page.$eval('#events', (list) => list.scrollTop);
  if (scroll > 1) fail(`new events pulled a reader who had scrolled up down to ${scroll}`);
  if (await page.locator('#new-events').isHidden()) fail('no "new events" button while scrolled up');
  await page.locator('#new-events').click();
  await page.waitForFunction(() => {
    const list = document.querySelector('#events');
    return list.scrollHeight - list.scrollTop - list.clientHeight < 24 && document.querySelector('#new-events').hidden;
  }, null, { timeout: 10000 });
  console.log('scrolled up: kept in place, "new events" shown; clicked: at the bottom');
  const survived = await page.evaluate(() => ({ notReloaded: window.notReloaded === true, states: [...window.seenStates] }));
  if (!survived.notReloaded) fail('the page was reloaded');
  if (!survived.states.some(s => s === 'reconnecting' || s === 'offline')) fail(`the connection state never showed the restart: ${survived.states}`);
  console.log(`after the restart: states ${survived.states.join(' → ')}; ${await page.locator('#events li[data-id]').count()} events; ${await page.locator('#board-meta').textContent()}`);
  await page.close();

  // The deep link opens the run directly.
  const linked = await newPage();
  await linked.goto(url(`run=${encodeURIComponent(runId)}`));
  await linked.waitForFunction((id) => document.querySelector('#run-title').textContent === id
    && document.querySelectorAll('#events li[data-id]').length >= 6, runId, { timeout: 30000 });
  console.log(`deep link: ${await linked.locator('#events li[data-id]').count()} events of ${runId}`);
  await linked.close();

  // The replay deep link: events in order, at 4× their original 1 s pace, then the end.
  const replay = await newPage();
  await replay.addInitScript(() => {
    window.arrivals = [];
    document.addEventListener('DOMContentLoaded', () => new MutationObserver((changes) => {
      for (const change of changes) {
        for (const li of change.addedNodes) if (li.dataset?.id) window.arrivals.push({ seq: li.envelope.seq, at: performance.now() });
      }
    }).observe(document.querySelector('#events'), { childList: true }));
  });
  await replay.goto(url(`run=${encodeURIComponent(replayRunId)}&replay=1&speed=4`));
  await replay.waitForFunction(() => document.querySelectorAll('#events li[data-id]').length >= 3, null, { timeout: 30000 });
  await shot(replay, 'replay.png');
  await replay.waitForFunction(() => document.querySelector('#events').dataset.replayEnded === 'true', null, { timeout: 60000 });
  const arrivals = await replay.evaluate(() => window.arrivals);
  const seqs = arrivals.map(a => a.seq);
  const expected = Array.from({ length: Number(replayEvents) }, (_, i) => i + 1);
  if (JSON.stringify(seqs) !== JSON.stringify(expected)) fail(`the replay showed ${JSON.stringify(seqs)}`);
  // A busy page or machine only delays what it shows (and the replay then sends what has come due
  // at once): the pace shows as no event showing sooner than its time after the replay was opened
  // (250 ms apart at 4×), and the whole replay not taking far longer.
  const opened = (await replay.evaluate(() => window.opened)).filter(o => o.url.includes('/replay?speed=4')).at(-1).at;
  const gaps = arrivals.slice(1).map((a, i) => a.at - arrivals[i].at);
  const whole = arrivals.at(-1).at - opened;
  console.log(`replay gaps: ${gaps.map(g => g.toFixed(0)).join(', ')} ms; whole ${whole.toFixed(0)} ms`);
  arrivals.forEach((a, k) => { if (a.at - opened < 0.8 * 250 * k) fail(`event ${k + 1} of the replay showed ${(a.at - opened).toFixed(0)} ms after it was opened, before its time`); });
  if (whole > 20000) fail(`the replay took ${whole} ms`);
  const state = await replay.locator('#run-state').textContent();
  if (!state.includes('replay ended')) fail(`the run state says '${state}' at the end of the replay`);
  if (new URL(replay.url()).searchParams.get('speed') !== '4') fail(`the replay's URL is ${replay.url()}`);
  // The scrubber: jumping to event 5 replays from event 6.
  await replay.evaluate(() => { window.arrivals = []; });
  await replay.locator('#scrubber').evaluate((s) => { s.value = 5; s.dispatchEvent(new Event('change')); });
  await replay.waitForFunction(() => document.querySelector('#events').dataset.replayEnded === 'true', null, { timeout: 60000 });
  const jumped = await replay.evaluate(() => window.arrivals.map(a => a.seq));
  if (JSON.stringify(jumped) !== JSON.stringify(expected.slice(5))) fail(`after jumping to 5 the replay showed ${JSON.stringify(jumped)}`);
  console.log(`scrubbed to 5: replayed ${jumped.join(', ')}`);
  await shot(replay, 'replay-ended.png');
  await replay.close();
  console.log('DONE');
} finally {
  stdin.close();
  await browser.close();
}
