import { z } from 'zod';

/**
 * A PostgreSQL name pgduplex is willing to pass on: plain lower case, never needing quotes, so it can
 * neither smuggle SQL nor differ between how it is written and how it is stored.
 */
export const plainIdentifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a plain lower-case identifier' });

/** Words that pg_hba.conf reads as keywords in the database or user column, never as a name. */
const HBA_KEYWORDS = new Set(['all', 'sameuser', 'samerole', 'samegroup', 'replication']);
/** Role names PostgreSQL reserves or that would name someone else's role. */
const RESERVED_ROLES = new Set(['postgres', 'public', 'none', 'current_user', 'session_user', 'current_role', 'user']);

const plainName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be 1-63 characters of a-z, 0-9 and _, not starting with a digit');

/**
 * A database or schema name the agent will write into pg_hba.conf and SQL as is: lower case, no quotes,
 * spaces, commas, '@', '/', '+' or newlines, and not a pg_hba keyword.
 */
export const pgNameSchema = plainName.refine((s) => !HBA_KEYWORDS.has(s), 'is a pg_hba.conf keyword, not a name');

/** A role name for the replication role: a plain name that is neither reserved nor a pg_ prefix. */
export const pgRoleSchema = pgNameSchema
  .refine((s) => !RESERVED_ROLES.has(s), 'is a reserved or built-in role name')
  .refine((s) => !s.startsWith('pg_'), 'uses the pg_ prefix PostgreSQL reserves');

/** An IP address as text (v4 or v6 characters only), for a param that names a host of the pair. */
export const ipText = z.string().regex(/^[0-9a-fA-F.:]{2,45}$/, { message: 'must be an IP address' });

/** A TCP port. */
export const tcpPort = z.number().int().min(1).max(65535);
