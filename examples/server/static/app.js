// app.js - the demo page's logic: one EventSource on /api/sse feeds the
// notification center, the health panel, progress bars, the update list and a
// system banner. When the browser has no EventSource, or the stream keeps
// failing, the page polls /api/sse/poll from the last event id instead and
// tries streaming again now and then. Events are deduplicated by id, so replay,
// polling and a stream taking over from polling never show one event twice.
//
// Query parameters of the page tune the fallback (the browser tests use them):
// pollMs (default 2000), streamRetryMs (default 30000), reopenMs (default 3000).
'use strict';

(() => {
  const query = new URLSearchParams(location.search);
  const number = (name, fallback) => {
    const v = Number(query.get(name));
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };

  const POLL_MS = number('pollMs', 2000);
  const STREAM_RETRY_MS = number('streamRetryMs', 30000);   // while polling
  const REOPEN_MS = number('reopenMs', 3000);   // after the browser gave up on a stream (readyState CLOSED)
  const ERRORS_BEFORE_POLLING = 3;  // stream errors with no open in between
  const MAX_NOTIFICATIONS = 200;    // kept in localStorage, newest first
  const MAX_TOASTS = 5;
  const MAX_UPDATES = 50;
  const MAX_LOG = 50;
  const MAX_SEEN_IDS = 2000;
  const DEFAULT_DURATION = 5000;
  const NOTIFICATION_TYPES = ['success', 'error', 'warning', 'info'];
  // EventSource delivers named events only to listeners for that name.
  const EVENT_TYPES = ['message', 'connected', 'heartbeat', 'notification', 'update',
                       'progress', 'system', 'reset'];
  const CONTROL_TYPES = new Set(['connected', 'heartbeat', 'reset']);
  const KEY = {
    settings: 'sse-demo.settings',
    notifications: 'sse-demo.notifications',
    lastEventId: 'sse-demo.lastEventId',
  };

  const $ = (id) => document.getElementById(id);

  // ---- storage: localStorage may be unavailable (private mode, quota) ----

  function load(key, fallback) {
    try {
      const text = localStorage.getItem(key);
      return text === null ? fallback : JSON.parse(text);
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* the page still works, it just forgets on reload */ }
  }

  // ---- state ----

  const settings = Object.assign({ userId: '', channels: '', token: '', filter: 'all' },
                                 load(KEY.settings, {}));
  let notifications = loadNotifications();

  /** The stored list, with anything malformed (an older page, a hand edit) left out. */
  function loadNotifications() {
    const list = load(KEY.notifications, []);
    return (Array.isArray(list) ? list : [])
      .filter((n) => n && typeof n === 'object' && typeof n.id === 'string' && Number.isFinite(n.time))
      .map((n) => ({
        id: n.id,
        type: NOTIFICATION_TYPES.includes(n.type) ? n.type : 'info',
        title: String(n.title || ''),
        message: String(n.message || ''),
        duration: Number(n.duration) || 0,
        time: n.time,
        read: n.read === true,
      }))
      .slice(0, MAX_NOTIFICATIONS);
  }

  const conn = {
    source: null,          // the current EventSource
    sourceLastId: '',      // MessageEvent.lastEventId of the previous event on it
    mode: 'connecting',    // connecting | open | reconnecting | polling
    openedOnce: false,
    errorsSinceOpen: 0,
    reconnects: 0,
    polling: false,
    pollToken: 0,          // a poll whose token is stale drops its answer
    timers: { poll: 0, streamRetry: 0, reopen: 0 },
    lastEventId: String(load(KEY.lastEventId, '') || ''),
  };

  const seen = { set: new Set(), order: [] };
  const health = { last: null, smoothed: null, arrivals: [] };

  // ---- event ids: one event is handled once, whichever way it came ----

  function alreadySeen(id) {
    if (seen.set.has(id)) return true;
    seen.set.add(id);
    seen.order.push(id);
    if (seen.order.length > MAX_SEEN_IDS) seen.set.delete(seen.order.shift());
    return false;
  }

  function setLastEventId(id) {
    if (!id || id === conn.lastEventId) return;
    conn.lastEventId = id;
    save(KEY.lastEventId, id);
    $('last-event-id').textContent = id;
  }

  for (const n of notifications) if (n.id) alreadySeen(n.id);

  // ---- connection ----

  function authQuery(params) {
    if (settings.userId) params.set('userId', settings.userId);
    if (settings.channels) params.set('channels', settings.channels);
    if (settings.token) params.set('token', settings.token);
    return params;
  }

  function streamUrl() {
    const params = authQuery(new URLSearchParams());
    // A new EventSource sends no Last-Event-ID header: the query carries it. The
    // browser's own reconnects of the same EventSource send the header.
    if (conn.lastEventId) params.set('lastEventId', conn.lastEventId);
    const q = params.toString();
    return '/api/sse' + (q ? '?' + q : '');
  }

  function setMode(mode) {
    conn.mode = mode;
    const label = mode === 'reconnecting' ? 'reconnecting…' : mode;
    for (const el of [$('conn-state'), $('health-state')]) {
      el.textContent = label;
      el.dataset.state = mode;
    }
    document.body.dataset.connection = mode;
  }

  function closeStream() {
    clearTimeout(conn.timers.reopen);
    if (conn.source) conn.source.close();
    conn.source = null;
  }

  function connect() {
    closeStream();
    clearTimeout(conn.timers.streamRetry);
    if (typeof window.EventSource !== 'function') {
      startPolling('this browser has no EventSource');
      return;
    }
    if (!conn.polling) setMode(conn.openedOnce ? 'reconnecting' : 'connecting');

    const source = new EventSource(streamUrl());
    conn.source = source;
    conn.sourceLastId = '';

    source.onopen = () => {
      if (source !== conn.source) return;
      if (conn.openedOnce) conn.reconnects += 1;
      conn.openedOnce = true;
      conn.errorsSinceOpen = 0;
      $('reconnect-count').textContent = String(conn.reconnects);
      stopPolling();
      setMode('open');
    };

    source.onerror = () => {
      if (source !== conn.source) return;
      conn.errorsSinceOpen += 1;
      if (conn.polling) {
        // A trial stream while polling failed: keep polling, try again later.
        closeStream();
        scheduleStreamRetry();
        return;
      }
      if (conn.errorsSinceOpen >= ERRORS_BEFORE_POLLING) {
        closeStream();
        startPolling('the stream keeps failing');
        return;
      }
      // CONNECTING: the browser reconnects by itself, sending Last-Event-ID.
      // CLOSED: it gave up (an HTTP error, a wrong content type); reconnect ourselves.
      if (source.readyState === EventSource.CLOSED) {
        conn.source = null;
        conn.timers.reopen = setTimeout(connect, REOPEN_MS);
      }
      setMode('reconnecting');
    };

    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev) => {
        if (source !== conn.source) return;
        // MessageEvent.lastEventId repeats the previous id for an event without
        // one, so only a changed value means that this event carried an id.
        const id = ev.lastEventId !== conn.sourceLastId ? ev.lastEventId : '';
        conn.sourceLastId = ev.lastEventId;
        receive(type, ev.data, id);
      });
    }
  }

  function scheduleStreamRetry() {
    clearTimeout(conn.timers.streamRetry);
    if (typeof window.EventSource === 'function')
      conn.timers.streamRetry = setTimeout(connect, STREAM_RETRY_MS);
  }

  function startPolling(reason) {
    if (!conn.polling) {
      conn.polling = true;
      setMode('polling');
      logLine('fallback', '', 'polling: ' + reason);
      poll();
    }
    scheduleStreamRetry();
  }

  function stopPolling() {
    conn.polling = false;
    conn.pollToken += 1;
    clearTimeout(conn.timers.poll);
  }

  async function poll() {
    clearTimeout(conn.timers.poll);
    const token = ++conn.pollToken;
    const params = authQuery(new URLSearchParams());
    if (conn.lastEventId) params.set('since', conn.lastEventId);
    try {
      const res = await fetch('/api/sse/poll?' + params, { headers: authHeaders(), cache: 'no-store' });
      const body = await res.json().catch(() => ({}));
      if (token !== conn.pollToken) return;
      if (!res.ok) throw new Error(body.error || 'HTTP ' + res.status);
      if (body.reset)
        showBanner('warning', 'Some events were missed: the server no longer had them.');
      for (const e of body.events || [])
        receive(e.event || 'message', e.data == null ? '' : String(e.data), e.id || '');
      if (body.lastEventId) setLastEventId(String(body.lastEventId));
    } catch (err) {
      if (token !== conn.pollToken) return;
      logLine('poll', '', 'failed: ' + err.message);
    }
    if (conn.polling && token === conn.pollToken)
      conn.timers.poll = setTimeout(poll, POLL_MS);
  }

  function authHeaders() {
    return settings.token ? { Authorization: 'Bearer ' + settings.token } : {};
  }

  // ---- incoming events ----

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  function receive(type, raw, id) {
    if (id) {
      // connected and reset carry the server's newest id as a resume point, not
      // an event of their own: they are never dropped as duplicates.
      if (!CONTROL_TYPES.has(type) && alreadySeen(id)) return;
      setLastEventId(id);
    }
    health.arrivals.push(performance.now());
    if (type !== 'heartbeat') logLine(type, id, raw);
    const data = parseJson(raw);
    switch (type) {
      case 'connected':
        if (data) {
          $('client-id').textContent = data.clientId || '–';
          measureLatency(data.serverTime);
        }
        break;
      case 'heartbeat':
        measureLatency(data !== null && typeof data === 'object' ? data.serverTime : data);
        break;
      case 'notification':
        if (data) addNotification(id, data);
        break;
      case 'progress':
        if (data) showProgress(data);
        break;
      case 'update':
        if (data) showUpdate(data);
        break;
      case 'system':
        if (data) showBanner(data.level || 'info', data.message || raw);
        else showBanner('info', raw);
        break;
      case 'reset':
        // The server could not replay from our last id; it says why.
        showBanner('warning', data && data.reason === 'foreign'
          ? 'The server has restarted: events from before the restart cannot be replayed.'
          : 'Some missed events could not be replayed' + (data && data.reason ? ' (' + data.reason + ')' : '') + '.');
        break;
    }
  }

  // ---- health ----

  function measureLatency(serverTime) {
    const t = Number(serverTime);
    if (!Number.isFinite(t) || t <= 0) return;
    const ms = Date.now() - t;
    health.last = ms;
    // Exponentially weighted: a single slow heartbeat moves it by a fifth.
    health.smoothed = health.smoothed === null ? ms : health.smoothed * 0.8 + ms * 0.2;
    $('latency-last').textContent = ms + ' ms';
    $('latency-avg').textContent = Math.round(health.smoothed) + ' ms';
  }

  const RATE_WINDOW_MS = 5000;
  setInterval(() => {
    const cutoff = performance.now() - RATE_WINDOW_MS;
    while (health.arrivals.length && health.arrivals[0] < cutoff) health.arrivals.shift();
    $('events-per-second').textContent = (health.arrivals.length / (RATE_WINDOW_MS / 1000)).toFixed(1);
  }, 1000);

  // ---- notification center ----

  function addNotification(id, data) {
    const type = NOTIFICATION_TYPES.includes(data.notificationType) ? data.notificationType : 'info';
    const d = Number(data.duration);
    const duration = data.duration == null || data.duration === '' || !Number.isFinite(d) ? DEFAULT_DURATION : d;
    const n = {
      id: id || 'local-' + Date.now() + '-' + Math.random().toString(36).slice(2, 8),
      type,
      title: String(data.title || ''),
      message: String(data.message || ''),
      duration,
      time: Date.now(),
      read: false,
    };
    notifications.unshift(n);
    notifications.length = Math.min(notifications.length, MAX_NOTIFICATIONS);
    storeNotifications();
    showToast(n);
  }

  function storeNotifications() {
    save(KEY.notifications, notifications);
    renderNotifications();
  }

  function findNotification(id) {
    return notifications.find((n) => n.id === id);
  }

  function renderNotifications() {
    const list = $('notification-list');
    const shown = notifications.filter((n) => settings.filter === 'all' || n.type === settings.filter);
    list.replaceChildren(...shown.map(notificationItem));
    const unread = notifications.filter((n) => !n.read).length;
    $('unread-count').textContent = String(unread);
    $('notification-empty').hidden = shown.length > 0;
    document.title = (unread ? '(' + unread + ') ' : '') + 'SSE notifications demo';
  }

  function notificationItem(n) {
    const li = document.createElement('li');
    li.className = 'notification type-' + n.type + (n.read ? ' read' : ' unread');
    li.dataset.testid = 'notification-item';
    li.dataset.id = n.id;
    li.dataset.type = n.type;
    li.dataset.read = String(n.read);

    const text = document.createElement('div');
    text.className = 'text';
    const type = document.createElement('span');
    type.className = 'type';
    type.textContent = n.type;
    const message = document.createElement('p');
    message.className = 'message';
    message.textContent = n.message;
    const time = document.createElement('time');
    time.dateTime = new Date(n.time).toISOString();
    time.textContent = new Date(n.time).toLocaleTimeString();
    text.append(type, ' ', ...titleOf(n), message, time);

    const read = button(n.read ? 'Mark unread' : 'Mark read', 'mark-read', () => {
      n.read = !n.read;
      storeNotifications();
    });
    read.setAttribute('aria-label', (n.read ? 'Mark unread: ' : 'Mark read: ') + labelOf(n));
    const dismiss = button('Dismiss', 'dismiss', () => {
      notifications = notifications.filter((x) => x !== n);
      storeNotifications();
    });
    dismiss.setAttribute('aria-label', 'Dismiss: ' + labelOf(n));

    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(read, dismiss);
    li.append(text, actions);
    return li;
  }

  /** The title element of a notification: none when it has no title (the title is optional). */
  function titleOf(n) {
    if (!n.title) return [];
    const title = document.createElement('strong');
    title.className = 'title';
    title.textContent = n.title;
    return [title];
  }

  /** What names a notification to a screen reader: its title, else its message, else its type. */
  function labelOf(n) {
    return n.title || n.message || n.type;
  }

  function button(label, testid, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.testid = testid;
    b.addEventListener('click', onClick);
    return b;
  }

  function showToast(n) {
    const box = $('toasts');
    const toast = document.createElement('div');
    toast.className = 'toast type-' + n.type;
    toast.dataset.testid = 'toast';
    toast.dataset.id = n.id;
    toast.dataset.type = n.type;
    if (n.type === 'error') toast.setAttribute('role', 'alert');
    const message = document.createElement('p');
    message.className = 'message';
    message.textContent = n.message;
    const close = button('×', 'toast-close', () => toast.remove());
    close.setAttribute('aria-label', 'Close: ' + labelOf(n));
    toast.append(...titleOf(n), message, close);
    box.append(toast);
    while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
    if (n.duration > 0) setTimeout(() => toast.remove(), n.duration);
  }

  // ---- progress, updates, system banner, log ----

  function showProgress(data) {
    const opId = String(data.operationId || '');
    const pct = Math.max(0, Math.min(100, Number(data.progress) || 0));
    let li = [...$('progress-list').children].find((x) => x.dataset.operationId === opId);
    if (!li) {
      li = document.createElement('li');
      li.dataset.testid = 'progress-item';
      li.dataset.operationId = opId;
      const label = document.createElement('span');
      label.className = 'label';
      label.id = 'progress-label-' + $('progress-list').children.length;
      const bar = document.createElement('progress');
      bar.max = 100;
      bar.setAttribute('aria-labelledby', label.id);
      const text = document.createElement('span');
      text.className = 'pct';
      li.append(label, bar, text);
      $('progress-list').prepend(li);
    }
    li.querySelector('.label').textContent = opId + (data.message ? ': ' + data.message : '');
    li.querySelector('progress').value = pct;
    li.querySelector('.pct').textContent = pct >= 100 ? 'done' : pct + '%';
    li.dataset.progress = String(pct);
    li.classList.toggle('complete', pct >= 100);
    $('progress-empty').hidden = true;
  }

  function showUpdate(data) {
    const li = document.createElement('li');
    li.dataset.testid = 'update-item';
    li.dataset.entity = String(data.entity || '');
    li.dataset.action = String(data.action || '');
    const head = document.createElement('strong');
    head.textContent = (data.entity || '?') + ' ' + (data.action || '?');
    const body = document.createElement('code');
    body.textContent = data.payload === undefined ? '' : JSON.stringify(data.payload);
    li.append(head, ' ', body);
    const list = $('update-list');
    list.prepend(li);
    while (list.children.length > MAX_UPDATES) list.lastElementChild.remove();
    $('updates-empty').hidden = true;
  }

  function showBanner(level, message) {
    const banner = $('system-banner');
    banner.className = 'banner level-' + level;
    banner.dataset.level = level;
    $('system-banner-text').textContent = message;
    banner.hidden = false;
  }

  function logLine(type, id, text) {
    const li = document.createElement('li');
    li.dataset.type = type;
    const t = document.createElement('code');
    t.textContent = type + (id ? ' #' + id : '');
    li.append(t, ' ', String(text).slice(0, 200));
    const log = $('event-log');
    log.prepend(li);
    while (log.children.length > MAX_LOG) log.lastElementChild.remove();
  }

  // ---- forms ----

  function splitList(text) {
    return String(text).split(',').map((s) => s.trim()).filter(Boolean);
  }

  $('settings-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    settings.userId = $('settings-user').value.trim();
    settings.channels = splitList($('settings-channels').value).join(',');
    settings.token = $('settings-token').value.trim();
    save(KEY.settings, settings);
    // A new subscription starts afresh, from the last event id seen.
    stopPolling();
    conn.errorsSinceOpen = 0;
    connect();
  });

  $('publish-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = $('publish-result');
    const form = ev.target;
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const body = {
      event: 'notification',
      data: {
        notificationType: $('publish-type').value,
        message: $('publish-message').value,
        duration: Number($('publish-duration').value || 0),
      },
    };
    // The title is optional: an empty field sends none.
    if ($('publish-title').value) body.data.title = $('publish-title').value;
    const users = splitList($('publish-user').value);
    const channels = splitList($('publish-channel').value);
    if (users.length) body.userIds = users;
    if (channels.length) body.channels = channels;
    out.textContent = 'Publishing…';
    out.dataset.status = '';
    try {
      const res = await fetch('/api/sse/publish', {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()),
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const json = parseJson(text);
      out.dataset.status = String(res.status);
      if (res.ok && json) {
        out.textContent = 'Published ' + json.id + ' to ' + json.recipients + ' client(s).';
      } else {
        // Show the server's error as it sent it, and point at the field it names.
        out.textContent = 'Error ' + res.status + ': ' + text;
        const field = json && String(json.field || '').replace(/^data\./, '');
        const input = field && form.querySelector('[name="' + CSS.escape(field) + '"]');
        if (input) input.setAttribute('aria-invalid', 'true');
      }
    } catch (err) {
      out.dataset.status = 'network';
      out.textContent = 'Could not reach the server: ' + err.message;
    }
  });

  $('notification-filter').addEventListener('change', (ev) => {
    settings.filter = ev.target.value;
    save(KEY.settings, settings);
    renderNotifications();
  });

  $('mark-all-read').addEventListener('click', () => {
    for (const n of notifications) n.read = true;
    storeNotifications();
  });

  $('clear-notifications').addEventListener('click', () => {
    notifications = [];
    storeNotifications();
  });

  $('system-banner-close').addEventListener('click', () => {
    $('system-banner').hidden = true;
  });

  // Another tab of this page changed the stored notifications.
  window.addEventListener('storage', (ev) => {
    if (ev.key !== KEY.notifications) return;
    notifications = loadNotifications();
    for (const n of notifications) if (n.id) alreadySeen(n.id);
    renderNotifications();
  });

  // ---- start ----

  $('settings-user').value = settings.userId;
  $('settings-channels').value = settings.channels;
  $('settings-token').value = settings.token;
  $('notification-filter').value = settings.filter;
  if (conn.lastEventId) $('last-event-id').textContent = conn.lastEventId;
  renderNotifications();
  connect();

  // For tests and the curious: a read-only view of the connection.
  window.sseDemo = {
    get mode() { return conn.mode; },
    get reconnects() { return conn.reconnects; },
    get lastEventId() { return conn.lastEventId; },
  };
})();
