/**
 * The tenant's page: their caretaker's card and live status, the district
 * map with the caretaker's coarse position while on duty, a report form,
 * and "my reports" following each ticket live.
 */

import * as L from '/static/vendor/leaflet/leaflet-src.esm.js';

import {
  ago, attachConnectionBanner, clock, createMap, el, epochMs, keepFitted, onLanguageChange,
  presenceWords, randomId, say, setUpLanguageSwitch, setUpLogin, t, translatePage,
} from './common.js';
import { ConversationShelf } from './conversation.js';
import { setUpFaq } from './faq.js';
import {
  FINAL_STATUSES, TicketBook, categoryText, failureText, keepDrafts, postTransition, statusBadge,
  timelineList,
} from './tickets.js';

const POSITION_STALE_MS = 2 * 60_000;
// Conversations unfolded from the start: the newest open reports.
const CONVERSATIONS_OPEN = 3;

/** What a tenant can do with a report in each status (docs/tickets.md). */
const TENANT_ACTIONS = {
  submitted: ['cancel'],
  advised: ['close', 'retry', 'cancel'],
  assigned: ['cancel'],
  resolved: ['confirm', 'reopen'],
};
const MOVES = {
  cancel: { to: 'cancelled' },
  close: { to: 'closed' },
  retry: { to: 'submitted' },
  confirm: { to: 'closed' },
  reopen: { to: 'in_progress' },
};

const $ = (id) => document.getElementById(id);

const state = {
  live: false,
  caretaker: null, // profile + presence of the district's caretaker
  categories: [],
  book: new TicketBook(),
  map: null,
  marker: null,
  api: null,
  confirming: new Set(), // ids of reports whose "withdraw?" question is showing
};

translatePage();
setUpLanguageSwitch($('language'));

const session = setUpLogin({
  form: $('login'),
  errorBox: $('login-error'),
  role: 'tenant',
  onReady: start,
});
$('logout').addEventListener('click', () => session.logout());

async function start({ api, client, user }) {
  state.shelf = new ConversationShelf({ api, client, user });
  state.api = api;
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  // Focus leaves the vanished login form for the page, which stays at its top.
  $('main').focus({ preventScroll: true });

  const districtId = user.districts[0];
  const [district, { categories }] = await Promise.all([
    api.get(`/api/districts/${districtId}`),
    api.get('/api/categories'),
  ]);
  state.categories = categories;
  fillCategories();
  say($('district-name'), 'tenant.district', { name: district.name });
  state.caretaker = district.caretakers[0] ?? null;
  renderCaretaker();

  state.map = await createMap(L, $('map'));
  if (district.boundary) {
    const outline = L.geoJSON(district.boundary, { style: { color: '#1d4ed8', weight: 3,
      fillOpacity: 0.08 }, interactive: false }).addTo(state.map);
    keepFitted(state.map, outline.getBounds(), { padding: [12, 12] });
  }
  renderPosition();

  attachConnectionBanner(client, $('connection'), (live) => {
    state.live = live;
    renderCaretaker();
    renderPosition();
  });

  client.subscribe(`district:${districtId}`, {
    onSnapshot: (snapshot) => {
      const found = snapshot.caretakers.find((c) => c.id === state.caretaker?.id)
        ?? snapshot.caretakers[0];
      if (found) state.caretaker = { ...state.caretaker, ...found };
      renderCaretaker();
      renderPosition();
    },
    onEvent: (event) => applyPresence(event),
  });

  // Subscribe first, then load: an event between the two is folded in
  // twice at worst, and the timeline keeps each version once.
  client.subscribe('tickets:mine', {
    onSubscribed: (_, { resumed }) => {
      // A resumed channel replays what was missed; only a fresh one needs REST.
      if (!resumed) reloadTickets(api);
    },
    onEvent: (event) => {
      if (event.kind === 'message_hint') {
        state.shelf.hint(event.data);
        return;
      }
      state.book.apply(event);
      renderTickets();
    },
    onReset: () => reloadTickets(api),
  });

  setUpReportForm(api);
  setUpFaq({ root: $('faq'), api });
  onLanguageChange(() => {
    fillCategories();
    renderCaretaker();
    renderPosition();
    renderTickets();
  });
  // Ages ("2 min ago") grow even when nothing happens.
  setInterval(() => { renderCaretaker(); renderPosition(); }, 15_000);
}

// -- caretaker ------------------------------------------------------------------

function applyPresence(event) {
  const caretaker = state.caretaker;
  if (!caretaker || event.data.caretaker_id !== caretaker.id) return;
  if (event.kind === 'presence') {
    const { caretaker_id: _, ...presence } = event.data;
    caretaker.presence = { ...caretaker.presence, ...presence };
    if (!presence.on_duty) caretaker.presence.location = null;
  } else if (event.kind === 'location') {
    const { lat, lon, accuracy, ts } = event.data;
    caretaker.presence = { ...caretaker.presence, location: { lat, lon, accuracy, ts } };
  }
  renderCaretaker();
  renderPosition();
}

function renderCaretaker() {
  const caretaker = state.caretaker;
  if (!caretaker) {
    $('caretaker-name').textContent = t('tenant.no_caretaker');
    return;
  }
  $('caretaker-name').textContent = caretaker.name ?? '';
  const photo = $('caretaker-photo');
  if (caretaker.photo_url) {
    photo.src = caretaker.photo_url;
    photo.alt = t('tenant.photo_of', { name: caretaker.name });
    photo.hidden = false;
  }

  const words = presenceWords(caretaker.presence);
  const line = $('caretaker-status-line');
  const status = $('caretaker-status');
  // Without a live connection the last known state is only history.
  line.dataset.status = state.live ? words.key : 'unknown';
  status.textContent = state.live ? words.text : t('status.unknown', { last: words.text });
  const since = epochMs(caretaker.presence?.since);
  $('caretaker-status-age').textContent = since ? t('tenant.since', { ago: ago(since) }) : '';

  const facts = [];
  if (caretaker.age) facts.push(['tenant.age', t('tenant.years', { n: caretaker.age })]);
  if (caretaker.favourite_dish) facts.push(['tenant.favourite_dish', caretaker.favourite_dish]);
  if (caretaker.hobbies?.length) facts.push(['tenant.hobbies', caretaker.hobbies.join(', ')]);
  if (caretaker.work) facts.push(['tenant.work', caretaker.work]);
  if (caretaker.reachable) facts.push(['tenant.reachable', caretaker.reachable]);
  $('caretaker-facts').replaceChildren(...facts.flatMap(([key, value]) => [
    el('dt', { text: t(key) }), el('dd', { text: value })]));
  const video = $('caretaker-video');
  video.replaceChildren();
  if (caretaker.intro_video_url) {
    video.append(el('a', { href: caretaker.intro_video_url, class: 'link',
      text: t('tenant.intro_video', { name: caretaker.name }) }));
  }
}

function renderPosition() {
  if (!state.map) return;
  const presence = state.caretaker?.presence;
  const location = presence?.on_duty && presence.online !== false ? presence.location : null;
  const note = $('position-note');
  if (!location) {
    state.marker?.remove();
    state.marker = null;
    note.textContent = presence?.on_duty ? t('tenant.position_unknown') : t('tenant.position_off_duty');
    return;
  }
  const age = Date.now() - location.ts;
  const stale = !state.live || age > POSITION_STALE_MS;
  const style = { radius: Math.max(location.accuracy ?? 100, 60), color: stale ? '#6b7280' : '#b91c1c',
    fillOpacity: stale ? 0.1 : 0.25, weight: 3, dashArray: stale ? '6 6' : null };
  if (!state.marker) {
    state.marker = L.circle([location.lat, location.lon], style).addTo(state.map);
  } else {
    state.marker.setLatLng([location.lat, location.lon]).setStyle(style).setRadius(style.radius);
  }
  state.marker.getElement?.()?.setAttribute('data-testid', 'caretaker-position');
  note.textContent = stale ? t('tenant.position_stale', { ago: ago(location.ts) })
    : t('tenant.position_live', { ago: ago(location.ts) });
  note.dataset.lat = String(location.lat);
  note.dataset.lon = String(location.lon);
}

// -- reports ----------------------------------------------------------------------

function fillCategories() {
  const select = $('category');
  const chosen = select.value;
  select.replaceChildren(...state.categories.map((category) => el('option', {
    value: category.id, text: categoryText(state.categories, category.id) })));
  if (chosen) select.value = chosen;
}

function setUpReportForm(api) {
  const form = $('report');
  // One key per report the tenant means to send: a double tap or a retry
  // after a lost answer creates one ticket, not two.
  let key = randomId();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = $('report-result');
    const data = new FormData(form);
    const description = String(data.get('description'));
    if (!description.trim()) {
      say(result, 'report.describe');
      $('description').focus();
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const ticket = await api.post('/api/tickets', {
        category: String(data.get('category')), description, place: String(data.get('place')),
      }, { 'Idempotency-Key': key });
      state.book.apply({ data: { ticket, transition: null } });
      renderTickets();
      const files = [...$('report-photos').files];
      form.reset();
      key = randomId();
      say(result, 'report.sent', { number: ticket.number });
      try {
        await sendReportPhotos(api, ticket.id, files);
      } catch (error) {
        // The report itself is in: say so, and where the photos can go instead.
        say(result, 'report.photos_failed', { number: ticket.number,
          reason: failureText(error) });
      }
    } catch (error) {
      say(result, 'report.failed', { reason: failureText(error) });
    } finally {
      button.disabled = false;
    }
  });
}

/** The report's photos go into its conversation, as its first message. */
async function sendReportPhotos(api, ticketId, files) {
  if (!files.length) return;
  const photos = [];
  for (const file of files) photos.push((await api.uploadPhoto(ticketId, file)).id);
  await api.post(`/api/tickets/${ticketId}/messages`, { text: '', photos });
}

async function reloadTickets(api) {
  try {
    await state.book.reload(api);
  } catch {
    return; // offline: the next reconnect resumes the channel, or resets it
  }
  renderTickets();
}

function renderTickets() {
  state.shelf.keepFocus(() => keepDrafts($('tickets'), renderTicketList));
}

function renderTicketList() {
  const entries = state.book.list();
  let unfolded = 0;
  $('tickets-empty').hidden = entries.length > 0;
  $('tickets').replaceChildren(...entries.map(({ ticket, timeline }) => {
    const open = !FINAL_STATUSES.has(ticket.status) && unfolded++ < CONVERSATIONS_OPEN;
    return el('li', { class: 'ticket', dataset: { ticket: ticket.id, status: ticket.status } },
      el('div', { class: 'ticket__head' },
        el('h3', { class: 'ticket__title',
          text: `#${ticket.number} ${categoryText(state.categories, ticket.category)}` }),
        statusBadge(ticket.status)),
      ticket.description ? el('p', { class: 'ticket__description', text: ticket.description })
        : null,
      ticket.planned_for ? el('p', { class: 'ticket__plan',
        text: t('ticket.visit_planned', { when: clock(ticket.planned_for) }) }) : null,
      timelineList(timeline),
      ticketActions(ticket),
      state.shelf.disclosure(ticket.id, { open }));
  }));
}

// -- what the tenant can do with a report -------------------------------------------

function ticketActions(ticket) {
  const names = TENANT_ACTIONS[ticket.status] ?? [];
  if (!names.length) return null;
  const noteId = `note-${ticket.id}`;
  const button = (name, primary) => el('button', { type: 'button',
    class: primary ? 'button button--primary' : 'button', dataset: { action: name },
    text: t(`tenant.action.${name}`), onclick: () => act(ticket, name, noteId) });

  if (state.confirming.has(ticket.id)) {
    return el('div', { class: 'ticket__confirm', role: 'group',
      'aria-labelledby': `confirm-${ticket.id}` },
    el('p', { id: `confirm-${ticket.id}`, text: t('tenant.cancel_sure', { number: ticket.number }) }),
    el('div', { class: 'ticket__actions' },
      el('button', { type: 'button', class: 'button button--danger',
        dataset: { action: 'cancel-confirm' }, text: t('tenant.cancel_yes'),
        onclick: () => act(ticket, 'cancel', noteId, { confirmed: true }) }),
      el('button', { type: 'button', class: 'button', dataset: { action: 'cancel-keep' },
        text: t('tenant.cancel_no'), onclick: () => {
          state.confirming.delete(ticket.id);
          renderTickets();
        } })));
  }

  const question = ticket.status === 'advised' ? t('tenant.advice_question')
    : ticket.status === 'resolved' ? t('tenant.resolved_question') : null;
  const main = names.filter((name) => name !== 'cancel');
  return el('div', { class: 'ticket__tenant-actions' },
    question ? el('p', { class: 'ticket__question', text: question }) : null,
    main.length ? el('div', { class: 'form' },
      el('label', { for: noteId, text: t('tenant.note') }),
      el('textarea', { id: noteId, rows: 2, maxlength: 2000 })) : null,
    el('div', { class: 'ticket__actions' },
      main.map((name, index) => button(name, index === 0)),
      names.includes('cancel') ? button('cancel', false) : null));
}

async function act(ticket, name, noteId, { confirmed = false } = {}) {
  const result = $('tickets-result');
  say(result, null);
  // Withdrawing cannot be undone: ask once, in the page, before doing it.
  if (name === 'cancel' && !confirmed) {
    state.confirming.add(ticket.id);
    renderTickets();
    document.querySelector(`[data-ticket="${ticket.id}"] [data-action="cancel-keep"]`)?.focus();
    return;
  }
  state.confirming.delete(ticket.id);
  const move = { ...MOVES[name] };
  const noteField = document.getElementById(noteId);
  const note = noteField?.value.trim();
  if (note) move.note = note;
  try {
    const data = await postTransition(state.api, ticket, move);
    if (noteField) noteField.value = '';
    state.book.apply({ data });
  } catch (error) {
    say(result, 'ticket.failed', { number: ticket.number, reason: failureText(error) });
    if (error.code === 'conflict') reloadTickets(state.api);
  }
  renderTickets();
}
