// app.js - the demo page's logic: one EventSource on /api/sse feeds the
// notification center, the health panel, progress bars, the update list, a
// list of other (custom) events and a system banner. When the browser has no
// EventSource, or the stream keeps failing, the page polls /api/sse/poll from
// the last event id instead and tries streaming again now and then. Events are
// deduplicated by id, so replay, polling and a stream taking over from polling
// never show one event twice. A second EventSource on /api/dashboard/sse feeds
// the dashboard panel.
//
// The page reads every shape the seeds' servers send: a notification's type in
// notificationType or type, its text in message or body; success and error
// events as notifications; a heartbeat named heartbeat or ping whose data is a
// time, {"serverTime":…} or {}.
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
  const MAX_OTHER = 50;
  const MAX_ACTIONS = 5;
  const DEFAULT_DURATION = 5000;
  const NOTIFICATION_TYPES = ['success', 'error', 'warning', 'info'];
  // EventSource delivers named events only to listeners for that name: the
  // page listens for these, plus the names of "Other events to show".
  const EVENT_TYPES = ['message', 'connected', 'heartbeat', 'ping', 'notification', 'update',
                       'progress', 'system', 'success', 'error', 'dashboardUpdate', 'reset'];
  const HEARTBEATS = new Set(['heartbeat', 'ping']);
  const CONTROL_TYPES = new Set(['connected', 'heartbeat', 'ping', 'reset']);
  // Names other seeds' backends send (001's announcement, custom_event and
  // profile_updated, 004's systemUpdate, 003's user-action).
  const DEFAULT_OTHER_EVENTS = 'announcement,custom_event,profile_updated,systemUpdate,user-action';
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

  const settings = Object.assign({ userId: '', channels: '', token: '', filter: 'all',
                                   events: DEFAULT_OTHER_EVENTS, autoDismissMs: DEFAULT_DURATION },
                                 load(KEY.settings, {}));
  if (!(Number.isFinite(Number(settings.autoDismissMs)) && Number(settings.autoDismissMs) >= 0))
    settings.autoDismissMs = DEFAULT_DURATION;
  let search = '';
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
        actions: actionsOf(n.actions),
        time: n.time,
        read: n.read === true,
      }))
      .slice(0, MAX_NOTIFICATIONS);
  }

  /** A notification's actions: each {label, url} or {label, event, data?}; anything else is left out. */
  function actionsOf(list) {
    if (!Array.isArray(list)) return [];
    const out = [];
    for (const a of list) {
      if (!a || typeof a !== 'object' || typeof a.label !== 'string' || !a.label) continue;
      if (typeof a.url === 'string' && /^(https?:|\/)/i.test(a.url)) {
        out.push({ label: a.label, url: a.url });
      } else if (typeof a.event === 'string' && a.event) {
        const action = { label: a.label, event: a.event };
        if (a.data !== undefined) action.data = a.data;
        out.push(action);
      }
      if (out.length === MAX_ACTIONS) break;
    }
    return out;
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

  const dash = { source: null, timer: 0 };
  // Names beyond EVENT_TYPES that the stream listens for.
  const otherNames = new Set();
  const seen = { set: new Set(), order: [] };
  const health = { last: null, smoothed: null, samples: 0, arrivals: [] };

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

    source.onerror = (ev) => {
      // A server's "event: error" is a MessageEvent dispatched here too: it is
      // data (see receive), not a failed connection.
      if (ev instanceof MessageEvent || source !== conn.source) return;
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

    for (const type of EVENT_TYPES) listen(source, type);
    for (const type of otherNames) listen(source, type);
  }

  function listen(source, type) {
    source.addEventListener(type, (ev) => {
      // "error" also names the EventSource's own failures, which carry no data.
      if (!(ev instanceof MessageEvent) || source !== conn.source) return;
      // MessageEvent.lastEventId repeats the previous id for an event without
      // one, so only a changed value means that this event carried an id.
      const id = ev.lastEventId !== conn.sourceLastId ? ev.lastEventId : '';
      conn.sourceLastId = ev.lastEventId;
      receive(type, ev.data, id);
    });
  }

  /** Starts listening for events named `name` too, on the current stream and the next ones. */
  function listenFor(name) {
    if (!name || EVENT_TYPES.includes(name) || otherNames.has(name)) return;
    otherNames.add(name);
    if (conn.source) listen(conn.source, name);
  }

  // ---- the dashboard stream ----

  function setDashState(state) {
    const el = $('dashboard-state');
    el.textContent = state;
    el.dataset.state = state;
  }

  function connectDashboard() {
    clearTimeout(dash.timer);
    if (dash.source) dash.source.close();
    dash.source = null;
    if (typeof window.EventSource !== 'function') {
      setDashState('unavailable: this browser has no EventSource');
      return;
    }
    const q = authQuery(new URLSearchParams());
    q.delete('channels');   // the dashboard stream follows its own channel
    const source = new EventSource('/api/dashboard/sse' + (q.toString() ? '?' + q : ''));
    dash.source = source;
    setDashState('connecting');
    source.onopen = () => { if (source === dash.source) setDashState('open'); };
    source.onerror = (ev) => {
      if (ev instanceof MessageEvent || source !== dash.source) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (an older server without the endpoint, or no credential): try again later.
        setDashState('closed');
        dash.source = null;
        dash.timer = setTimeout(connectDashboard, Math.max(REOPEN_MS, 10000));
      } else {
        setDashState('reconnecting');
      }
    };
    source.addEventListener('dashboardUpdate', (ev) => {
      if (source !== dash.source) return;
      const data = parseJson(ev.data);
      if (data && typeof data === 'object') showDashboard(data);
    });
  }

  function showDashboard(data) {
    const show = (id, v, format) => {
      if (v === undefined || v === null) return;
      $(id).textContent = format ? format(v) : String(v);
    };
    show('dash-connections', data.connections);
    show('dash-unique-users', data.uniqueUsers);
    show('dash-events-per-second', data.eventsPerSecond,
      (v) => (Number.isFinite(Number(v)) ? Number(v).toFixed(1) : String(v)));
    show('dash-total-events-sent', data.totalEventsSent);
    const t = Number(data.timestamp);
    $('dash-updated').textContent = new Date(Number.isFinite(t) && t > 0 ? t : Date.now()).toLocaleTimeString();
    $('dashboard').dataset.updates = String(Number($('dashboard').dataset.updates || 0) + 1);
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
    if (!HEARTBEATS.has(type)) logLine(type, id, raw);
    const data = parseJson(raw);
    const object = data !== null && typeof data === 'object' && !Array.isArray(data) ? data : null;
    switch (type) {
      case 'connected':
        if (object) {
          $('client-id').textContent = object.clientId || '–';
          measureLatency(object.serverTime);
        }
        break;
      case 'heartbeat':
      case 'ping':
        // The time form sends a number; the json form {"serverTime":…}; the
        // empty-object form {} has no time to measure.
        measureLatency(object ? (object.serverTime ?? object.timestamp) : data);
        break;
      case 'notification':
        addNotification(id, object || { message: raw }, '');
        break;
      case 'success':
        addNotification(id, object || { message: raw }, 'success');
        break;
      case 'error':
        // 003's refusal of a stream ({"error":"Unauthorized","code":401}, then
        // the server closes) is not a notification: reconnecting would only be
        // refused again, so the page stops until the settings change.
        if (object && (object.code === 401 || object.code === 403) && typeof object.error === 'string') {
          refused(object);
          break;
        }
        addNotification(id, object || { message: raw }, 'error');
        break;
      case 'progress':
        if (object) showProgress(object);
        break;
      case 'update':
        if (object) showUpdate(object);
        break;
      case 'system':
        if (object) showBanner(object.level || object.severity || 'info', object.message || raw);
        else showBanner('info', raw);
        break;
      case 'dashboardUpdate':
        if (object) showDashboard(object);
        break;
      case 'reset':
        // The server could not replay from our last id; it says why.
        showBanner('warning', data && data.reason === 'foreign'
          ? 'The server has restarted: events from before the restart cannot be replayed.'
          : 'Some missed events could not be replayed' + (data && data.reason ? ' (' + data.reason + ')' : '') + '.');
        break;
      default:
        showOther(type, id, data === null ? raw : data);
        break;
    }
  }

  function refused(err) {
    closeStream();
    stopPolling();
    clearTimeout(conn.timers.streamRetry);
    setMode('refused');
    showBanner('error', 'The server refused the stream: ' + err.error + ' (' + err.code + '). ' +
      'Enter a token (or another user id) under Subscription and apply.');
  }

  // ---- health ----

  function measureLatency(serverTime) {
    const t = Number(serverTime);
    if (!Number.isFinite(t) || t <= 0) return;
    const ms = Date.now() - t;
    health.last = ms;
    health.samples += 1;
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

  /** `kind` is "success" or "error" for those events, whose name gives the type. */
  function addNotification(id, data, kind) {
    const type = kind ||
      [data.notificationType, data.type].find((t) => NOTIFICATION_TYPES.includes(t)) || 'info';
    const d = Number(data.duration);
    const given = data.duration != null && data.duration !== '' && Number.isFinite(d) && d >= 0;
    // autoDismiss false: the toast stays until closed; otherwise it closes after
    // the notification's duration, or the page's setting when it gives none.
    const duration = data.autoDismiss === false ? 0 : given ? d : Number(settings.autoDismissMs);
    const text = data.message ?? data.body ?? (kind === 'error' ? data.error : undefined);
    const n = {
      id: id || 'local-' + Date.now() + '-' + Math.random().toString(36).slice(2, 8),
      type,
      title: typeof data.title === 'string' ? data.title : '',
      message: text == null ? '' : typeof text === 'string' ? text : JSON.stringify(text),
      duration,
      actions: actionsOf(data.actions),
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
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    const matches = (n) => {
      const text = (n.title + ' ' + n.message + ' ' + n.type).toLowerCase();
      return words.every((w) => text.includes(w));
    };
    const shown = notifications.filter((n) => (settings.filter === 'all' || n.type === settings.filter) && matches(n));
    list.replaceChildren(...shown.map(notificationItem));
    const unread = notifications.filter((n) => !n.read).length;
    $('unread-count').textContent = String(unread);
    $('notification-empty').hidden = shown.length > 0;
    $('notification-empty').textContent = notifications.length ? 'No notification matches.' : 'No notifications yet.';
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
    text.append(type, ' ', ...titleOf(n), message, ...actionRow(n), time);

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

  /** The buttons of a notification's actions: a url opens, an event is sent back to the server. */
  function actionRow(n) {
    if (!n.actions || !n.actions.length) return [];
    const row = document.createElement('div');
    row.className = 'notification-actions';
    for (const a of n.actions) {
      const b = button(a.label, 'notification-action', () => runAction(n, a));
      b.dataset.kind = a.url ? 'url' : 'event';
      b.setAttribute('aria-label', a.label + ': ' + labelOf(n));
      row.append(b);
    }
    return [row];
  }

  async function runAction(n, a) {
    if (!n.read) {
      n.read = true;
      storeNotifications();
    }
    if (a.url) {
      window.open(a.url, '_blank', 'noopener');
      return;
    }
    // The server publishes the action back to this user's streams: show it when it comes.
    listenFor(a.event);
    const out = $('action-result');
    const body = { event: a.event, notificationId: n.id, label: a.label };
    if (a.data !== undefined) body.data = a.data;
    const q = new URLSearchParams();
    if (settings.userId) q.set('userId', settings.userId);
    out.dataset.status = '';
    out.textContent = 'Sending "' + a.label + '"…';
    try {
      const res = await fetch('/api/sse/actions' + (q.toString() ? '?' + q : ''), {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()),
        body: JSON.stringify(body),
      });
      const text = await res.text();
      out.dataset.status = String(res.status);
      out.textContent = res.ok ? 'Sent "' + a.label + '" (' + a.event + ').' : 'Error ' + res.status + ': ' + text;
    } catch (err) {
      out.dataset.status = 'network';
      out.textContent = 'Could not reach the server: ' + err.message;
    }
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
    toast.append(...titleOf(n), message, ...actionRow(n), close);
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

  /** An update is {entity, action?, payload?} (003) or {type, data?} (001's realtimeUpdate). */
  function showUpdate(data) {
    const li = document.createElement('li');
    li.dataset.testid = 'update-item';
    const entity = data.entity !== undefined ? data.entity : data.type;
    li.dataset.entity = String(entity ?? '');
    li.dataset.action = String(data.action ?? '');
    const head = document.createElement('strong');
    head.textContent = String(entity ?? '?') + (data.action !== undefined ? ' ' + data.action : '');
    const body = document.createElement('code');
    const payload = data.payload !== undefined ? data.payload : data.data;
    body.textContent = payload === undefined ? '' : JSON.stringify(payload);
    li.append(head, ' ', body);
    const list = $('update-list');
    list.prepend(li);
    while (list.children.length > MAX_UPDATES) list.lastElementChild.remove();
    $('updates-empty').hidden = true;
  }

  function showOther(type, id, data) {
    const li = document.createElement('li');
    li.dataset.testid = 'other-item';
    li.dataset.event = type;
    if (id) li.dataset.id = id;
    const head = document.createElement('strong');
    head.textContent = type;
    const body = document.createElement('code');
    body.textContent = typeof data === 'string' ? data : JSON.stringify(data);
    li.append(head, ' ', body);
    const list = $('other-list');
    list.prepend(li);
    while (list.children.length > MAX_OTHER) list.lastElementChild.remove();
    $('other-empty').hidden = true;
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
    settings.events = splitList($('settings-events').value).join(',');
    const dismiss = Number($('settings-dismiss').value);
    settings.autoDismissMs = $('settings-dismiss').value !== '' && Number.isFinite(dismiss) && dismiss >= 0
      ? dismiss : DEFAULT_DURATION;
    $('settings-dismiss').value = String(settings.autoDismissMs);
    save(KEY.settings, settings);
    for (const name of splitList(settings.events)) listenFor(name);
    // A new subscription starts afresh, from the last event id seen.
    stopPolling();
    conn.errorsSinceOpen = 0;
    connect();
    connectDashboard();
  });

  // ---- the publish form: one event of any type the server accepts ----

  // A starting point for the events whose data is typed in as JSON.
  const TEMPLATES = {
    update: () => ({ entity: 'order', action: 'created', payload: { id: 1042, status: 'shipped' } }),
    progress: () => ({ operationId: 'export-7', progress: 40, message: 'exporting' }),
    dashboardUpdate: () => ({ connections: 3, uniqueUsers: 2, eventsPerSecond: 0.5, totalEventsSent: 120,
                              timestamp: Date.now() }),
    custom: () => ({ message: 'New feature released!' }),
  };
  let template = '';

  function showFieldsFor(kind) {
    for (const f of $('publish-form').querySelectorAll('.field[data-for]'))
      f.hidden = !f.dataset.for.split(' ').includes(kind);
    const area = $('publish-data');
    if (TEMPLATES[kind] && (area.value.trim() === '' || area.value === template)) {
      template = JSON.stringify(TEMPLATES[kind](), null, 2);
      area.value = template;
    }
  }

  /** "Open=/orders/1, Undo=order-undo": a target starting http:, https: or / is a url, else an event. */
  function parseActions(text) {
    return splitList(text).map((item) => {
      const eq = item.indexOf('=');
      const label = (eq < 0 ? item : item.slice(0, eq)).trim();
      const target = (eq < 0 ? '' : item.slice(eq + 1)).trim();
      return /^(https?:|\/)/i.test(target) ? { label, url: target } : { label, event: target };
    });
  }

  /** The publish body for the form's fields; throws, naming the field, when the JSON data is not JSON. */
  function publishBody() {
    const kind = $('publish-event').value;
    const body = {};
    const message = $('publish-message').value;
    const title = $('publish-title').value;
    switch (kind) {
      case 'notification': {
        body.data = { notificationType: $('publish-type').value, message };
        // The title is optional: an empty field sends none. So is the duration:
        // without one, the receiving page's auto-dismiss setting applies.
        if (title) body.data.title = title;
        if ($('publish-duration').value !== '') body.data.duration = Number($('publish-duration').value);
        const actions = parseActions($('publish-actions').value);
        if (actions.length) body.data.actions = actions;
        break;
      }
      case 'success':
      case 'error':
        body.data = { message };
        if (title) body.data.title = title;
        break;
      case 'system':
        body.data = { message, level: $('publish-level').value };
        break;
      default:
        try {
          body.data = JSON.parse($('publish-data').value);
        } catch (err) {
          throw Object.assign(new Error('Data is not JSON: ' + err.message), { field: 'data' });
        }
    }
    body.event = kind === 'custom' ? $('publish-custom-name').value.trim() : kind;
    const users = splitList($('publish-user').value);
    const channels = splitList($('publish-channel').value);
    if (users.length) body.userIds = users;
    if (channels.length) body.channels = channels;
    // dashboardUpdate events are for the dashboard streams, which follow channel "dashboard".
    if (kind === 'dashboardUpdate' && !users.length && !channels.length) body.channels = ['dashboard'];
    return body;
  }

  $('publish-event').addEventListener('change', (ev) => showFieldsFor(ev.target.value));

  $('publish-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = $('publish-result');
    const form = ev.target;
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    let body;
    try {
      body = publishBody();
    } catch (err) {
      out.dataset.status = 'form';
      out.textContent = err.message;
      markField(form, err.field);
      return;
    }
    // A custom event shows under "Other events" when it arrives.
    listenFor(body.event);
    await send('/api/sse/publish', body, (json) => 'Published ' + json.id + ' to ' + json.recipients + ' client(s).', form);
  });

  $('demo-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // 001's demo endpoint: the server builds the event. "user" needs a user id:
    // the publish form's first one, else this page's own.
    const body = { type: $('demo-type').value };
    const user = splitList($('publish-user').value)[0] || settings.userId;
    if (user) body.userId = user;
    await send('/api/sse/demo', body, (json) => 'Sent demo "' + body.type + '" as ' + json.id + '.', null);
  });

  /** Marks the input the server's (or the form's) `field` names, "data.x" meaning input "x". */
  function markField(form, field) {
    if (!form || !field) return;
    const name = String(field).replace(/^data\./, '');
    let input = form.querySelector('.field:not([hidden]) [name="' + CSS.escape(name) + '"]') ||
                form.querySelector(':scope > [name="' + CSS.escape(name) + '"]');
    // The events typed in as JSON: the data field is at fault.
    if (!input && /^data(\.|$)/.test(String(field)) && !$('publish-data').closest('.field').hidden)
      input = $('publish-data');
    if (input) input.setAttribute('aria-invalid', 'true');
  }

  async function send(path, body, describe, form) {
    const out = $('publish-result');
    out.textContent = 'Publishing…';
    out.dataset.status = '';
    try {
      const res = await fetch(path, {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()),
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const json = parseJson(text);
      out.dataset.status = String(res.status);
      if (res.ok && json) {
        out.textContent = describe(json);
      } else {
        // Show the server's error as it sent it, and point at the field it names.
        out.textContent = 'Error ' + res.status + ': ' + text;
        markField(form, json && json.field);
      }
    } catch (err) {
      out.dataset.status = 'network';
      out.textContent = 'Could not reach the server: ' + err.message;
    }
  }

  $('notification-filter').addEventListener('change', (ev) => {
    settings.filter = ev.target.value;
    save(KEY.settings, settings);
    renderNotifications();
  });

  $('notification-search').addEventListener('input', (ev) => {
    search = ev.target.value;
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
  $('settings-events').value = settings.events;
  $('settings-dismiss').value = String(settings.autoDismissMs);
  $('notification-filter').value = settings.filter;
  if (conn.lastEventId) $('last-event-id').textContent = conn.lastEventId;
  for (const name of splitList(settings.events)) listenFor(name);
  showFieldsFor($('publish-event').value);
  renderNotifications();
  connect();
  connectDashboard();

  // For tests and the curious: a read-only view of the connection.
  window.sseDemo = {
    get mode() { return conn.mode; },
    get reconnects() { return conn.reconnects; },
    get lastEventId() { return conn.lastEventId; },
    get latencySamples() { return health.samples; },
    get listening() { return [...EVENT_TYPES, ...otherNames]; },
  };
})();
