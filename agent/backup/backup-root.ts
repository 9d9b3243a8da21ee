import { constants } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { PgduplexError } from '../../shared/errors.js';

const me = (): number => process.getuid?.() ?? 0;
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');
const notADirectory = (root: string, what: string) =>
  new PgduplexError('REFUSED', `${root} is not a directory (${what})`, {
    hint: `backups go only into a real directory: move ${root} aside; the agent creates it (root, 0700)`,
  });

/**
 * Makes the backup directory the agent's alone before a backup is written or read (backups hold whole databases):
 * created 0700 when missing, a looser mode tightened to 0700 on its handle, and refused when it is a symlink, not a
 * directory, or someone else's (who may have put anything in it). Returns what it fixed, for the answer's notes.
 */
export async function ensureBackupRoot(root: string): Promise<string[]> {
  await mkdir(root, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const what = await lstat(root);
  if (!what.isDirectory()) throw notADirectory(root, what.isSymbolicLink() ? 'a symlink' : 'not a directory');
  let dir: FileHandle;
  try {
    // Without following a link: one swapped in since the lstat is refused, not followed.
    dir = await open(root, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
    throw notADirectory(root, 'swapped for a symlink');
  }
  try {
    const st = await dir.stat();
    if (st.uid !== me())
      throw new PgduplexError('REFUSED', `${root} is owned by uid ${st.uid}, not by the agent's user (uid ${me()})`, {
        hint:
          `its owner could have put anything in it: check its contents, then "chown -R root:root ${root}" and ` +
          `"chmod 0700 ${root}", or move it aside`,
      });
    if ((st.mode & 0o077) === 0) return [];
    await dir.chmod(0o700);
    return [`tightened ${root} from mode ${octal(st.mode)} to 0700 (backups are root's alone)`];
  } finally {
    await dir.close();
  }
}
