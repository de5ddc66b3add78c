// eventsource.test.mjs - npm's `eventsource` package as a real client of
// sse-httplib: events by topic and type with their ids, heartbeats that stay
// invisible, a stream the server ends (a kick) after which the client comes back
// with Last-Event-ID and gets exactly the events it missed, and a graceful
// shutdown after which the client is left reconnecting, not failed.
//
//   node eventsource.test.mjs /path/to/sse-httplib /path/to/dir/with/node_modules
//
// The packages are the ones examples/server/tests/browser pins (eventsource.sh
// installs them there); they are loaded from that directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [binary, packages] = process.argv.slice(2);
if (!binary || !packages) throw new Error('usage: node eventsource.test.mjs path/to/sse-httplib path/to/packages');
const { EventSource } = createRequire(path.join(packages, 'package.json'))('eventsource');

const servers = new Set();
process.on('exit', () => {
  for (const s of servers) s.child.kill('SIGKILL');
});
after(async () => {
  for (const s of servers) await s.stop();
});

/** Waits until `check()` returns a truthy value; throws after `ms`. The server is
    another process: its output and its /stats are all there is to wait on. */
async function waitFor(check, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(25);
  }
}

/** Starts sse-httplib on a free loopback port with `flags`. */
async function startServer(flags) {
  const child = spawn(binary, ['--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  const server = {
    child,
    output: '',
    exited: null,
    url: '',
    async stats() {
      return (await fetch(this.url + '/stats')).json();
    },
    async publish(topic, data, type) {
      const q = new URLSearchParams({ topic });
      if (type) q.set('event', type);
      const res = await fetch(this.url + '/publish?' + q, { method: 'POST', body: data });
      assert.equal(res.status, 200, 'publish answered ' + res.status);
      return (await res.json()).id;
    },
    async stop() {
      if (!this.exited) {
        child.kill('SIGTERM');
        await this.done;
      }
      return this.exited;
    },
  };
  server.done = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      server.exited = { code, signal };
      servers.delete(server);
      resolve();
    }));
  servers.add(server);
  child.stdout.setEncoding('utf8').on('data', (s) => { server.output += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { server.output += s; });
  const m = await waitFor(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output),
    'sse-httplib to listen');
  server.url = m[1];
  return server;
}

/** An EventSource whose requests are recorded, and whose reconnects can be held back. */
function openSource(url, types = []) {
  const requests = [];
  let hold = null;
  let release = null;
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      requests.push(Object.assign({}, init.headers));
      if (hold) await hold;
      return fetch(input, init);
    },
  });
  const got = { events: [], opens: 0, errors: 0 };
  const record = (ev) => got.events.push({ type: ev.type, data: ev.data, id: ev.lastEventId });
  source.addEventListener('message', record);
  for (const t of types) source.addEventListener(t, record);
  source.addEventListener('open', () => { got.opens += 1; });
  source.addEventListener('error', () => { got.errors += 1; });
  return {
    source,
    requests,
    got,
    holdReconnects() {
      hold = new Promise((resolve) => { release = resolve; });
    },
    releaseReconnects() {
      hold = null;
      release();
    },
  };
}

test('eventsource: events of its topics, by type, with their ids; heartbeats stay invisible', async () => {
  const server = await startServer(['--heartbeat-ms', '50', '--retry-ms', '200']);
  const client = openSource(server.url + '/events?topics=t', ['greeting']);
  try {
    await waitFor(async () => (await server.stats()).subscribers === 1, 'the subscription');
    const one = await server.publish('t', 'one');
    await server.publish('u', 'not for this client');
    const two = await server.publish('t', 'two', 'greeting');
    await waitFor(() => client.got.events.length >= 2, 'two events');
    // Ten heartbeat intervals: comments only, which a client never sees as events
    // and which keep the one connection open.
    await sleep(500);
    assert.deepEqual(client.got.events, [
      { type: 'message', data: 'one', id: one },
      { type: 'greeting', data: 'two', id: two },
    ]);
    assert.equal(client.got.opens, 1);
    assert.equal(client.got.errors, 0);
  } finally {
    client.source.close();
    await server.stop();
  }
});

test('eventsource: after the server ends its stream it resumes with Last-Event-ID, nothing lost or doubled', async () => {
  const server = await startServer(['--heartbeat-ms', '1000', '--retry-ms', '100']);
  const client = openSource(server.url + '/events?topics=t');
  try {
    await waitFor(async () => (await server.stats()).subscribers === 1, 'the subscription');
    const one = await server.publish('t', 'one');
    await waitFor(() => client.got.events.length === 1, 'the first event');

    // The server ends the stream; the reconnect waits until two events were
    // published while the client was away, so only replay can bring them.
    client.holdReconnects();
    const [id] = (await server.stats()).ids;
    assert.equal((await fetch(server.url + '/kick?id=' + id, { method: 'POST' })).status, 204);
    await waitFor(() => client.requests.length === 2, 'the client to reconnect');
    await waitFor(async () => (await server.stats()).subscribers === 0, 'the old subscription to go');
    const two = await server.publish('t', 'two');
    const three = await server.publish('t', 'three');
    client.releaseReconnects();

    assert.equal(client.requests[1]['Last-Event-ID'], one, 'the reconnect sent Last-Event-ID');
    await waitFor(() => client.got.events.length >= 3, 'the missed events');
    const four = await server.publish('t', 'four');
    await waitFor(() => client.got.events.length >= 4, 'the live event');
    assert.deepEqual(client.got.events.map((e) => [e.data, e.id]), [
      ['one', one], ['two', two], ['three', three], ['four', four],
    ]);
    assert.equal(client.got.opens, 2);
  } finally {
    client.source.close();
    await server.stop();
  }
});

test('eventsource: a graceful shutdown ends the stream and leaves the client reconnecting', async () => {
  const server = await startServer(['--heartbeat-ms', '1000']);
  const client = openSource(server.url + '/events?topics=t');
  try {
    await waitFor(async () => (await server.stats()).subscribers === 1, 'the subscription');
    const last = await server.publish('t', 'before the shutdown');
    await waitFor(() => client.got.events.length === 1, 'the event');
    const exited = await server.stop();
    assert.deepEqual(exited, { code: 0, signal: null }, 'the server exits cleanly:\n' + server.output);
    await waitFor(() => client.got.errors >= 1, 'the end of the stream');
    // The end came with a retry: the client waits and tries again, it has not failed.
    assert.notEqual(client.source.readyState, EventSource.CLOSED);
    assert.equal(client.got.events[0].id, last);
    assert.match(server.output, /stream \d+ ended: shutdown/);
  } finally {
    client.source.close();
  }
});
