/**
 * Customer service's wall: every caretaker on the city map with their
 * status, live counts per status and per district, the triage queue with
 * advise / assign and a severity, and tickets waiting too long.
 *
 * Presence comes from one `district:<id>` subscription per district (staff
 * see precise positions); tickets from the `dashboard` channel, with the
 * queue, counts and overdue list re-read over REST when an event says they
 * changed.
 */

import * as L from '/static/vendor/leaflet/leaflet-src.esm.js';

import {
  ago, attachConnectionBanner, createMap, el, keepFitted, onLanguageChange, presenceWords,
  say, setUpLanguageSwitch, setUpLogin, t, translatePage,
} from './common.js';
import { ConversationShelf } from './conversation.js';
import {
  FINAL_STATUSES, categoryText, failureText, keepDrafts, postTransition, statusBadge,
} from './tickets.js';

const $ = (id) => document.getElementById(id);
const POSITION_STALE_MS = 2 * 60_000;
const OPEN_STATUSES = ['submitted', 'advised', 'assigned', 'accepted', 'in_progress', 'resolved'];
const PRESENCE_KEYS = ['available', 'busy', 'break', 'off_duty', 'offline'];
const SEVERITIES = ['emergency', 'urgent', 'normal'];

const state = {
  api: null,
  live: false,
  districts: [],
  caretakers: new Map(), // id -> {id, name, district, presence}
  markers: new Map(),
  counts: {},
  queue: [],
  overdue: { accept: [], resolve: [] },
  categories: [],
  map: null,
  waiting: new Map(), // ticket id -> ms since its tenant waits for a reply
  summaries: new Map(), // ticket id -> latest summary, for the conversations list
  followed: new Set(), // tickets whose conversation this agent unfolded
};

translatePage();
setUpLanguageSwitch($('language'));
const session = setUpLogin({ form: $('login'), errorBox: $('login-error'), role: 'agent',
  onReady: start });
$('logout').addEventListener('click', () => session.logout());

async function start({ api, client, user }) {
  state.shelf = new ConversationShelf({ api, client, user, onOpen: (ticketId) => {
    // A conversation the agent joined stays at hand after triage moves it on.
    state.followed.add(ticketId);
  } });
  state.api = api;
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  // Focus leaves the vanished login form for the page, which stays at its top.
  $('main').focus({ preventScroll: true });

  const [{ districts }, { categories }] = await Promise.all([
    api.get('/api/districts'), api.get('/api/categories')]);
  state.categories = categories;
  state.districts = districts;
  state.map = await createMap(L, $('map'));
  const details = await Promise.all(districts.map((d) => api.get(`/api/districts/${d.id}`)));
  const outlines = [];
  for (const district of details) {
    if (district.boundary) {
      outlines.push(L.geoJSON(district.boundary, { interactive: false,
        style: { color: '#1d4ed8', weight: 2, fillOpacity: 0.04 } }).addTo(state.map));
    }
    for (const caretaker of district.caretakers) {
      state.caretakers.set(caretaker.id, { ...caretaker, district: district.id });
    }
  }
  if (outlines.length) {
    keepFitted(state.map, L.featureGroup(outlines).getBounds(), { padding: [8, 8] });
  }
  renderPeople();

  attachConnectionBanner(client, $('connection'), (live) => {
    state.live = live;
    renderPeople();
  });
  for (const district of districts) {
    client.subscribe(`district:${district.id}`, {
      onSnapshot: (snapshot) => {
        for (const caretaker of snapshot.caretakers) {
          const known = state.caretakers.get(caretaker.id) ?? { district: district.id };
          state.caretakers.set(caretaker.id, { ...known, ...caretaker });
        }
        renderPeople();
      },
      onEvent: (event) => applyPresence(event),
    });
  }
  client.subscribe('dashboard', {
    onSubscribed: () => refreshTickets(),
    onEvent: (event) => {
      noteTicketEvent(event);
      refreshSoon();
    },
    onReset: () => refreshTickets(),
  });
  onLanguageChange(() => { renderPeople(); renderTickets(); });
  setInterval(() => { refreshTickets(); renderPeople(); }, 30_000);
}

// -- caretakers ---------------------------------------------------------------------

function applyPresence(event) {
  const caretaker = state.caretakers.get(event.data.caretaker_id);
  if (!caretaker) return;
  const { caretaker_id: _, ...data } = event.data;
  if (event.kind === 'presence') {
    caretaker.presence = { ...caretaker.presence, ...data };
    if (!data.on_duty) caretaker.presence.location = null;
  } else if (event.kind === 'location') {
    caretaker.presence = { ...caretaker.presence, location: data };
  }
  renderPeople();
}

function renderPeople() {
  const people = [...state.caretakers.values()].sort((a, b) => a.name.localeCompare(b.name));
  const totals = Object.fromEntries(PRESENCE_KEYS.map((key) => [key, 0]));
  $('people').replaceChildren(...people.map((caretaker) => {
    const words = presenceWords(caretaker.presence);
    totals[words.key] += 1;
    const location = caretaker.presence?.on_duty ? caretaker.presence.location : null;
    const stale = !state.live || !location || Date.now() - location.ts > POSITION_STALE_MS;
    placeMarker(caretaker, words, location, stale);
    return el('li', { class: 'person', dataset: { caretaker: caretaker.id,
      status: state.live ? words.key : 'unknown' } },
    el('span', { class: 'pin', 'aria-hidden': 'true', dataset: { status: words.key,
      stale: String(stale) } }),
    el('span', { class: 'person__name', text: caretaker.name }),
    el('span', { class: 'person__status' },
      state.live ? words.text : t('status.unknown', { last: words.text }),
      location ? el('span', { class: 'muted', text: ` (${ago(location.ts)})` }) : null));
  }));
  $('status-totals').replaceChildren(...PRESENCE_KEYS.map((key) => el('span', {
    class: 'badge', dataset: { total: key },
    text: `${t(`status.${key}`)}: ${totals[key]}` })));
}

function placeMarker(caretaker, words, location, stale) {
  const existing = state.markers.get(caretaker.id);
  if (!location) {
    existing?.remove();
    state.markers.delete(caretaker.id);
    return;
  }
  const icon = L.divIcon({ className: '', iconSize: [18, 18],
    html: `<span class="pin" data-status="${words.key}" data-stale="${stale}"></span>` });
  if (existing) {
    existing.setLatLng([location.lat, location.lon]).setIcon(icon);
    existing.setTooltipContent(`${caretaker.name}: ${words.text}`);
  } else {
    const marker = L.marker([location.lat, location.lon], { icon, keyboard: false,
      title: caretaker.name, alt: caretaker.name }).addTo(state.map);
    // Tooltip text goes in as a text node, never as markup.
    marker.bindTooltip(document.createTextNode(`${caretaker.name}: ${words.text}`));
    state.markers.set(caretaker.id, marker);
  }
}

// -- tickets ------------------------------------------------------------------------

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshTickets, 200);
}

async function refreshTickets() {
  try {
    const [queue, counts, overdue, waiting] = await Promise.all([
      state.api.get('/api/tickets/queue?limit=50'),
      state.api.get('/api/tickets/counts'),
      state.api.get('/api/tickets/overdue'),
      state.api.get('/api/conversations/waiting'),
    ]);
    state.queue = queue.tickets;
    state.counts = counts.districts;
    state.overdue = overdue;
    state.waiting = new Map(waiting.tickets.map((entry) => [entry.ticket_id, entry.since]));
    for (const ticket of state.queue) state.summaries.set(ticket.id, ticket);
    const unknown = [...state.waiting.keys(), ...state.followed]
      .filter((id) => !state.summaries.has(id));
    const found = await Promise.all(unknown.map((id) => state.api.get(`/api/tickets/${id}`)
      .catch(() => null)));
    for (const ticket of found) if (ticket) state.summaries.set(ticket.id, ticket);
  } catch {
    return; // offline: the banner says so; the next event or reconnect refreshes
  }
  renderTickets();
}

function districtName(id) {
  return state.districts.find((district) => district.id === id)?.name ?? id;
}

function renderTickets() {
  renderCounts();
  renderQueue();
  renderOverdue();
}

function renderCounts() {
  const ids = Object.keys(state.counts).sort((a, b) => districtName(a).localeCompare(districtName(b)));
  const head = el('tr', {}, el('th', { scope: 'col', text: t('dashboard.district') }),
    OPEN_STATUSES.map((status) => el('th', { scope: 'col', text: t(`ticket.${status}`) })));
  const rows = ids.map((id) => el('tr', { dataset: { district: id } },
    el('th', { scope: 'row', text: districtName(id) }),
    OPEN_STATUSES.map((status) => {
      const n = state.counts[id][status] ?? 0;
      return el('td', { class: status === 'submitted' && n > 0 ? 'count--hot' : null,
        dataset: { status }, text: String(n) });
    })));
  $('counts').replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

function renderQueue() {
  state.shelf.keepFocus(() => {
    keepDrafts($('queue'), renderQueueList);
    renderConversations();
  });
}

/** What a `dashboard` event tells at once, before the lists are read again. */
function noteTicketEvent(event) {
  if (event.kind === 'message_hint') {
    const { ticket_id: ticketId, awaiting_reply_since: since } = event.data;
    if (since) state.waiting.set(ticketId, since);
    else state.waiting.delete(ticketId);
    state.shelf.hint(event.data);
  } else if (event.data?.ticket && state.summaries.has(event.data.ticket.id)) {
    const known = state.summaries.get(event.data.ticket.id);
    if (event.data.ticket.version >= (known.version ?? 0)) {
      state.summaries.set(event.data.ticket.id, { ...known, ...event.data.ticket });
    }
  }
}

function waitingLine(ticketId) {
  const since = state.waiting.get(ticketId);
  return since ? el('p', { class: 'ticket__waiting', dataset: { waitingSince: String(since) },
    text: t('chat.waiting_since', { ago: ago(since) }) }) : null;
}

/**
 * Conversations outside the queue: those waiting for a reply (longest first),
 * then those this agent joined, until their ticket is closed.
 */
function renderConversations() {
  const inQueue = new Set(state.queue.map((ticket) => ticket.id));
  const waiting = [...state.waiting.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id);
  const ids = [...new Set([...waiting, ...state.followed])].filter((id) => !inQueue.has(id)
    && state.summaries.has(id) && !FINAL_STATUSES.has(state.summaries.get(id).status));
  $('conversations-empty').hidden = ids.length > 0;
  $('conversations').replaceChildren(...ids.map((id) => {
    const ticket = state.summaries.get(id);
    return el('li', { class: 'ticket', dataset: { ticket: id, status: ticket.status } },
      el('div', { class: 'ticket__head' },
        el('h3', { class: 'ticket__title',
          text: `#${ticket.number} ${categoryText(state.categories, ticket.category)}` }),
        statusBadge(ticket.status)),
      el('p', { class: 'muted', text: districtName(ticket.district) }),
      waitingLine(id),
      state.shelf.disclosure(id));
  }));
  // Panels of tickets shown nowhere any more stop following their channel.
  state.shelf.keepOnly([...inQueue, ...ids]);
}

function renderQueueList() {
  $('queue-empty').hidden = state.queue.length > 0;
  $('queue').replaceChildren(...state.queue.map((ticket) => {
    const severityId = `severity-${ticket.id}`;
    const noteId = `advice-${ticket.id}`;
    return el('li', { class: 'ticket', dataset: { ticket: ticket.id } },
      el('div', { class: 'ticket__head' },
        el('h3', { class: 'ticket__title',
          text: `#${ticket.number} ${categoryText(state.categories, ticket.category)}` }),
        el('span', { class: 'muted', text: districtName(ticket.district) })),
      el('p', { class: 'muted', text: t('dashboard.received', { ago: ago(ticket.created_at) }) }),
      waitingLine(ticket.id),
      el('p', { class: 'ticket__description', text: ticket.description ?? '' }),
      ticket.place ? el('p', { class: 'muted', text: ticket.place }) : null,
      el('div', { class: 'form' },
        el('label', { for: severityId, text: t('dashboard.severity') }),
        el('select', { id: severityId }, SEVERITIES.map((severity) => el('option', {
          value: severity, selected: severity === 'normal',
          text: t(`dashboard.severity.${severity}`) }))),
        el('label', { for: noteId, text: t('dashboard.note') }),
        el('textarea', { id: noteId, rows: 2, maxlength: 2000 })),
      el('div', { class: 'ticket__actions' },
        el('button', { type: 'button', class: 'button', dataset: { action: 'advise' },
          text: t('dashboard.advise'), onclick: () => triage(ticket, 'advised', severityId, noteId) }),
        el('button', { type: 'button', class: 'button button--primary', dataset: { action: 'assign' },
          text: t('dashboard.assign'), onclick: () => triage(ticket, 'assigned', severityId, noteId) })),
      state.shelf.disclosure(ticket.id));
  }));
}

async function triage(ticket, to, severityId, noteId) {
  const note = document.getElementById(noteId).value.trim();
  const result = $('queue-result');
  if (to === 'advised' && !note) {
    say(result, 'dashboard.advice_needed');
    document.getElementById(noteId).focus();
    return;
  }
  const body = { to, severity: document.getElementById(severityId).value };
  if (note) body.note = note;
  say(result, null);
  try {
    const data = await postTransition(state.api, ticket, body);
    state.summaries.set(ticket.id, { ...ticket, ...data.ticket });
    state.queue = state.queue.filter((queued) => queued.id !== ticket.id);
    renderQueue();
  } catch (error) {
    // Another agent was first, or the tenant withdrew it: say so; the
    // refresh below takes it out of the queue.
    say(result, 'ticket.failed', { number: ticket.number, reason: failureText(error) });
  }
  refreshSoon();
}

function renderOverdue() {
  const items = [
    ...state.overdue.accept.map((ticket) => ({ ticket, kind: 'accept' })),
    ...state.overdue.resolve.map((ticket) => ({ ticket, kind: 'resolve' })),
  ];
  $('overdue-empty').hidden = items.length > 0;
  $('overdue').replaceChildren(...items.map(({ ticket, kind }) => el('li', {
    class: 'ticket ticket--overdue', dataset: { ticket: ticket.id, overdue: kind } },
  el('div', { class: 'ticket__head' },
    el('h3', { class: 'ticket__title',
      text: `#${ticket.number} ${categoryText(state.categories, ticket.category)}` }),
    ticket.severity ? el('span', { class: `badge badge--${ticket.severity}`,
      text: t(`dashboard.severity.${ticket.severity}`) }) : null),
  el('p', { text: `${districtName(ticket.district)} — ${t(`dashboard.overdue_${kind}`)}, `
    + t('dashboard.due', { ago: ago(ticket.due_at) }) }))));
}
