/**
 * CPU accounting from /proc: the CPU time of a process tree (this process, its threads and every
 * descendant, alive or already reaped) between two samples, split into categories (decode, the simulated
 * cameras, the rest), plus per-thread times of this process and the whole machine's busy time.
 *
 * Why it adds up: a process's `utime + stime` is its own time; `cutime + cstime` is the time of children
 * it has waited for. Summing `utime + stime + cutime + cstime` over the root and every live descendant
 * counts every process of the tree once, whether it still runs or has been reaped by one of them. A
 * process that ends between two samples leaves the live set (its start value is subtracted in its
 * category) and its final time appears in its parent's `cutime/cstime` (added to the category the
 * parent's reaped time is attributed to).
 *
 * The parsing functions are pure (text in, numbers out); `readProcessTree`, `readThreads` and
 * `readSystemCpu` do the reading.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** One line of /proc/<pid>/stat, times in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Ticks after boot when the process started: with pid, identifies a process across samples. */
  starttime: number;
}

/**
 * Parses /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat). The command name sits in parentheses and may
 * itself contain spaces and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // After ')': field 3 (state) is rest[0]; field n is rest[n - 3].
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => {
    const v = Number(rest[n - 3]);
    if (!Number.isFinite(v))
      throw new Error(`/proc stat field ${n} is not a number in: ${text.slice(0, 80)}`);
    return v;
  };
  if (!Number.isInteger(pid) || rest.length < 20)
    throw new Error(`short /proc stat line: ${text.slice(0, 80)}`);
  return {
    pid,
    comm,
    state: rest[0]!,
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    starttime: field(22),
  };
}

/** Own plus reaped children's ticks. */
export function totalTicks(p: ProcStat): number {
  return p.utime + p.stime + p.cutime + p.cstime;
}

/** The processes of the tree rooted at `rootPid` (the root included), from a list of every process. */
export function processTree(rootPid: number, all: readonly ProcStat[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const p of all) {
    if (p.pid === rootPid) root = p;
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  if (!root) return [];
  const out: ProcStat[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p.pid) ?? []) if (c.pid !== p.pid) stack.push(c);
  }
  return out;
}

export interface TreeSample {
  /** performance.now() when taken. */
  atMs: number;
  rootPid: number;
  processes: ProcStat[];
}

/** How a process is counted: its category, and the category its reaped children's time goes to. */
export type Classifier = (p: ProcStat, rootPid: number) => { own: string; reaped: string };

/**
 * CPU seconds per category between two samples of the same tree. Processes are matched by pid and start
 * time; one present only at the end started in between (counted from zero), one present only at the start
 * ended in between (its time until then is subtracted; its whole time is in its parent's reaped time).
 */
export function cpuBetween(
  start: TreeSample,
  end: TreeSample,
  classify: Classifier,
  ticksPerSecond: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (category: string, ticks: number) => {
    out[category] = (out[category] ?? 0) + ticks / ticksPerSecond;
  };
  const addSample = (sample: TreeSample, sign: 1 | -1) => {
    for (const p of sample.processes) {
      const c = classify(p, sample.rootPid);
      add(c.own, sign * (p.utime + p.stime));
      add(c.reaped, sign * (p.cutime + p.cstime));
    }
  };
  addSample(end, 1);
  addSample(start, -1);
  return out;
}

/** The sum of every category. */
export function sumSeconds(byCategory: Record<string, number>): number {
  return Object.values(byCategory).reduce((a, b) => a + b, 0);
}

/** Ticks per second of /proc times (getconf CLK_TCK; 100 on every Linux we run on). */
export function clockTicksPerSecond(): number {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(v) && v > 0 ? v : 100;
  } catch {
    return 100; // no getconf: the kernel's USER_HZ is 100 on x86 and arm64
  }
}

function readStat(file: string): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined; // the process ended while we listed it
  }
}

/** Samples the tree rooted at `rootPid` (default: this process). */
export function readProcessTree(rootPid = process.pid): TreeSample {
  const all: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(`/proc/${name}/stat`);
    if (p) all.push(p);
  }
  return { atMs: performance.now(), rootPid, processes: processTree(rootPid, all) };
}

/** Thread id → utime + stime ticks, for the threads of `pid` (default: this process). */
export function readThreads(pid = process.pid): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // the process is gone
  }
  for (const tid of tids) {
    const t = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (t) out.set(t.pid, t.utime + t.stime);
  }
  return out;
}

/** The aggregate `cpu` line of /proc/stat: busy and total ticks since boot, over all CPUs. */
export function parseSystemStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
  const v = line.trim().split(/\s+/).slice(1).map(Number).slice(0, 8);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export function readSystemCpu(): { busy: number; total: number } {
  return parseSystemStat(fs.readFileSync('/proc/stat', 'utf8'));
}

/** Machine-wide busy CPUs between two /proc/stat readings taken `seconds` apart (busy ticks / tick rate). */
export function busyCores(
  a: { busy: number; total: number },
  b: { busy: number; total: number },
  seconds: number,
  ticksPerSecond: number,
): number {
  return seconds > 0 ? (b.busy - a.busy) / ticksPerSecond / seconds : 0;
}

/** /proc/loadavg's three load averages. */
export function readLoadAverage(): [number, number, number] {
  try {
    const [a, b, c] = fs.readFileSync('/proc/loadavg', 'utf8').split(/\s+/).map(Number);
    return [a ?? 0, b ?? 0, c ?? 0];
  } catch {
    return [0, 0, 0]; // not Linux: no load figures
  }
}
