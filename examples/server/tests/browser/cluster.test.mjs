// cluster.test.mjs - three sse-server nodes on one Redis, behind nginx configured
// as docs/scaling.md says (examples/server/deploy/nginx-cluster.conf), with headless
// Chromium's EventSource in front. The node serving the page is killed (SIGKILL)
// while events are published: the page must still receive every event once, in order.
//
//   node cluster.test.mjs /path/to/sse-server
//
// Skips (exit 0 with a note) when redis-server or nginx is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, waitFor, outputDir } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function which(cmd, fallbacks) {
  for (const p of fallbacks) if (fs.existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v ' + cmd]).toString().trim() || null;
  } catch {
    return null;
  }
}
const REDIS = which('redis-server', ['/usr/bin/redis-server']);
const NGINX = which('nginx', ['/usr/sbin/nginx']);

/** A port the kernel hands out now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const children = [];
function track(child) {
  children.push(child);
  return child;
}
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch { /* gone */ }
  }
});

async function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

let dir;
let redis;
let nginx;
let nginxPort;
let nodes = [];
let browser;

before(async () => {
  if (!REDIS || !NGINX) return;
  fs.mkdirSync(outputDir, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sse-cluster-'));
  fs.chmodSync(dir, 0o755);   // nginx's worker may run as another user

  const redisPort = await freePort();
  redis = track(spawn(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir, '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' }));
  await waitFor(() => canConnect(redisPort), 'redis-server on port ' + redisPort);

  const url = 'redis://127.0.0.1:' + redisPort + '/cluster';
  for (let i = 0; i < 3; ++i)
    nodes.push(await startServer({ name: 'cluster-' + i, args: ['--redis', url, '--retry-ms', '500'] }));

  nginxPort = await freePort();
  const upstreams = nodes.map((n) => '        server 127.0.0.1:' + n.port + ' max_fails=1 fail_timeout=5s;').join('\n');
  const conf = fs.readFileSync(path.join(root, 'examples/server/deploy/nginx-cluster.conf'), 'utf8')
    .replaceAll('@DIR@', dir).replaceAll('@PORT@', String(nginxPort)).replaceAll('@UPSTREAMS@', upstreams);
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  nginx = track(spawn(NGINX, ['-e', path.join(dir, 'error.log'), '-p', dir, '-c', path.join(dir, 'nginx.conf')],
    { stdio: 'ignore' }));
  await waitFor(() => canConnect(nginxPort), 'nginx on port ' + nginxPort);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const n of nodes) await n.stop();
  for (const c of [nginx, redis]) {
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise((resolve) => {
        const t = setTimeout(() => { c.kill('SIGKILL'); resolve(); }, 5000);
        c.once('exit', () => { clearTimeout(t); resolve(); });
      });
    }
  }
  if (dir && !process.env.KEEP_CLUSTER_DIR) fs.rmSync(dir, { recursive: true, force: true });
});

test('the nginx recipe in docs/scaling.md is the one tested here', () => {
  const norm = (s) => s.split('\n').map((l) => l.trim()).filter(Boolean);
  const conf = fs.readFileSync(path.join(root, 'examples/server/deploy/nginx-cluster.conf'), 'utf8');
  const doc = fs.readFileSync(path.join(root, 'docs/scaling.md'), 'utf8');
  const block = (s) => {
    const start = s.indexOf('location / {');
    return norm(s.slice(start, s.indexOf('}', start) + 1));
  };
  assert.ok(conf.includes('location / {') && doc.includes('location / {'));
  assert.deepEqual(block(doc), block(conf));
});

test('through nginx, the page keeps receiving every event once when the node serving it dies', async (t) => {
  if (!REDIS || !NGINX) {
    t.skip('redis-server or nginx is missing (scripts/install-deps test)');
    return;
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    // Any page of the site, for the origin; the EventSource is the test's own.
    await page.goto('http://127.0.0.1:' + nginxPort + '/health');
    await page.evaluate(() => {
      window.got = [];
      window.resets = [];
      window.opens = 0;
      const es = new EventSource('/api/sse?channels=cluster');
      es.addEventListener('open', () => { window.opens += 1; });
      es.addEventListener('notification', (ev) => window.got.push({ id: ev.lastEventId, data: JSON.parse(ev.data) }));
      es.addEventListener('reset', (ev) => window.resets.push(ev.data));
      window.es = es;
    });
    await waitFor(() => page.evaluate(() => window.opens >= 1), 'the EventSource to open through nginx');

    // Which node serves the page: the one with a client.
    const clients = async () => Promise.all(nodes.map(async (n) => {
      if (n.exited) return 0;
      const r = await n.get('/api/sse/stats');
      return r.body ? r.body.totalClients : 0;
    }));
    const serving = nodes[(await waitFor(async () => {
      const c = await clients();
      const i = c.findIndex((x) => x >= 1);
      return i >= 0 ? i + 1 : 0;
    }, 'a node to report the page as a client')) - 1];
    const others = nodes.filter((n) => n !== serving);

    const publish = async (node, i) => {
      const r = await node.publish({ event: 'notification', channels: ['cluster'],
        data: { notificationType: 'info', title: 'event ' + i, message: String(i) } });
      assert.ok(r.status >= 200 && r.status < 300, 'publish ' + i + ' answered ' + r.status + ': ' + r.text);
    };
    // Publishes spread over the nodes, the serving one included, until it dies.
    for (let i = 1; i <= 5; ++i) await publish(nodes[i % 3], i);
    await waitFor(() => page.evaluate(() => window.got.length >= 5), 'the first five events', 10000);

    serving.child.kill('SIGKILL');
    await serving.done;
    // Published while the page reconnects: it must get them from another node's history.
    for (let i = 6; i <= 10; ++i) await publish(others[i % 2], i);
    const got = await waitFor(async () => {
      const g = await page.evaluate(() => window.got);
      return g.length >= 10 ? g : null;
    }, 'all ten events after the node died', 20000);
    await new Promise((r) => setTimeout(r, 500));   // a double would arrive right behind
    const final = await page.evaluate(() => ({ got: window.got, resets: window.resets, opens: window.opens }));

    assert.deepEqual(final.got.map((e) => e.data.message), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
      'every event once, in order');
    assert.deepEqual(final.resets, [], 'no reset: the other node had the history');
    assert.ok(final.opens >= 2, 'the page reconnected');
    // One log: ids count up by one across the nodes.
    const seqs = got.map((e) => Number(e.id.split('-').pop()));
    for (let i = 1; i < seqs.length; ++i) assert.equal(seqs[i], seqs[i - 1] + 1, 'ids ' + got.map((e) => e.id));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
