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
    inference: 'Suy luận (ms)',
    violations: 'Vi phạm',
    plates: 'Đọc được biển số',
    lag: 'Độ trễ (ms)',
    perHour: 'Vi phạm/giờ',
    queue: (q) => ` · hàng đợi ghi: ${q.waiting} chờ, ${q.active} đang ghi, ${q.failed} lỗi`,
    detector: 'Bộ nhận dạng',
    fallback: (asked) => `dự phòng: yêu cầu ${asked}`,
    batch: (n) => `lô ≤ ${n}`,
    totals: (u, n, f) => `${u}/${n} camera hoạt động · ${f} khung/giây`,
    alert: (codes) => `Cảnh báo: mất tín hiệu hơn 30 giây — ${codes}`,
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
    inference: 'Inference (ms)',
    violations: 'Violations',
    plates: 'Plates read',
    lag: 'Lag (ms)',
    perHour: 'Violations/h',
    queue: (q) => ` · record queue: ${q.waiting} waiting, ${q.active} active, ${q.failed} failed`,
    detector: 'Detector',
    fallback: (asked) => `fallback: ${asked} asked`,
    batch: (n) => `batch ≤ ${n}`,
    totals: (u, n, f) => `${u}/${n} cameras up · ${f} frames/s`,
    alert: (codes) => `Alert: down for more than 30 s — ${codes}`,
    switchTo: 'Tiếng Việt',
    error: 'Could not load data',
  },
};
let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'vi';
const t = (k) => STRINGS[lang][k];
let last = [];

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

/** "cuda · batch ≤ 8", with the provider asked for when the worker fell back to another. */
function detectorText(d) {
  if (!d) return '—';
  const parts = [d.provider.toUpperCase()];
  if (d.maxBatch > 1) parts.push(t('batch')(d.maxBatch));
  if (d.requestedProvider !== d.provider) parts.push(t('fallback')(d.requestedProvider.toUpperCase()));
  return parts.join(' · ');
}

/** "3/4 (75 %)": flagged vehicles whose plate the reader agreed on, of those it tried. */
function plateText(c) {
  if (c.plateAttempts === null || c.plateAttempts === undefined) return '—';
  if (c.plateAttempts === 0) return '0/0';
  return `${c.platesRead}/${c.plateAttempts} (${Math.round((100 * c.platesRead) / c.plateAttempts)} %)`;
}

let lastQueue = null;
function render(items, queue = lastQueue) {
  last = items;
  lastQueue = queue;
  const body = document.getElementById('cams');
  body.replaceChildren(
    ...items.map((c) => {
      const tr = document.createElement('tr');
      if (c.alert) tr.className = 'alert';
      tr.append(
        cell(c.code),
        cell(c.name),
        cell(t(c.state), c.state),
        cell(c.fpsReceived.toFixed(1)),
        cell(String(c.framesReceived)),
        cell(String(c.framesProcessed)),
        cell(String(c.framesDropped)),
        cell(String(c.restarts)),
        cell(c.inferenceMs === null ? '—' : c.inferenceMs.toFixed(0)),
        cell(c.lagMs === null || c.lagMs === undefined ? '—' : String(c.lagMs)),
        cell(String(c.violationsFlagged)),
        cell(String(c.violationsLastHour ?? 0)),
        cell(plateText(c)),
        cell(
          detectorText(c.detector),
          c.detector && c.detector.requestedProvider !== c.detector.provider ? 'fallback' : undefined,
        ),
        cell(c.lastFrameAt ? new Date(c.lastFrameAt).toLocaleTimeString(lang) : '—'),
      );
      return tr;
    }),
  );
  const up = items.filter((c) => c.state === 'up').length;
  const fps = items.reduce((s, c) => s + c.fpsReceived, 0).toFixed(1);
  document.getElementById('totals').textContent =
    t('totals')(up, items.length, fps) + (queue ? t('queue')(queue) : '');
  const alerting = items.filter((c) => c.alert).map((c) => c.code);
  const alerts = document.getElementById('alerts');
  alerts.hidden = alerting.length === 0;
  alerts.textContent = alerting.length ? t('alert')(alerting.join(', ')) : '';
}

async function refresh() {
  try {
    const res = await fetch('/api/cameras');
    const body = await res.json();
    render(body.items, body.queue);
  } catch {
    document.getElementById('totals').textContent = t('error');
  }
}

// Live updates by server-sent events; polling only while the stream is down.
let poll;
function connect() {
  const events = new EventSource('/api/cameras/events');
  events.addEventListener('cameras', (e) => {
    clearInterval(poll);
    poll = undefined;
    const body = JSON.parse(e.data);
    render(body.items, body.queue);
  });
  events.onerror = () => {
    poll ??= setInterval(refresh, 2000);
  };
}

document.getElementById('lang').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('lang', lang);
  applyLang();
  render(last);
});
applyLang();
void refresh();
connect();
