// browser.test.mjs - sse-beast's page in headless Chromium (Debian's, driven by
// playwright-core from examples/server/tests/browser/node_modules).
//
//   node browser.test.mjs /path/to/sse-beast
//
// Covers: the page's EventSource connects through the Beast route hand-over and
// shows published events; when the server ends the stream (POST /disconnect),
// the browser reconnects by itself, sends Last-Event-ID, and receives the events
// published while it was away, then live ones, each once and in order; SIGTERM
// with the browser connected ends the server with status 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

// One set of npm packages for every browser test: the server's (run.sh --install-only).
const require = createRequire(new URL('../../server/tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const serverPath = process.argv[2] || process.env.SSE_BEAST || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const outputDir = process.env.SSE_TEST_OUTPUT || os.tmpdir();

let server;
let browser;

/** Waits until `check()` returns a truthy value; throws after `ms`. */
async function waitFor(check, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms waiting for ' + what);
    await sleep(50);
  }
}

/** Starts sse-beast on a free port; resolves once it prints its URL. */
async function startServer() {
  const child = spawn(serverPath, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { child, output: '', exited: null };
  s.done = new Promise((resolve) => child.once('exit', (code, signal) => {
    s.exited = { code, signal };
    resolve(s.exited);
  }));
  const log = fs.createWriteStream(path.join(outputDir, 'sse-beast-browser.log'));
  for (const from of [child.stdout, child.stderr]) {
    from.setEncoding('utf8').on('data', (chunk) => {
      s.output += chunk;
      log.write(chunk);
    });
  }
  const m = await waitFor(() => {
    if (s.exited) throw new Error('sse-beast exited early: ' + JSON.stringify(s.exited) + '\n' + s.output);
    return /^listening on (http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(s.output);
  }, 'sse-beast to print its URL');
  s.url = m[1];
  return s;
}

async function stats() {
  return (await fetch(server.url + '/stats')).json();
}

async function publish(data, topic = 'news') {
  const res = await fetch(server.url + '/publish?topic=' + topic, { method: 'POST', body: data });
  assert.equal(res.status, 200);
  return (await res.json()).id;
}

/** What the page has shown: one { id, type, data } per event, in order. */
function shown(page) {
  return page.locator('#events li').evaluateAll((items) =>
    items.map((li) => ({ id: li.dataset.id, type: li.dataset.type, data: li.textContent })));
}

async function waitForCount(page, n, ms = 10000) {
  await waitFor(async () => (await shown(page)).length >= n, n + ' events on the page', ms);
}

before(async () => {
  if (!serverPath) throw new Error('pass the sse-beast path as an argument');
  fs.mkdirSync(outputDir, { recursive: true });
  server = await startServer();
  // Running as root needs --no-sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (server && !server.exited) {
    server.child.kill('SIGKILL');
    await server.done;
  }
});

test('the page receives events, and resumes with Last-Event-ID after the server ends the stream', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // The stream requests the browser makes, with the headers it sent.
  const streamRequests = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/events')
      streamRequests.push(req.allHeaders().then((headers) => ({ url: req.url(), headers })));
  });

  const res = await page.goto(server.url + '/?topics=news,extra');
  assert.equal(res.status(), 200);
  await page.waitForFunction(() => window.opens === 1, null, { timeout: 10000 });
  await waitFor(async () => (await stats()).subscribers === 1, 'the page to subscribe');

  const first = await publish('first');
  const second = await publish('second\nline', 'extra');
  await publish('not for this page', 'sports');
  // The page's own form publishes through Beast's POST /publish.
  await page.locator('#data').fill('from the form');
  await page.locator('#publish button').click();
  await waitForCount(page, 3);
  const before = await shown(page);
  assert.deepEqual(before.map((e) => e.data), ['first', 'second\nline', 'from the form']);
  assert.deepEqual(before.slice(0, 2).map((e) => e.id), [first, second]);
  assert.ok(before.every((e) => e.type === 'message'));
  const lastSeen = before[2].id;

  // The server ends the stream; the events published before the browser is back
  // reach it only through Last-Event-ID.
  const ended = await (await fetch(server.url + '/disconnect', { method: 'POST' })).json();
  assert.deepEqual(ended, { ended: 1 });
  await waitFor(async () => (await stats()).subscribers === 0, 'the stream to end');
  const missed = [await publish('missed one'), await publish('missed two', 'extra')];

  // EventSource reconnects after the stream's retry (3 s).
  await page.waitForFunction(() => window.opens === 2, null, { timeout: 20000 });
  await waitForCount(page, 5);
  const live = await publish('live again');
  await waitForCount(page, 6);
  await sleep(300);   // room for a duplicate to show, if one were coming
  const all = await shown(page);
  assert.deepEqual(all.map((e) => e.data),
    ['first', 'second\nline', 'from the form', 'missed one', 'missed two', 'live again']);
  assert.deepEqual(all.slice(3).map((e) => e.id), [...missed, live]);

  const requests = await Promise.all(streamRequests);
  assert.equal(requests.length, 2, 'stream requests: ' + JSON.stringify(requests));
  assert.equal(requests[0].headers['last-event-id'], undefined);
  assert.equal(requests[1].headers['last-event-id'], lastSeen);
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(outputDir, 'sse-beast-page.png'), fullPage: true });
  await context.close();
});

test('SIGTERM with a browser connected: the server exits 0', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.waitForFunction(() => window.opens === 1, null, { timeout: 10000 });
  await waitFor(async () => (await stats()).subscribers === 1, 'the page to subscribe');
  server.child.kill('SIGTERM');
  const exited = await Promise.race([server.done, sleep(10000, null, { ref: false })]);
  assert.deepEqual(exited, { code: 0, signal: null }, 'sse-beast did not exit 0 within 10 s:\n' + server.output);
  // The page saw the stream end: it tries to reconnect to a server that is gone.
  await page.waitForFunction(() => document.getElementById('state').textContent !== 'open', null, { timeout: 10000 });
  await context.close();
});
