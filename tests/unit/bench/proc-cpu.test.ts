import { describe, expect, it } from 'vitest';
import {
  busyCores,
  cpuBetween,
  parseProcStat,
  parseSystemStat,
  processTree,
  sumSeconds,
  type Classifier,
  type ProcStat,
  type TreeSample,
} from '../../../tools/bench-fleet/proc-cpu.js';

/** A /proc/<pid>/stat line as the kernel writes it (fields 1..52), with the given times in ticks. */
function statLine(p: {
  pid: number;
  comm: string;
  ppid: number;
  utime: number;
  stime: number;
  cutime?: number;
  cstime?: number;
  starttime?: number;
}): string {
  const f = [
    'S',
    String(p.ppid),
    '11589',
    '23270',
    '0',
    '-1',
    '4194304',
    '102',
    '0',
    '0',
    '0',
    String(p.utime),
    String(p.stime),
    String(p.cutime ?? 0),
    String(p.cstime ?? 0),
    '20',
    '0',
    '1',
    '0',
    String(p.starttime ?? 1000),
    '3133440',
    '389',
    '18446744073709551615',
    ...Array.from({ length: 30 }, () => '0'),
  ];
  return `${p.pid} (${p.comm}) ${f.join(' ')}\n`;
}

function proc(pid: number, ppid: number, comm: string, own: number, reaped = 0, starttime = 1000): ProcStat {
  return { pid, ppid, comm, state: 'S', utime: own, stime: 0, cutime: reaped, cstime: 0, starttime };
}

describe('parseProcStat', () => {
  it('reads times in ticks from a real line', () => {
    const real =
      '11591 (cat) R 11589 11589 23270 0 -1 4194304 102 0 0 0 7 3 5 2 20 0 1 0 484224 3133440 389 18446744073709551615 94393092222976 94393092242857 140723420164448 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94393092258864 94393092260480 94394003578880 140723420170980 140723420171000 140723420171000 140723420172267 0';
    expect(parseProcStat(real)).toEqual({
      pid: 11591,
      comm: 'cat',
      state: 'R',
      ppid: 11589,
      utime: 7,
      stime: 3,
      cutime: 5,
      cstime: 2,
      starttime: 484224,
    });
  });

  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const p = parseProcStat(statLine({ pid: 42, comm: 'evil ) (name) 9 9', ppid: 7, utime: 11, stime: 4 }));
    expect(p).toMatchObject({ pid: 42, comm: 'evil ) (name) 9 9', ppid: 7, utime: 11, stime: 4 });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('hello')).toThrow(/not a \/proc stat line/);
    expect(() => parseProcStat('12 (x) S 1 2 3')).toThrow(/short/);
  });
});

describe('processTree', () => {
  it('finds the root and all its descendants, not its parent nor strangers', () => {
    const all = [
      proc(1, 0, 'init', 0),
      proc(10, 1, 'node', 0),
      proc(11, 10, 'ffmpeg', 0),
      proc(12, 10, 'python3', 0),
      proc(13, 12, 'helper', 0),
      proc(20, 1, 'someone-else', 0),
    ];
    expect(
      processTree(10, all)
        .map((p) => p.pid)
        .sort(),
    ).toEqual([10, 11, 12, 13]);
    expect(processTree(99, all)).toEqual([]);
  });
});

describe('cpuBetween', () => {
  const classify: Classifier = (p, root) => {
    if (p.pid === root) return { own: 'main', reaped: 'decode' };
    if (p.comm === 'ffmpeg') return { own: 'decode', reaped: 'decode' };
    return { own: 'other', reaped: 'other' };
  };
  const sample = (atMs: number, processes: ProcStat[]): TreeSample => ({ atMs, rootPid: 10, processes });

  it('adds the CPU of live processes, of processes started in between, and of those reaped meanwhile', () => {
    const start = sample(0, [
      proc(10, 1, 'node', 100, 0),
      proc(11, 10, 'ffmpeg', 50), // ends in between: reaped by node with 80 ticks in all
      proc(12, 10, 'ffmpeg', 20), // runs throughout
      proc(13, 10, 'python3', 5),
    ]);
    const end = sample(10_000, [
      proc(10, 1, 'node', 300, 80),
      proc(12, 10, 'ffmpeg', 70),
      proc(14, 10, 'ffmpeg', 40, 0, 2000), // started in between
      proc(13, 10, 'python3', 9),
    ]);
    const cpu = cpuBetween(start, end, classify, 100);
    expect(cpu['main']).toBeCloseTo(2.0); // 300 - 100 ticks
    // ffmpeg 11: 80 - 50 = 30 ticks, ffmpeg 12: 50, ffmpeg 14: 40 → 120 ticks
    expect(cpu['decode']).toBeCloseTo(1.2);
    expect(cpu['other']).toBeCloseTo(0.04);
    expect(sumSeconds(cpu)).toBeCloseTo(3.24);
  });

  it('counts time a child reaped from its own children', () => {
    const start = sample(0, [proc(10, 1, 'node', 0), proc(12, 10, 'sh', 1, 0), proc(15, 12, 'ffmpeg', 10)]);
    const end = sample(1000, [proc(10, 1, 'node', 0), proc(12, 10, 'sh', 1, 25)]);
    const cpu = cpuBetween(start, end, classify, 100);
    expect(sumSeconds(cpu)).toBeCloseTo(0.15); // ffmpeg ran 15 more ticks before sh reaped it
  });
});

describe('system CPU', () => {
  it('reads busy and total ticks from /proc/stat and turns them into busy CPUs', () => {
    const a = parseSystemStat('cpu  632761 0 68875 257057 2517 0 1032 776 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n');
    expect(a).toEqual({
      busy: 632761 + 68875 + 1032 + 776,
      total: 632761 + 68875 + 257057 + 2517 + 1032 + 776,
    });
    const b = { busy: a.busy + 1500, total: a.total + 2000 };
    expect(busyCores(a, b, 10, 100)).toBeCloseTo(1.5);
    expect(() => parseSystemStat('intr 1 2 3')).toThrow(/cpu line/);
  });
});
