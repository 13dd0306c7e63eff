/** The human summary printed at the end of a run: a table and a per-camera bar chart. Pure. */
import type { Fleet388Report } from './fleet388.js';
import type { PipelineReport } from './pipeline-run.js';
import { barChart, table } from './stats.js';

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const ms = (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);

export function pipelineSummary(r: PipelineReport): string {
  const c = r.config;
  const ceiling = r.decode_ceiling;
  const rows: [string, string][] = [
    [
      'machine',
      `${r.machine.nproc} CPUs, ${r.machine.cpu_model}; load ${r.machine.load_average_start.join(' ')} → ${r.machine.load_average_end.join(' ')}; whole machine busy ${r.machine.busy_cores.toFixed(2)} CPUs`,
    ],
    [
      'cameras',
      `${c.cameras} × ${c.resolution} at ${c.source_fps} fps (keyframe every ${c.keyframe_interval_s} s), decode ${c.decode}`,
    ],
    [
      'analysed',
      `${c.analysed_fps} fps per camera at ${c.analysed_width} px wide, ${c.duration_s} s measured`,
    ],
    [
      'frames',
      `received ${r.frames.received}, processed ${r.frames.processed} of ${r.frames.expected} expected (${pct(r.capacity.processed_share)}), dropped ${r.frames.dropped}, detector refusals ${r.frames.detect_errors}, restarts ${r.frames.restarts}`,
    ],
    [
      'sustained',
      r.sustained
        ? 'yes (≥ 95 % of the configured sampling analysed)'
        : 'NO: frames were lost beyond the configured sampling',
    ],
    [
      'CPU (system)',
      `${r.cpu.system_s.toFixed(1)} s = ${r.capacity.cores_used.toFixed(3)} cores; simulated cameras ${r.cpu.simulator_s.toFixed(1)} s (excluded)`,
    ],
    ['  decode', `${r.cpu.decode_s.toFixed(1)} s (${pct(r.cpu.shares.decode)})`],
    [
      '  inference',
      `${r.cpu.inference_s.toFixed(1)} s (${pct(r.cpu.shares.inference)}) CPU of the ${r.cpu.inference_source}; detector timings (wall) ${r.cpu.inference_timings_s.toFixed(1)} s`,
    ],
    ['  rest', `${r.cpu.rest_s.toFixed(1)} s (${pct(r.cpu.shares.rest)})`],
    ['cameras per core', `${r.cameras_per_core.toFixed(2)}`],
    [
      'decode-only ceiling',
      ceiling
        ? `${ceiling.cameras_per_core.toFixed(2)} cameras per core (${ceiling.cpu_s.toFixed(1)} CPU s over ${ceiling.duration_s} s, ${ceiling.frames}/${ceiling.frames_expected} frames)`
        : 'skipped',
    ],
    ['ratio to ceiling', r.ratio_to_decode_ceiling === null ? '—' : r.ratio_to_decode_ceiling.toFixed(3)],
    [
      'violations',
      `flagged ${r.violations.flagged}, rows ${r.violations.recorded}, measured ${r.violations.measured}`,
    ],
    [
      'frame → row',
      `p50 ${ms(r.violations.latency_ms.p50_ms)}, p95 ${ms(r.violations.latency_ms.p95_ms)}, max ${ms(r.violations.latency_ms.max_ms)} (includes the ~1 s wait for the "after" still)`,
    ],
  ];
  const chart = barChart(
    r.frames.per_camera.map((p) => ({
      label: p.code,
      value: p.processed_fps,
      note: `received ${p.received}, processed ${p.processed}, dropped ${p.dropped}`,
    })),
    { scaleMax: c.analysed_fps, unit: 'fps', width: 30 },
  );
  return `${table(rows)}\n\nanalysed frames per second per camera (full bar = ${c.analysed_fps} fps)\n${chart}\n`;
}

export function fleetSummary(r: Fleet388Report): string {
  const rows: [string, string][] = [
    [
      'machine',
      `${r.machine.nproc} CPUs, ${r.machine.cpu_model}; load ${r.machine.load_average_start.join(' ')} → ${r.machine.load_average_end.join(' ')}; whole machine busy ${r.machine.busy_cores.toFixed(2)} CPUs`,
    ],
    [
      'cameras',
      `${r.config.cameras} × ${r.config.resolution} at ${r.config.source_fps} fps, decode ${r.config.decode}, analysed ${r.config.fps} fps at ${r.config.analysed_width} px`,
    ],
    [
      'ingest processes',
      `${r.config.ingest_processes} (apps/ingest.ts), INGEST_CAPACITY ${r.config.capacity}, INGEST_LEASE_MS ${r.config.lease_ms}`,
    ],
    ['all cameras up after', r.time_to_all_up_s === null ? 'never' : `${r.time_to_all_up_s.toFixed(1)} s`],
    ['cameras up (window)', `min ${r.cameras_up.min}, at end ${r.cameras_up.end} of ${r.config.cameras}`],
    [
      'assignment',
      Object.entries(r.assignment)
        .map(([w, n]) => `${w}: ${n}`)
        .join(', '),
    ],
    [
      'frames per camera',
      `received min ${r.frames_per_camera.received.min}, median ${r.frames_per_camera.received.median}, max ${r.frames_per_camera.received.max} in ${r.window_s.toFixed(0)} s; processed median ${r.frames_per_camera.processed.median}`,
    ],
    [
      'CPU',
      `${r.cpu.system_s.toFixed(1)} s = ${(r.cpu.system_s / r.window_s).toFixed(2)} cores (ingest processes + their ffmpeg), simulated cameras ${r.cpu.simulator_s.toFixed(1)} s`,
    ],
    [
      'memory (PSS)',
      `ingest processes ${r.memory_mib.ingest_processes} MiB, ffmpeg ${r.memory_mib.ffmpeg} MiB (${r.memory_mib.ffmpeg_per_camera} MiB per camera)`,
    ],
    ['restarts', String(r.restarts)],
    [
      'run twice',
      `${r.cameras_in_two_processes.max} cameras seen with an ffmpeg in two ingest processes at once (most at any check; ${r.cameras_in_two_processes.end_of_window} at the end of the window)`,
    ],
    [
      'failover',
      r.failover
        ? r.failover.all_up_s === null
          ? `not complete within ${r.failover.timeout_s} s (${r.failover.cameras_up_at_timeout} up)`
          : `${r.failover.all_up_s.toFixed(1)} s from SIGKILL of one ingest process to all ${r.config.cameras} cameras up on the survivor`
        : 'skipped',
    ],
    [
      'shutdown',
      Object.entries(r.shutdown_s)
        .map(([w, v]) => `${w}: ${v.seconds} s (${v.signal ?? `exit ${String(v.code)}`})`)
        .join(', ') || '—',
    ],
  ];
  const chart = barChart(
    r.frames_per_camera.histogram.map((b) => ({ label: b.label, value: b.cameras })),
    { unit: 'cameras', width: 30, decimals: 0 },
  );
  return `${table(rows)}\n\ncameras by frames received per second in the window\n${chart}\n`;
}
