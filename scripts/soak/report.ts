/** The soak's verdict on one phase, and its figures as printed (scripts/soak.ts). */
import { percentile } from '../../bench/stats';
import { total } from './http-counter';
import { type PhaseResult, seconds } from './phase';

export const report = (result: PhaseResult, say: (line: string) => void): boolean => {
  const lost = result.divergence.missing + result.divergence.differing + result.lostAtServer;
  const ok =
    lost === 0 &&
    result.divergence.extra === 0 &&
    result.duplicates === 0 &&
    result.gaps === 0 &&
    result.failedWrites === 0 &&
    result.crashes === 0 &&
    result.convergeMs !== undefined;
  const ms = (value: number) => (Number.isFinite(value) ? seconds(value) : 'n/a');
  const notOkText =
    Object.entries(result.pollsNotOk)
      .map(([status, count]) => `${status}: ${count}`)
      .join(', ') || 'none';
  const deadLettered = Object.entries(result.deadLetters).filter(([, count]) => count > 0);
  say(`
── ${result.phase} ${ok ? '✓' : '✗'} ─────────────────────────────────────────────
  faults injected           ${result.injected.dependencies} SQS calls failed, ${result.injected.functions} function invocations made to throw${result.events
    .filter((line) => /paused|killed/.test(line))
    .map((line) => `; ${line.replace(/ \(.*\)/, '')}`)
    .join('')}
  writes                    ${result.writes} app writes (${result.objectWrites} object writes, transaction members counted) in ${result.writeSeconds.toFixed(1)} s
  lost                      ${lost}  (missing on a device ${result.divergence.missing}, other data ${result.divergence.differing}, acknowledged but not on the server ${result.lostAtServer})
  back from the dead        ${result.divergence.extra}  (held by a device, not live on the server)
  duplicated                ${result.duplicates}  (an object version seen twice as a new change)
  seq gaps                  ${result.gaps}
  polls not answered 200    ${total(result.pollsNotOk)} of ${result.polls}  (${notOkText})
  write→device              p50 ${ms(percentile(result.latencies, 50))}, p99 ${ms(percentile(result.latencies, 99))}, max ${ms(result.latencies.length ? Math.max(...result.latencies) : Number.NaN)}  (${result.deliveredAsMessages} of ${result.deliveriesExpected} deliveries as messages; the rest by resync)
  p50 along the run         ${result.byTenth.map((value) => (Number.isFinite(value) ? (value / 1000).toFixed(0) : '-')).join(' · ')} s  (each tenth of the writes)
  converged after last write ${result.convergeMs === undefined ? 'NO (deadline passed)' : seconds(result.convergeMs)}
  resyncs                   ${result.resyncs} (${result.resyncNotices} told by the server that messages were lost, the rest a patch that did not apply); versions differing with equal data: ${result.divergence.versionOnly}
  device calls failed       ${result.deviceFailures} (after the SDK's retries; the loop carried on); acks refused 409: ${result.ackConflicts}
  app writes                ${result.writerAmbiguous} without a clear answer, ${result.writerTookWithoutAnswer} made although unanswered (read back, or a transaction's repeat answered as a replay), ${result.unexpectedConflicts} unexpected conflicts, ${result.failedWrites} failed for good
  dead-lettered             ${deadLettered.length === 0 ? 'nothing' : deadLettered.map(([queue, count]) => `${queue}: ${count}`).join(', ')} (since the last start of the runtime)
  runtime crashes           ${result.crashes}; ERROR log lines ${result.errorLines} (${result.logFile})`);
  return ok;
};
