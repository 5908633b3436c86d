/**
 * Tickets as the pages keep them: each ticket's latest summary and its
 * timeline, fed by REST (the first load, and reloads after a `reset`) and by
 * `created` / `transition` events. Timeline entries carry a version, so an
 * entry that arrives both by REST and by event is kept once.
 */

import { actionText, clock, el, t, ticketStatusText } from './common.js';

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
