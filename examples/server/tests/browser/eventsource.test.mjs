// eventsource.test.mjs - the npm `eventsource` package as a second real client
// of sse-server: the connected event, typed notification events routed by user
// and channel, and a server restart after which it reconnects with
// Last-Event-ID and gets the event published before it got back.
//
//   node eventsource.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EventSource } from 'eventsource';
import { startServer, waitFor, outputDir } from './lib.mjs';

let server;

before(async () => {
  fs.mkdirSync(outputDir, { recursive: true });
  server = await startServer({ name: 'eventsource' });
});

after(async () => {
  if (server) await server.stop();
});

/** An EventSource whose requests are recorded and can be held back. */
function openSource(url) {
  const requests = [];
  const hold = { promise: null, release: null };
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      requests.push(Object.assign({}, init.headers));
      if (hold.promise) await hold.promise;
      return fetch(input, init);
    },
  });
  const received = { connected: [], notification: [], reset: [], errors: 0, opens: 0 };
  source.addEventListener('connected', (ev) => received.connected.push(ev));
  source.addEventListener('reset', (ev) => received.reset.push(ev));
  source.addEventListener('notification', (ev) => received.notification.push(ev));
  source.addEventListener('open', () => { received.opens += 1; });
  source.addEventListener('error', () => { received.errors += 1; });
  return {
    source,
    requests,
    received,
    holdReconnects() {
      hold.promise = new Promise((resolve) => { hold.release = resolve; });
    },
    releaseReconnects() {
      hold.release();
      hold.promise = null;
    },
  };
}

const titles = (received) => received.notification.map((ev) => JSON.parse(ev.data).title);

test('eventsource: connected, then typed notifications routed by user and channel', async () => {
  const client = openSource(server.url + '/api/sse?userId=alice&channels=ops,builds');
  const { source, received } = client;
  try {
    await waitFor(() => received.connected.length === 1, 'the connected event');
    const hello = JSON.parse(received.connected[0].data);
    assert.ok(hello.clientId, 'connected carries a client id: ' + received.connected[0].data);
    assert.equal(hello.userId, 'alice');
    assert.deepEqual([].concat(hello.channels).join(',').split(',').sort(), ['builds', 'ops']);
    assert.ok(Number(hello.serverTime) > 0, 'connected carries the server time');

    // The client shows in /clients.
    const clients = await server.get('/clients');
    assert.equal(clients.status, 200);
    assert.ok(clients.text.includes(hello.clientId), '/clients lists ' + hello.clientId + ': ' + clients.text);

    // Delivered: to alice, to a channel of hers, to everyone. Not: to bob, to another channel.
    const toAlice = await server.notify({ notificationType: 'info', title: 'for alice', message: 'm', duration: 1000 }, { userIds: ['alice'] });
    await server.notify({ notificationType: 'info', title: 'for bob', message: 'm', duration: 1000 }, { userIds: ['bob'] });
    await server.notify({ notificationType: 'info', title: 'for ops', message: 'm', duration: 1000 }, { channels: ['ops'] });
    await server.notify({ notificationType: 'info', title: 'for sales', message: 'm', duration: 1000 }, { channels: ['sales'] });
    const last = await server.notify({ notificationType: 'success', title: 'for all', message: 'the end', duration: 1000 });
    await waitFor(() => received.notification.length >= 3 && received.notification.at(-1).data.includes('for all'),
      'the notification for everyone', 5000);
    assert.deepEqual(titles(received), ['for alice', 'for ops', 'for all']);
    const first = received.notification[0];
    assert.equal(first.type, 'notification');
    assert.equal(first.lastEventId, toAlice.id);
    assert.deepEqual(JSON.parse(first.data),
      { notificationType: 'info', title: 'for alice', message: 'm', duration: 1000 });
    assert.equal(received.notification.at(-1).lastEventId, last.id);
  } finally {
    source.close();
  }
});

test('eventsource: after a server restart it resumes with Last-Event-ID', async () => {
  const client = openSource(server.url + '/api/sse?userId=alice');
  const { source, received } = client;
  try {
    await waitFor(() => received.connected.length === 1, 'the connected event');
    const last = await server.notify({ notificationType: 'success', title: 'before', message: 'live', duration: 1000 }, { userIds: ['alice'] });
    await waitFor(() => titles(received).includes('before'), 'the notification before the restart', 5000);

    // Restart: hold the client's reconnect until an event is published for it,
    // so that only replay through Last-Event-ID can bring it.
    client.holdReconnects();
    const requestsBefore = client.requests.length;
    const port = server.port;
    await server.stop();
    await waitFor(() => source.readyState === EventSource.CONNECTING, 'the client to notice the restart');
    server = await startServer({ port, name: 'eventsource-restarted' });
    const missed = await server.notify({ notificationType: 'warning', title: 'while away', message: 'replayed', duration: 1000 }, { userIds: ['alice'] });
    assert.equal(missed.recipients, 0, 'nobody was connected when it was published');
    client.releaseReconnects();

    try {
      await waitFor(() => titles(received).includes('while away'), 'the event published while the client was away', 20000);
    } catch (err) {
      throw new Error(err.message + '\nThe client reconnected with Last-Event-ID ' +
        JSON.stringify(client.requests.slice(requestsBefore).map((h) => h['Last-Event-ID'])) +
        ' and got ' + (received.reset.length ? 'a reset event ' + received.reset.at(-1).data : 'no reset event') +
        '; the restarted server must replay to that id (keep the history and the id sequence across ' +
        'a restart, or replay its whole history to an id of an earlier epoch).\n--- server output ---\n' + server.tail());
    }
    const reconnect = client.requests.at(-1);
    assert.equal(reconnect['Last-Event-ID'], last.id, 'the reconnect sent Last-Event-ID');
    assert.equal(received.notification.at(-1).lastEventId, missed.id);
    assert.equal(titles(received).filter((t) => t === 'while away').length, 1);
    assert.deepEqual(titles(received), ['before', 'while away']);
    assert.equal(received.connected.length, 2, 'a connected event per connection');
  } finally {
    source.close();
  }
});
