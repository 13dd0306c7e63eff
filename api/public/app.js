const STRINGS = {
  vi: {
    title: 'Hệ thống phạt nguội — Giám sát camera',
    fleet: 'Toàn bộ camera',
    cameras: 'Camera',
    code: 'Mã',
    name: 'Tên',
    state: 'Trạng thái',
    fps: 'Khung/giây',
    received: 'Đã nhận',
    processed: 'Đã xử lý',
    dropped: 'Bỏ qua',
    restarts: 'Khởi động lại',
    last: 'Khung cuối',
    loading: 'Đang tải…',
    up: 'Hoạt động',
    down: 'Mất tín hiệu',
    starting: 'Đang kết nối',
    totals: (u, n, f) => `${u}/${n} camera hoạt động · ${f} khung/giây`,
    switchTo: 'English',
    error: 'Không tải được dữ liệu',
  },
  en: {
    title: 'Camera fines — camera monitoring',
    fleet: 'Fleet',
    cameras: 'Cameras',
    code: 'Code',
    name: 'Name',
    state: 'State',
    fps: 'Frames/s',
    received: 'Received',
    processed: 'Processed',
    dropped: 'Dropped',
    restarts: 'Restarts',
    last: 'Last frame',
    loading: 'Loading…',
    up: 'Up',
    down: 'Down',
    starting: 'Connecting',
    totals: (u, n, f) => `${u}/${n} cameras up · ${f} frames/s`,
    switchTo: 'Tiếng Việt',
    error: 'Could not load data',
  },
};
let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'vi';
const t = (k) => STRINGS[lang][k];

function applyLang() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const v = t(el.dataset.i18n);
    if (typeof v === 'string') el.textContent = v;
  }
  document.getElementById('lang').textContent = t('switchTo');
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function refresh() {
  try {
    const res = await fetch('/api/cameras');
    const { items } = await res.json();
    const body = document.getElementById('cams');
    body.replaceChildren(
      ...items.map((c) => {
        const tr = document.createElement('tr');
        tr.append(
          cell(c.code),
          cell(c.name),
          cell(t(c.state), c.state),
          cell(c.fpsReceived.toFixed(1)),
          cell(String(c.framesReceived)),
          cell(String(c.framesProcessed)),
          cell(String(c.framesDropped)),
          cell(String(c.restarts)),
          cell(c.lastFrameAt ? new Date(c.lastFrameAt).toLocaleTimeString(lang) : '—'),
        );
        return tr;
      }),
    );
    const up = items.filter((c) => c.state === 'up').length;
    const fps = items.reduce((s, c) => s + c.fpsReceived, 0).toFixed(1);
    document.getElementById('totals').textContent = t('totals')(up, items.length, fps);
  } catch {
    document.getElementById('totals').textContent = t('error');
  }
}

document.getElementById('lang').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('lang', lang);
  applyLang();
  void refresh();
});
applyLang();
void refresh();
setInterval(refresh, 2000);
