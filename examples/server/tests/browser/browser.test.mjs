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
// EventSource and after repeated stream failures; /sse-demo and the dashboard
// panel; success, error and custom events; notification actions; search,
// clear all and the auto-dismiss setting; the form publishing every type;
// heartbeat latency with ping and {"serverTime":…}. Screenshots are saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, outputDir } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// A short heartbeat so that latency shows quickly. No dashboard ticker: the tests
// publish their own dashboardUpdate and look for its figures, which the ticker's
// real ones (every 5 s by default) would replace at a random moment. The ticker is
// tested in-process (stream_format_test.cpp) and by seeds/seed-004.
const SERVER_ARGS = ['--heartbeat-ms', '1000', '--dashboard-interval', '0'];

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
    // The dashboard panel's stream reconnects too: only /api/sse counts, known by
    // the URL that Network.requestWillBeSent gives for the same request id.
    const sent = [];
    const urls = new Map();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.requestWillBeSent', ({ requestId, request }) => urls.set(requestId, request.url));
    cdp.on('Network.requestWillBeSentExtraInfo', ({ requestId, headers }) => {
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      if (h.accept === 'text/event-stream') sent.push({ requestId, h });
    });
    const streamRequests = () =>
      sent.filter((r) => /\/api\/sse(\?|$)/.test(urls.get(r.requestId) || '')).map((r) => r.h);
    let reconnects = [];

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
      reconnects = streamRequests();
      throw new Error('the page did not receive the event published while it was away (' + missed.id + ').\n' +
        'It made ' + reconnects.length + ' stream request(s) since the restart; the last id it had seen was ' + before.id + '.\n' +
        'For this to work the restarted server must still answer that id: keep the replay history and the ' +
        'id sequence across a restart, or replay its whole history to an id of an earlier epoch.\n' +
        'Banner: ' + banner + '\nPage log:\n' + log + '\n--- server output ---\n' + server.tail());
    }
    await waitForState(page, 'open');
    reconnects = streamRequests();
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

/** Applies the page's subscription settings (each field given) and waits until the stream is open again. */
async function applySettings(page, fields) {
  const ids = { userId: '#settings-user', channels: '#settings-channels', events: '#settings-events',
                autoDismissMs: '#settings-dismiss' };
  for (const [k, v] of Object.entries(fields)) await page.locator(ids[k]).fill(String(v));
  await page.locator('#settings-apply').click();
  await waitForState(page, 'open');
}

test('/sse-demo is the page, and its dashboard panel shows dashboardUpdate events', async () => {
  const { context, page, errors } = await openPage();
  try {
    const res = await page.goto(server.url + '/sse-demo');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/html/);
    assert.equal(await res.text(), (await server.get('/')).text, '/sse-demo serves the page of /');
    await waitForState(page, 'open');
    await page.locator('#dashboard-state[data-state="open"]').waitFor({ timeout: 10000 });

    // Anyone who may publish may feed the dashboard: channel "dashboard".
    const update = { connections: 4242, uniqueUsers: 17, eventsPerSecond: 2.5, totalEventsSent: 9001,
                     timestamp: Date.now() };
    const r = await server.publish({ event: 'dashboardUpdate', channels: ['dashboard'], data: update });
    assert.ok(r.status >= 200 && r.status < 300, 'publish answered ' + r.status + ': ' + r.text);
    assert.ok(r.body.recipients >= 1, 'the page\'s dashboard stream is a recipient: ' + r.text);
    await page.locator('#dash-connections:text-is("4242")').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#dash-unique-users').textContent(), '17');
    assert.equal(await page.locator('#dash-events-per-second').textContent(), '2.5');
    assert.equal(await page.locator('#dash-total-events-sent').textContent(), '9001');
    assert.notEqual(await page.locator('#dash-updated').textContent(), '–');
    // The main stream does not follow "dashboard": nothing of it in the notification list or log.
    assert.equal(await page.locator('#event-log li[data-type="dashboardUpdate"]').count(), 0);
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('success, error and custom events show in the page, not only in the log', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');

    // 001's successNotification and errorNotification.
    const ok = await server.publish({ event: 'success', data: { message: 'Export finished', data: { rows: 10 } } });
    assert.ok(ok.status < 300, ok.text);
    await item(page, ok.body.id).waitFor({ timeout: 5000 });
    assert.equal(await item(page, ok.body.id).getAttribute('data-type'), 'success');
    assert.equal(await item(page, ok.body.id).locator('.message').textContent(), 'Export finished');
    await page.locator(`[data-testid="toast"][data-id="${ok.body.id}"][data-type="success"]`).waitFor();

    // An "error" event is data: three of them neither count as stream failures nor start polling.
    const failed = [];
    for (const n of [1, 2, 3]) {
      const r = await server.publish({ event: 'error', data: { message: 'Export ' + n + ' failed' } });
      assert.ok(r.status < 300, r.text);
      failed.push(r.body.id);
    }
    for (const id of failed) await item(page, id).waitFor({ timeout: 5000 });
    assert.equal(await item(page, failed[0]).getAttribute('data-type'), 'error');
    assert.equal(await item(page, failed[2]).locator('.message').textContent(), 'Export 3 failed');
    assert.equal(await state(page), 'open', 'error events are not connection errors');

    // 004's notification shape: type and body, read as the title and message.
    const report = await server.notify({ id: 'notification-123', type: 'REPORT_APPROVED', title: 'Report Approved',
                                         body: 'Your report has been approved', timestamp: Date.now() });
    await item(page, report.id).waitFor({ timeout: 5000 });
    assert.equal(await item(page, report.id).locator('.title').textContent(), 'Report Approved');
    assert.equal(await item(page, report.id).locator('.message').textContent(), 'Your report has been approved');
    assert.equal(await item(page, report.id).getAttribute('data-type'), 'info');

    // A custom name the page listens for by default (001's announcement)...
    const news = await server.publish({ event: 'announcement', data: { message: 'New feature released!' } });
    const other = page.locator(`[data-testid="other-item"][data-event="announcement"][data-id="${news.body.id}"]`);
    await other.waitFor({ timeout: 5000 });
    assert.deepEqual(JSON.parse(await other.locator('code').textContent()), { message: 'New feature released!' });
    // ...and one added in the settings.
    await applySettings(page, { events: 'announcement, build-finished' });
    const built = await server.publish({ event: 'build-finished', data: 'build 42' });
    await page.locator(`[data-testid="other-item"][data-event="build-finished"][data-id="${built.body.id}"] code:text-is("build 42")`)
      .waitFor({ timeout: 5000 });

    // 003's refusal of a stream stops the page instead of reconnecting in a loop.
    await server.publish({ event: 'error', data: { error: 'Unauthorized', code: 401 } });
    await waitForState(page, 'refused');
    assert.match(await page.locator('#system-banner-text').textContent(), /Unauthorized \(401\)/);
    await screenshot(page, 'sse-demo-page-events.png');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('notification actions: a url opens, an event is sent back to the server and comes back', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');
    await applySettings(page, { userId: 'alice' });
    const actions = [{ label: 'Track', url: '/health' }, { label: 'Undo', event: 'order-undo', data: { orderId: 1042 } }];
    const { id } = await server.notify({ notificationType: 'info', title: 'Order shipped', message: '#1042', duration: 0, actions },
                                       { userIds: ['alice'] });
    const entry = item(page, id);
    await entry.waitFor({ timeout: 5000 });
    const buttons = entry.locator('[data-testid="notification-action"]');
    assert.deepEqual(await buttons.allTextContents(), ['Track', 'Undo']);
    assert.deepEqual(await buttons.evaluateAll((bs) => bs.map((b) => b.dataset.kind)), ['url', 'event']);
    const toast = page.locator(`[data-testid="toast"][data-id="${id}"]`);
    assert.equal(await toast.locator('[data-testid="notification-action"]').count(), 2, 'the toast offers them too');

    const [popup] = await Promise.all([
      context.waitForEvent('page'),
      entry.locator('[data-testid="notification-action"][data-kind="url"]').click(),
    ]);
    await popup.waitForLoadState();
    assert.equal(new URL(popup.url()).pathname, '/health');
    await popup.close();
    assert.equal(await entry.getAttribute('data-read'), 'true', 'picking an action marks it read');

    const [req] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/sse/actions'),
      entry.locator('[data-testid="notification-action"][data-kind="event"]').click(),
    ]);
    assert.equal(new URL(req.url()).searchParams.get('userId'), 'alice', 'anonymous mode names the user in the query');
    assert.deepEqual(JSON.parse(req.postData()), { event: 'order-undo', notificationId: id, label: 'Undo', data: { orderId: 1042 } });
    await page.locator('#action-result[data-status="202"]').waitFor({ timeout: 5000 });
    // The server publishes the action to alice's streams; the page listens for its name.
    const echo = page.locator('[data-testid="other-item"][data-event="order-undo"]');
    await echo.waitFor({ timeout: 5000 });
    assert.deepEqual(JSON.parse(await echo.locator('code').textContent()),
      { notificationId: id, label: 'Undo', userId: 'alice', data: { orderId: 1042 } });

    // Without a user the server cannot say whose streams get it: its 400 shows.
    await applySettings(page, { userId: '' });
    const second = await server.notify({ message: 'no user', duration: 0, actions: [{ label: 'Ack', event: 'ack' }] });
    await item(page, second.id).locator('[data-testid="notification-action"]').click();
    await page.locator('#action-result[data-status="400"]').waitFor({ timeout: 5000 });
    const unexpected = errors.filter((e) => !/status of 400/.test(e));
    assert.deepEqual(unexpected, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('search, clear all and the default auto-dismiss', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');
    await applySettings(page, { autoDismissMs: 300 });

    // A notification without a duration closes after the page's setting; autoDismiss false stays.
    const stays = await server.notify({ notificationType: 'warning', title: 'Disk full', message: 'db-1 at 97%', autoDismiss: false });
    const goes = await server.notify({ notificationType: 'info', title: 'Disk replaced', message: 'db-2 is back' });
    await page.locator(`[data-testid="toast"][data-id="${goes.id}"]`).waitFor({ timeout: 5000 });
    await page.locator(`[data-testid="toast"][data-id="${goes.id}"]`).waitFor({ state: 'detached', timeout: 3000 });
    assert.equal(await page.locator(`[data-testid="toast"][data-id="${stays.id}"]`).count(), 1,
      'autoDismiss: false keeps the toast');
    const other = await server.notify({ notificationType: 'success', title: 'Backup finished', message: 'nightly', duration: 0 });
    await item(page, other.id).waitFor();

    const shown = () => page.locator('[data-testid="notification-item"]').evaluateAll((els) => els.map((e) => e.dataset.id));
    await page.locator('#notification-search').fill('disk');
    assert.deepEqual(await shown(), [goes.id, stays.id], 'title words match, any case');
    await page.locator('#notification-search').fill('disk db-1');
    assert.deepEqual(await shown(), [stays.id], 'every word must match, messages included');
    await page.locator('#notification-search').fill('nothing like this');
    assert.deepEqual(await shown(), []);
    assert.equal(await page.locator('#notification-empty').isVisible(), true);
    await page.locator('#notification-search').fill('');
    assert.deepEqual(await shown(), [other.id, goes.id, stays.id]);

    await page.locator('#clear-notifications').click();
    assert.deepEqual(await shown(), []);
    assert.equal(await page.locator('#unread-count').textContent(), '0');
    await page.reload();
    await waitForState(page, 'open');
    assert.deepEqual(await shown(), [], 'clear all is stored');
    assert.equal(await page.locator('#settings-dismiss').inputValue(), '300', 'the setting is stored');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('the publish form publishes every type the server accepts', async () => {
  const { context, page, errors } = await openPage();
  try {
    await page.goto(server.url + '/');
    await waitForState(page, 'open');
    await page.locator('#dashboard-state[data-state="open"]').waitFor({ timeout: 10000 });
    const result = page.locator('#publish-result');
    const submit = async () => {
      await result.evaluate((e) => { e.textContent = ''; e.dataset.status = ''; });
      await page.locator('#publish-submit').click();
      await page.locator('#publish-result:not([data-status=""])').waitFor({ timeout: 5000 });
      const status = await result.getAttribute('data-status');
      assert.match(status, /^2/, 'published: ' + await result.textContent());
    };

    await page.locator('#publish-event').selectOption('success');
    assert.equal(await page.locator('#publish-type').isVisible(), false, 'notificationType is for notifications only');
    await page.locator('#publish-message').fill('Saved from the form');
    await submit();
    await page.locator('[data-testid="notification-item"][data-type="success"] .message:text-is("Saved from the form")').waitFor();

    await page.locator('#publish-event').selectOption('error');
    await page.locator('#publish-message').fill('Failed from the form');
    await submit();
    await page.locator('[data-testid="notification-item"][data-type="error"] .message:text-is("Failed from the form")').waitFor();

    await page.locator('#publish-event').selectOption('system');
    await page.locator('#publish-level').selectOption('critical');
    await page.locator('#publish-message').fill('Going down now');
    await submit();
    await page.locator('#system-banner[data-level="critical"]:not([hidden])').waitFor();
    assert.equal(await page.locator('#system-banner-text').textContent(), 'Going down now');

    // The JSON-typed events start from a template.
    await page.locator('#publish-event').selectOption('update');
    assert.equal(JSON.parse(await page.locator('#publish-data').inputValue()).entity, 'order');
    await submit();
    await page.locator('[data-testid="update-item"][data-entity="order"][data-action="created"]').waitFor();

    await page.locator('#publish-event').selectOption('progress');
    await page.locator('#publish-data').fill('{"operationId":"form-op","progress":40}');
    await submit();
    await page.locator('[data-testid="progress-item"][data-operation-id="form-op"][data-progress="40"]').waitFor();

    await page.locator('#publish-event').selectOption('dashboardUpdate');
    await page.locator('#publish-data').fill('{"connections":31337,"uniqueUsers":1,"eventsPerSecond":0,"totalEventsSent":5}');
    await submit();
    await page.locator('#dash-connections:text-is("31337")').waitFor({ timeout: 5000 });

    await page.locator('#publish-event').selectOption('custom');
    await page.locator('#publish-custom-name').fill('deploy-started');
    await page.locator('#publish-data').fill('{"service":"api"}');
    await submit();
    await page.locator('[data-testid="other-item"][data-event="deploy-started"]').waitFor({ timeout: 5000 });

    await page.locator('#publish-data').fill('{not json');
    await page.locator('#publish-submit').click();
    await page.locator('#publish-result[data-status="form"]').waitFor();
    assert.equal(await page.locator('#publish-data').getAttribute('aria-invalid'), 'true');

    await page.locator('#publish-event').selectOption('notification');
    await page.locator('#publish-title').fill('With actions');
    await page.locator('#publish-message').fill('pick one');
    await page.locator('#publish-actions').fill('Open=/health, Undo=undo-it');
    await submit();
    const withActions = page.locator('[data-testid="notification-item"]', { has: page.locator('.title:text-is("With actions")') });
    await withActions.waitFor();
    assert.deepEqual(await withActions.locator('[data-testid="notification-action"]')
      .evaluateAll((bs) => bs.map((b) => b.textContent + ':' + b.dataset.kind)), ['Open:url', 'Undo:event']);

    // 001's demo endpoint, from the page.
    await page.locator('#demo-type').selectOption('broadcast');
    await result.evaluate((e) => { e.textContent = ''; e.dataset.status = ''; });
    await page.locator('#demo-submit').click();
    await page.locator('#publish-result:not([data-status=""])').waitFor({ timeout: 5000 });
    assert.match(await result.getAttribute('data-status'), /^2/, await result.textContent());
    await page.locator('[data-testid="notification-item"]', { has: page.locator('.title:text-is("Broadcast")') })
      .locator('.message:text-is("Test message")').waitFor({ timeout: 5000 });
    await screenshot(page, 'sse-demo-page-form.png');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('latency shows with a ping heartbeat whose data is {"serverTime":…}', async () => {
  const other = await startServer({ args: ['--heartbeat-ms', '300', '--heartbeat-event', 'ping', '--heartbeat-data', 'json'],
                                    name: 'browser-ping' });
  const { context, page, errors } = await openPage();
  try {
    await page.goto(other.url + '/');
    await waitForState(page, 'open');
    // "connected" gives one sample; more can only come from the pings.
    await page.waitForFunction(() => window.sseDemo.latencySamples >= 3, null, { timeout: 5000 });
    assert.match(await page.locator('#latency-last').textContent(), /^-?\d+ ms$/);
    assert.equal(await page.locator('#event-log li[data-type="ping"]').count(), 0, 'heartbeats stay out of the log');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
    await other.stop();
  }
});
