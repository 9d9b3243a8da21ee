import { readFile } from 'node:fs/promises';
import { PgduplexError } from '../../shared/errors.js';

/** The ids a child process needs to run as another OS user. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up in /etc/passwd; Node has no getpwnam and we do not want a native addon for it. */
export async function lookupUser(name: string, passwdPath = '/etc/passwd'): Promise<OsUser> {
  const text = await readFile(passwdPath, 'utf8');
  for (const line of text.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
    }
  }
  throw new PgduplexError('TOOL_MISSING', `OS user "${name}" does not exist on this node`, {
    hint: 'is PostgreSQL installed from Debian or PGDG packages?',
  });
}
