// seedlib.mjs - what the seed contract tests share: a browser page on the
// server's origin (the seed's frontend runs there, as it would when served
// beside the API), curl run as the seed's scripts run it, an SSE text parser,
// and HS256 tokens.
//
// Each seed-*.test.mjs starts its own sse-server (../lib.mjs) with the flags
// that seed's frontend wants (docs/server.md, "Which flags each seed wants").
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

export { startServer, waitFor, serverPath } from '../lib.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser() {
  // Running as root needs --no-sandbox.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** A blank page at `server.url + "/__seed__"`: the seed's code runs on the
    server's origin, as it would when the server serves the frontend too. Console
    errors and page errors are collected in `errors`. */
export async function seedPage(browser, server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push('console: ' + msg.text());
  });
  page.on('pageerror', (err) => errors.push('page error: ' + err.message));
  await page.route(server.url + '/__seed__', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>seed frontend</title>' }));
  await page.goto(server.url + '/__seed__');
  return { context, page, errors };
}

/** Waits until `fn(arg)` is truthy in the page; on timeout says what was awaited and what the page
    recorded in `window.got` (the tests' convention for what the seed's listeners received). */
export async function seen(page, fn, arg, what, ms = 5000) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 });
  } catch (err) {
    const got = await page.evaluate(() => JSON.stringify(window.got ?? null, null, 1)).catch(() => '?');
    throw new Error('the page never saw ' + what + ' within ' + ms + ' ms.\nIt recorded: ' + got.slice(0, 4000));
  }
}

// ---- curl ----

/** Runs curl with `args` to its end; resolves {code, stdout, stderr}. `--max-time` bounds it. */
export function curl(args, { maxTimeS = 10 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['--silent', '--show-error', '--max-time', String(maxTimeS), ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `curl -N ...`: `out` grows as bytes arrive; `until(pred, what)` waits for the output
    to satisfy `pred`; `stop()` ends it; `exited` resolves with curl's exit code. */
export function curlStream(args, { maxTimeS = 20 } = {}) {
  const child = spawn('curl', ['--silent', '--show-error', '--no-buffer', '--max-time', String(maxTimeS), ...args]);
  const s = {
    out: '',
    err: '',
    exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
    stop() {
      child.kill('SIGTERM');
      return s.exited;
    },
    async until(pred, what, ms = 5000) {
      const end = Date.now() + ms;
      while (!pred(s.out)) {
        if (Date.now() > end || child.exitCode !== null) {
          const why = child.exitCode !== null ? 'curl exited (' + child.exitCode + ')' : 'timed out after ' + ms + ' ms';
          throw new Error(why + ' waiting for ' + what + '.\ncurl ' + args.join(' ') + '\nreceived:\n' +
                          s.out.slice(-3000) + (s.err ? '\nstderr: ' + s.err : ''));
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      return s.out;
    },
  };
  child.stdout.setEncoding('utf8').on('data', (c) => { s.out += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { s.err += c; });
  return s;
}

/** Splits `curl -i` output into {status, headers (lower-case names; repeated ones joined by ", "), body}. */
export function splitResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  const status = Number((/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0]) || [])[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? headers[name] + ', ' + value : value;
  }
  return { status, headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/** The events of an event-stream text, as an EventSource would dispatch them (WHATWG HTML 9.2.6),
    with the fields as they were on the wire: {event, data, id (the id field, or undefined), retry}.
    `retries` lists the retry: values of blocks without data. */
export function parseSse(text) {
  const events = [];
  events.retries = [];
  let cur = { data: [], id: undefined, event: undefined, retry: undefined };
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      // As EventSource does, a block without data dispatches nothing; its retry: is kept apart.
      if (cur.data.length)
        events.push({ event: cur.event ?? 'message', data: cur.data.join('\n'), id: cur.id, retry: cur.retry });
      else if (cur.retry !== undefined)
        events.retries.push(cur.retry);
      cur = { data: [], id: undefined, event: undefined, retry: undefined };
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') cur.data.push(value);
    else if (field === 'event') cur.event = value;
    else if (field === 'id') cur.id = value;
    else if (field === 'retry') cur.retry = value;
  }
  return events;
}

// ---- tokens ----

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT for `claims` (exp: an hour from now unless given), signed with `secret`. */
export function jwt(secret, claims) {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims }));
  const sig = crypto.createHmac('sha256', secret).update(header + '.' + payload).digest('base64url');
  return header + '.' + payload + '.' + sig;
}

/** POSTs JSON to the server (`headers` added); resolves {status, body (JSON or null), text}. */
export async function post(server, path, body, headers = {}) {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/** post() that requires a 2xx answer. */
export async function mustPost(server, path, body, headers = {}) {
  const r = await post(server, path, body, headers);
  if (r.status < 200 || r.status > 299)
    throw new Error('POST ' + path + ' ' + JSON.stringify(body) + ' answered ' + r.status + ': ' + r.text);
  return r.body;
}
