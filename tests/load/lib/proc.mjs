// What the bench reads from Linux's /proc: CPU time per process (utime+stime), the machine's
// total busy time (to tell how much CPU other programs took during a run), resident memory, and
// the pids of the shared MariaDB and Redis. Everything is in clock ticks (USER_HZ, 100 on Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const TICKS_PER_SECOND = 100;

/** utime+stime of one process in ticks; null when it is gone. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Busy ticks of the whole machine (every CPU): total minus idle and iowait. */
export function machineBusyTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = n.slice(0, 8).reduce((s, v) => s + v, 0);
  return total - n[3] - n[4];
}

export function rssMb(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/** The first process whose command name is `name` (e.g. mariadbd, redis-server), or null. */
export function pidOf(name) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return null;
}

/**
 * Measures the CPU every process in `pids` ({ label: pid }) spends while `work` runs, the bench's
 * own, and what the rest of the machine spent (other helpers, the desktop…): the machine's busy
 * time minus all of ours. Peak RSS is sampled every 200 ms.
 */
export async function measure(pids, work) {
  const before = Object.fromEntries(Object.entries(pids).map(([label, pid]) => [label, cpuTicks(pid)]));
  const selfBefore = cpuTicks(process.pid);
  const busyBefore = machineBusyTicks();
  const peakRssMb = Object.fromEntries(Object.keys(pids).map((label) => [label, rssMb(pids[label])]));
  const sampler = setInterval(() => {
    for (const [label, pid] of Object.entries(pids)) peakRssMb[label] = Math.max(peakRssMb[label], rssMb(pid));
  }, 200);
  const started = performance.now();
  let result;
  try {
    result = await work();
  } finally {
    clearInterval(sampler);
  }
  const elapsedS = (performance.now() - started) / 1000;
  const cpuMs = {};
  let ours = 0;
  for (const [label, pid] of Object.entries(pids)) {
    const after = cpuTicks(pid);
    const ticks = after === null || before[label] === null ? 0 : after - before[label];
    ours += ticks;
    cpuMs[label] = (ticks * 1000) / TICKS_PER_SECOND;
  }
  const self = cpuTicks(process.pid) - selfBefore;
  const busy = machineBusyTicks() - busyBefore;
  const other = Math.max(0, busy - ours - self);
  return {
    result,
    cpuMs,
    loadGeneratorCpuMs: (self * 1000) / TICKS_PER_SECOND,
    /** Cores' worth of CPU that processes other than ours used during the run. */
    otherCores: Math.round((other / TICKS_PER_SECOND / elapsedS) * 100) / 100,
    elapsedS: Math.round(elapsedS * 100) / 100,
    peakRssMb,
  };
}

function firstLine(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      .trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: firstLine('uname', ['-r']),
    node: process.version,
    mariadb: firstLine('mariadbd', ['--version']),
    redis: firstLine('redis-server', ['--version']),
  };
}
