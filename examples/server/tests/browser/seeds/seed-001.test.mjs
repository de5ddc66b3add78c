// seed-001.test.mjs - seed 001 (the Next.js SSE manager) against the real
// sse-server, its frontend in headless Chromium: `new EventSource("/api/sse?userId=user123")`
// with listeners per event type; the publishes its utility functions make
// (notifyUser, broadcast, systemNotification, announceSystemUpdate,
// realtimeUpdate, progressUpdate, successNotification, errorNotification,
// notifyDataChange, custom events); POST /api/sse/demo with each type; the
// stats fields it documents; sessionId and metadata in /clients; publishing to
// client ids and by metadata; the ping heartbeat; the /sse-demo page.
//
//   node seed-001.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, launchBrowser, seedPage, seen, post, mustPost } from './seedlib.mjs';

// 001's flags (docs/server.md): its hook listens for ping. A short interval keeps the test fast.
const ARGS = ['--heartbeat-event', 'ping', '--heartbeat-ms', '300'];
// The event types 001 lists, and the custom ones its examples send.
const TYPES = ['connected', 'ping', 'system', 'notification', 'update', 'progress', 'success', 'error',
               'announcement', 'custom_event', 'profile_updated'];

let server;
let browser;
before(async () => {
  server = await startServer({ args: ARGS, name: 'seed-001' });
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Opens `new EventSource(url)` in the page as 001's "Manual EventSource" does, one listener per type;
    what each receives goes to window.got[name] as {type, data: JSON.parse(event.data), id}. */
async function openSource(page, name, url) {
  await page.evaluate(({ name, url, types }) => {
    window.got = window.got || {};
    window.sources = window.sources || {};
    window.got[name] = [];
    const eventSource = new EventSource(url);
    window.sources[name] = eventSource;
    for (const type of types) {
      eventSource.addEventListener(type, (event) => {
        if (!(event instanceof MessageEvent)) return;   // "error" also names a failed connection
        window.got[name].push({ type, data: JSON.parse(event.data), id: event.lastEventId });
      });
    }
  }, { name, url, types: TYPES });
  await seen(page, (n) => window.got[n].some((e) => e.type === 'connected'), name, name + '\'s connected event');
  return page.evaluate((n) => window.got[n].find((e) => e.type === 'connected').data, name);
}

/** Waits until source `name` got an event of `type` whose data contains every member of `want`; returns its data. */
async function got(page, name, type, want) {
  const h = await seen(page, ({ name, type, want }) => {
    const contains = (a, b) => (b !== null && typeof b === 'object'
      ? a !== null && typeof a === 'object' && Object.keys(b).every((k) => contains(a[k], b[k]))
      : a === b);
    return window.got[name].find((e) => e.type === type && contains(e.data, want))?.data;
  }, { name, type, want }, name + ': ' + type + ' ' + JSON.stringify(want));
  return h.jsonValue();
}

const count = (page, name, pred) => page.evaluate(({ name, src }) =>
  window.got[name].filter(new Function('e', 'return ' + src)).length, { name, src: pred });

test('the documented EventSource receives what 001\'s utility functions send', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    const hello = await openSource(page, 'main', '/api/sse?userId=user123');
    assert.equal(hello.userId, 'user123');

    // notifyUser("user123", { event: "notification", data: { title: "Welcome!", message: "Thanks for joining!" } })
    await mustPost(server, '/api/sse/publish', { event: 'notification', userIds: ['user123'],
                                                 data: { title: 'Welcome!', message: 'Thanks for joining!' } });
    const welcome = await got(page, 'main', 'notification', { title: 'Welcome!' });
    assert.equal(welcome.message, 'Thanks for joining!');
    assert.equal(welcome.notificationType, 'info', 'no type given: info');

    // broadcast({ event: "announcement", data: { message: "New feature released!" } })
    await mustPost(server, '/api/sse/publish', { event: 'announcement', data: { message: 'New feature released!' } });
    await got(page, 'main', 'announcement', { message: 'New feature released!' });

    // systemNotification("Maintenance scheduled for 2 AM", "warning")
    await mustPost(server, '/api/sse/publish', { event: 'system', data: { message: 'Maintenance scheduled for 2 AM', level: 'warning' } });
    await got(page, 'main', 'system', { message: 'Maintenance scheduled for 2 AM', level: 'warning' });
    // announceSystemUpdate(title, message, "critical"): its severity is the level.
    await mustPost(server, '/api/sse/publish', { event: 'system', data: { title: 'Upgrade', message: 'Going down in 5 minutes', severity: 'critical' } });
    await got(page, 'main', 'system', { message: 'Going down in 5 minutes', level: 'critical', title: 'Upgrade' });

    // realtimeUpdate("content", data, subscriberIds)
    await mustPost(server, '/api/sse/publish', { event: 'update', userIds: ['user123'], data: { type: 'content', data: { postId: 7 } } });
    await got(page, 'main', 'update', { type: 'content', data: { postId: 7 } });
    // notifyDataChange("post", "post_123", "updated", postData, ["user123"])
    await mustPost(server, '/api/sse/publish', { event: 'update', userIds: ['user123'],
                                                 data: { entity: 'post', entityId: 'post_123', action: 'updated', payload: { title: 'Hi' } } });
    await got(page, 'main', 'update', { entity: 'post', action: 'updated', entityId: 'post_123' });

    // updateOperationProgress("upload_789", "user123", 75, "Processing...")
    await mustPost(server, '/api/sse/publish', { event: 'progress', userIds: ['user123'],
                                                 data: { operationId: 'upload_789', progress: 75, message: 'Processing...' } });
    await got(page, 'main', 'progress', { operationId: 'upload_789', progress: 75, message: 'Processing...' });

    // successNotification(message, data, userId) and errorNotification(error, context, userId)
    await mustPost(server, '/api/sse/publish', { event: 'success', userIds: ['user123'],
                                                 data: { message: 'File processed successfully', data: { fileUrl: '/uploads/processed-file.jpg' } } });
    await got(page, 'main', 'success', { message: 'File processed successfully', data: { fileUrl: '/uploads/processed-file.jpg' } });
    await mustPost(server, '/api/sse/publish', { event: 'error', userIds: ['user123'], data: { message: 'Upload failed', context: { size: 9 } } });
    await got(page, 'main', 'error', { message: 'Upload failed', context: { size: 9 } });

    // Custom events: broadcast({ event: "custom_event", ... }) and notifyUser(..., { event: "profile_updated", ... })
    await mustPost(server, '/api/sse/publish', { event: 'custom_event', data: { anything: [1, 2] } });
    await got(page, 'main', 'custom_event', { anything: [1, 2] });
    await mustPost(server, '/api/sse/publish', { event: 'profile_updated', userIds: ['user123'], data: { message: 'Profile updated successfully' } });
    await got(page, 'main', 'profile_updated', { message: 'Profile updated successfully' });

    // The ping heartbeat: 001's hook reads it as JSON; here the server time.
    await seen(page, () => window.got.main.some((e) => e.type === 'ping'), null, 'a ping');
    const ping = await page.evaluate(() => window.got.main.find((e) => e.type === 'ping'));
    assert.equal(typeof ping.data, 'number');
    assert.ok(Math.abs(ping.data - Date.now()) < 60000, 'the ping carries the server time: ' + ping.data);
    assert.equal(await count(page, 'main', "e.type === 'heartbeat'"), 0);
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('POST /api/sse/demo sends each of its types', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    await openSource(page, 'main', '/api/sse?userId=user123');
    const cases = [
      [{ type: 'broadcast' }, 'notification', { notificationType: 'info', title: 'Broadcast', message: 'Test message' }],
      [{ type: 'user', userId: 'user123', message: 'Just for you' }, 'notification', { title: 'Personal', message: 'Just for you' }],
      [{ type: 'system', data: { level: 'warning' } }, 'system', { message: 'Test message', level: 'warning' }],
      [{ type: 'update', data: { type: 'content', postId: 3 } }, 'update', { type: 'content', data: { postId: 3 } }],
      [{ type: 'progress', userId: 'user123', data: { operationId: 'op-9', progress: 30 } }, 'progress', { operationId: 'op-9', progress: 30 }],
      [{ type: 'progress', message: 'halfway' }, 'progress', { operationId: 'demo', progress: 50, message: 'halfway' }],
      [{ type: 'success', message: 'It worked' }, 'success', { message: 'It worked' }],
      [{ type: 'error', message: 'It broke', userId: 'user123' }, 'error', { message: 'It broke' }],
    ];
    for (const [body, type, want] of cases) {
      const answer = await mustPost(server, '/api/sse/demo', body);
      assert.ok(answer.id, 'the answer names the event: ' + JSON.stringify(answer));
      const data = await got(page, 'main', type, want);
      assert.ok(data, JSON.stringify(body));
    }
    // update's type defaults to "demo".
    await mustPost(server, '/api/sse/demo', { type: 'update', message: 'x' });
    await got(page, 'main', 'update', { type: 'demo' });

    const refused = [
      [{ type: 'user' }, 'userId'],
      [{ type: 'teleport' }, 'type'],
      [{ type: 'broadcast', colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of refused) {
      const r = await post(server, '/api/sse/demo', body);
      assert.equal(r.status, 400, JSON.stringify(body) + ' answered ' + r.status + ': ' + r.text);
      assert.ok(r.body && r.body.error, 'a JSON error');
      assert.match(r.text, new RegExp(field), 'the error names ' + field + ': ' + r.text);
    }
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('GET /api/sse/stats has the fields 001 documents', async () => {
  const { context, page } = await seedPage(browser, server);
  try {
    await openSource(page, 'a', '/api/sse?userId=user123');
    await openSource(page, 'b', '/api/sse?userId=user123');
    await mustPost(server, '/api/sse/publish', { event: 'custom_event', data: { n: 1 } });
    await got(page, 'b', 'custom_event', { n: 1 });
    const stats = await waitFor(async () => {
      const s = (await server.get('/api/sse/stats')).body;
      return s && s.totalClients === 2 ? s : null;
    }, '/api/sse/stats to count the 2 open streams');
    assert.deepEqual(stats.clientsByUser, { user123: 2 });
    for (const k of ['averageConnectionDuration', 'totalEventsSent', 'lastEventTime'])
      assert.equal(typeof stats[k], 'number', k + ': ' + JSON.stringify(stats));
    assert.ok(stats.totalEventsSent >= 2);
    assert.ok(Math.abs(stats.lastEventTime - Date.now()) < 60000, 'lastEventTime is a time in ms');
  } finally {
    await context.close();
  }
});

test('sessionId and other query parameters are metadata: shown in /clients, used for targeting', async () => {
  const { context, page, errors } = await seedPage(browser, server);
  try {
    // useSSE({ userId, sessionId, metadata: { page: "dashboard" } }) puts them in the query.
    const a = await openSource(page, 'a', '/api/sse?userId=user123&sessionId=s-1&page=dashboard');
    const b = await openSource(page, 'b', '/api/sse?userId=user123&sessionId=s-2&page=settings');
    const c = await openSource(page, 'c', '/api/sse?userId=user456');
    assert.equal(a.sessionId, 's-1', 'connected tells the session');
    assert.equal(c.sessionId, null);

    const clients = (await server.get('/clients')).body.clients;
    const row = (id) => clients.find((x) => String(x.id) === String(id));
    assert.equal(row(a.clientId).sessionId, 's-1');
    assert.deepEqual(row(a.clientId).metadata, { sessionId: 's-1', page: 'dashboard' });
    assert.deepEqual(row(b.clientId).metadata, { sessionId: 's-2', page: 'settings' });
    assert.equal(row(c.clientId).sessionId, null);
    assert.deepEqual(row(c.clientId).metadata, {});

    // Each targeted publish is followed by a broadcast marker: once every stream has the
    // marker, a stream without the targeted event will not get it (one hub, in order).
    let n = 0;
    async function only(audience, want) {
      const tag = 'target-' + (++n);
      await mustPost(server, '/api/sse/publish', { event: 'custom_event', data: { tag }, ...audience });
      await mustPost(server, '/api/sse/publish', { event: 'custom_event', data: { marker: tag } });
      for (const name of ['a', 'b', 'c']) await got(page, name, 'custom_event', { marker: tag });
      const have = [];
      for (const name of ['a', 'b', 'c'])
        if (await count(page, name, `e.data.tag === ${JSON.stringify(tag)}`)) have.push(name);
      assert.deepEqual(have, want, JSON.stringify(audience));
    }
    await only({ clientIds: [a.clientId] }, ['a']);                            // sendToClient(clientId)
    await only({ clientIds: [Number(c.clientId)] }, ['c']);                   // an id as a number
    await only({ metadata: { page: 'settings' } }, ['b']);                      // sendToClients(filter)
    await only({ metadata: { page: 'dashboard', sessionId: 's-1' } }, ['a']);   // every pair must match
    await only({ metadata: { page: 'dashboard', sessionId: 's-2' } }, []);
    await only({ metadata: { page: 'settings' }, clientIds: [c.clientId] }, ['b', 'c']);   // a union
    await only({ userIds: ['user123'] }, ['a', 'b']);                           // sendToUser
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('the demo page at /sse-demo shows what 001 sends', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const res = await page.goto(server.url + '/sse-demo');
    assert.equal(res.status(), 200);
    await page.locator('#conn-state[data-state="open"]').waitFor({ timeout: 10000 });
    // Latency from the ping heartbeat: more samples than the connected event's one.
    await page.waitForFunction(() => window.sseDemo.latencySamples >= 3, null, { timeout: 5000 });

    await mustPost(server, '/api/sse/publish', { event: 'notification', data: { title: 'Welcome!', message: 'Thanks for joining!' } });
    const welcome = page.locator('[data-testid="notification-item"]', { has: page.locator('.title:text-is("Welcome!")') });
    await welcome.waitFor({ timeout: 5000 });
    assert.equal(await welcome.getAttribute('data-type'), 'info');
    assert.equal(await welcome.locator('.message').textContent(), 'Thanks for joining!');

    // success and error show as notifications, announcement under other events.
    await mustPost(server, '/api/sse/demo', { type: 'success', message: 'Saved' });
    await mustPost(server, '/api/sse/demo', { type: 'error', message: 'Broke' });
    await page.locator('[data-testid="notification-item"][data-type="success"] .message:text-is("Saved")').waitFor({ timeout: 5000 });
    await page.locator('[data-testid="notification-item"][data-type="error"] .message:text-is("Broke")').waitFor({ timeout: 5000 });
    await mustPost(server, '/api/sse/publish', { event: 'announcement', data: { message: 'New feature released!' } });
    await page.locator('[data-testid="other-item"][data-event="announcement"]').waitFor({ timeout: 5000 });
    await mustPost(server, '/api/sse/demo', { type: 'system', data: { level: 'warning' } });
    await page.locator('#system-banner[data-level="warning"]:not([hidden])').waitFor({ timeout: 5000 });
  } finally {
    await context.close();
  }
});
