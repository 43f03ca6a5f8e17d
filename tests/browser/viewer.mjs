// Opens the live viewer in headless Chromium, waits for a run's events and the leaderboard,
// and saves a screenshot. Usage: node viewer.mjs <viewer-url> <run-id> <min-events> <screenshot.png>
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
  await page.goto(url);
  const run = page.locator('#runs li', { hasText: runId });
  await run.waitFor({ timeout: 30000 });
  await run.click();
  await page.waitForFunction((n) => document.querySelectorAll('#events li').length >= n, Number(minEvents), { timeout: 30000 });
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
