/** The machine, and the processes the benchmark runs: memory and CPU from /proc. */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export const machine = () => {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
};

const statOf = (pid: number) => {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
};

/** The Java child (DynamoDB Local) of this process, if any. */
export const javaChild = (): number | undefined => {
  try {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      try {
        if (statOf(pid).ppid !== process.pid) continue;
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'java') return pid;
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
};

/** CPU seconds a process has used (user + system). */
export const cpuSecondsOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  try {
    const { utime, stime } = statOf(pid);
    return (utime + stime) / 100;
  } catch {
    return Number.NaN;
  }
};

export const rssMiBOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  try {
    const kb = /VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

/** Samples this process's and the Java child's memory until stopped; returns the peaks. */
export const sampleMemory = (javaPid: number | undefined, everyMs = 250) => {
  const peak = { nodeRssMiB: 0, nodeHeapMiB: 0, javaRssMiB: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.nodeRssMiB = Math.max(peak.nodeRssMiB, usage.rss / 2 ** 20);
    peak.nodeHeapMiB = Math.max(peak.nodeHeapMiB, usage.heapUsed / 2 ** 20);
    const java = rssMiBOf(javaPid);
    if (Number.isFinite(java)) peak.javaRssMiB = Math.max(peak.javaRssMiB, java);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
};
