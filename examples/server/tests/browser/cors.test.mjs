// cors.test.mjs - a page of another origin uses the API in headless Chromium.
//
//   node cors.test.mjs /path/to/sse-server
//
// A tiny static server started here serves a page at http://localhost:P1; the
// real sse-server listens at http://127.0.0.1:P2 with --cors-origins naming the
// page's origin (credentials are allowed by default). From the page, a fetch
// with a JSON body and an Authorization header needs a CORS preflight (Fetch
// standard: neither is CORS-safelisted); it must pass, the publish must be
// readable, and an EventSource opened withCredentials must receive the event.
// A page of an origin not on the list must be refused by the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';
import { startServer, outputDir } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PUBLISH_KEY = 'cors-test-publish-key';

let pages;   // the static server of the page's origin
let pageOrigin;
let server;
let browser;

/** Serves one blank page on 127.0.0.1, port 0: the page's origin is http://localhost:PORT. */
function startPageServer() {
  const s = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><meta charset="utf-8"><title>another origin</title><p>cors test page</p>');
  });
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

before(async () => {
  fs.mkdirSync(outputDir, { recursive: true });
  pages = await startPageServer();
  pageOrigin = 'http://localhost:' + pages.address().port;
  server = await startServer({
    args: ['--cors-origins', pageOrigin, '--publish-key', PUBLISH_KEY, '--anonymous', '--heartbeat-ms', '1000'],
    name: 'cors',
  });
  // Running as root needs --no-sandbox.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (pages) await new Promise((resolve) => pages.close(resolve));
});

/** Opens the page of `origin` in a fresh context; console errors are collected. */
async function openPage(origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  const res = await page.goto(origin + '/');
  assert.equal(res.status(), 200);
  return { context, page, errors };
}

// Runs in the page: opens an EventSource withCredentials, publishes with fetch
// (JSON body, Authorization: a preflight), and returns what it saw.
async function publishAndReceive({ api, key }) {
  const seen = { opened: false, connected: null, notification: null, errors: 0 };
  const source = new EventSource(api + '/api/sse', { withCredentials: true });
  const connected = new Promise((resolve, reject) => {
    source.addEventListener('connected', (ev) => {
      seen.connected = JSON.parse(ev.data);
      resolve();
    });
    source.onerror = () => {
      seen.errors += 1;
      if (source.readyState === EventSource.CLOSED) reject(new Error('the EventSource was refused'));
    };
  });
  const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms));
  try {
    await Promise.race([connected, timeout(10000, 'connected event')]);
    const arrived = new Promise((resolve) => {
      source.addEventListener('notification', (ev) => resolve({ id: ev.lastEventId, data: JSON.parse(ev.data) }));
    });
    const res = await fetch(api + '/api/sse/publish', {
      method: 'POST',
      mode: 'cors',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key },
      body: JSON.stringify({
        event: 'notification',
        data: { notificationType: 'info', title: 'Across origins', message: 'from ' + location.origin },
      }),
    });
    const published = { status: res.status, body: await res.json() };
    seen.notification = await Promise.race([arrived, timeout(10000, 'notification event')]);
    return { seen, published };
  } finally {
    source.close();
  }
}

test('a page of an allowed origin publishes with a preflight and receives the event', async () => {
  const { context, page, errors } = await openPage(pageOrigin);
  try {
    const got = await page.evaluate(publishAndReceive, { api: server.url, key: PUBLISH_KEY });
    assert.equal(got.published.status, 202, 'the publish answer is readable: ' + JSON.stringify(got.published));
    assert.ok(got.published.body.id, 'the answer names the event id');
    assert.equal(got.seen.notification.id, got.published.body.id, 'the published event arrives on the stream');
    assert.equal(got.seen.notification.data.title, 'Across origins');
    assert.equal(got.seen.notification.data.message, 'from ' + pageOrigin);
    assert.deepEqual(errors, [], 'no console errors (a failed preflight logs one)');
  } finally {
    await context.close();
  }
});

test('a wrong key is refused, and the page can read the refusal', async () => {
  const { context, page } = await openPage(pageOrigin);
  try {
    const status = await page.evaluate(async (api) => {
      const res = await fetch(api + '/api/sse/publish', {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-the-key' },
        body: JSON.stringify({ event: 'a', data: 'x' }),
      });
      return res.status;
    }, server.url);
    assert.equal(status, 401);
  } finally {
    await context.close();
  }
});

test('a page of an origin not on the list cannot publish nor stream', async () => {
  // The same page through another name is another origin (scheme, host, port).
  const other = 'http://127.0.0.1:' + pages.address().port;
  const { context, page } = await openPage(other);
  try {
    const outcome = await page.evaluate(async ({ api, key }) => {
      const out = {};
      try {
        await fetch(api + '/api/sse/publish', {
          method: 'POST',
          credentials: 'include',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key },
          body: JSON.stringify({ event: 'a', data: 'x' }),
        });
        out.fetch = 'allowed';
      } catch (err) {
        out.fetch = err.name;
      }
      out.stream = await new Promise((resolve) => {
        const source = new EventSource(api + '/api/sse', { withCredentials: true });
        source.addEventListener('connected', () => { source.close(); resolve('open'); });
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) resolve('refused');
        };
        setTimeout(() => { source.close(); resolve('timed out'); }, 10000);
      });
      return out;
    }, { api: server.url, key: PUBLISH_KEY });
    assert.equal(outcome.fetch, 'TypeError', 'the browser refuses the preflight');
    assert.equal(outcome.stream, 'refused', 'the browser refuses the stream');
  } finally {
    await context.close();
  }
});
