// seed-000.test.mjs - seed 000 (the React client toolkit) against the real
// sse-server, in headless Chromium. Its EventStreamHandler is an EventSource
// with listeners per event type, per-type filters and reconnection; its
// NotificationCenter reads notifications of the shape
// {type, title, message, autoDismiss?, actions?}; its HealthMonitor measures
// latency from heartbeats; it falls back to polling. The test runs a minimal
// handler written from 000's interface and checks what it sees, then the demo
// page (this repository's NotificationCenter) with the same notifications.
//
//   node seed-000.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, launchBrowser, seedPage, seen, mustPost } from './seedlib.mjs';

// 000 needs no special flag; a short heartbeat and retry keep the test fast.
const ARGS = ['--heartbeat-ms', '300', '--retry-ms', '200'];

let server;
let browser;
before(async () => {
  server = await startServer({ args: ARGS, name: 'seed-000' });
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// 000's Notification, with both kinds of action.
const DEPLOYED = {
  type: 'success',
  title: 'Deploy finished',
  message: 'v1.2 is live',
  read: false,
  autoDismiss: true,
  actions: [{ label: 'Open', url: '/health' }, { label: 'Roll back', event: 'rollback', data: { version: '1.1' } }],
};

/** Installs window.handler: 000's EventStreamHandler reduced to what the server is asked for:
    connect(), per-type listeners with JSON data, addFilter/removeFilter, open count, and
    malformed data reported instead of thrown. What passes goes to window.got. */
async function installHandler(page, url, types) {
  await page.evaluate(({ url, types }) => {
    window.got = [];
    window.malformed = [];
    class EventStreamHandler {
      constructor(u) { this.url = u; this.filters = new Map(); this.opens = 0; }
      connect() {
        return new Promise((resolve) => {
          this.es = new EventSource(this.url);
          this.es.onopen = () => { this.opens += 1; resolve(); };
          for (const type of types) {
            this.es.addEventListener(type, (ev) => {
              if (!(ev instanceof MessageEvent)) return;
              let data;
              try {
                data = JSON.parse(ev.data);
              } catch {
                window.malformed.push({ type, raw: ev.data });
                return;
              }
              const f = this.filters.get(type);
              if (f && !f(data)) return;
              window.got.push({ type, data, id: ev.lastEventId, at: Date.now() });
            });
          }
        });
      }
      addFilter(type, fn) { this.filters.set(type, fn); }
      removeFilter(type) { this.filters.delete(type); }
      isConnected() { return this.es && this.es.readyState === EventSource.OPEN; }
    }
    window.handler = new EventStreamHandler(url);
    return window.handler.connect();
  }, { url, types });
}

const TYPES = ['connected', 'heartbeat', 'notification', 'system', 'metrics'];

test('000\'s EventStreamHandler: typed events, notifications of its shape, filters, heartbeats, reconnection', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    await installHandler(page, '/api/sse?userId=ada', TYPES);
    await seen(page, () => window.got.some((e) => e.type === 'connected'), null, 'connected');

    // Its Notification shape: the type in "type", no notificationType.
    await mustPost(server, '/api/sse/publish', { event: 'notification', data: DEPLOYED });
    const h = await seen(page, () => window.got.find((e) => e.type === 'notification' && e.data.title === 'Deploy finished')?.data,
                         null, 'the deploy notification');
    const n = await h.jsonValue();
    for (const [k, v] of Object.entries(DEPLOYED)) assert.deepEqual(n[k], v, k + ' is delivered as sent');
    assert.equal(n.notificationType, 'success', 'the type is also filled in as notificationType');

    // addFilter('notification', fn): the handler drops what fails it. A marker after the
    // filtered one proves it was delivered and dropped, not merely late.
    await page.evaluate(() => window.handler.addFilter('notification', (d) => d.type !== 'info'));
    for (const type of ['info', 'warning', 'error'])
      await mustPost(server, '/api/sse/publish', { event: 'notification', data: { type, title: 'T-' + type, message: type } });
    await seen(page, () => window.got.some((e) => e.data.title === 'T-error'), null, 'the error notification');
    const titles = await page.evaluate(() => window.got.filter((e) => e.type === 'notification').map((e) => e.data.title));
    assert.deepEqual(titles, ['Deploy finished', 'T-warning', 'T-error']);
    await page.evaluate(() => window.handler.removeFilter('notification'));
    await mustPost(server, '/api/sse/publish', { event: 'notification', data: { type: 'info', title: 'T-info-2', message: 'after' } });
    await seen(page, () => window.got.some((e) => e.data.title === 'T-info-2'), null, 'an info notification once the filter is gone');

    // Malformed data does not break the handler: a string is delivered as it was sent.
    await mustPost(server, '/api/sse/publish', { event: 'metrics', data: 'not json{' });
    await seen(page, () => window.malformed.some((m) => m.raw === 'not json{'), null, 'the malformed metrics event');

    // HealthMonitor: a heartbeat carries the server time, so latency can be computed.
    const beat = await (await seen(page, () => window.got.find((e) => e.type === 'heartbeat'), null, 'a heartbeat')).jsonValue();
    assert.equal(typeof beat.data, 'number');
    assert.ok(Math.abs(beat.at - beat.data) < 60000, 'latency from the heartbeat: ' + (beat.at - beat.data) + ' ms');

    // Reconnection: the server drops the connection; the EventSource comes back by itself,
    // sends Last-Event-ID, and gets what was published meanwhile, once.
    const hello = await page.evaluate(() => window.got.find((e) => e.type === 'connected').data);
    const kicked = await fetch(server.url + '/clients/' + hello.clientId, { method: 'DELETE' });
    assert.equal(kicked.status, 204);
    const missed = await mustPost(server, '/api/sse/publish', { event: 'notification', data: { type: 'warning', title: 'While away', message: 'replayed' } });
    await seen(page, () => window.handler.opens >= 2, null, 'the handler to reconnect');
    await seen(page, (id) => window.got.some((e) => e.id === id), missed.id, 'the event published while it was away');
    assert.equal(await page.evaluate((id) => window.got.filter((e) => e.id === id).length, missed.id), 1, 'once');

    // Graceful degradation: polling from the first notification's id gives the later events too.
    const first = await page.evaluate(() => window.got.find((e) => e.data.title === 'Deploy finished').id);
    const poll = await page.evaluate(async (since) => (await fetch('/api/sse/poll?userId=ada&since=' + encodeURIComponent(since))).json(),
                                     first);
    assert.ok(Array.isArray(poll.events), JSON.stringify(poll));
    assert.ok(poll.events.some((e) => e.id === missed.id && e.event === 'notification'), 'the poll has ' + missed.id);
    assert.ok(!poll.events.some((e) => e.id === first), 'and not the event it polled from');
    const unexpected = errors.filter((e) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|net::/.test(e));
    assert.deepEqual(unexpected, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('the demo page, a NotificationCenter, shows 000\'s notifications with their actions', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(server.url + '/');
    await page.locator('#conn-state[data-state="open"]').waitFor({ timeout: 10000 });
    const { id } = await mustPost(server, '/api/sse/publish', { event: 'notification', data: DEPLOYED });
    const item = page.locator(`[data-testid="notification-item"][data-id="${id}"]`);
    await item.waitFor({ timeout: 5000 });
    assert.equal(await item.getAttribute('data-type'), 'success', 'getNotificationsByType reads "type"');
    assert.equal(await item.locator('.title').textContent(), 'Deploy finished');
    assert.equal(await item.locator('.message').textContent(), 'v1.2 is live');
    assert.deepEqual(await item.locator('[data-testid="notification-action"]').allTextContents(), ['Open', 'Roll back']);
    await page.locator('#notification-filter').selectOption('success');
    await page.locator('#notification-search').fill('deploy');
    assert.equal(await page.locator('[data-testid="notification-item"]').count(), 1);
    await page.locator('#clear-notifications').click();
    await waitFor(async () => (await page.locator('[data-testid="notification-item"]').count()) === 0, 'clear all');
  } finally {
    await context.close();
  }
});
