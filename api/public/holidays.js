import { createI18n } from './i18n.js';
import { api, ApiError, el, setupStaffShell, STAFF_STRINGS } from './staff.js';

/**
 * The public-holiday calendar of the fine procedure (GET/PUT/DELETE /api/admin/holidays): supervisors
 * enter Tết and the moved days each year; every change is audited by the API.
 */

const STRINGS = {
  vi: {
    ...STAFF_STRINGS.vi,
    title: 'Ngày nghỉ lễ',
    notSupervisor: 'Tài khoản này không có quyền quản lý ngày nghỉ lễ (cần vai trò chỉ huy).',
    explain:
      'Thời hạn tính theo ngày làm việc bỏ qua các ngày này; thời hạn kết thúc vào ngày nghỉ được chuyển sang ngày làm việc tiếp theo. Chỉ các ngày lễ cố định được tạo sẵn: nhập Tết và các ngày nghỉ bù mỗi năm.',
    year: 'Năm',
    show: 'Xem',
    day: 'Ngày',
    weekday: 'Thứ',
    name: 'Tên ngày nghỉ',
    actions: 'Thao tác',
    add: 'Thêm / đổi tên',
    remove: 'Xoá',
    removeLabel: (d) => `Xoá ngày nghỉ ${d}`,
    confirmRemove: (d, n) => `Xoá ngày nghỉ ${d} (${n})?`,
    caption: (y, n) => `Năm ${y}: ${n} ngày nghỉ lễ (ngoài thứ Bảy, Chủ nhật)`,
    added: (d) => `Đã thêm ${d}.`,
    renamed: (d) => `Đã đổi tên ${d}.`,
    removed: (d) => `Đã xoá ${d}.`,
    error: (m) => `Lỗi: ${m}`,
  },
  en: {
    ...STAFF_STRINGS.en,
    title: 'Public holidays',
    notSupervisor: 'This account may not manage public holidays (a supervisor role is needed).',
    explain:
      'Periods counted in working days skip these days; a period whose last day is a day off ends on the next working day. Only the fixed-date holidays are pre-loaded: enter Tết and the moved days every year.',
    year: 'Year',
    show: 'Show',
    day: 'Date',
    weekday: 'Day',
    name: 'Holiday name',
    actions: 'Actions',
    add: 'Add / rename',
    remove: 'Remove',
    removeLabel: (d) => `Remove the holiday on ${d}`,
    confirmRemove: (d, n) => `Remove the holiday on ${d} (${n})?`,
    caption: (y, n) => `${y}: ${n} public holidays (besides Saturdays and Sundays)`,
    added: (d) => `Added ${d}.`,
    renamed: (d) => `Renamed ${d}.`,
    removed: (d) => `Removed ${d}.`,
    error: (m) => `Error: ${m}`,
  },
};

const i18n = createI18n(STRINGS);
const { t } = i18n;
const $ = (id) => document.getElementById(id);
const state = { me: undefined, year: new Date().getFullYear(), items: [] };

function say(text) {
  $('status').textContent = text;
}

function weekdayOf(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(i18n.lang === 'en' ? 'en-GB' : 'vi-VN', {
    weekday: 'long',
    timeZone: 'UTC',
  });
}

function render() {
  $('caption').textContent = t('caption', state.year, state.items.length);
  $('days').replaceChildren(
    ...state.items.map((h) =>
      el(
        'tr',
        {},
        el('td', {}, el('time', { datetime: h.day }, h.day)),
        el('td', {}, weekdayOf(h.day)),
        el('td', {}, h.name),
        el(
          'td',
          {},
          el(
            'button',
            { type: 'button', 'aria-label': t('removeLabel', h.day), onclick: () => remove(h) },
            t('remove'),
          ),
        ),
      ),
    ),
  );
}

async function load(year) {
  state.year = year;
  $('year').value = String(year);
  try {
    state.items = (await api(`/api/admin/holidays?year=${year}`)).items;
    render();
  } catch (err) {
    say(t('error', err.message));
  }
}

async function remove(h) {
  if (!confirm(t('confirmRemove', h.day, h.name))) return;
  try {
    await api(`/api/admin/holidays/${h.day}`, { method: 'DELETE' });
    say(t('removed', h.day));
  } catch (err) {
    say(t('error', err.message));
  }
  await load(state.year);
}

$('year-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void load(Number($('year').value));
});

$('add-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const day = $('day').value;
  const name = $('name').value.trim();
  $('add-error').hidden = true;
  try {
    const answer = await api(`/api/admin/holidays/${day}`, { method: 'PUT', body: { name } });
    say(answer.created ? t('added', day) : t('renamed', day));
    $('name').value = '';
    await load(Number(day.slice(0, 4)));
  } catch (err) {
    $('add-error').textContent = err instanceof ApiError ? err.message : t('error', err.message);
    $('add-error').hidden = false;
  }
});

const shell = setupStaffShell({
  i18n,
  roles: ['supervisor'],
  deniedKey: 'notSupervisor',
  sections: ['calendar'],
  onSignedIn: async (me) => {
    state.me = me;
    $('calendar').hidden = false;
    await load(state.year);
  },
  onSignedOut: () => {
    state.me = undefined;
  },
  onLanguage: () => {
    if (state.me) render();
  },
});
await shell.start();
