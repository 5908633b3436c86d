/**
 * Reconnect delays: exponential growth with a cap, and jitter so that a
 * thousand phones dropped by one hub restart do not all knock at once.
 */

export const DEFAULT_BACKOFF = Object.freeze({
  initial: 500, // ms before the first retry
  factor: 2,
  max: 30_000,
  jitter: 0.5, // the delay is drawn from [d * (1 - jitter), d]
});

/**
 * The delay in ms before reconnect attempt number `attempt` (0 for the first).
 * @param {number} attempt
 * @param {Partial<typeof DEFAULT_BACKOFF>} [options]
 * @param {() => number} [random] a source in [0, 1), replaceable in tests
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { initial, factor, max, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const ceiling = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(ceiling * (1 - jitter * random()));
}
