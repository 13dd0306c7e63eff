/**
 * Vietnamese first, English on request. The choice is kept in localStorage ('lang'), shared by every
 * staff page. Elements carry their string key: data-i18n (text), data-i18n-label (aria-label),
 * data-i18n-placeholder, data-i18n-title.
 */
export function createI18n(strings) {
  let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'vi';
  const listeners = [];
  const t = (key, ...args) => {
    const v = strings[lang][key] ?? strings.vi[key] ?? key;
    return typeof v === 'function' ? v(...args) : v;
  };
  const apply = (root = document) => {
    document.documentElement.lang = lang;
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll('[data-i18n-label]'))
      el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    for (const el of root.querySelectorAll('[data-i18n-placeholder]'))
      el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  };
  return {
    t,
    apply,
    get lang() {
      return lang;
    },
    /** Switches language, re-labels the page and tells the listeners (which re-render what they drew). */
    toggle() {
      lang = lang === 'vi' ? 'en' : 'vi';
      localStorage.setItem('lang', lang);
      apply();
      for (const f of listeners) f(lang);
    },
    onChange(f) {
      listeners.push(f);
    },
  };
}
