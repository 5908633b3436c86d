/**
 * One subscription: this client on one channel, across reconnects.
 *
 * It remembers the position of the last event it delivered. After a
 * reconnect the client subscribes again with `since` set to that position
 * for channels that keep history (every channel but `district:<id>`), so the
 * app sees each missed event once and in order; a district channel instead
 * sends a fresh snapshot. When the hub no longer has the history it sends
 * `reset`, and the app must reload that channel's data over REST.
 *
 * Items reach the app through callbacks and through async iteration. The
 * iterator's queue is bounded: an app that stops reading gets a `reset`
 * item in place of what overflowed, never a silent gap.
 */

export const DEFAULT_QUEUE_LIMIT = 1000;

/** Channels whose positions can be resumed from (see the contract). */
export function keepsHistory(channel) {
  return !channel.startsWith('district:');
}

export class Subscription {
  /**
   * @param {object} client the HomiClient (for unsubscribe)
   * @param {string} channel
   * @param {object} handlers onSnapshot, onEvent, onSignal, onReset, onError; since;
   *   queueLimit
   */
  constructor(client, channel, handlers = {}) {
    this.client = client;
    this.channel = channel;
    this.handlers = handlers;
    this.position = handlers.since ?? null;
    this.snapshot = null;
    this.active = true;
    this.subscribedOnce = false;
    this.queueLimit = handlers.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    this._queue = [];
    this._waiters = [];
    this._iterating = false;
    this.ready = new Promise((resolve, reject) => {
      this._resolveReady = resolve;
      this._rejectReady = reject;
    });
    // An app that only uses callbacks may never await `ready`.
    this.ready.catch(() => {});
  }

  /** The `since` to send when (re)subscribing, or undefined for a fresh start. */
  resumeFrom() {
    return keepsHistory(this.channel) && this.position ? this.position : undefined;
  }

  // -- frames from the client ----------------------------------------------

  _subscribed(frame) {
    if (frame.position !== undefined) this.position = frame.position;
    if (frame.snapshot !== undefined) this.snapshot = frame.snapshot;
    const first = !this.subscribedOnce;
    this.subscribedOnce = true;
    this._resolveReady(frame);
    this._push({ type: 'subscribed', ...frame, resumed: !first });
    if (frame.snapshot !== undefined) this.handlers.onSnapshot?.(frame.snapshot, frame);
    this.handlers.onSubscribed?.(frame, { resumed: !first });
  }

  _event(frame) {
    if (frame.kind === 'snapshot') this.snapshot = frame.data;
    if (frame.id !== undefined) this.position = frame.id;
    this._push(frame);
    if (frame.kind === 'snapshot') this.handlers.onSnapshot?.(frame.data, frame);
    else this.handlers.onEvent?.(frame);
  }

  /** A live-only signal (typing, read): no position, never replayed. */
  _signal(frame) {
    this.handlers.onSignal?.(frame);
  }

  _reset(frame) {
    if (frame.position !== undefined) this.position = frame.position;
    this._push(frame);
    this.handlers.onReset?.(frame);
  }

  _failed(error) {
    this.active = false;
    this._rejectReady(error);
    this.handlers.onError?.(error);
    this._finish();
  }

  // -- the app's side ------------------------------------------------------

  /** Stop receiving; resolves when the hub confirmed (or at once when offline). */
  async unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this._finish();
    await this.client._unsubscribe(this);
  }

  [Symbol.asyncIterator]() {
    this._iterating = true;
    return {
      next: () => {
        if (this._queue.length) return Promise.resolve({ value: this._queue.shift(), done: false });
        if (!this.active) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this._waiters.push(resolve));
      },
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }

  _push(item) {
    if (!this._iterating) return;
    const waiter = this._waiters.shift();
    if (waiter) {
      waiter({ value: item, done: false });
      return;
    }
    if (this._queue.length >= this.queueLimit) {
      // The reader fell behind: drop what is queued and say so, so the app
      // reloads instead of believing it saw everything.
      this._queue = [{ type: 'reset', channel: this.channel, position: this.position,
        reason: 'overflow' }];
      return;
    }
    this._queue.push(item);
  }

  _finish() {
    for (const waiter of this._waiters.splice(0)) waiter({ value: undefined, done: true });
  }
}
