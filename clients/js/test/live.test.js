// The client against real hub processes on a private Redis.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import WebSocket from 'ws';

import { HomiApi, HomiClient, HomiError } from '../src/index.js';
import { FreezableRelay, TIMEOUT, TestWorld, eventually } from './support/hub.js';

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
