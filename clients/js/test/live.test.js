// The client against real hub processes on a private Redis.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import WebSocket from 'ws';

import { HomiApi, HomiClient, HomiError } from '../src/index.js';
import { FreezableRelay, TIMEOUT, TestWorld, eventually, freePort } from './support/hub.js';

let world;
let hub;

before(async () => {
  world = await TestWorld.create();
  hub = await world.startHub();
});

after(async () => {
  await world?.close();
});

function clientFor(userId, options = {}) {
  return new HomiClient({
    url: hub.wsUrl,
    token: () => hub.token(userId),
    WebSocket,
    backoff: { initial: 50, max: 500 },
    ...options,
  });
}

/** Resolves with the first item of `subscription` that `predicate` accepts. */
async function nextMatching(iterator, predicate) {
  for (;;) {
    const { value, done } = await iterator.next();
    assert.equal(done, false, 'subscription ended early');
    if (predicate(value)) return value;
  }
}

test('a tenant sees the snapshot, then the caretaker going on duty and moving', async (t) => {
  const tenant = clientFor('100001');
  const caretaker = clientFor('w1');
  t.after(() => { tenant.close(); caretaker.close(); });

  const user = await tenant.connect();
  assert.equal(user.role, 'tenant');
  const district = tenant.subscribe('district:noord');
  const items = district[Symbol.asyncIterator]();
  const subscribed = await nextMatching(items, (item) => item.type === 'subscribed');
  assert.equal(subscribed.snapshot.district.id, 'noord');
  assert.equal(subscribed.snapshot.caretakers[0].presence.on_duty, false);

  await caretaker.connect();
  const ok = await caretaker.setPresence({ on_duty: true, status: 'busy', activity: 'lekkage' });
  assert.equal(ok.type, 'ok');
  const presence = await nextMatching(items, (item) => item.kind === 'presence' && item.data.on_duty);
  assert.equal(presence.data.status, 'busy');
  assert.equal(presence.data.activity, 'lekkage');

  assert.equal(caretaker.sendLocation({ lat: 51.9401, lon: 4.4801, accuracy: 5 }), true);
  const moved = await nextMatching(items, (item) => item.kind === 'location');
  // Tenants get a coarse position only.
  assert.notEqual(moved.data.lat, 51.9401);
  assert.ok(Math.abs(moved.data.lat - 51.9401) < 0.002);
});

test('callbacks receive the same snapshot and events', async (t) => {
  const agent = clientFor('k1');
  const caretaker = clientFor('w2');
  t.after(() => { agent.close(); caretaker.close(); });
  const snapshots = [];
  const events = [];
  await agent.connect();
  const subscription = agent.subscribe('district:zuid', {
    onSnapshot: (snapshot) => snapshots.push(snapshot),
    onEvent: (event) => events.push(event),
  });
  await subscription.ready;
  assert.equal(snapshots.length, 1);
  await caretaker.connect();
  await caretaker.setPresence({ on_duty: true, status: 'available' });
  await eventually(() => events.some((event) => event.data.status === 'available'));
  await subscription.unsubscribe();
  await caretaker.setPresence({ on_duty: false });
  const count = events.length;
  await agent.request({ type: 'ping' });
  assert.equal(events.length, count, 'no events after unsubscribe');
});

test('a refused subscription rejects with the hub error code', async (t) => {
  const tenant = clientFor('100001');
  t.after(() => tenant.close());
  await tenant.connect();
  const errors = [];
  const other = tenant.subscribe('district:zuid', { onError: (error) => errors.push(error) });
  await assert.rejects(other.ready, (error) => error instanceof HomiError && error.code === 'forbidden');
  assert.equal(errors.length, 1);
  await assert.rejects(tenant.setPresence({ on_duty: true, status: 'available' }),
    (error) => error.code === 'forbidden');
  const pong = await tenant.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
});

test('msgpack works as the wire encoding', async (t) => {
  const tenant = clientFor('100002', { codec: 'msgpack' });
  t.after(() => tenant.close());
  await tenant.connect();
  const district = tenant.subscribe('district:noord');
  const subscribed = await district.ready;
  assert.equal(subscribed.snapshot.district.name, 'Noord');
});

test('a refused token ends the client without retrying', async (t) => {
  const states = [];
  const client = clientFor('100001', { token: 'not-a-token' });
  t.after(() => client.close());
  client.on('state', ({ state }) => states.push(state));
  await assert.rejects(client.connect(), (error) => error.closeCode === 4401);
  assert.deepEqual(states, ['connecting', 'closed']);
});

test('after 4401 the refresh hook supplies a new token and the client connects', async (t) => {
  let refreshed = 0;
  const client = clientFor('100001', {
    token: 'expired-or-broken',
    refreshToken: async () => { refreshed += 1; return hub.token('100001'); },
  });
  t.after(() => client.close());
  const user = await client.connect();
  assert.equal(user.id, '100001');
  assert.equal(refreshed, 1);
});

test('a fresh auth frame on a live connection extends it', async (t) => {
  const client = clientFor('100001');
  t.after(() => client.close());
  await client.connect();
  const user = await client.updateToken(await hub.token('100001'));
  assert.equal(user.id, '100001');
});

test('when the hub process dies the client reconnects and gets a fresh snapshot', async (t) => {
  const own = await world.startHub();
  const states = [];
  const snapshots = [];
  const tenant = new HomiClient({ url: own.wsUrl, token: () => own.token('100001'), WebSocket,
    backoff: { initial: 50, max: 300 } });
  t.after(() => tenant.close());
  tenant.on('state', (change) => states.push(change.state));
  await tenant.connect();
  const district = tenant.subscribe('district:noord', { onSnapshot: (s) => snapshots.push(s) });
  await district.ready;

  await own.kill('SIGKILL');
  await eventually(() => tenant.state === 'offline', TIMEOUT, 'offline');
  await own.start();
  await eventually(() => tenant.state === 'online', TIMEOUT * 2, 'online again');
  await eventually(() => snapshots.length === 2, TIMEOUT, 'second snapshot');
  assert.deepEqual(states.slice(0, 3), ['connecting', 'online', 'offline']);
  assert.equal(states.at(-1), 'online');
});

test('a connection that goes silent is noticed by heartbeats and replaced', async (t) => {
  const relay = await FreezableRelay.start(hub.port);
  const states = [];
  const tenant = new HomiClient({ url: `ws://127.0.0.1:${relay.port}/ws`,
    token: () => hub.token('100001'), WebSocket, heartbeatInterval: 200, heartbeatTimeout: 300,
    backoff: { initial: 50, max: 200 } });
  t.after(async () => { tenant.close(); await relay.close(); });
  tenant.on('state', (change) => states.push(change));
  await tenant.connect();
  await tenant.subscribe('district:noord').ready;

  relay.freezeOpenConnections();
  await eventually(() => states.some((change) => change.state === 'offline'), TIMEOUT, 'offline');
  await eventually(() => tenant.state === 'online', TIMEOUT, 'online again');
  const lost = states.find((change) => change.state === 'offline');
  assert.equal(lost.code, 4000);
});

test('REST helper logs in and reports errors with their code', async () => {
  const api = new HomiApi({ baseUrl: hub.url });
  await assert.rejects(api.login('100001', 'wrong'), (error) => error.code === 'unauthorized'
    && error.status === 401);
  const { user } = await api.login('100001', 'huurder');
  assert.equal(user.id, '100001');
  const district = await api.get('/api/districts/noord');
  assert.equal(district.boundary.type, 'Polygon');
  await assert.rejects(api.get('/api/districts/zuid'), (error) => error.code === 'not_found');
});

test('ticket channels resume from the last position: missed steps arrive once, in order',
  async (t) => {
    const tenantsHub = await world.startHub();
    const tenantApi = new HomiApi({ baseUrl: tenantsHub.url });
    await tenantApi.login('100002', 'huurder');
    const agentApi = new HomiApi({ baseUrl: hub.url });
    await agentApi.login('k1', 'klantenservice');

    const seen = [];
    const tenant = new HomiClient({ url: tenantsHub.wsUrl, token: tenantApi.token, WebSocket,
      backoff: { initial: 50, max: 300 } });
    t.after(() => tenant.close());
    await tenant.connect();
    await tenant.subscribe('tickets:mine', { onEvent: (event) => seen.push(event) }).ready;

    const ticket = await tenantApi.post('/api/tickets', { category: 'leak',
      description: 'Druppelende kraan in de keuken' }, { 'Idempotency-Key': `js-${Date.now()}` });
    await eventually(() => seen.some((event) => event.kind === 'created'), TIMEOUT, 'created');

    await tenantsHub.kill('SIGKILL');
    await eventually(() => tenant.state === 'offline', TIMEOUT, 'offline');
    await agentApi.post(`/api/tickets/${ticket.id}/transitions`,
      { to: 'assigned', severity: 'normal', note: 'Sanne komt kijken' });
    const caretakerApi = new HomiApi({ baseUrl: hub.url });
    await caretakerApi.login('w1', 'beheerder');
    await caretakerApi.post(`/api/tickets/${ticket.id}/transitions`, { to: 'accepted' });
    await tenantsHub.start();

    await eventually(() => seen.length === 3, TIMEOUT * 2, 'missed steps');
    assert.deepEqual(seen.map((event) => event.data.ticket.status),
      ['submitted', 'assigned', 'accepted']);
    assert.deepEqual(seen.map((event) => event.data.transition.version), [1, 2, 3]);
    const ids = seen.map((event) => event.id);
    assert.equal(new Set(ids).size, 3);
  });

test('a ticket channel resumed from a trimmed position gets reset, and the app reloads',
  async (t) => {
    // The writing hub keeps only 10 events per channel, so a tenant away for
    // 11 reports comes back to a position whose history is gone.
    const writers = await world.startHub({ HUB_STREAM_MAX_LENGTH: '10' });
    const tenantsHub = await world.startHub();
    const api = new HomiApi({ baseUrl: writers.url });
    await api.login('200001', 'huurder');
    const report = (n) => api.post('/api/tickets', { category: 'leak',
      description: `Melding ${n}` }, { 'Idempotency-Key': `js-trim-${Date.now()}-${n}` });

    const events = [];
    const resets = [];
    const reloaded = [];
    const tenant = new HomiClient({ url: tenantsHub.wsUrl, token: api.token, WebSocket,
      backoff: { initial: 50, max: 300 } });
    t.after(() => tenant.close());
    tenant.on('reset', (frame) => resets.push(frame));
    await tenant.connect();
    const mine = tenant.subscribe('tickets:mine', {
      onEvent: (event) => events.push(event),
      // What an app does on reset: read the channel's data again over REST.
      onReset: async () => reloaded.push((await api.get('/api/tickets?limit=100')).tickets),
    });
    await mine.ready;
    await report(0);
    await eventually(() => events.length === 1, TIMEOUT, 'first report');
    const before = mine.position;

    await tenantsHub.kill('SIGKILL');
    await eventually(() => tenant.state === 'offline', TIMEOUT, 'offline');
    for (let n = 1; n <= 11; n += 1) await report(n);
    await tenantsHub.start();

    await eventually(() => reloaded.length === 1, TIMEOUT * 2, 'reload after reset');
    assert.equal(resets.length, 1);
    assert.equal(resets[0].channel, 'tickets:mine');
    assert.equal(events.length, 1, 'no replay of a trimmed history');
    assert.equal(reloaded[0].length, 12);
    assert.notEqual(mine.position, before, 'the reset moved the position on');

    // After the reload the channel is live again from the reset position.
    const next = await report(12);
    await eventually(() => events.some((event) => event.data.ticket.id === next.id), TIMEOUT,
      'live event after reset');
    assert.equal(events.length, 2);
  });

/** A WebSocket class that counts the sockets a client opens. */
function countingWebSocket() {
  const counter = { opened: 0 };
  counter.WebSocket = class extends WebSocket {
    constructor(...args) {
      super(...args);
      counter.opened += 1;
    }
  };
  return counter;
}

test('a do-not-retry close from the hub (4401, no new token) stops the client for good',
  async (t) => {
    // 4401: a token the hub does not accept, and no new one to be had.
    const counted = countingWebSocket();
    const states = [];
    const client = clientFor('100001', { token: 'forged', WebSocket: counted.WebSocket,
      refreshToken: async () => null, random: () => 0 });
    t.after(() => client.close());
    client.on('state', (change) => states.push(change));
    await assert.rejects(client.connect(), (error) => error.closeCode === 4401);

    // Time for a retry: a client with the same backoff, against a port where
    // nothing listens, starts now and retries twice (the first retry of the
    // stopped client would have come after the shorter first delay).
    const control = new HomiClient({ url: `ws://127.0.0.1:${await freePort()}/ws`,
      token: 'none', WebSocket, backoff: { initial: 50, max: 500 }, random: () => 0 });
    t.after(() => control.close());
    const attempts = [];
    control.on('state', ({ state, attempt }) => state === 'connecting' && attempts.push(attempt));
    control.connect().catch(() => {});
    await eventually(() => attempts.length >= 3, TIMEOUT, 'control retried twice');

    assert.equal(counted.opened, 1, 'no second socket');
    // The app's refresh hook was asked (offline meanwhile) and had no token.
    assert.deepEqual(states.map((change) => change.state), ['connecting', 'offline', 'closed']);
    assert.equal(states[1].delay, 0);
    assert.equal(states.at(-1).code, 4401);
    assert.equal(client.state, 'closed');
  });

test('a page of a foreign origin is closed 4403 and the client does not retry', async (t) => {
  const counted = countingWebSocket();
  // What a browser sends for a page of another site.
  class ForeignPage extends counted.WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { origin: 'https://evil.example' });
    }
  }
  const states = [];
  const client = clientFor('100001', { WebSocket: ForeignPage, random: () => 0,
    backoff: { initial: 20, max: 40 } });
  t.after(() => client.close());
  client.on('state', (change) => states.push(change));
  await assert.rejects(client.connect(), (error) => error.closeCode === 4403);

  // Time for several retries: a client with the same backoff, against a
  // port where nothing listens, starts now and retries three times.
  const control = new HomiClient({ url: `ws://127.0.0.1:${await freePort()}/ws`,
    token: 'none', WebSocket, backoff: { initial: 20, max: 40 }, random: () => 0 });
  t.after(() => control.close());
  const attempts = [];
  control.on('state', ({ state, attempt }) => state === 'connecting' && attempts.push(attempt));
  control.connect().catch(() => {});
  await eventually(() => attempts.length >= 4, TIMEOUT, 'control retried three times');
  assert.equal(counted.opened, 1, 'no second socket');
  assert.equal(states.at(-1).state, 'closed');
  assert.equal(states.at(-1).code, 4403);
});

test('after the hub dies, reconnect attempts back off exponentially with jitter', async (t) => {
  const own = await world.startHub();
  const backoff = { initial: 40, factor: 2, max: 320, jitter: 0.5 };
  const draws = [];
  const values = [0.9, 0.1, 0.6, 0.3, 0.99, 0];
  const random = () => {
    const value = values[draws.length % values.length];
    draws.push(value);
    return value;
  };
  const counted = countingWebSocket();
  // A token at hand: a token function asking the dead hub would fail before
  // any socket is opened.
  const client = new HomiClient({ url: own.wsUrl, token: await own.token('100001'),
    WebSocket: counted.WebSocket, backoff, random });
  t.after(() => client.close());
  const waits = [];
  client.on('state', (change) => change.state === 'offline' && waits.push(change));
  await client.connect();

  await own.kill('SIGKILL');
  await eventually(() => waits.length >= 6, TIMEOUT * 2, 'six attempts to reconnect');
  // Every wait was followed by a real attempt: one socket per wait, plus the first.
  await eventually(() => counted.opened >= 6, TIMEOUT, 'sockets opened');

  const ceilings = [40, 80, 160, 320, 320, 320];
  waits.slice(0, 6).forEach(({ delay, attempt }, k) => {
    assert.equal(attempt, k + 1);
    const ceiling = ceilings[k];
    assert.ok(delay <= ceiling && delay >= ceiling * (1 - backoff.jitter),
      `delay ${delay} of attempt ${k + 1} outside [${ceiling / 2}, ${ceiling}]`);
    // The jitter is the drawn one: attempts of many clients spread out.
    assert.equal(delay, Math.round(ceiling * (1 - backoff.jitter * draws[k])));
  });

  await own.start();
  await eventually(() => client.state === 'online', TIMEOUT * 2, 'online again');
});
