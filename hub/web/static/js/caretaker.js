/**
 * The caretaker's phone: on/off duty, status and activity, the location
 * shared from the browser only while on duty (with an indicator that says
 * so), and the live list of jobs with accept, plan, start, resolve and hand back.
 */

import {
  attachConnectionBanner, clock, el, onLanguageChange, say, setUpLanguageSwitch, setUpLogin, t,
  translatePage,
} from './common.js';
import { ConversationShelf } from './conversation.js';
import {
  TicketBook, categoryText, failureText, keepDrafts, postTransition, statusBadge, timelineList,
} from './tickets.js';

const $ = (id) => document.getElementById(id);
const DONE = new Set(['closed', 'cancelled']);

const state = {
  client: null,
  live: true, // false while the connection is lost: nobody sees the duty state then
  api: null,
  user: null,
  presence: { on_duty: false, status: 'available', activity: '' },
  watchId: null,
  locationProblem: false,
  categories: [],
  book: new TicketBook(),
};

translatePage();
setUpLanguageSwitch($('language'));
const session = setUpLogin({ form: $('login'), errorBox: $('login-error'), role: 'caretaker',
  onReady: start });
$('logout').addEventListener('click', async () => {
  await goOffDutyQuietly();
  session.logout();
});

async function start({ api, client, user }) {
  state.shelf = new ConversationShelf({ api, client, user });
  Object.assign(state, { api, client, user });
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  // Focus leaves the vanished login form for the page, which stays at its top.
  $('main').focus({ preventScroll: true });

  attachConnectionBanner(client, $('connection'), (live) => {
    state.live = live;
    renderDuty();
  });
  client.on('state', ({ state: connection, resumed }) => {
    // A new connection holds no presence yet: announce it again.
    if (connection === 'online' && resumed) sendPresence().catch(() => {});
  });
  $('duty').addEventListener('click', () => {
    state.presence.on_duty = !state.presence.on_duty;
    sendPresence().catch(() => {});
  });
  for (const button of $('status-choices').querySelectorAll('button')) {
    button.addEventListener('click', () => {
      state.presence.status = button.dataset.status;
      state.presence.on_duty = true;
      sendPresence().catch(() => {});
    });
  }
  $('activity-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.presence.activity = $('activity').value;
    if (state.presence.activity) state.presence.status = 'busy';
    sendPresence().catch(() => {});
  });
  renderDuty();

  ({ categories: state.categories } = await api.get('/api/categories'));
  client.subscribe('tickets:mine', {
    onSubscribed: (_, { resumed }) => { if (!resumed) reloadTickets(); },
    onEvent: (event) => {
      if (event.kind === 'message_hint') state.shelf.hint(event.data);
      else if (state.book.apply(event)) renderTickets();
    },
    onReset: () => reloadTickets(),
  });
  onLanguageChange(() => { renderDuty(); renderTickets(); });
}

// -- duty, status, location ------------------------------------------------------

async function sendPresence() {
  renderDuty();
  const { on_duty, status, activity } = state.presence;
  try {
    await state.client.setPresence(on_duty ? { on_duty, status, activity } : { on_duty: false });
    say($('duty-result'), 'caretaker.saved');
  } catch (error) {
    say($('duty-result'), 'caretaker.save_failed', { reason: error.message });
    throw error;
  } finally {
    updateLocationSharing();
  }
}

async function goOffDutyQuietly() {
  if (!state.presence.on_duty) return;
  state.presence.on_duty = false;
  await sendPresence().catch(() => {});
}

function updateLocationSharing() {
  const sharing = state.presence.on_duty;
  if (sharing && state.watchId === null && navigator.geolocation) {
    state.locationProblem = false;
    state.watchId = navigator.geolocation.watchPosition(
      (position) => {
        state.locationProblem = false;
        // Off duty since the fix was taken: never send it.
        if (!state.presence.on_duty) return;
        const { latitude: lat, longitude: lon, accuracy } = position.coords;
        state.client.sendLocation({ lat, lon, accuracy, ts: position.timestamp });
        renderDuty();
      },
      () => {
        state.locationProblem = true;
        renderDuty();
      },
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 },
    );
  } else if (!sharing && state.watchId !== null) {
    navigator.geolocation.clearWatch(state.watchId);
    state.watchId = null;
  }
  renderDuty();
}

function renderDuty() {
  const { on_duty, status } = state.presence;
  const dutyWords = on_duty ? t('caretaker.on_duty') : t('caretaker.off_duty');
  const dutyState = $('duty-state');
  dutyState.dataset.live = String(state.live);
  dutyState.textContent = state.live ? dutyWords : t('caretaker.duty_not_live', { state: dutyWords });
  const duty = $('duty');
  duty.textContent = on_duty ? t('caretaker.duty_button_off') : t('caretaker.duty_button_on');
  duty.setAttribute('aria-pressed', String(on_duty));
  // A status means something only on duty: off duty the choices are shut,
  // and the hint they point to says why.
  $('status-hint').hidden = on_duty;
  for (const button of $('status-choices').querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(on_duty && button.dataset.status === status));
    button.disabled = !on_duty;
  }
  for (const node of [$('status-choices'), $('activity-form'),
    ...$('status-choices').querySelectorAll('button')]) {
    if (on_duty) node.removeAttribute('aria-describedby');
    else node.setAttribute('aria-describedby', 'status-hint');
  }
  for (const control of $('activity-form').elements) control.disabled = !on_duty;
  const sharing = on_duty && state.watchId !== null && !state.locationProblem;
  $('location').dataset.sharing = String(sharing);
  $('location-text').textContent = sharing ? t('caretaker.location_on')
    : on_duty && state.locationProblem ? t('caretaker.location_denied') : t('caretaker.location_off');
}

// -- jobs ---------------------------------------------------------------------------

async function reloadTickets() {
  try {
    await state.book.reload(state.api);
  } catch {
    return;
  }
  renderTickets();
}

/** The buttons a caretaker has for a ticket in `status` (see the lifecycle). */
function actionsFor(ticket) {
  switch (ticket.status) {
    case 'assigned':
      return [['accept', { to: 'accepted' }]];
    case 'accepted':
      return [['plan', { action: 'plan' }], ['start', { to: 'in_progress' }],
        ['hand_back', { to: 'assigned' }]];
    case 'in_progress':
      return [['resolve', { to: 'resolved' }]];
    default:
      return [];
  }
}

function renderTickets() {
  state.shelf.keepFocus(() => keepDrafts($('tickets'), renderTicketList));
}

function renderTicketList() {
  const open = state.book.list().filter(({ ticket }) => !DONE.has(ticket.status)
    && (!ticket.assignee || ticket.assignee === state.user.id || ticket.status === 'assigned'));
  $('tickets-empty').hidden = open.length > 0;
  $('tickets').replaceChildren(...open.map(({ ticket, timeline }) => {
    const noteId = `note-${ticket.id}`;
    const whenId = `when-${ticket.id}`;
    const actions = actionsFor(ticket);
    const needsNote = actions.length > 0;
    const needsWhen = ticket.status === 'accepted' || ticket.status === 'assigned';
    return el('li', { class: 'ticket', dataset: { ticket: ticket.id, status: ticket.status } },
      el('div', { class: 'ticket__head' },
        el('h3', { class: 'ticket__title',
          text: `#${ticket.number} ${categoryText(state.categories, ticket.category)}` }),
        statusBadge(ticket.status)),
      ticket.severity ? el('span', { class: `badge badge--${ticket.severity}`,
        text: t(`dashboard.severity.${ticket.severity}`) }) : null,
      ticket.place ? el('p', { class: 'muted', text: ticket.place }) : null,
      ticket.description ? el('p', { class: 'ticket__description', text: ticket.description }) : null,
      ticket.planned_for ? el('p', { class: 'ticket__plan',
        text: t('ticket.visit_planned', { when: clock(ticket.planned_for) }) }) : null,
      timelineList(timeline),
      state.shelf.disclosure(ticket.id),
      needsNote ? el('div', { class: 'form' },
        el('label', { for: noteId, text: t('caretaker.note') }),
        el('textarea', { id: noteId, rows: 2, maxlength: 2000 })) : null,
      needsWhen ? el('div', { class: 'form' },
        el('label', { for: whenId, text: t('caretaker.plan_when') }),
        el('input', { id: whenId, type: 'datetime-local' })) : null,
      el('div', { class: 'ticket__actions' }, actions.map(([name, move]) => el('button', {
        type: 'button', class: name === 'hand_back' ? 'button button--danger' : 'button button--primary',
        dataset: { action: name }, text: t(`caretaker.${name}`),
        onclick: () => transition(ticket, move, noteId, whenId),
      }))));
  }));
}

async function transition(ticket, move, noteId, whenId) {
  const result = $('tickets-result');
  const body = { ...move };
  const noteField = document.getElementById(noteId);
  const whenField = document.getElementById(whenId);
  const note = noteField?.value.trim();
  if (note) body.note = note;
  const when = whenField?.value;
  say(result, null);
  if (move.action === 'plan' && !when) {
    say(result, 'caretaker.plan_needs_when', { number: ticket.number });
    whenField?.focus();
    return;
  }
  if (when && (move.to === 'accepted' || move.action === 'plan')) {
    // The field holds the phone's local time; the hub wants an offset, so send UTC.
    body.planned_for = new Date(when).toISOString();
  }
  try {
    const data = await postTransition(state.api, ticket, body);
    if (noteField) noteField.value = '';
    if (whenField) whenField.value = '';
    state.book.apply({ data });
    renderTickets();
  } catch (error) {
    if (error.code === 'conflict' && error.details.status) {
      say(result, 'caretaker.conflict', { status: t(`ticket.${error.details.status}`) });
    } else {
      say(result, 'ticket.failed', { number: ticket.number, reason: failureText(error) });
    }
    if (error.code === 'conflict') reloadTickets();
  }
}
