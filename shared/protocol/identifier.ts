import { z } from 'zod';

/**
 * A PostgreSQL name pgduplex is willing to pass on: plain lower case, never needing quotes, so it can
 * neither smuggle SQL nor differ between how it is written and how it is stored.
 */
export const plainIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a plain lower-case identifier' });
