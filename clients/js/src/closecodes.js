/**
 * Websocket close codes of the hub's v1 contract and what the client does
 * after each. Pure: no sockets here, so the decision is easy to test.
 */

export const CloseCode = Object.freeze({
  NORMAL: 1000, // we asked to close: stay closed
  GOING_AWAY: 1001, // hub shutting down: reconnect
  ABNORMAL: 1006, // the connection broke without a close frame: reconnect
  MESSAGE_TOO_BIG: 1009, // we sent too much: reconnect
  INTERNAL_ERROR: 1011, // hub bug: reconnect with backoff
  SERVICE_RESTART: 1012, // hub restarting: reconnect
  PROTOCOL_ERROR: 4400, // our frames are wrong: do not retry
  NOT_AUTHENTICATED: 4401, // token bad or expired: refresh it, else log in again
  FORBIDDEN: 4403, // not allowed: do not retry
  AUTH_TIMEOUT: 4408, // auth frame too late: reconnect
  TOO_SLOW: 4429, // we read too slowly or sent too fast: reconnect with backoff
  HEARTBEAT_LOST: 4000, // chosen by this client when pongs stop coming
});

/**
 * What to do after the socket closed with `code`.
 * @param {number} code
 * @returns {'stop' | 'refresh' | 'retry'}
 */
export function afterClose(code) {
  switch (code) {
    case CloseCode.NORMAL:
    case CloseCode.PROTOCOL_ERROR:
    case CloseCode.FORBIDDEN:
      return 'stop';
    case CloseCode.NOT_AUTHENTICATED:
      return 'refresh';
    default:
      return 'retry';
  }
}
