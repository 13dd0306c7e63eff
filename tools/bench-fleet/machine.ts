/** What the figures were measured on: CPUs, their model, Node and ffmpeg versions. */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface MachineInfo {
  nproc: number;
  cpu_model: string;
  memory_gib: number;
  node: string;
  ffmpeg: string;
}

/** The `model name` of /proc/cpuinfo (what `lscpu | grep 'Model name'` shows). */
export function parseCpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
}

export async function machineInfo(ffmpegPath = 'ffmpeg'): Promise<MachineInfo> {
  const cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const ffmpeg = await execFileAsync(ffmpegPath, ['-hide_banner', '-version'])
    .then(({ stdout }) => stdout.split('\n')[0]?.trim() ?? 'unknown')
    .catch(() => 'unknown');
  return {
    nproc: os.availableParallelism(),
    cpu_model: parseCpuModel(cpuinfo),
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ffmpeg,
  };
}
