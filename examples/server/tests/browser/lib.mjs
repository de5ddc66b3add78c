// lib.mjs - what both tests share: start the real sse-server on loopback, wait
// for /health, publish over HTTP, stop it (always, on every way out).
//
// The server binary comes from argv[2] or $SSE_SERVER; extra flags for every
// start from $SSE_TEST_SERVER_ARGS (split on spaces); files go to $SSE_TEST_OUTPUT.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const serverPath = process.argv[2] || process.env.SSE_SERVER || '';
export const outputDir = process.env.SSE_TEST_OUTPUT || os.tmpdir();

const running = new Set();

// Every way out of the process kills the servers still running.
function killAll() {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + os.constants.signals[sig]);
  });
}

/** Waits until `check()` returns a truthy value; throws `what` after `ms`. */
export async function waitFor(check, what, ms = 10000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms waiting for ' + what);
    await sleep(every);
  }
}

/** A running sse-server: `url` is its base URL ("http://127.0.0.1:PORT"). */
/** A fetch() response as { status, body (parsed JSON, or null), text }. */
async function answer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, body, text };
}

export class Server {
  constructor(child, port, logFile) {
    this.child = child;
    this.port = port;
    this.url = 'http://127.0.0.1:' + port;
    this.logFile = logFile;
    this.output = '';
    this.exited = null;
    this.done = new Promise((resolve) => child.once('exit', resolve));
  }

  /** The last lines of the server's output, for failure messages. */
  tail(lines = 20) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  async get(p) {
    return answer(await fetch(this.url + p));
  }

  /** POST /api/sse/publish; returns { status, body }. */
  async publish(message, endpoint = '/api/sse/publish') {
    const res = await fetch(this.url + endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(message),
    });
    return answer(res);
  }

  /** Publishes a notification and requires a 2xx answer. */
  async notify(data, extra = {}) {
    const r = await this.publish(Object.assign({ event: 'notification', data }, extra));
    if (r.status < 200 || r.status > 299)
      throw new Error('publish answered ' + r.status + ': ' + r.text);
    return r.body;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `ms`. */
  async stop(ms = 5000) {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
      await this.done;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

/** Starts sse-server with `--port port` (0: any; the port is read from what the
    server prints) and the given flags, and waits until GET /health answers 200. */
export async function startServer({ port = 0, args = [], name = 'server' } = {}) {
  if (!serverPath) throw new Error('no server: pass the sse-server path as an argument or in SSE_SERVER');
  const extra = (process.env.SSE_TEST_SERVER_ARGS || '').split(' ').filter(Boolean);
  const argv = ['--port', String(port), ...args, ...extra];
  const logFile = path.join(outputDir, 'sse-server-' + name + '.log');
  const child = spawn(serverPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const log = fs.createWriteStream(logFile);
  log.write('$ ' + [serverPath, ...argv].join(' ') + '\n');
  const server = new Server(child, port, logFile);
  const onData = (chunk) => {
    server.output += chunk;
    log.write(chunk);
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  child.on('exit', (code, signal) => {
    running.delete(child);
    server.exited = { code, signal };
    log.end();
  });
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (err) => resolve(err));
  });
  if (spawned) throw new Error('cannot start ' + serverPath + ': ' + spawned.message);

  try {
    if (port === 0) {
      // The server prints the URL it listens on.
      const m = await waitFor(() => {
        if (server.exited) throw new Error('sse-server exited early: ' + JSON.stringify(server.exited));
        return /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)/.exec(server.output);
      }, 'sse-server to print the URL it listens on');
      server.port = Number(m[1]);
      server.url = 'http://127.0.0.1:' + server.port;
    }
    await waitFor(async () => {
      if (server.exited) throw new Error('sse-server exited early: ' + JSON.stringify(server.exited));
      try {
        return (await fetch(server.url + '/health')).status === 200;
      } catch {
        return false;
      }
    }, server.url + '/health to answer 200');
  } catch (err) {
    child.kill('SIGKILL');
    err.message += '\n--- sse-server output ---\n' + server.tail();
    throw err;
  }
  return server;
}
