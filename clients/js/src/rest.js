/**
 * The hub's REST side, for what the websocket does not carry: login,
 * districts, and creating and changing tickets. Errors come back as the
 * same HomiError the websocket uses, with the HTTP status added.
 */

import { HomiError } from './errors.js';

export class HomiApi {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] e.g. "https://hub.example"; "" for the page's own origin
   * @param {string} [options.token]
   * @param {Function} [options.fetch] a fetch implementation; default the global one
   */
  constructor({ baseUrl = '', token = null, fetch = globalThis.fetch } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.token = token;
    // Called through a closure: browsers refuse `fetch` called as another object's method.
    this._fetch = (...args) => fetch(...args);
  }

  /** Log in; keeps the token for later calls and returns {token, expires_in, user}. */
  async login(username, password) {
    const body = await this.post('/api/login', { username, password });
    this.token = body.token;
    return body;
  }

  get(path) {
    return this.call('GET', path);
  }

  post(path, body, headers = {}) {
    return this.call('POST', path, body, headers);
  }

  /** Upload one photo (a File or Blob) for a coming message on a ticket. */
  async uploadPhoto(ticketId, blob) {
    return this.call('POST', `/api/tickets/${encodeURIComponent(ticketId)}/photos`, blob,
      { 'Content-Type': blob.type || 'application/octet-stream' });
  }

  /** A photo's bytes as a Blob (photos need the token, so no plain <img src>). */
  async photoBlob(url) {
    const headers = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    let response;
    try {
      response = await this._fetch(`${this.baseUrl}${url}`, { headers });
    } catch (error) {
      throw new HomiError('unavailable', `the hub cannot be reached: ${error.message}`);
    }
    if (!response.ok) throw new HomiError('not_found', `HTTP ${response.status}`,
      { status: response.status });
    return response.blob();
  }

  async call(method, path, body, headers = {}) {
    const init = { method, headers: { Accept: 'application/json', ...headers } };
    if (this.token) init.headers.Authorization = `Bearer ${this.token}`;
    if (body instanceof Blob) {
      init.body = body; // sent as it is, with the Content-Type the caller set
    } else if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await this._fetch(`${this.baseUrl}${path}`, init);
    } catch (error) {
      throw new HomiError('unavailable', `the hub cannot be reached: ${error.message}`);
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page): reported below by status.
    }
    if (!response.ok) {
      const error = parsed?.error ?? {};
      throw new HomiError(error.code ?? 'unavailable',
        error.message ?? `HTTP ${response.status}`, { status: response.status, details: error });
    }
    return parsed;
  }
}

/** The websocket URL of a hub at `httpUrl` ("http://h:1" -> "ws://h:1/ws"). */
export function websocketUrl(httpUrl) {
  const url = new URL('/ws', httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
