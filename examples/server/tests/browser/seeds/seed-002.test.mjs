// seed-002.test.mjs - seed 002 (the PHP challenge) against the real sse-server,
// with curl as that seed's scripts use it: `curl -N` on /events, POST
// /broadcast, GET /stats and GET /clients; the stream headers it lists
// (Content-Type, Cache-Control, Connection: keep-alive, Access-Control-Allow-Origin: *);
// event ids, heartbeats, retry, and Last-Event-ID resumption.
//
//   node seed-002.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor, curl, curlStream, splitResponse, parseSse } from './seedlib.mjs';

// 002 wants `Access-Control-Allow-Origin: *` on the stream; a short heartbeat keeps the test fast.
const ARGS = ['--cors-origins', '*', '--no-cors-credentials', '--heartbeat-ms', '300', '--retry-ms', '2000'];

let server;
before(async () => { server = await startServer({ args: ARGS, name: 'seed-002' }); });
after(async () => { if (server) await server.stop(); });

const json = (r) => {
  assert.equal(r.code, 0, 'curl failed: ' + r.stderr);
  const { status, headers, body } = splitResponse(r.stdout);
  let parsed = null;
  try { parsed = JSON.parse(body); } catch { /* checked by the caller */ }
  return { status, headers, body: parsed, text: body };
};

/** `curl -X POST /broadcast` with a JSON body, as 002's management endpoint is driven. */
async function broadcast(body) {
  const r = json(await curl(['-i', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify(body),
                             server.url + '/broadcast']));
  assert.ok(r.status >= 200 && r.status < 300, 'POST /broadcast answered ' + r.status + ': ' + r.text);
  assert.ok(r.body && typeof r.body.id === 'string' && r.body.id, 'the answer names the event id: ' + r.text);
  return r.body;
}

const events = (s) => parseSse(splitResponse(s.out).body);

test('curl -N /events: the headers 002 lists, then numbered events, retry and heartbeats', async () => {
  const a = curlStream(['-i', '-N', server.url + '/events']);
  const b = curlStream(['-N', server.url + '/events']);
  try {
    await a.until((o) => /event: connected\n/.test(o), 'the first stream to open');
    await b.until((o) => /event: connected\n/.test(o), 'the second stream to open');
    const { status, headers } = splitResponse(a.out);
    assert.equal(status, 200);
    assert.match(headers['content-type'], /^text\/event-stream/);
    assert.match(headers['cache-control'], /no-cache/);
    assert.equal(headers.connection?.toLowerCase(), 'keep-alive');
    assert.equal(headers['access-control-allow-origin'], '*');
    assert.deepEqual(events(a).retries, ['2000'], 'the retry: interval configured');

    // 002's two examples: a message with a user and text, a notification with title and body.
    const msg = await broadcast({ event: 'message', data: { user: 'john', text: 'Hello world!' } });
    const note = await broadcast({ event: 'notification', data: { title: 'New Message', body: 'You have a new message' } });
    for (const s of [a, b]) {
      await s.until((o) => o.includes('id: ' + note.id + '\n'), 'the notification ' + note.id + ' on every stream');
      const got = parseSse(s === a ? splitResponse(s.out).body : s.out);
      const m = got.find((e) => e.id === msg.id);
      assert.ok(m, 'the message arrived with its id ' + msg.id);
      assert.equal(m.event, 'message');
      assert.deepEqual(JSON.parse(m.data), { user: 'john', text: 'Hello world!' });
      const n = got.find((e) => e.id === note.id);
      assert.equal(n.event, 'notification');
      const data = JSON.parse(n.data);
      assert.equal(data.title, 'New Message');
      assert.equal(data.body, 'You have a new message', 'the body is delivered as sent');
      assert.ok(got.indexOf(m) < got.indexOf(n), 'in publish order');
    }

    // Idle for a while: periodic heartbeats, with no id (an id would move Last-Event-ID).
    const since = a.out.length;
    await a.until((o) => /event: heartbeat\n/.test(o.slice(since)), 'a heartbeat on the idle stream', 3000);
    const beats = parseSse(a.out.slice(since)).filter((e) => e.event === 'heartbeat');
    assert.ok(beats.length >= 1);
    assert.equal(beats[0].id, undefined, 'heartbeats carry no id');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('GET /stats and GET /clients describe the open connections', async () => {
  const s = curlStream(['-N', server.url + '/events?userId=john']);
  try {
    await s.until((o) => /event: connected\n/.test(o), 'the stream to open');
    const clientId = JSON.parse(parseSse(s.out).find((e) => e.event === 'connected').data).clientId;

    const stats = json(await curl(['-i', server.url + '/stats']));
    assert.equal(stats.status, 200, stats.text);
    assert.match(stats.headers['content-type'], /^application\/json/);
    assert.equal(stats.body.totalConnections, 1, 'one stream is open: ' + stats.text);
    assert.equal(stats.body.totalClients, 1);
    assert.equal(typeof stats.body.totalEventsSent, 'number');
    const same = json(await curl(['-i', server.url + '/api/sse/stats']));
    assert.deepEqual(Object.keys(stats.body).sort(), Object.keys(same.body).sort(), '/stats is /api/sse/stats');

    const clients = json(await curl(['-i', server.url + '/clients']));
    assert.equal(clients.status, 200, clients.text);
    assert.equal(clients.body.clients.length, 1, clients.text);
    assert.equal(String(clients.body.clients[0].id), String(clientId), 'the connection has the id it was told');
    assert.equal(clients.body.clients[0].userId, 'john');
  } finally {
    await s.stop();
  }
  // The server notices the client left.
  await waitFor(async () => {
    const st = json(await curl(['-i', server.url + '/stats']));
    return st.body.totalConnections === 0;
  }, 'GET /stats to count 0 connections after curl left');
});

test('event ids let a client resume with Last-Event-ID', async () => {
  const first = await broadcast({ event: 'message', data: { n: 1 } });
  const second = await broadcast({ event: 'message', data: { n: 2 } });
  const third = await broadcast({ event: 'message', data: { n: 3 } });
  const s = curlStream(['-N', '-H', 'Last-Event-ID: ' + first.id, server.url + '/events']);
  try {
    await s.until((o) => o.includes('id: ' + third.id + '\n'), 'the replay up to ' + third.id);
    const got = parseSse(s.out).filter((e) => e.event === 'message');
    assert.deepEqual(got.map((e) => e.id), [second.id, third.id], 'only the missed events, in order');
    assert.deepEqual(got.map((e) => JSON.parse(e.data).n), [2, 3]);
  } finally {
    await s.stop();
  }
});
