/**
 * HomiClient: one websocket to the hub, kept alive for the app.
 *
 * The client authenticates with the first frame, then stays connected:
 * when the socket breaks it waits (exponential backoff with jitter),
 * connects again, authenticates again, and subscribes every channel again,
 * resuming channels with history from the last position it delivered. The
 * app sees this through `state` events:
 *
 *     idle ──connect()──> connecting ──welcome──> online
 *                             ^                      │ socket lost
 *                             └──── backoff ──── offline
 *     any ──close(), or a close code meaning "do not retry"──> closed
 *
 * Close codes 4400 (broken protocol) and 4403 (forbidden) end the client;
 * 4401 (token bad or expired) first asks the app's `refreshToken` hook for a
 * new token and only ends the client when there is none.
 *
 * A dead network often closes nothing: the client pings when the line has
 * been quiet and treats a missing answer as a lost connection.
 */

import { backoffDelay } from './backoff.js';
import { CloseCode, afterClose } from './closecodes.js';
import { resolveCodec } from './codec.js';
import { Emitter } from './emitter.js';
import { HomiError } from './errors.js';
import { Subscription } from './subscription.js';

export const ConnectionState = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  ONLINE: 'online',
  OFFLINE: 'offline',
  CLOSED: 'closed',
});

const DEFAULTS = Object.freeze({
  heartbeatInterval: 15_000, // ms between pings
  heartbeatTimeout: 10_000, // ms a ping may go unanswered before the line counts as dead
  requestTimeout: 10_000, // ms a request waits for its reply
  stableAfter: 5_000, // ms online after which the backoff starts from the beginning again
});

export class HomiClient extends Emitter {
  /**
   * @param {object} options
   * @param {string} options.url the hub's websocket, e.g. "wss://hub.example/ws"
   * @param {string | (() => string | Promise<string>)} options.token login token, or a
   *   function asked for one on every connect
   * @param {() => Promise<string | null>} [options.refreshToken] asked for a new token
   *   after the hub refused the old one (4401); null means "log in again"
   * @param {'json' | 'msgpack'} [options.codec] wire encoding; JSON by default
   * @param {Function} [options.WebSocket] a WebSocket class; default the global one
   *   (Node 20 needs one injected, e.g. from the `ws` package)
   * @param {object} [options.backoff] {initial, factor, max, jitter} in ms
   */
  constructor(options) {
    super();
    if (!options?.url) throw new TypeError('HomiClient needs options.url');
    this.options = { ...DEFAULTS, ...options };
    this.url = options.url;
    this.state = ConnectionState.IDLE;
    this.user = null;
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this._WebSocket) {
      throw new TypeError('no global WebSocket here: pass options.WebSocket (e.g. the ws package)');
    }
    this._token = options.token;
    this._codec = null;
    this._socket = null;
    this._subscriptions = new Map();
    this._pending = new Map();
    this._nextRef = 1;
    this._attempt = 0;
    this._onlineSince = 0;
    this._reconnectTimer = null;
    this._heartbeatTimer = null;
    this._pongTimer = null;
    this._lastHeard = 0;
    this._refreshedSinceWelcome = false;
    this._wasOnline = false;
    this._connectWaiters = [];
    this._watchBrowserNetwork();
  }

  // -- public API ----------------------------------------------------------

  /** Connect (if not yet) and resolve with the user once authenticated. */
  connect() {
    if (this.state === ConnectionState.ONLINE) return Promise.resolve(this.user);
    const waiting = new Promise((resolve, reject) => {
      this._connectWaiters.push({ resolve, reject });
    });
    if (this.state === ConnectionState.IDLE || this.state === ConnectionState.CLOSED) {
      this._attempt = 0;
      this._open();
    }
    return waiting;
  }

  /** Close for good: no reconnect; subscriptions end. */
  close() {
    this._setClosed(CloseCode.NORMAL, 'closed by the app');
    for (const subscription of this._subscriptions.values()) {
      subscription.active = false;
      subscription._finish();
    }
    this._subscriptions.clear();
  }

  /**
   * Subscribe to `channel`; works offline too (sent once connected).
   * @param {string} channel e.g. "district:noord", "tickets:mine", "ticket:T1"
   * @param {object} [handlers] onSnapshot(snapshot), onEvent(frame), onReset(frame),
   *   onSubscribed(frame, {resumed}), onError(error); since: a position to start after
   * @returns {Subscription}
   */
  subscribe(channel, handlers = {}) {
    if (this._subscriptions.has(channel)) {
      throw new HomiError('conflict', `already subscribed to ${channel}`);
    }
    const subscription = new Subscription(this, channel, handlers);
    this._subscriptions.set(channel, subscription);
    if (this.state === ConnectionState.ONLINE) this._sendSubscribe(subscription);
    return subscription;
  }

  /**
   * Send a frame and resolve with the hub's reply to it (matched by `ref`).
   * Rejects with a HomiError: the hub's error code, "disconnected" or "timeout".
   */
  request(frame, { timeout = this.options.requestTimeout } = {}) {
    if (this.state !== ConnectionState.ONLINE) {
      return Promise.reject(new HomiError('disconnected', 'not connected to the hub'));
    }
    return this._request(frame, timeout);
  }

  /** Send a frame that gets no reply; false when offline (nothing was sent). */
  send(frame) {
    if (this.state !== ConnectionState.ONLINE) return false;
    this._write(frame);
    return true;
  }

  /** Caretakers: announce duty and status; resolves on the hub's `ok`. */
  setPresence({ on_duty, status = null, activity = '', ticket_id = '' }) {
    const frame = { type: 'presence', on_duty, activity, ticket_id };
    if (status) frame.status = status;
    return this.request(frame);
  }

  /**
   * Caretakers on duty: share a position. The hub answers only when it refuses
   * one; such errors arrive as `error` events.
   */
  /** Write on a ticket's conversation; resolves with the stored message. */
  async sendMessage(ticketId, text, photos = []) {
    const reply = await this.request({ type: 'message', ticket_id: ticketId, text, photos });
    return reply.message;
  }

  /** "I am typing" on a ticket: no reply; the hub passes on one per 2 s at most. */
  sendTyping(ticketId) {
    this.send({ type: 'typing', ticket_id: ticketId });
  }

  /** Move this user's read marker on a ticket up to `messageId`. */
  async markRead(ticketId, messageId) {
    const reply = await this.request({ type: 'read', ticket_id: ticketId, message_id: messageId });
    return reply.read;
  }

  sendLocation({ lat, lon, accuracy, ts }) {
    const frame = { type: 'location', lat, lon };
    if (accuracy != null) frame.accuracy = accuracy;
    if (ts != null) frame.ts = Math.round(ts);
    return this.send(frame);
  }

  /** Hand the live connection a fresh token, extending its expiry. */
  async updateToken(token) {
    this._token = token;
    if (this.state !== ConnectionState.ONLINE) return this.user;
    const welcome = await this._request({ type: 'auth', token }, this.options.requestTimeout);
    return welcome.user;
  }

  // -- the connection's life -------------------------------------------------

  async _open() {
    this._clearReconnect();
    this._setState(ConnectionState.CONNECTING, { attempt: this._attempt });
    let token;
    try {
      this._codec ??= await resolveCodec(this.options.codec);
      token = typeof this._token === 'function' ? await this._token() : this._token;
    } catch (error) {
      // A token service that refuses us means "log in again"; one that cannot
      // be reached is as temporary as the hub being down.
      if (error instanceof HomiError && error.code === 'unauthorized') {
        this._setClosed(CloseCode.NOT_AUTHENTICATED, `no token: ${error.message}`);
      } else {
        this.emit('error', error);
        this._scheduleReconnect(CloseCode.ABNORMAL, `no token: ${error.message}`);
      }
      return;
    }
    if (this.state !== ConnectionState.CONNECTING) return; // closed meanwhile

    let socket;
    try {
      socket = new this._WebSocket(this.url, [this._codec.subprotocol]);
    } catch (error) {
      this._setClosed(CloseCode.PROTOCOL_ERROR, `cannot open ${this.url}: ${error.message}`);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this._socket = socket;
    const current = () => this._socket === socket;

    socket.onopen = () => {
      if (!current()) return;
      this._request({ type: 'auth', token }, this.options.requestTimeout).then(
        (welcome) => current() && this._online(welcome),
        (error) => {
          // No welcome in time: this socket is of no use; try another.
          if (current() && error.code === 'timeout') this._lost(CloseCode.AUTH_TIMEOUT, 'no welcome');
        },
      );
    };
    socket.onmessage = (event) => current() && this._receive(event.data);
    socket.onclose = (event) => current() && this._lost(event.code, event.reason);
    // An error is always followed by close, which decides what happens next.
    socket.onerror = () => {};
  }

  _online(welcome) {
    this.user = welcome.user;
    this._onlineSince = Date.now();
    this._refreshedSinceWelcome = false;
    const resumed = this._wasOnline;
    this._wasOnline = true;
    this._setState(ConnectionState.ONLINE, { resumed });
    this._startHeartbeat();
    for (const subscription of this._subscriptions.values()) this._sendSubscribe(subscription);
    for (const waiter of this._connectWaiters.splice(0)) waiter.resolve(this.user);
    this.emit('welcome', this.user);
  }

  /** The socket is gone (closed by either side, or declared dead). */
  async _lost(code, reason = '') {
    const socket = this._socket;
    this._socket = null;
    this._stopHeartbeat();
    this._failPending(new HomiError('disconnected', 'connection lost', { closeCode: code }));
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      if (socket.readyState <= 1) {
        try {
          socket.close(CloseCode.HEARTBEAT_LOST, 'giving up on this connection');
        } catch {
          // Already closing: nothing more to do with it.
        }
      }
    }
    if (this.state === ConnectionState.CLOSED) return;

    const decision = afterClose(code);
    if (decision === 'stop') {
      this._setClosed(code, reason);
      return;
    }
    if (decision === 'refresh') {
      await this._refreshThenReconnect(code, reason);
      return;
    }
    if (this._onlineSince && Date.now() - this._onlineSince >= this.options.stableAfter) {
      this._attempt = 0;
    }
    this._onlineSince = 0;
    this._scheduleReconnect(code, reason);
  }

  async _refreshThenReconnect(code, reason) {
    const refresh = this.options.refreshToken;
    // One refresh per welcome: a hub that refuses the fresh token too wants a real login.
    if (!refresh || this._refreshedSinceWelcome) {
      this._setClosed(code, reason || 'not authenticated');
      return;
    }
    this._refreshedSinceWelcome = true;
    this._setState(ConnectionState.OFFLINE, { code, reason, delay: 0 });
    let token = null;
    try {
      token = await refresh();
    } catch (error) {
      this.emit('error', error);
    }
    if (this.state === ConnectionState.CLOSED) return;
    if (!token) {
      this._setClosed(code, reason || 'not authenticated');
      return;
    }
    this._token = token;
    this._open();
  }

  _scheduleReconnect(code, reason) {
    const delay = backoffDelay(this._attempt, this.options.backoff, this.options.random);
    this._attempt += 1;
    this._setState(ConnectionState.OFFLINE, { code, reason, delay, attempt: this._attempt });
    this._reconnectTimer = setTimeout(() => this._open(), delay);
  }

  _clearReconnect() {
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
  }

  _setClosed(code, reason) {
    this._clearReconnect();
    this._stopHeartbeat();
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      try {
        socket.close(CloseCode.NORMAL);
      } catch {
        // Not open yet or already closed.
      }
    }
    this._failPending(new HomiError('closed', reason, { closeCode: code }));
    if (this.state === ConnectionState.CLOSED) return;
    this._setState(ConnectionState.CLOSED, { code, reason });
    const error = new HomiError('closed', reason || `closed with ${code}`, { closeCode: code });
    for (const waiter of this._connectWaiters.splice(0)) waiter.reject(error);
  }

  _setState(state, details = {}) {
    const previous = this.state;
    this.state = state;
    this.emit('state', { state, previous, ...details });
  }

  // -- frames ----------------------------------------------------------------

  _write(frame) {
    this._socket.send(this._codec.encode(frame));
  }

  _request(frame, timeout) {
    const ref = `c${this._nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        reject(new HomiError('timeout', `no reply to ${frame.type} in ${timeout} ms`));
      }, timeout);
      this._pending.set(ref, { resolve, reject, timer, frame });
      try {
        this._write({ ...frame, ref });
      } catch (error) {
        clearTimeout(timer);
        this._pending.delete(ref);
        reject(new HomiError('disconnected', error.message));
      }
    });
  }

  _failPending(error) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this._pending.clear();
  }

  _receive(data) {
    this._lastHeard = Date.now();
    let frame;
    try {
      frame = this._codec.decode(data);
    } catch (error) {
      this.emit('error', new HomiError('bad_request', `undecodable frame from the hub: ${error.message}`));
      return;
    }
    const subscription = frame.channel ? this._subscriptions.get(frame.channel) : undefined;
    // Subscription frames are handled before the reply's promise settles, so
    // the snapshot is in place before any event that follows it.
    if (subscription?.active) {
      if (frame.type === 'subscribed') subscription._subscribed(frame);
      else if (frame.type === 'event') subscription._event(frame);
      else if (frame.type === 'signal') subscription._signal(frame);
      else if (frame.type === 'reset') {
        subscription._reset(frame);
        this.emit('reset', frame);
      }
    }
    if (frame.ref !== undefined && this._pending.has(frame.ref)) {
      const { resolve, reject, timer } = this._pending.get(frame.ref);
      this._pending.delete(frame.ref);
      clearTimeout(timer);
      if (frame.type === 'error') reject(new HomiError(frame.code, frame.message));
      else resolve(frame);
      return;
    }
    if (frame.type === 'error') this.emit('error', new HomiError(frame.code, frame.message));
  }

  _sendSubscribe(subscription) {
    const frame = { type: 'subscribe', channel: subscription.channel };
    const since = subscription.resumeFrom();
    if (since) frame.since = since;
    this._request(frame, this.options.requestTimeout).catch((error) => {
      if (error.code === 'disconnected' || error.code === 'closed') return; // resent on reconnect
      if (error.code === 'timeout') {
        // The subscription would silently stay dead on this socket; a fresh one retries it.
        this._lost(CloseCode.HEARTBEAT_LOST, 'subscribe timed out');
        return;
      }
      this._subscriptions.delete(subscription.channel);
      subscription._failed(error);
    });
  }

  async _unsubscribe(subscription) {
    if (this._subscriptions.get(subscription.channel) !== subscription) return;
    this._subscriptions.delete(subscription.channel);
    if (this.state !== ConnectionState.ONLINE) return;
    try {
      await this._request({ type: 'unsubscribe', channel: subscription.channel },
        this.options.requestTimeout);
    } catch (error) {
      // not_found: the hub had already dropped it; offline: nothing to undo.
      if (!['not_found', 'disconnected', 'closed'].includes(error.code)) throw error;
    }
  }

  // -- heartbeats ------------------------------------------------------------

  _startHeartbeat() {
    this._stopHeartbeat();
    const { heartbeatInterval, heartbeatTimeout } = this.options;
    this._heartbeatTimer = setInterval(() => {
      if (this._pongTimer) return; // a ping is still out; its timer decides
      if (Date.now() - this._lastHeard < heartbeatInterval / 2) return; // traffic shows it lives
      const pingedAt = Date.now();
      this._request({ type: 'ping' }, heartbeatTimeout + 1000).catch(() => {});
      this._pongTimer = setTimeout(() => {
        this._pongTimer = null;
        if (this._lastHeard < pingedAt) this._lost(CloseCode.HEARTBEAT_LOST, 'no pong');
      }, heartbeatTimeout);
    }, heartbeatInterval);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
    clearTimeout(this._pongTimer);
    this._heartbeatTimer = this._pongTimer = null;
  }

  /** In a browser, try at once when the device says its network is back. */
  _watchBrowserNetwork() {
    const target = globalThis.window;
    if (!target?.addEventListener) return;
    target.addEventListener('online', () => {
      if (this.state === ConnectionState.OFFLINE && this._reconnectTimer) this._open();
    });
  }
}
