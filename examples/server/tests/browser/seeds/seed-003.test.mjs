// seed-003.test.mjs - seed 003 (the backend specification) against the real
// sse-server, with its "Testing with curl" commands as written (host and port
// aside): a token in ?token= or Authorization: Bearer; the greeting
// notification; `event: heartbeat` with `data: {}`; `event: error`
// {"error":"Unauthorized","code":401} and a close; numeric ids; the
// notification, update and custom events as its backend sends them; the CORS
// preflight; replay from ?lastEventId= and Last-Event-ID.
//
//   node seed-003.test.mjs /path/to/sse-server
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, curl, curlStream, splitResponse, parseSse, jwt } from './seedlib.mjs';

const SECRET = crypto.randomBytes(32).toString('hex');
const GREETING = 'Connected to notification stream';
// 003's flags (docs/server.md), with the heartbeat every 300 ms instead of 30 s to keep the test fast.
const ARGS = ['--jwt-secret', SECRET, '--heartbeat-ms', '300', '--heartbeat-data', 'empty-object',
              '--greeting', GREETING, '--stream-auth-errors', 'event', '--cors-origins', '*'];

const token = jwt(SECRET, { sub: '12345', channels: ['orders', 'alerts'] });
const publisher = jwt(SECRET, { sub: 'backend', publish: true });

let server;
let stream;   // 003's endpoint
before(async () => {
  server = await startServer({ args: ARGS, name: 'seed-003' });
  stream = server.url + '/api/notifications/stream';
});
after(async () => { if (server) await server.stop(); });

/** POST /api/sse/publish as 003's backend would, with a publisher token; returns the answer's JSON. */
async function publish(body) {
  const r = await curl(['-i', '-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'Authorization: Bearer ' + publisher,
                        '-d', JSON.stringify(body), server.url + '/api/sse/publish']);
  const { status, body: text } = splitResponse(r.stdout);
  assert.ok(status >= 200 && status < 300, 'publish ' + JSON.stringify(body) + ' answered ' + status + ': ' + text);
  return JSON.parse(text);
}

/** The greeting, the heartbeat and the events as 003's frontend (JSON.parse of each data) reads them. */
async function checkGreetingAndHeartbeat(s) {
  await s.until((o) => /event: heartbeat\n/.test(o), 'the greeting, then a heartbeat');
  const got = parseSse(s.out);
  const greeting = got.find((e) => e.event === 'notification');
  assert.ok(greeting, 'a notification greets the client');
  assert.deepEqual(JSON.parse(greeting.data), { type: 'notification', notificationType: 'info', message: GREETING });
  assert.equal(greeting.id, undefined, 'the greeting carries no id');
  assert.ok(got.indexOf(got.find((e) => e.event === 'connected')) < got.indexOf(greeting), 'connected stays, first');
  const beat = got.find((e) => e.event === 'heartbeat');
  assert.equal(beat.data, '{}');
  assert.deepEqual(JSON.parse(beat.data), {});
  assert.equal(beat.id, undefined, 'no id on heartbeats: it would move the client\'s Last-Event-ID');
}

test('curl with ?token=: the greeting, then event: heartbeat with data: {}', async () => {
  // curl -N -H "Accept: text/event-stream" "http://localhost:3000/api/notifications/stream?token=your_token"
  const s = curlStream(['-N', '-H', 'Accept: text/event-stream', stream + '?token=' + token]);
  try {
    await checkGreetingAndHeartbeat(s);
  } finally {
    await s.stop();
  }
});

test('curl with Authorization: Bearer: the same stream, with the headers 003 requires', async () => {
  // curl -N -H "Accept: text/event-stream" -H "Authorization: Bearer your_token" "http://localhost:3000/api/notifications/stream"
  const s = curlStream(['-i', '-N', '-H', 'Accept: text/event-stream', '-H', 'Authorization: Bearer ' + token,
                        '-H', 'Origin: http://app.example', stream]);
  try {
    await s.until((o) => /event: heartbeat\n/.test(o), 'a heartbeat');
    const { status, headers, body } = splitResponse(s.out);
    assert.equal(status, 200);
    assert.match(headers['content-type'], /^text\/event-stream/);
    assert.match(headers['cache-control'], /no-cache/);
    assert.equal(headers.connection?.toLowerCase(), 'keep-alive');
    assert.ok(['*', 'http://app.example'].includes(headers['access-control-allow-origin']),
      'Access-Control-Allow-Origin: * or the origin, got ' + headers['access-control-allow-origin']);
    await checkGreetingAndHeartbeat({ out: body, until: async () => {} });
  } finally {
    await s.stop();
  }
});

test('a refused stream gets event: error with the code, then the server closes it', async () => {
  const cases = [
    { what: 'a bad token', url: stream + '?token=not-a-token', want: { error: 'Unauthorized', code: 401 } },
    { what: 'no token', url: stream, want: { error: 'Unauthorized', code: 401 } },
    { what: 'another user\'s id', url: stream + '?token=' + token + '&userId=someone-else', want: { error: 'Forbidden', code: 403 } },
  ];
  for (const c of cases) {
    // An EventSource cannot read a 401 body: the refusal comes as an event, and curl ends by itself.
    const r = await curl(['-i', '-N', '-H', 'Accept: text/event-stream', c.url], { maxTimeS: 5 });
    assert.equal(r.code, 0, c.what + ': the server closes the stream (curl ' + r.code + ', ' + r.stderr + ')');
    const { status, headers, body } = splitResponse(r.stdout);
    assert.equal(status, 200, c.what);
    assert.match(headers['content-type'], /^text\/event-stream/, c.what);
    const got = parseSse(body);
    assert.equal(got.length, 1, c.what + ': nothing but the error: ' + body);
    assert.equal(got[0].event, 'error', c.what);
    assert.deepEqual(JSON.parse(got[0].data), c.want, c.what);
  }
  // The API keeps its JSON statuses.
  const poll = await curl(['-i', server.url + '/api/sse/poll?token=not-a-token']);
  assert.equal(splitResponse(poll.stdout).status, 401);
});

test('notification, update and custom events with numeric ids, as 003\'s backend sends them', async () => {
  const s = curlStream(['-N', '-H', 'Accept: text/event-stream', stream + '?token=' + token + '&userId=12345&channels=orders,alerts']);
  try {
    await s.until((o) => o.includes(GREETING), 'the greeting');
    const note = { type: 'notification', notificationType: 'success', title: 'Order Completed',
                   message: 'Your order #12345 has been shipped', duration: 5000 };
    const update = { type: 'update', entity: 'order', action: 'created',
                     payload: { orderId: 12345, status: 'shipped', updatedAt: '2025-07-15T10:30:00Z' } };
    const custom = { userId: 123, action: 'login', timestamp: '2025-07-15T10:30:00Z',
                     metadata: { ip: '192.0.2.1', userAgent: 'Mozilla/5.0' } };
    const a = await publish({ event: 'notification', id: 1642678901234, data: note, userIds: ['12345'] });
    const b = await publish({ event: 'update', id: 1642678901235, data: update, channels: ['orders'] });
    const c = await publish({ event: 'user-action', id: 1642678901237, data: custom });
    assert.deepEqual([a.id, b.id, c.id].map(String), ['1642678901234', '1642678901235', '1642678901237']);
    await s.until((o) => o.includes('id: 1642678901237\n'), 'the custom event');
    const got = parseSse(s.out);
    const byId = (id) => got.find((e) => e.id === id);
    assert.equal(byId('1642678901234').event, 'notification');
    assert.deepEqual(JSON.parse(byId('1642678901234').data), note);
    assert.equal(byId('1642678901235').event, 'update');
    assert.deepEqual(JSON.parse(byId('1642678901235').data), update);
    assert.equal(byId('1642678901237').event, 'user-action');
    assert.deepEqual(JSON.parse(byId('1642678901237').data), custom);
  } finally {
    await s.stop();
  }
});

test('a reconnecting client gets what it missed, from ?lastEventId= or Last-Event-ID', async () => {
  const first = await publish({ event: 'notification', id: 1700000000001, data: { type: 'notification', notificationType: 'info', message: 'one' } });
  await publish({ event: 'notification', id: 1700000000002, data: { type: 'notification', notificationType: 'info', message: 'two' } });
  await publish({ event: 'notification', id: 1700000000003, data: { type: 'notification', notificationType: 'info', message: 'three' } });
  for (const extra of [['?token=' + token + '&lastEventId=' + first.id, []],
                       ['?token=' + token, ['-H', 'Last-Event-ID: ' + first.id]]]) {
    const s = curlStream(['-N', '-H', 'Accept: text/event-stream', ...extra[1], stream + extra[0]]);
    try {
      await s.until((o) => o.includes('id: 1700000000003\n'), 'the replay after ' + first.id);
      const replayed = parseSse(s.out).filter((e) => e.id && e.id.startsWith('17000000000'));
      assert.deepEqual(replayed.map((e) => JSON.parse(e.data).message), ['two', 'three'], extra.flat().join(' '));
    } finally {
      await s.stop();
    }
  }
});

test('the CORS preflight allows Cache-Control and Last-Event-ID', async () => {
  const r = await curl(['-i', '-X', 'OPTIONS', '-H', 'Origin: http://app.example', '-H', 'Access-Control-Request-Method: GET',
                        '-H', 'Access-Control-Request-Headers: cache-control, last-event-id, authorization', stream]);
  const { status, headers } = splitResponse(r.stdout);
  assert.ok(status === 204 || status === 200, 'preflight status ' + status + '\n' + r.stdout);
  const allowed = (headers['access-control-allow-headers'] || '').toLowerCase().split(',').map((h) => h.trim());
  for (const h of ['cache-control', 'last-event-id', 'authorization'])
    assert.ok(allowed.includes(h), h + ' is allowed: ' + headers['access-control-allow-headers']);
  assert.ok(headers['access-control-allow-origin'], 'the origin is allowed');
  assert.match(headers['access-control-allow-methods'] || '', /GET/);
});
