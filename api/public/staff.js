/**
 * What the staff pages share: JSON calls to the API with the session cookie and the CSRF token, the
 * sign-in form, and a small DOM builder (text only, never HTML strings: every value from the API is
 * shown as text).
 */

let csrfToken;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const error = typeof data === 'object' && data ? data.error : undefined;
    throw new ApiError(res.status, error?.code ?? 'error', error?.message ?? `HTTP ${res.status}`);
  }
  return data;
}

/** The signed-in user (with roles and the CSRF token), or undefined when there is no session. */
export async function currentUser() {
  try {
    const me = await api('/api/auth/me');
    csrfToken = me.csrfToken;
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signOut() {
  await api('/api/auth/logout', { method: 'POST' });
  csrfToken = undefined;
}

/** Whether the user holds one of the roles (admins hold every role). */
export function hasRole(me, roles) {
  return !!me?.grants.some((g) => g.role === 'admin' || roles.includes(g.role));
}

/**
 * Wires the sign-in form: on success calls onSignedIn(me). Errors go to the form's role="alert"
 * paragraph; the password field is cleared either way.
 */
export function setupLogin({ form, error, t, onSignedIn }) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    error.hidden = true;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answer = await api('/api/auth/login', {
        method: 'POST',
        body: { username: String(data.get('username')), password: String(data.get('password')) },
      });
      csrfToken = answer.csrfToken;
      form.reset();
      onSignedIn(await currentUser());
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? t('loginRefused') : err.message;
      error.hidden = false;
      form.elements.password.value = '';
      form.elements.password.focus();
    } finally {
      button.disabled = false;
    }
  });
}

/** el('p', { class: 'x', onclick: f }, 'text', child…): attributes, listeners (on…) and text children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A date and time in the page's language, Vietnam time. */
export function formatTime(iso, lang) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'vi-VN', {
    timeZone: 'Asia/Ho_Chi_Minh',
    dateStyle: 'short',
    timeStyle: 'medium',
  });
}

/** What every staff page says in its header, navigation and sign-in form; each page adds its own. */
export const STAFF_STRINGS = {
  vi: {
    skip: 'Bỏ qua đến nội dung chính',
    pages: 'Trang',
    navMonitor: 'Giám sát camera',
    navReview: 'Xét duyệt',
    navScene: 'Cấu hình cảnh',
    navHolidays: 'Ngày nghỉ lễ',
    logout: 'Đăng xuất',
    switchTo: 'English',
    loginHeading: 'Đăng nhập cán bộ',
    username: 'Tên đăng nhập',
    password: 'Mật khẩu',
    signIn: 'Đăng nhập',
    loginRefused: 'Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đang bị khoá.',
    signedInAs: (name) => `Cán bộ: ${name}`,
  },
  en: {
    skip: 'Skip to the main content',
    pages: 'Pages',
    navMonitor: 'Camera monitoring',
    navReview: 'Review',
    navScene: 'Scene editor',
    navHolidays: 'Public holidays',
    logout: 'Sign out',
    switchTo: 'Tiếng Việt',
    loginHeading: 'Staff sign-in',
    username: 'Username',
    password: 'Password',
    signIn: 'Sign in',
    loginRefused: 'Wrong username or password, or the account is locked.',
    signedInAs: (name) => `Signed in: ${name}`,
  },
};

/**
 * The shell every staff page shares (elements #login, #login-form, #login-error, #username, #who,
 * #logout, #lang, #status): the sign-in form, who is signed in, sign-out and the language switch.
 * `roles`: who may use the page (anyone else sees the sign-in form and `deniedKey`'s message);
 * `sections`: ids shown only while signed in; `onSignedIn(me)`, `onSignedOut()`, `onLanguage()`: the
 * page's own work. Returns `start()`, which shows the page as the current session allows.
 */
export function setupStaffShell({ i18n, roles, deniedKey, sections, onSignedIn, onSignedOut, onLanguage }) {
  const { t } = i18n;
  const $ = (id) => document.getElementById(id);
  let me;
  const showLogin = () => {
    $('login').hidden = false;
    for (const id of sections) $(id).hidden = true;
    $('who').hidden = true;
    $('logout').hidden = true;
    $('username').focus();
  };
  const signedIn = (user) => {
    me = user;
    if (!hasRole(user, roles)) {
      me = undefined;
      showLogin();
      $('status').textContent = t(deniedKey);
      return;
    }
    $('login').hidden = true;
    $('who').hidden = false;
    $('who').textContent = t('signedInAs', user.user?.displayName ?? user.user?.username ?? '');
    $('logout').hidden = false;
    void onSignedIn(user);
  };
  setupLogin({ form: $('login-form'), error: $('login-error'), t, onSignedIn: signedIn });
  $('logout').addEventListener('click', async () => {
    try {
      await signOut();
    } finally {
      me = undefined;
      onSignedOut?.();
      showLogin();
    }
  });
  $('lang').addEventListener('click', () => i18n.toggle());
  i18n.onChange(() => {
    $('lang').textContent = t('switchTo');
    if (me) $('who').textContent = t('signedInAs', me.user?.displayName ?? me.user?.username ?? '');
    onLanguage?.();
  });
  return {
    async start() {
      i18n.apply();
      $('lang').textContent = t('switchTo');
      const user = await currentUser();
      if (user) signedIn(user);
      else showLogin();
    },
  };
}
