/**
 * The community FAQ on the tenant's page: search, the list of questions, a
 * question's answers, and forms to ask and to answer (docs/faq.md).
 *
 * Everything is built here inside one placeholder section, so the page
 * itself only holds `<section id="faq">` and one call to `setUpFaq`. Each
 * question is a disclosure button (aria-expanded) that unfolds its answers
 * and an answer form; results and outcomes are announced in live regions.
 * What people wrote goes in as text, never as markup.
 */

import { clock, el, onLanguageChange, say, t, translatePage } from './common.js';
import { failureText, keepDrafts } from './tickets.js';

const PAGE_SIZE = 10;
const MAX_TITLE = 150;
const MAX_TEXT = 2000;

/**
 * Fill `root` (an empty section) with the FAQ and load the newest questions.
 * `api` is the page's logged-in HomiApi.
 */
export function setUpFaq({ root, api }) {
  const faq = new Faq(root, api);
  faq.load();
  onLanguageChange(() => faq.render());
  return faq;
}

class Faq {
  constructor(root, api) {
    this.root = root;
    this.api = api;
    this.query = '';
    this.order = 'newest';
    this.questions = []; // summaries, in the order shown
    this.nextCursor = null;
    this.open = new Map(); // question id -> its detail with answers, while unfolded
    this.build();
  }

  build() {
    const root = this.root;
    root.classList.add('card', 'faq');
    root.setAttribute('aria-labelledby', 'faq-heading');
    this.searchInput = el('input', { id: 'faq-q', name: 'q', type: 'search', maxlength: 200,
      autocomplete: 'off', 'aria-describedby': 'faq-search-hint' });
    this.orderSelect = el('select', { id: 'faq-order', name: 'order' },
      el('option', { value: 'newest', 'data-i18n': 'faq.order_newest' }),
      el('option', { value: 'answered', 'data-i18n': 'faq.order_answered' }));
    this.summary = el('p', { id: 'faq-summary', class: 'form__note', role: 'status',
      'aria-live': 'polite' });
    this.list = el('ul', { id: 'faq-list', class: 'faq__list', 'aria-labelledby': 'faq-heading' });
    this.more = el('button', { type: 'button', id: 'faq-more', class: 'button', hidden: true,
      'data-i18n': 'faq.more', onclick: () => this.load({ append: true }) });
    this.titleInput = el('input', { id: 'faq-title', name: 'title', required: true,
      maxlength: MAX_TITLE, 'aria-describedby': 'faq-ask-hint' });
    this.bodyInput = el('textarea', { id: 'faq-body', name: 'body', rows: 3,
      maxlength: MAX_TEXT });
    this.askResult = el('p', { id: 'faq-ask-result', class: 'form__note', role: 'status',
      'aria-live': 'polite' });

    root.replaceChildren(
      el('h2', { id: 'faq-heading', 'data-i18n': 'faq.heading' }),
      el('p', { class: 'muted', 'data-i18n': 'faq.intro' }),
      el('form', { id: 'faq-search', class: 'form faq__search', role: 'search',
        'aria-labelledby': 'faq-search-label', onsubmit: (event) => this.search(event) },
      el('label', { for: 'faq-q', id: 'faq-search-label', 'data-i18n': 'faq.search_label' }),
      el('p', { id: 'faq-search-hint', class: 'muted faq__hint', 'data-i18n': 'faq.search_hint' }),
      this.searchInput,
      el('div', { class: 'faq__row' },
        el('button', { type: 'submit', class: 'button button--primary',
          'data-i18n': 'faq.search' }),
        el('button', { type: 'button', id: 'faq-all', class: 'button',
          'data-i18n': 'faq.all', onclick: () => this.showAll() }))),
      el('div', { class: 'form faq__order' },
        el('label', { for: 'faq-order', 'data-i18n': 'faq.order' }),
        this.orderSelect),
      this.summary,
      this.list,
      this.more,
      el('form', { id: 'faq-ask', class: 'form faq__ask', 'aria-labelledby': 'faq-ask-heading',
        novalidate: true, onsubmit: (event) => this.ask(event) },
      el('h3', { id: 'faq-ask-heading', 'data-i18n': 'faq.ask_heading' }),
      el('p', { id: 'faq-ask-hint', class: 'muted faq__hint', 'data-i18n': 'faq.ask_hint' }),
      el('label', { for: 'faq-title', 'data-i18n': 'faq.title_label' }),
      this.titleInput,
      el('label', { for: 'faq-body', 'data-i18n': 'faq.body_label' }),
      this.bodyInput,
      el('button', { type: 'submit', class: 'button button--primary', 'data-i18n': 'faq.ask' }),
      this.askResult));
    this.orderSelect.addEventListener('change', () => {
      this.order = this.orderSelect.value;
      this.load();
    });
    translatePage(root);
  }

  // -- loading ------------------------------------------------------------------

  async load({ append = false } = {}) {
    const cursor = append && this.nextCursor ? `&cursor=${encodeURIComponent(this.nextCursor)}`
      : '';
    const path = this.query
      ? `/api/faq/search?q=${encodeURIComponent(this.query)}&limit=${PAGE_SIZE}${cursor}`
      : `/api/faq/questions?order=${this.order}&limit=${PAGE_SIZE}${cursor}`;
    let page;
    try {
      page = await this.api.get(path);
    } catch (error) {
      say(this.summary, 'faq.failed', { reason: failureText(error) });
      return;
    }
    const firstNew = append ? this.questions.length : 0;
    this.questions = append ? [...this.questions, ...page.questions] : page.questions;
    this.nextCursor = page.next_cursor;
    if (!append) this.open.clear();
    this.render();
    this.announce();
    // After "more", move on to the first question that came in.
    if (append) this.list.children[firstNew]?.querySelector('button')?.focus();
  }

  search(event) {
    event.preventDefault();
    this.query = this.searchInput.value.trim();
    this.load();
  }

  showAll() {
    this.query = '';
    this.searchInput.value = '';
    this.load();
    this.searchInput.focus();
  }

  announce() {
    const count = this.questions.length;
    if (this.query) {
      if (count === 0) say(this.summary, 'faq.found_none', { query: this.query });
      else say(this.summary, count === 1 ? 'faq.found_one' : 'faq.found',
        { n: count, query: this.query });
    } else {
      say(this.summary, count === 0 ? 'faq.empty' : null);
    }
  }

  async toggle(question) {
    if (this.open.has(question.id)) {
      this.open.delete(question.id);
      this.renderItem(question.id);
      return;
    }
    try {
      this.open.set(question.id, await this.api.get(`/api/faq/questions/${question.id}`));
    } catch (error) {
      say(this.summary, 'faq.failed', { reason: failureText(error) });
      return;
    }
    this.renderItem(question.id);
  }

  // -- writing --------------------------------------------------------------------

  async ask(event) {
    event.preventDefault();
    const title = this.titleInput.value;
    if (title.trim().length < 3) {
      say(this.askResult, 'faq.title_needed');
      this.titleInput.focus();
      return;
    }
    const button = event.target.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const question = await this.api.post('/api/faq/questions',
        { title, body: this.bodyInput.value });
      event.target.reset();
      say(this.askResult, 'faq.asked');
      // Show it at the top of the full list, unfolded.
      this.query = '';
      this.searchInput.value = '';
      this.order = 'newest';
      this.orderSelect.value = 'newest';
      await this.load();
      this.open.set(question.id, question);
      this.renderItem(question.id);
    } catch (error) {
      say(this.askResult, 'faq.ask_failed', { reason: failureText(error) });
    } finally {
      button.disabled = false;
    }
  }

  async answer(event, questionId) {
    event.preventDefault();
    const form = event.target;
    const field = form.querySelector('textarea');
    const note = form.querySelector('.form__note');
    if (!field.value.trim()) {
      say(note, 'faq.answer_needed');
      field.focus();
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await this.api.post(`/api/faq/questions/${questionId}/answers`, { body: field.value });
      const detail = await this.api.get(`/api/faq/questions/${questionId}`);
      this.open.set(questionId, detail);
      const index = this.questions.findIndex((q) => q.id === questionId);
      if (index >= 0) this.questions[index] = { ...this.questions[index], ...detail };
      this.renderItem(questionId);
      const again = this.itemNode(questionId);
      say(again.querySelector('.faq__answer-form .form__note'), 'faq.answered');
      again.querySelector('.faq__answer-form textarea')?.focus();
    } catch (error) {
      say(note, 'faq.answer_failed', { reason: failureText(error) });
      button.disabled = false;
    }
  }

  // -- rendering ------------------------------------------------------------------

  /** Rebuild the list (texts from t() follow the language); typed answers stay. */
  render() {
    keepDrafts(this.list, () => {
      this.list.replaceChildren(...this.questions.map((question) => this.item(question)));
    });
    this.more.hidden = !this.nextCursor;
  }

  itemNode(questionId) {
    return this.list.querySelector(`[data-question="${questionId}"]`);
  }

  renderItem(questionId) {
    const question = this.questions.find((q) => q.id === questionId);
    const node = this.itemNode(questionId);
    if (!question || !node) return;
    const hadFocus = node.contains(document.activeElement)
      && document.activeElement.classList.contains('faq__toggle');
    const fresh = this.item(question);
    node.replaceWith(fresh);
    if (hadFocus) fresh.querySelector('.faq__toggle').focus();
  }

  item(question) {
    const detail = this.open.get(question.id);
    const panelId = `faq-panel-${question.id}`;
    const count = detail ? detail.answer_count : question.answer_count;
    return el('li', { class: 'faq__item', dataset: { question: question.id } },
      el('h3', { class: 'faq__title' },
        el('button', { type: 'button', class: 'faq__toggle', 'aria-expanded': String(!!detail),
          'aria-controls': panelId, onclick: () => this.toggle(question) },
        el('span', { class: 'faq__title-text', dir: 'auto', text: question.title }))),
      el('p', { class: 'muted faq__meta' },
        `${t('faq.asked_by', { who: who(question.author) })} · `,
        el('time', { datetime: new Date(question.created_at).toISOString(),
          text: clock(question.created_at) }),
        ` · ${count === 1 ? t('faq.one_answer') : t('faq.answers', { n: count })}`),
      el('div', { id: panelId, class: 'faq__panel', hidden: !detail },
        detail ? this.panel(detail) : null));
  }

  panel(detail) {
    const fieldId = `faq-answer-${detail.id}`;
    return [
      detail.body ? el('p', { class: 'faq__body', dir: 'auto', text: detail.body }) : null,
      detail.answers.length
        ? el('ol', { class: 'faq__answers', 'aria-label': t('faq.answers_of',
          { title: detail.title }) }, detail.answers.map((answer) => el('li', {
          class: answer.author.staff ? 'faq__answer faq__answer--staff' : 'faq__answer',
          dataset: { answer: answer.id } },
        el('p', { class: 'faq__answer-body', dir: 'auto', text: answer.body }),
        el('p', { class: 'muted faq__meta' },
          answer.author.staff ? el('span', { class: 'badge faq__staff', text: t('faq.staff') })
            : null,
          answer.author.staff ? ' ' : null,
          `${who(answer.author)} · `,
          el('time', { datetime: new Date(answer.created_at).toISOString(),
            text: clock(answer.created_at) })))))
        : el('p', { class: 'muted', text: t('faq.no_answers') }),
      el('form', { class: 'form faq__answer-form', novalidate: true,
        onsubmit: (event) => this.answer(event, detail.id) },
      el('label', { for: fieldId, text: t('faq.answer_label') }),
      el('textarea', { id: fieldId, name: 'body', rows: 3, maxlength: MAX_TEXT }),
      el('button', { type: 'submit', class: 'button button--primary', text: t('faq.answer') }),
      el('p', { class: 'form__note', role: 'status', 'aria-live': 'polite' })),
    ];
  }
}

/** "Meneer uit Noord", "Sanne, wijkbeheerder", "U" for the reader's own posts. */
function who(author) {
  if (author.mine) return t('faq.you');
  if (author.role === 'caretaker') return t('faq.by_caretaker', { name: author.name });
  if (author.role === 'agent') return t('faq.by_agent', { name: author.name });
  if (author.district) return t('faq.by_tenant', { name: author.name,
    district: author.district.name });
  return author.name;
}
