/**
 * Errors the client reports, all of one class so an app needs one `catch`.
 *
 *     HomiError            base: carries a `code` and, for closes, `closeCode`
 *       code "bad_request" | "unauthorized" | "forbidden" | "not_found" |
 *            "conflict" | "rate_limited" | "too_large" | "unavailable"
 *                          an `error` frame or a REST error body from the hub
 *       code "disconnected" the connection went away before the reply came
 *       code "timeout"      no reply in time
 *       code "closed"       the client was closed, or the hub said "do not retry"
 */

export class HomiError extends Error {
  /**
   * @param {string} code machine-readable reason (see the list above)
   * @param {string} message for people
   * @param {{closeCode?: number, status?: number, details?: object}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'HomiError';
    this.code = code;
    this.closeCode = extra.closeCode ?? null;
    this.status = extra.status ?? null; // HTTP status of a REST error
    this.details = extra.details ?? {}; // the rest of the error body, e.g. a ticket's status
  }
}
