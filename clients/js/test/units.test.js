// Pure parts of the client: backoff arithmetic and what each close code means.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CloseCode, afterClose, backoffDelay, keepsHistory } from '../src/index.js';

test('backoff grows exponentially up to the cap', () => {
  const noJitter = { jitter: 0 };
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, noJitter)), [500, 1000, 2000, 4000]);
  assert.equal(backoffDelay(30, noJitter), 30_000);
});

test('jitter draws the delay from the lower part of the window only', () => {
  assert.equal(backoffDelay(2, { jitter: 0.5 }, () => 0), 2000);
  assert.equal(backoffDelay(2, { jitter: 0.5 }, () => 0.999999), 1000);
});

test('close codes that mean "do not retry" stop the client', () => {
  for (const code of [CloseCode.NORMAL, CloseCode.PROTOCOL_ERROR, CloseCode.FORBIDDEN]) {
    assert.equal(afterClose(code), 'stop', String(code));
  }
  assert.equal(afterClose(CloseCode.NOT_AUTHENTICATED), 'refresh');
  for (const code of [1001, 1006, 1009, 1011, 1012, 4408, 4429, 4000]) {
    assert.equal(afterClose(code), 'retry', String(code));
  }
});

test('only district channels start over from a snapshot', () => {
  assert.equal(keepsHistory('district:noord'), false);
  for (const channel of ['tickets:mine', 'tickets:district:noord', 'ticket:T1', 'dashboard']) {
    assert.equal(keepsHistory(channel), true, channel);
  }
});
