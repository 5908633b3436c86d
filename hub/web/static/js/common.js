/**
 * What the three pages share: texts in Dutch and English, login, the
 * connection banner, building elements safely, time and status wording,
 * and the district map.
 *
 * Every piece of text from users or the hub goes into the page as text
 * (textContent, never innerHTML): a ticket description is data, not markup.
 */

import { HomiApi, HomiClient } from '/static/vendor/homi/index.js';
import { TEXTS } from './texts.js';

// -- language -----------------------------------------------------------------

const LANGUAGE_KEY = 'homi.language';
let language = localStorage.getItem(LANGUAGE_KEY) === 'en' ? 'en' : 'nl';
const languageListeners = new Set();

export function t(key, values = {}) {
  const text = TEXTS[language][key] ?? TEXTS.nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

export function currentLanguage() {
  return language;
}

/**
 * Fill every [data-i18n] element (and placeholders, labels, titles) in the
 * current language; `data-i18n-values` holds the values of a text's `{name}`s.
 */
export function translatePage(root = document) {
  document.documentElement.lang = language;
  for (const node of root.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n, JSON.parse(node.dataset.i18nValues ?? '{}'));
  }
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll('[data-i18n-title]')) {
    node.title = t(node.dataset.i18nTitle);
  }
  if (document.body.dataset.titleKey) document.title = t(document.body.dataset.titleKey);
}

/**
 * Put the text `key` in `node` and keep it there in whichever language is
 * chosen later (a message set once would otherwise stay in the old one);
 * no key empties the node.
 */
export function say(node, key, values) {
  if (!key) {
    delete node.dataset.i18n;
    delete node.dataset.i18nValues;
    node.textContent = '';
    return;
  }
  node.dataset.i18n = key;
  if (values) node.dataset.i18nValues = JSON.stringify(values);
  else delete node.dataset.i18nValues;
  node.textContent = t(key, values);
}

/** The NL/EN switch: a button that names the other language. */
export function setUpLanguageSwitch(button) {
  const show = () => {
    button.textContent = language === 'nl' ? 'English' : 'Nederlands';
    button.lang = language === 'nl' ? 'en' : 'nl';
  };
  show();
  button.addEventListener('click', () => {
    language = language === 'nl' ? 'en' : 'nl';
    localStorage.setItem(LANGUAGE_KEY, language);
    show();
    translatePage();
    for (const listener of languageListeners) listener(language);
  });
}

export function onLanguageChange(listener) {
  languageListeners.add(listener);
}

// -- elements -------------------------------------------------------------------

/** Create an element; strings among `children` become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

// -- time -----------------------------------------------------------------------

/** "zojuist", "3 min geleden", "2 uur geleden"; `ms` is an epoch time. */
export function ago(ms, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 30) return t('time.just_now');
  if (seconds < 3600) return t('time.minutes_ago', { n: Math.max(1, Math.round(seconds / 60)) });
  if (seconds < 86400) return t('time.hours_ago', { n: Math.round(seconds / 3600) });
  return t('time.days_ago', { n: Math.round(seconds / 86400) });
}

export function clock(value) {
  const date = typeof value === 'number' ? new Date(value) : new Date(value);
  return date.toLocaleString(language === 'nl' ? 'nl-NL' : 'en-GB',
    { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** Seconds since `since` (ms), or seconds in the hub's `since` (s) — both appear. */
export function epochMs(value) {
  if (value === null || value === undefined) return null;
  return value < 1e12 ? value * 1000 : value;
}

// -- presence and tickets in words -------------------------------------------------

/** The caretaker's state as {key, text}: key is a CSS modifier and a stable test hook. */
export function presenceWords(presence) {
  if (!presence || presence.online === false || presence.status === 'offline') {
    return { key: 'offline', text: t('status.offline') };
  }
  if (!presence.on_duty || presence.status === 'off_duty') {
    return { key: 'off_duty', text: t('status.off_duty') };
  }
  if (presence.status === 'busy') {
    const text = presence.activity ? t('status.busy_with', { activity: presence.activity })
      : t('status.busy');
    return { key: 'busy', text };
  }
  if (presence.status === 'break') return { key: 'break', text: t('status.break') };
  return { key: 'available', text: t('status.available') };
}

export function ticketStatusText(status) {
  return t(`ticket.${status}`);
}

export function actionText(action) {
  return t(`action.${action}`);
}

// -- session --------------------------------------------------------------------

/**
 * Log in with the page's form, keep the token for this tab, and hand back a
 * connected client. `role` is the role this page is for.
 */
export function setUpLogin({ form, errorBox, role, onReady }) {
  const storageKey = `homi.token.${role}`;
  const api = new HomiApi();

  const start = async (token) => {
    api.token = token;
    const { user } = await api.get('/api/me');
    if (user.role !== role) throw Object.assign(new Error('wrong role'), { code: 'wrong_role' });
    sessionStorage.setItem(storageKey, token);
    const client = new HomiClient({
      url: websocketAddress(),
      token: () => api.token,
      // A refused token means this tab must log in again: no silent refresh.
      refreshToken: async () => null,
    });
    client.on('state', ({ state, code }) => {
      if (state === 'closed' && (code === 4401 || code === 4403)) {
        sessionStorage.removeItem(storageKey);
        location.reload();
      }
    });
    await onReady({ api, client, user });
    client.connect().catch(() => {});
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(errorBox, null);
    const data = new FormData(form);
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const { token } = await api.login(String(data.get('username')).trim(),
        String(data.get('password')));
      await start(token);
    } catch (error) {
      // Not a refusal from the hub but a fault of the page: let it be seen.
      if (!error.code) console.error('homi: starting the page failed', error);
      // Each page speaks to its own users: a tenant has a customer number,
      // staff an employee id.
      say(errorBox, error.code === 'wrong_role' ? `login.wrong_role_${role}`
        : error.code === 'unauthorized' ? `login.failed_${role === 'tenant' ? 'tenant' : 'staff'}`
          : error.code === 'rate_limited' ? 'login.rate_limited' : 'login.unreachable');
    } finally {
      button.disabled = false;
    }
  });

  const saved = sessionStorage.getItem(storageKey);
  if (saved) {
    start(saved).catch(() => sessionStorage.removeItem(storageKey));
  }

  return {
    logout() {
      sessionStorage.removeItem(storageKey);
      location.reload();
    },
  };
}

export function websocketAddress() {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

// -- connection banner -------------------------------------------------------------

/**
 * Show "connection lost" while the client is offline and "connected again"
 * for a few seconds after. Every `[data-live-region]` of the page is marked
 * `data-live="false"` and shows its `.stale-note` while offline, so data
 * from before the loss is never shown as live; `onLive(live)` lets the page
 * mark the rest of its state (a status line, map markers) as well.
 */
export function attachConnectionBanner(client, banner, onLive = () => {}) {
  let hideTimer = null;
  let lostOnce = false;
  const live = (isLive) => {
    for (const region of document.querySelectorAll('[data-live-region]')) {
      region.dataset.live = String(isLive);
      const note = region.querySelector('.stale-note');
      if (note) note.hidden = isLive;
    }
    onLive(isLive);
  };
  const render = (key, kind) => {
    clearTimeout(hideTimer);
    banner.dataset.state = kind;
    say(banner, key);
    banner.hidden = false;
  };
  client.on('state', ({ state }) => {
    if (state === 'offline' || (state === 'connecting' && lostOnce)) {
      if (!lostOnce || banner.dataset.state !== 'lost') render('connection.lost', 'lost');
      lostOnce = true;
      live(false);
    } else if (state === 'online') {
      live(true);
      if (lostOnce) {
        render('connection.back', 'back');
        hideTimer = setTimeout(() => { banner.hidden = true; }, 6000);
      }
    } else if (state === 'closed') {
      render('connection.closed', 'lost');
      live(false);
    }
  });
}

// -- configuration and maps ----------------------------------------------------------

let configPromise = null;

/** Page settings from the hub (the map tile URL); none when the hub has no such route. */
export function hubConfig() {
  configPromise ??= fetch('/api/config')
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}));
  return configPromise;
}

/**
 * A Leaflet map in `container`; tiles only when the hub names a tile server,
 * otherwise the district outlines on a plain background.
 */
export async function createMap(L, container) {
  const map = L.map(container, { zoomSnap: 0.25, attributionControl: true, zoomControl: false });
  L.control.zoom({ zoomInText: '+', zoomOutText: '−' }).addTo(map);
  // Leaflet names its zoom buttons in English; name them in the page's language.
  for (const [selector, key] of [['.leaflet-control-zoom-in', 'map.zoom_in'],
    ['.leaflet-control-zoom-out', 'map.zoom_out']]) {
    const button = container.querySelector(selector);
    Object.assign(button.dataset, { i18nLabel: key, i18nTitle: key });
  }
  translatePage(container);
  const { tile_url: tileUrl, tile_attribution: attribution } = await hubConfig();
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19, attribution: attribution ?? '' }).addTo(map);
  else container.classList.add('map--outline-only');
  map.setView([51.92, 4.48], 12);
  return map;
}

/**
 * Show all of `bounds`, now and whenever the map's box changes size (a
 * layout settling, a phone turned, a wall screen's window resized): Leaflet
 * itself keeps the old centre and zoom, which leaves parts of the city out.
 */
export function keepFitted(map, bounds, options = {}) {
  const fit = () => {
    map.invalidateSize({ animate: false });
    map.fitBounds(bounds, { animate: false, ...options });
  };
  fit();
  let size = '';
  new ResizeObserver(([entry]) => {
    const { width, height } = entry.contentRect;
    const next = `${Math.round(width)}x${Math.round(height)}`;
    if (next !== size && width > 0 && height > 0) {
      size = next;
      fit();
    }
  }).observe(map.getContainer());
}

/** A random id for Idempotency-Key; works on plain http too. */
export function randomId() {
  if (globalThis.crypto?.randomUUID && isSecureContext) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
