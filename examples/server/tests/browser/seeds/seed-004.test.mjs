// seed-004.test.mjs - seed 004 (the SSE handler guide) against the real
// sse-server, its hooks in headless Chromium: useSSE on /api/sse with an event
// handler per type (notification read as data.title and data.body, the
// systemUpdate broadcast, ping), useDashboardSSE on /api/dashboard/sse with
// dashboardUpdate events, and getStats()'s totalConnections and uniqueUsers;
// then the demo page's dashboard panel.
//
//   node seed-004.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, launchBrowser, seedPage, seen, mustPost } from './seedlib.mjs';

// 004's flags (docs/server.md): its hooks listen for ping. Short intervals keep the test fast.
const ARGS = ['--heartbeat-event', 'ping', '--heartbeat-ms', '300', '--dashboard-interval', '200'];

let server;
let browser;
before(async () => {
  server = await startServer({ args: ARGS, name: 'seed-004' });
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** useSSE({ eventHandlers }) reduced to its EventSource: handlers get JSON.parse(event.data);
    window.got[name] records {type, data}. */
async function useSSE(page, name, url, types) {
  await page.evaluate(({ name, url, types }) => {
    window.got = window.got || {};
    window.sources = window.sources || {};
    window.got[name] = [];
    const es = new EventSource(url);
    window.sources[name] = es;
    for (const type of types)
      es.addEventListener(type, (event) => window.got[name].push({ type, data: JSON.parse(event.data) }));
  }, { name, url, types });
  const h = await seen(page, (n) => window.got[n].find((e) => e.type === 'connected')?.data, name, name + '\'s connected event');
  return h.jsonValue();
}

const close = (page, name) => page.evaluate((n) => window.sources[n].close(), name);

test('useSSE: the notification read as data.title and data.body, systemUpdate, ping', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    await page.evaluate(() => { window.toasts = []; });
    await useSSE(page, 'main', '/api/sse?userId=u-42', ['connected', 'notification', 'systemUpdate', 'ping']);
    // Its NotificationListener: toast({ title: data.title, description: data.body, status: 'info' }).
    await page.evaluate(() => window.sources.main.addEventListener('notification', (event) => {
      const data = JSON.parse(event.data);
      window.toasts.push({ title: data.title, description: data.body, status: 'info' });
    }));

    // sseHandler.sendEventToUser(userId, 'notification', {...})
    const sent = { id: 'notification-123', type: 'REPORT_APPROVED', title: 'Report Approved',
                   body: 'Your report has been approved', timestamp: Date.now() };
    await mustPost(server, '/api/sse/publish', { event: 'notification', userIds: ['u-42'], data: sent });
    await seen(page, () => window.toasts.length > 0, null, 'the toast');
    assert.deepEqual(await page.evaluate(() => window.toasts),
      [{ title: 'Report Approved', description: 'Your report has been approved', status: 'info' }]);
    const data = await page.evaluate(() => window.got.main.find((e) => e.type === 'notification').data);
    for (const [k, v] of Object.entries(sent)) assert.deepEqual(data[k], v, k + ' is delivered as sent');

    // sseHandler.broadcastEvent('systemUpdate', { message, timestamp })
    const update = { message: 'System maintenance in 10 minutes', timestamp: Date.now() };
    await mustPost(server, '/api/sse/publish', { event: 'systemUpdate', data: update });
    const got = await (await seen(page, () => window.got.main.find((e) => e.type === 'systemUpdate')?.data, null, 'systemUpdate')).jsonValue();
    assert.deepEqual(got, update);

    await seen(page, () => window.got.main.some((e) => e.type === 'ping'), null, 'a ping');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('useDashboardSSE: /api/dashboard/sse gets dashboardUpdate, only the dashboard channel', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    // Its ?channels= is ignored: a dashboard stream follows "dashboard" only.
    const hello = await useSSE(page, 'dash', '/api/dashboard/sse?channels=orders', ['connected', 'dashboardUpdate', 'ping', 'custom']);
    assert.deepEqual(hello.channels, ['dashboard'], 'connected names the channel it follows: ' + JSON.stringify(hello));

    // The server's own updates.
    const h = await seen(page, () => window.got.dash.find((e) => e.type === 'dashboardUpdate')?.data, null, 'a dashboardUpdate');
    const d = await h.jsonValue();
    for (const k of ['connections', 'uniqueUsers', 'eventsPerSecond', 'totalEventsSent', 'timestamp'])
      assert.equal(typeof d[k], 'number', k + ': ' + JSON.stringify(d));
    assert.ok(d.connections >= 1, 'the dashboard stream itself is open');
    assert.ok(Math.abs(d.timestamp - Date.now()) < 60000, 'timestamp is the time in ms');

    // Published to "orders", then to "dashboard": only the second arrives.
    await mustPost(server, '/api/sse/publish', { event: 'custom', channels: ['orders'], data: { n: 1 } });
    await mustPost(server, '/api/sse/publish', { event: 'custom', channels: ['dashboard'], data: { n: 2 } });
    await seen(page, () => window.got.dash.some((e) => e.type === 'custom' && e.data.n === 2), null, 'the dashboard event');
    assert.deepEqual(await page.evaluate(() => window.got.dash.filter((e) => e.type === 'custom').map((e) => e.data.n)), [2]);
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('getStats(): totalConnections is the open streams, uniqueUsers the distinct users', async () => {
  const { context, page } = await seedPage(browser, server);
  const stats = async (want, what) => waitFor(async () => {
    const s = (await server.get('/api/sse/stats')).body;
    return s && s.totalConnections === want.totalConnections && s.uniqueUsers === want.uniqueUsers ? s : null;
  }, what + ' (' + JSON.stringify(want) + ')');
  try {
    const types = ['connected'];
    await useSSE(page, 'a1', '/api/sse?userId=ann', types);
    await useSSE(page, 'a2', '/api/sse?userId=ann', types);
    await useSSE(page, 'b', '/api/sse?userId=bob', types);
    await useSSE(page, 'anon', '/api/sse', types);
    const s = await stats({ totalConnections: 4, uniqueUsers: 2 }, '4 streams of 2 users and one anonymous');
    assert.equal(s.totalClients, 4);
    assert.equal(typeof s.connectionsSinceStart, 'number');
    await close(page, 'a2');
    await stats({ totalConnections: 3, uniqueUsers: 2 }, 'ann still has a stream');
    await close(page, 'b');
    await stats({ totalConnections: 2, uniqueUsers: 1 }, 'bob left');
  } finally {
    await context.close();
  }
});

test('the demo page\'s dashboard panel shows the server\'s dashboardUpdate', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(server.url + '/');
    await page.locator('#dashboard-state[data-state="open"]').waitFor({ timeout: 10000 });
    await page.locator('#dash-connections:not(:text-is("–"))').waitFor({ timeout: 5000 });
    // The page has two streams open: its own and the dashboard's.
    assert.ok(Number(await page.locator('#dash-connections').textContent()) >= 2);
    assert.notEqual(await page.locator('#dash-total-events-sent').textContent(), '–');
  } finally {
    await context.close();
  }
});
