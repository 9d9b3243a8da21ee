// The security review's racer, run inside a lab node as the OS user postgres (what any PostgreSQL superuser
// is, e.g. through COPY ... TO PROGRAM). It watches directories postgres can write with inotify (fs.watch)
// and, on every new temp file pgduplex-agent creates there, renames a symlink to a root-owned canary over
// the temp name: a path-based chown/chmod/write by the agent would then land on the canary.
// Each target file is raced until the agent is seen to catch it once (the symlink gone: the agent found
// the swap and removed it); later temp files for it pass, so a re-run gets further and every file the
// agent writes is raced. A race is judged when the next temp file for the same target shows up (the agent
// writes one file at a time, so by then it is done with the last one) or on SIGTERM, never by a timer: a
// slow fsync on a busy machine must not turn a catch into a loss. Counts go to `out` (JSON) after every
// event; SIGTERM judges what is pending and removes the spare links.
import { lstatSync, renameSync, symlinkSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { dirs, canaries, out } = JSON.parse(process.argv[2]);
const TEMP = /^\.(.+)\.[0-9a-f]{8}\.pgduplex-tmp$/;
const stats = { watching: [], seen: 0, raced: 0, caught: {}, lost: 0, passed: 0, errors: [] };
const handled = new Set();
const spares = new Map();
const pending = new Map();
let n = 0;

const save = () => {
  writeFileSync(`${out}.tmp`, JSON.stringify(stats));
  renameSync(`${out}.tmp`, out);
};

/** A symlink made ahead of time, so the race is one rename(2) once the temp file shows up. */
function spare(dir) {
  const link = join(dir, `.pgdx-racer-${process.pid}-${n}`);
  symlinkSync(canaries[n % canaries.length], link);
  n += 1;
  spares.set(dir, link);
}

/** Our symlink still at the temp name: the agent was done with it before the swap (lost); gone: caught. */
function judge(key) {
  const tmp = pending.get(key);
  if (!tmp) return;
  pending.delete(key);
  try {
    if (lstatSync(tmp).isSymbolicLink()) {
      unlinkSync(tmp);
      stats.lost += 1;
      return;
    }
  } catch {
    // Gone: the agent found the swap and took it away.
  }
  stats.caught[key] = (stats.caught[key] ?? 0) + 1;
}

function race(dir, name) {
  const m = TEMP.exec(name ?? '');
  const tmp = m ? join(dir, name) : '';
  if (!m || handled.has(tmp)) return;
  handled.add(tmp);
  stats.seen += 1;
  const key = join(dir, m[1]);
  judge(key);
  if (stats.caught[key]) {
    stats.passed += 1;
    return save();
  }
  const link = spares.get(dir);
  try {
    renameSync(link, tmp);
    stats.raced += 1;
    pending.set(key, tmp);
  } catch (err) {
    stats.errors.push(`${tmp}: ${err.code}`);
  }
  spare(dir);
  save();
}

for (const dir of dirs) {
  try {
    spare(dir);
    watch(dir, (_type, name) => race(dir, name));
    stats.watching.push(dir);
  } catch (err) {
    stats.errors.push(`${dir}: ${err.code}`);
  }
}
save();
process.on('SIGTERM', () => {
  for (const key of [...pending.keys()]) judge(key);
  for (const link of spares.values()) unlinkSync(link);
  save();
  process.exit(0);
});
