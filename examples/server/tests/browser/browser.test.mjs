// browser.test.mjs - the demo page in headless Chromium (Debian's, driven by
// playwright-core; no browser is downloaded), against the real sse-server.
//
//   node browser.test.mjs /path/to/sse-server
//
// Covers: the page loads without console errors and connects; a published
// notification shows as a toast and in the list, survives a reload; progress,
// update and system events; the publish form and its 400 path; a server
// restart, after which the page reconnects with Last-Event-ID and receives an
// event published before it got back; the polling fallback, both without
// EventSource and after repeated stream failures. A screenshot is saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, outputDir } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// A short heartbeat so that latency shows quickly.
const SERVER_ARGS = ['--heartbeat-ms', '1000'];

let server;
let browser;

before(async () => {
  fs.mkdirSync(outputDir, { recursive: true });
  server = await startServer({ args: SERVER_ARGS, name: 'browser' });
  // Running as root needs --no-sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** A fresh context and page; console errors and page errors are collected. */
async function openPage(init) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push('console: ' + msg.text() + ' at ' + JSON.stringify(msg.location()));
  });
  page.on('pageerror', (err) => errors.push('page error: ' + err.message));
  return { context, page, errors };
}

const state = (page) => page.locator('#conn-state').getAttribute('data-state');

async function waitForState(page, want, ms = 10000) {
  await page.locator(`#conn-state[data-state="${want}"]`).waitFor({ timeout: ms });
}

function item(page, id) {
  return page.locator(`[data-testid="notification-item"][data-id="${id}"]`);
}

async function screenshot(page, name) {
  const file = path.join(outputDir, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log('# screenshot: ' + file);
}

test('the page loads, connects and shows a published notification', async () => {
  const { context, page, errors } = await openPage();
  try {
    const res = await page.goto(server.url + '/');
    assert.equal(res.status(), 200);
    await waitForState(page, 'open');
    // A heartbeat carries the server time: the latency fields fill in.
    await page.locator('#latency-last:not(:text("–"))').waitFor({ timeout: 5000 });
    assert.match(await page.locator('#latency-avg').textContent(), /^-?\d+ ms$/);

    const sent = { notificationType: 'success', title: 'Build 42 passed', message: 'All 311 tests green', duration: 60000 };
    const { id, recipients } = await server.notify(sent);
    assert.ok(id, 'publish answers with the event id');
    assert.ok(recipients >= 1, 'the page is a recipient, got ' + recipients);

    const toast = page.locator(`[data-testid="toast"][data-id="${id}"]`);
    await toast.waitFor({ timeout: 5000 });
    assert.equal(await toast.getAttribute('data-type'), 'success');
    assert.equal(await toast.locator('.title').textContent(), sent.title);
    assert.equal(await toast.locator('.message').textContent(), sent.message);

    const entry = item(page, id);
    await entry.waitFor();
    assert.equal(await entry.getAttribute('data-type'), 'success');
    assert.equal(await entry.getAttribute('data-read'), 'false');
    assert.equal(await entry.locator('.title').textContent(), sent.title);
    assert.equal(await entry.locator('.message').textContent(), sent.message);
    assert.equal(await page.locator('#unread-count').textContent(), '1');
    assert.equal(await page.locator('#last-event-id').textContent(), id);

    // A short duration dismisses the toast by itself; the list keeps the entry.
    const brief = await server.notify({ notificationType: 'warning', title: 'Disk 91% full', message: '/var', duration: 300 });
    await page.locator(`[data-testid="toast"][data-id="${brief.id}"]`).waitFor();
    await page.locator(`[data-testid="toast"][data-id="${brief.id}"]`).waitFor({ state: 'detached', timeout: 5000 });
    await item(page, brief.id).waitFor();
    assert.equal(await page.locator('#unread-count').textContent(), '2');

    // Mark one read, filter by type, and the store survives a reload.
    await item(page, id).locator('[data-testid="mark-read"]').click();
    assert.equal(await item(page, id).getAttribute('data-read'), 'true');
    assert.equal(await page.locator('#unread-count').textContent(), '1');
    await page.locator('#notification-filter').selectOption('warning');
    assert.equal(await page.locator('[data-testid="notification-item"]').count(), 1);
    await page.locator('#notification-filter').selectOption('all');
    await page.reload();
    await waitForState(page, 'open');
    assert.equal(await item(page, id).getAttribute('data-read'), 'true');
    assert.equal(await item(page, brief.id).getAttribute('data-read'), 'false');
    assert.equal(await page.locator('[data-testid="notification-item"]').count(), 2,
      'a reload shows each stored notification once, replay included');
    await page.locator('#mark-all-read').click();
    assert.equal(await page.locator('#unread-count').textContent(), '0');
    await item(page, brief.id).locator('[data-testid="dismiss"]').click();
    await item(page, brief.id).waitFor({ state: 'detached' });

    // Progress bars by operation id, data changes, a system banner.
    for (const progress of [10, 55])
      assert.ok((await server.publish({ event: 'progress', data: { operationId: 'export-7', progress, message: 'exporting' } })).status < 300);
    const bar = page.locator('[data-testid="progress-item"][data-operation-id="export-7"]');
    await page.locator('[data-testid="progress-item"][data-operation-id="export-7"][data-progress="55"]').waitFor();
    assert.equal(await bar.locator('progress').evaluate((e) => e.value), 55);
    await server.publish({ event: 'progress', data: { operationId: 'export-7', progress: 100, message: 'done' } });
    await page.locator('[data-testid="progress-item"][data-operation-id="export-7"].complete').waitFor();
    assert.equal(await page.locator('[data-testid="progress-item"]').count(), 1);

    await server.publish({ event: 'update', data: { entity: 'invoice', action: 'created', payload: { id: 17 } } });
    await page.locator('[data-testid="update-item"][data-entity="invoice"][data-action="created"]').waitFor();

    await server.publish({ event: 'system', data: { message: 'Maintenance at 22:00 UTC', level: 'warning' } });
    await page.locator('#system-banner:not([hidden])').waitFor();
    assert.equal(await page.locator('#system-banner-text').textContent(), 'Maintenance at 22:00 UTC');

    // The page's own publish form: a good request, then the server's 400.
    await page.locator('#publish-type').selectOption('error');
    await page.locator('#publish-title').fill('From the form');
    await page.locator('#publish-message').fill('typed in the page');
    await page.locator('#publish-submit').click();
    await page.locator('[data-testid="toast"][data-type="error"] .title:text-is("From the form")').waitFor();
    assert.match(await page.locator('#publish-result').textContent(), /^Published \S+ to \d+ client/);

    await page.evaluate(() => {
      const option = document.createElement('option');
      option.value = option.textContent = 'bogus';
      document.getElementById('publish-type').append(option);
    });
    await page.locator('#publish-type').selectOption('bogus');
    await page.locator('#publish-submit').click();
    await page.locator('#publish-result[data-status="400"]').waitFor({ timeout: 5000 });
    const shown = await page.locator('#publish-result').textContent();
    const error = JSON.parse(shown.slice(shown.indexOf('{')));
    assert.ok(error.error, 'the 400 body has "error": ' + shown);
    assert.match(String(error.field), /notificationType/, 'the 400 names the field: ' + shown);
    // A failed fetch is logged by Chromium as a console error; that one is expected.
    const unexpected = errors.filter((e) => !/status of 400/.test(e));
    await screenshot(page, 'sse-demo-page.png');
    assert.deepEqual(unexpected, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('after a server restart the page resumes with Last-Event-ID', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');
    const before = await server.notify({ notificationType: 'info', title: 'Before the restart', message: 'seen live', duration: 0 });
    await item(page, before.id).waitFor();
    assert.equal(await page.evaluate(() => window.sseDemo.lastEventId), before.id);

    // Hold the page's reconnect until the event is published, so that the page
    // can only get it by replay, never live. The headers as sent are recorded.
    const stream = /\/api\/sse(\?.*)?$/;
    let release;
    const gate = new Promise((resolve) => { release = resolve; });
    await page.route(stream, async (route) => {
      await gate;
      await route.continue();
    });
    // The headers as sent on the wire, from the DevTools protocol: Playwright's
    // own view of a routed request does not include Last-Event-ID.
    const reconnects = [];
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.requestWillBeSentExtraInfo', ({ headers }) => {
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      if (h.accept === 'text/event-stream') reconnects.push(h);
    });

    const port = server.port;
    await server.stop();
    await waitForState(page, 'reconnecting');

    server = await startServer({ port, args: SERVER_ARGS, name: 'browser-restarted' });
    const missed = await server.notify({ notificationType: 'warning', title: 'While you were away', message: 'published before the page reconnected', duration: 0 });
    assert.equal(missed.recipients, 0, 'nobody was connected when it was published');
    release();

    try {
      await item(page, missed.id).waitFor({ timeout: 15000 });
    } catch (err) {
      const banner = await page.locator('#system-banner-text').textContent();
      const log = await page.locator('#event-log').innerText();
      throw new Error('the page did not receive the event published while it was away (' + missed.id + ').\n' +
        'It made ' + reconnects.length + ' stream request(s) since the restart; the last id it had seen was ' + before.id + '.\n' +
        'For this to work the restarted server must still answer that id: keep the replay history and the ' +
        'id sequence across a restart, or replay its whole history to an id of an earlier epoch.\n' +
        'Banner: ' + banner + '\nPage log:\n' + log + '\n--- server output ---\n' + server.tail());
    }
    await waitForState(page, 'open');
    assert.ok(reconnects.length >= 1, 'the page reconnected');
    assert.equal(reconnects[reconnects.length - 1]['last-event-id'], before.id, 'the reconnect carried Last-Event-ID');
    assert.equal(await page.locator('#reconnect-count').textContent(), '1');
    assert.equal(await page.locator('[data-testid="notification-item"]').count(), 2, 'nothing shown twice');
    await page.unroute(stream);
    // While the server was down, Chromium logged failed connections; anything else is an error.
    const unexpected = errors.filter((e) => !/ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING|net::/.test(e));
    assert.deepEqual(unexpected, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('a notification without a title shows its message, with no empty title', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');
    // The notification format makes the title optional.
    const { id } = await server.notify({ notificationType: 'info', message: 'Backup finished', duration: 60000 });
    const toast = page.locator(`[data-testid="toast"][data-id="${id}"]`);
    await toast.waitFor({ timeout: 5000 });
    assert.equal(await toast.locator('.title').count(), 0, 'no empty title element');
    assert.equal(await toast.locator('.message').textContent(), 'Backup finished');
    assert.equal(await toast.locator('[data-testid="toast-close"]').getAttribute('aria-label'), 'Close: Backup finished');
    const entry = item(page, id);
    await entry.waitFor();
    assert.equal(await entry.locator('.title').count(), 0);
    assert.equal(await entry.locator('.message').textContent(), 'Backup finished');
    assert.equal(await entry.locator('[data-testid="dismiss"]').getAttribute('aria-label'), 'Dismiss: Backup finished');

    // The publish form sends no title when its field is empty, and the server takes it.
    await page.locator('#publish-title').fill('');
    await page.locator('#publish-message').fill('Sent without a title');
    await page.locator('#publish-submit').click();
    await page.locator('#publish-result[data-status="202"]').waitFor({ timeout: 5000 });
    await page.locator('[data-testid="toast"] .message:text-is("Sent without a title")').waitFor({ timeout: 5000 });
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('without EventSource the page polls and shows published notifications once', async () => {
  const { context, page, errors } = await openPage(() => { delete window.EventSource; });
  try {
    await page.goto(server.url + '/?pollMs=200');
    await waitForState(page, 'polling');
    const first = await server.notify({ notificationType: 'info', title: 'Polled', message: 'via /api/sse/poll', duration: 0 });
    const second = await server.notify({ notificationType: 'error', title: 'Polled too', message: 'second', duration: 0 });
    await item(page, first.id).waitFor({ timeout: 5000 });
    await item(page, second.id).waitFor({ timeout: 5000 });
    // Several more polls pass: each event is still shown once.
    await page.waitForTimeout(800);
    assert.equal(await item(page, first.id).count(), 1);
    assert.equal(await item(page, second.id).count(), 1);
    assert.equal(await page.locator('#last-event-id').textContent(), second.id);
    assert.equal(await state(page), 'polling');
    await screenshot(page, 'sse-demo-page-polling.png');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('a stream that keeps failing falls back to polling, then streams again', async () => {
  const { context, page } = await openPage();
  try {
    // Every stream request fails until the route is removed.
    const failing = /\/api\/sse(\?.*)?$/;
    await page.route(failing, (route) => route.fulfill({ status: 503, contentType: 'text/plain', body: 'down' }));
    await page.goto(server.url + '/?pollMs=200&streamRetryMs=1500&reopenMs=200');
    await waitForState(page, 'polling', 15000);
    const polled = await server.notify({ notificationType: 'success', title: 'While polling', message: 'fallback', duration: 0 });
    await item(page, polled.id).waitFor({ timeout: 5000 });

    await page.unroute(failing);
    await waitForState(page, 'open', 10000);
    const streamed = await server.notify({ notificationType: 'success', title: 'Streaming again', message: 'back', duration: 0 });
    await item(page, streamed.id).waitFor({ timeout: 5000 });
    assert.equal(await item(page, polled.id).count(), 1, 'the stream taking over shows nothing twice');
  } finally {
    await context.close();
  }
});
