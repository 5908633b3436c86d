/**
 * The conversation on one ticket, as a panel each page puts where it fits:
 * under a report (tenant), next to triage (dashboard), on a ticket
 * (caretaker).
 *
 * The panel follows `ticket:<id>`: messages arrive as events (and after a
 * reconnect the client resumes from its position, so none is missed), typing
 * and read receipts as signals. The first load and every `reset` read the
 * thread over REST; messages are kept by id, so one that arrives both ways
 * is shown once.
 *
 * What people write goes into the page as text (textContent), never as
 * markup. Photos need the login token, so they are fetched and shown from
 * blob URLs rather than linked.
 */

import { ago, clock, el, onLanguageChange, say, t, translatePage } from './common.js';
import { FINAL_STATUSES, failureText } from './tickets.js';

const READ_DELAY_MS = 600;
const TYPING_SHOWN_MS = 5000;
const TYPING_EVERY_MS = 2000;
// The hub's own measure of "an agent is with you now" (AGENT_PRESENT_MS).
const AGENT_PRESENT_MS = 5 * 60_000;
// Ages and the queue place change without news on the channel: look again.
const REFRESH_EVERY_MS = 30_000;

export class ConversationPanel {
  constructor({ api, client, user, ticketId }) {
    this.api = api;
    this.client = client;
    this.user = user;
    this.ticketId = ticketId;
    this.messages = new Map();
    this.blobUrls = [];
    this.typers = new Map();
    this.info = null;
    this.subscription = null;
    this.lastTyping = 0;
    this.readTimer = null;
    this.refreshTimer = null;
    this.agentSeenAt = null; // ms of the newest sign of an agent (wrote, read, typed)
    this.onVisible = () => { if (!document.hidden && this.info) this.render(); };
    this.build();
  }

  build() {
    const id = this.ticketId;
    this.list = el('ol', { class: 'conversation__messages', 'aria-live': 'polite',
      'aria-relevant': 'additions', dataset: { testid: 'messages' } });
    this.statusLine = el('p', { class: 'conversation__status muted', role: 'status' });
    this.typingLine = el('p', { class: 'conversation__typing muted', 'aria-live': 'polite' });
    this.text = el('textarea', { id: `message-${id}`, name: 'text', rows: '2',
      maxlength: '2000', class: 'conversation__text' });
    this.photos = el('input', { id: `photos-${id}`, type: 'file', accept: 'image/*',
      capture: 'environment', multiple: true, class: 'conversation__photos' });
    this.error = el('p', { class: 'form__error', role: 'alert' });
    this.form = el('form', { class: 'form conversation__form', onsubmit: (event) => {
      event.preventDefault();
      this.send();
    } },
    el('label', { for: `message-${id}`, dataset: { i18n: 'chat.your_message' },
      text: t('chat.your_message') }), this.text,
    el('label', { for: `photos-${id}`, dataset: { i18n: 'chat.add_photos' },
      text: t('chat.add_photos') }), this.photos,
    el('button', { type: 'submit', class: 'button button--primary',
      dataset: { i18n: 'chat.send' }, text: t('chat.send') }),
    this.error);
    this.text.addEventListener('input', () => this.typing());
    this.node = el('section', { class: 'conversation',
      dataset: { conversation: id, i18nLabel: 'chat.heading' }, 'aria-label': t('chat.heading') },
    el('h4', { class: 'conversation__heading', dataset: { i18n: 'chat.heading' },
      text: t('chat.heading') }),
    this.statusLine, this.list, this.typingLine);
  }

  /** Follow the ticket live and load the thread. */
  open() {
    if (this.subscription) {
      this.render(); // unfolded again: what arrived meanwhile is now seen
      return;
    }
    document.addEventListener('visibilitychange', this.onVisible);
    // The form joins the page only when opened: a list of tickets stays
    // free of fields nobody is using.
    if (!this.form.isConnected) this.node.append(this.form);
    this.subscription = this.client.subscribe(`ticket:${this.ticketId}`, {
      // Also after a resume: the replayed events bring the missed messages,
      // but read markers and "an agent is here" are signals, which are not
      // replayed. Messages are kept by id, so reading them again is harmless.
      onSubscribed: () => this.load(),
      onEvent: (event) => this.onEvent(event),
      onSignal: (signal) => this.onSignal(signal),
      onReset: () => this.load(),
    });
    this.refreshTimer = setInterval(() => this.refresh(), REFRESH_EVERY_MS);
  }

  close() {
    document.removeEventListener('visibilitychange', this.onVisible);
    this.subscription?.unsubscribe().catch(() => {});
    this.subscription = null;
    clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    for (const url of this.blobUrls.splice(0)) URL.revokeObjectURL(url);
  }

  async load() {
    let info;
    try {
      info = await this.api.get(`/api/tickets/${this.ticketId}/messages?limit=100`);
    } catch {
      return; // offline: the next resume or reset loads again
    }
    this.info = info;
    this.seeAgent(info.agent_active_at);
    for (const message of info.messages) this.messages.set(message.id, message);
    this.render();
  }

  /** Ages grow and a queue moves on with no event for this ticket. */
  refresh() {
    if (this.info?.status === 'submitted' && this.user.role === 'tenant') this.load();
    else this.renderStatus();
  }

  seeAgent(at) {
    if (at && (!this.agentSeenAt || at > this.agentSeenAt)) this.agentSeenAt = at;
  }

  agentPresent() {
    return this.agentSeenAt !== null && Date.now() - this.agentSeenAt < AGENT_PRESENT_MS;
  }

  onEvent(event) {
    if (event.kind === 'message') {
      this.messages.set(event.data.id, event.data);
      this.typers.delete(event.data.by.id);
      if (event.data.by.role === 'agent') this.seeAgent(event.data.at);
      if (this.info && event.data.by.role === 'tenant') {
        this.info.awaiting_reply_since ??= event.data.at;
      } else if (this.info) {
        this.info.awaiting_reply_since = null;
      }
      this.render();
    } else if (event.kind === 'transition' && this.info) {
      // Show the new status at once, then read who may write and the queue
      // place from the hub (a retry puts the report back in the queue).
      this.info.status = event.data.ticket.status;
      this.info.writable = !FINAL_STATUSES.has(this.info.status)
        && (this.user.role !== 'caretaker' || event.data.ticket.assignee === this.user.id);
      this.info.queue_position = null;
      if (event.data.transition?.by.role === 'agent') this.seeAgent(event.data.transition.at);
      this.render();
      this.load();
    }
  }

  onSignal(signal) {
    const by = signal.data.by;
    if (by.id === this.user.id) return;
    if (by.role === 'agent') this.seeAgent(signal.data.at);
    if (signal.kind === 'typing') {
      clearTimeout(this.typers.get(by.id)?.timer);
      const timer = setTimeout(() => { this.typers.delete(by.id); this.renderTyping(); },
        TYPING_SHOWN_MS);
      this.typers.set(by.id, { name: by.name, timer });
      this.renderTyping();
    } else if (signal.kind === 'read' && this.info) {
      const others = this.info.read.filter((marker) => marker.by.id !== by.id);
      this.info.read = [...others, { by: { id: by.id, role: by.role },
        message_id: signal.data.message_id }];
      this.render();
    }
  }

  typing() {
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY_MS || this.client.state !== 'online') return;
    this.lastTyping = now;
    this.client.sendTyping(this.ticketId);
  }

  async send() {
    const text = this.text.value;
    const files = [...this.photos.files];
    say(this.error, null);
    if (!text.trim() && !files.length) {
      say(this.error, 'chat.empty');
      this.text.focus();
      return;
    }
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const photos = [];
      for (const file of files) photos.push((await this.api.uploadPhoto(this.ticketId, file)).id);
      const message = await this.api.post(`/api/tickets/${this.ticketId}/messages`,
        { text, photos });
      this.messages.set(message.id, message);
      this.text.value = '';
      this.photos.value = '';
      this.render();
    } catch (error) {
      say(this.error, 'chat.failed', { reason: failureText(error) });
      if (error.code === 'conflict') this.load();
    } finally {
      button.disabled = false;
    }
  }

  /** Tell the hub how far this user has read, once the burst of news settles. */
  markRead() {
    const newest = Math.max(0, ...this.messages.keys());
    const mine = this.info?.read.find((marker) => marker.by.id === this.user.id);
    if (!newest || (mine && mine.message_id >= newest)) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      this.api.post(`/api/tickets/${this.ticketId}/read`, { message_id: newest })
        .then((receipt) => {
          const others = this.info.read.filter((marker) => marker.by.id !== this.user.id);
          this.info.read = [...others, { by: receipt.by, message_id: receipt.message_id }];
        })
        .catch(() => {});
    }, READ_DELAY_MS);
  }

  render() {
    this.node.dataset.loaded = String(this.info !== null);
    const sorted = [...this.messages.values()].sort((a, b) => a.id - b.id);
    const readers = this.info?.read ?? [];
    this.list.replaceChildren(...sorted.map((message) => this.messageItem(message, readers)));
    this.renderStatus();
    this.renderTyping();
    const writable = this.info ? this.info.writable : true;
    this.form.hidden = !writable;
    // Read means seen: not while the page is in the background or folded away.
    const folded = this.node.closest('details')?.open === false;
    if (this.node.isConnected && !document.hidden && !folded) this.markRead();
  }

  messageItem(message, readers) {
    const mine = message.by.id === this.user.id;
    const seenBy = readers.filter((marker) => marker.by.id !== message.by.id
      && marker.message_id >= message.id).map((marker) => t(`role.${marker.by.role}`));
    const photos = message.photos.length ? el('div', { class: 'conversation__photo-row' },
      message.photos.map((photo) => this.photoThumb(photo))) : null;
    return el('li', { class: `message message--${mine ? 'mine' : message.by.role}`,
      dataset: { message: String(message.id), role: message.by.role } },
    el('p', { class: 'message__who' },
      el('span', { class: 'message__name', text: mine ? t('chat.you')
        : `${message.by.name ?? ''} (${t(`role.${message.by.role}`)})` }),
      ' ',
      el('time', { class: 'message__when', datetime: new Date(message.at).toISOString(),
        text: clock(message.at) })),
    message.text ? el('p', { class: 'message__text', text: message.text }) : null,
    photos,
    mine && seenBy.length ? el('p', { class: 'message__read muted',
      text: t('chat.read_by', { who: [...new Set(seenBy)].join(', ') }) }) : null);
  }

  photoThumb(photo) {
    const image = el('img', { class: 'message__photo', alt: t('chat.photo'), width: '96',
      loading: 'lazy' });
    const link = el('a', { href: '#', class: 'message__photo-link' }, image);
    this.api.photoBlob(photo.thumb_url).then((blob) => {
      const url = URL.createObjectURL(blob);
      this.blobUrls.push(url);
      image.src = url;
    }).catch(() => { image.alt = t('chat.photo_missing'); });
    link.addEventListener('click', async (event) => {
      event.preventDefault();
      const blob = await this.api.photoBlob(photo.url).catch(() => null);
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      this.blobUrls.push(url);
      window.open(url, '_blank', 'noopener');
    });
    return link;
  }

  renderStatus() {
    const info = this.info;
    let state = '';
    let text = '';
    if (info && FINAL_STATUSES.has(info.status)) {
      [state, text] = ['read_only', t('chat.read_only')];
    } else if (info && this.user.role === 'tenant') {
      // The tenant's one question: is someone with me, and if not, how long?
      if (this.agentPresent()) [state, text] = ['agent_here', t('chat.agent_here')];
      else if (info.queue_position) {
        [state, text] = ['queue', t('chat.queue', { n: info.queue_position })];
      } else [state, text] = ['agent_away', t('chat.agent_away')];
    } else if (info && !info.writable && this.user.role === 'caretaker') {
      [state, text] = ['read_only', t('chat.caretaker_reads')];
    } else if (info?.awaiting_reply_since) {
      [state, text] = ['waiting', t('chat.waiting_since', { ago: ago(info.awaiting_reply_since) })];
    }
    this.statusLine.textContent = text;
    this.statusLine.dataset.state = state;
    this.statusLine.hidden = !text;
  }

  renderTyping() {
    const names = [...this.typers.values()].map((typer) => typer.name);
    this.typingLine.textContent = names.length
      ? t('chat.typing', { who: names.join(', ') }) : '';
  }
}

/**
 * One panel per ticket, kept across re-renders of a list: a page that
 * rebuilds its list puts the same node back, and focus in it is restored.
 */
export class ConversationShelf {
  /**
   * @param {object} options api, client, user (as for a panel); onOpen(ticketId),
   *   called when someone unfolds a conversation
   */
  constructor({ onOpen = () => {}, ...options }) {
    this.options = options;
    this.onOpen = onOpen;
    this.panels = new Map();
    // Panels are built once and kept: on a language switch their fixed
    // texts (also in panels not in the page just now) and their messages
    // are put in the new language.
    onLanguageChange(() => {
      for (const { panel, node } of this.panels.values()) {
        translatePage(node);
        if (panel.info) panel.render();
      }
    });
  }

  /**
   * A <details> that opens the ticket's conversation when unfolded; `open`
   * unfolds it the first time it is made (later renders leave it as the
   * person left it).
   */
  disclosure(ticketId, { open = false } = {}) {
    let entry = this.panels.get(ticketId);
    if (!entry) {
      const panel = new ConversationPanel({ ...this.options, ticketId });
      const news = el('span', { class: 'conversation-toggle__news badge', hidden: true,
        dataset: { i18n: 'chat.new' }, text: t('chat.new') });
      const node = el('details', { class: 'conversation-toggle', open,
        dataset: { conversationToggle: ticketId } },
        el('summary', {},
          el('span', { dataset: { i18n: 'chat.heading' }, text: t('chat.heading') }), ' ', news),
        panel.node);
      node.addEventListener('toggle', () => {
        if (!node.open) return;
        news.hidden = true;
        panel.open();
        this.onOpen(ticketId);
      });
      entry = { panel, node, news };
      this.panels.set(ticketId, entry);
    }
    return entry.node;
  }

  /** A `message_hint` event: mark a folded conversation that has news. */
  hint(data) {
    const entry = this.panels.get(data?.ticket_id);
    if (!entry || entry.node.open || data.by?.id === this.options.user.id) return;
    entry.news.hidden = false;
  }

  /** Stop following the conversations of tickets a page no longer shows. */
  keepOnly(ticketIds) {
    const kept = new Set(ticketIds);
    for (const [ticketId, entry] of this.panels) {
      if (kept.has(ticketId)) continue;
      entry.panel.close();
      this.panels.delete(ticketId);
    }
  }

  /** Run `render` (which may move panels in the page) and give focus back. */
  keepFocus(render) {
    const active = document.activeElement;
    const inside = active && active.closest?.('.conversation');
    const selection = inside && 'selectionStart' in active
      ? [active.selectionStart, active.selectionEnd] : null;
    render();
    if (inside && document.activeElement !== active && active.isConnected) {
      active.focus();
      if (selection) active.setSelectionRange(...selection);
    }
  }
}
