import { PgduplexError } from '../../shared/errors.js';
import { healthReportSchema } from '../../shared/health.js';
import { getFromAgent } from '../agent-client.js';
import { palette } from '../render/format.js';
import { renderHealth } from '../render/health.js';
import { jsonText, safeDeep } from '../render/safe-text.js';

/** `pgduplex health`: the local agent's view of its node; exit 0 only when PostgreSQL is ready. */
export async function healthCommand(opts: { socket: string; json: boolean }): Promise<number> {
  const res = await getFromAgent(opts.socket, '/health');
  const parsed = healthReportSchema.safeParse(res.body);
  if (res.status !== 200 || !parsed.success) {
    throw new PgduplexError(
      'AGENT_BAD_RESPONSE',
      `the agent answered /health with status ${res.status} and an unexpected body`,
      {
        hint: 'are the pgduplex CLI and agent the same version? (pgduplex --version, dpkg -s pgduplex)',
      },
    );
  }
  const report = parsed.data;
  process.stdout.write(
    opts.json ? `${jsonText(report, 2)}\n` : `${renderHealth(safeDeep(report), palette(process.stdout))}\n`,
  );
  return report.postgresql.ready ? 0 : 1;
}
