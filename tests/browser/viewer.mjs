// Opens the live viewer in headless Chromium, waits for a run's events and the leaderboard,
// checks that the run's own `error` event is shown and never reached EventSource's error
// listeners, and saves a screenshot. Usage: node viewer.mjs <viewer-url> <run-id> <min-events> <screenshot.png>
import { chromium } from 'playwright-core';

const [url, runId, minEvents, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  // Every dispatch of 'error' on any EventSource of the page: a connection error has no data,
  // an event frame named `error` would carry the envelope.
  await page.addInitScript(() => {
    window.errorDispatches = [];
    const Native = window.EventSource;
    window.EventSource = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('error', (e) => window.errorDispatches.push({ url: this.url, data: e.data ?? null }));
      }
    };
  });
  await page.goto(url);
  const run = page.locator('#runs li', { hasText: runId });
  await run.waitFor({ timeout: 30000 });
  await run.click();
  await page.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, Number(minEvents), { timeout: 30000 });
  const shownError = await page.locator('#events li.error').textContent({ timeout: 10000 });
  if (!shownError.includes('engine desync')) throw new Error(`the run's error event is shown as '${shownError}'`);
  const mistaken = await page.evaluate(() => window.errorDispatches.filter((d) => d.data !== null));
  if (mistaken.length > 0) throw new Error(`an event reached EventSource's error listeners: ${JSON.stringify(mistaken)}`);
  await page.waitForFunction(() => document.querySelector('#connection')?.className === 'live', null, { timeout: 10000 });
  console.log(`error event shown: ${shownError}; connection: ${await page.locator('#connection').textContent()}`);
  const before = await page.locator('#board tbody tr').count();
  console.log(`events shown: ${await page.locator('#events li').count()}, leaderboard rows: ${before}`);
  // The next game changes the leaderboard; the test posts it once it reads this line.
  console.log('READY');
  await page.waitForFunction(() => document.querySelector('#board-meta')?.textContent?.startsWith('2 games'), null, { timeout: 60000 });
  console.log(`leaderboard: ${await page.locator('#board-meta').textContent()}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
}
