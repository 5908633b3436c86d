/**
 * Tickets as the pages keep them: each ticket's latest summary and its
 * timeline, fed by REST (the first load, and reloads after a `reset`) and by
 * `created` / `transition` events. Timeline entries carry a version, so an
 * entry that arrives both by REST and by event is kept once.
 */

import { actionText, clock, el, t, ticketStatusText } from './common.js';

/** Statuses after which nothing more happens to a ticket. */
export const FINAL_STATUSES = new Set(['closed', 'cancelled']);

export class TicketBook {
  constructor() {
    this.tickets = new Map();
  }

  /** Replace everything with the tickets from `GET /api/tickets` plus their timelines. */
  async reload(api, { withTimelines = true, query = '' } = {}) {
    const { tickets } = await api.get(`/api/tickets${query}`);
    const details = withTimelines
      ? await Promise.all(tickets.map((ticket) => api.get(`/api/tickets/${ticket.id}`)))
      : tickets;
    this.tickets.clear();
    for (const detail of details) {
      this.tickets.set(detail.id, { ticket: detail, timeline: detail.timeline ?? [] });
    }
  }

  /** Fold one event in; returns the ticket id it touched. */
  apply(event) {
    const { ticket, transition } = event.data ?? {};
    if (!ticket) return null;
    const known = this.tickets.get(ticket.id) ?? { ticket, timeline: [] };
    if ((ticket.version ?? 0) >= (known.ticket.version ?? 0)) {
      known.ticket = { ...known.ticket, ...ticket };
    }
    if (transition && !known.timeline.some((entry) => entry.version === transition.version)) {
      known.timeline.push(transition);
      known.timeline.sort((a, b) => a.version - b.version);
    }
    this.tickets.set(ticket.id, known);
    return ticket.id;
  }

  /** Newest first. */
  list() {
    return [...this.tickets.values()].sort((a, b) => b.ticket.created_at - a.ticket.created_at);
  }
}

export function categoryText(categories, id) {
  const found = categories.find((category) => category.id === id);
  return found ? found.label[document.documentElement.lang === 'en' ? 'en' : 'nl'] : id;
}

/** One timeline as an ordered list: step, when, who, note, planned visit. */
export function timelineList(timeline) {
  return el('ol', { class: 'timeline' }, timeline.map((entry) => el('li', {
    class: 'timeline__step', dataset: { action: entry.action, version: String(entry.version) },
  },
  el('span', { class: 'timeline__what', text: actionText(entry.action) }),
  ' ',
  el('time', { class: 'timeline__when', datetime: new Date(entry.at).toISOString(),
    text: clock(entry.at) }),
  entry.note ? el('p', { class: 'timeline__note', text: entry.note }) : null,
  entry.planned_for ? el('p', { class: 'timeline__plan',
    text: t('ticket.planned_for', { when: clock(entry.planned_for) }) }) : null)));
}

export function statusBadge(status) {
  return el('span', { class: `badge badge--${status}`, dataset: { status },
    text: ticketStatusText(status) });
}

/**
 * What went wrong with a ticket step, a message or a photo, in words a
 * person can act on. `error` is a HomiError (REST or websocket).
 */
export function failureText(error) {
  const status = error.details?.status;
  if (error.code === 'conflict') {
    return status ? t('error.conflict_status', { status: ticketStatusText(status) })
      : t('error.conflict');
  }
  if (error.code === 'bad_request' || error.status === 422) {
    return t('error.bad_request', { reason: error.message });
  }
  const known = ['forbidden', 'not_found', 'too_large', 'rate_limited', 'unauthorized'];
  if (known.includes(error.code)) return t(`error.${error.code}`);
  if (['unavailable', 'disconnected', 'timeout'].includes(error.code)) {
    return t('error.unavailable');
  }
  return t('error.other', { reason: error.message });
}

/**
 * Run `render`, which rebuilds the fields in `container`, and put back what
 * was typed in them and where the cursor was: a live update must not eat a
 * half-written note. Fields are matched by id; the conversation panels are
 * the same nodes before and after, so they are left alone.
 */
export function keepDrafts(container, render) {
  const fields = [...container.querySelectorAll('input[id], textarea[id], select[id]')]
    .filter((field) => !field.closest('.conversation') && field.type !== 'file');
  const drafts = new Map(fields.map((field) => [field.id, field.value]));
  const active = document.activeElement;
  const focusedId = active && fields.includes(active) ? active.id : null;
  const selection = focusedId && 'selectionStart' in active
    ? [active.selectionStart, active.selectionEnd] : null;
  render();
  for (const [id, value] of drafts) {
    const field = document.getElementById(id);
    if (field && container.contains(field) && value) field.value = value;
  }
  const again = focusedId && document.getElementById(focusedId);
  if (again && document.activeElement !== again) {
    again.focus();
    try {
      if (selection) again.setSelectionRange(...selection);
    } catch {
      // Some input types (date-time) have no selection.
    }
  }
}

/**
 * Send one step of a ticket's lifecycle. Resolves with the event data
 * `{ticket, transition}`; rejects with the hub's HomiError.
 */
export function postTransition(api, ticket, move) {
  return api.post(`/api/tickets/${ticket.id}/transitions`,
    { ...move, expected_version: ticket.version });
}
