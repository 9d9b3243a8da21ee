import { randomUUID } from 'node:crypto';
import type { Dispatch } from '../../shared/channel/rpc.js';
import { toPgduplexError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { PostRoute } from './server.js';

/**
 * The local socket's `/v1/rpc`: `{action, params}` in, `{ok, result}` or `{ok: false, error}` out;
 * whatever the body holds, the caller gets a typed answer, never a 500.
 */
export function rpcRoute(dispatch: Dispatch, log: Logger): PostRoute {
  return async (body, emit) => {
    const { action, params } = (typeof body === 'object' && body !== null ? body : {}) as {
      action?: unknown;
      params?: unknown;
    };
    const name = typeof action === 'string' ? action : '';
    const requestLog = log.child({ action: name.slice(0, 64), requestId: randomUUID().slice(0, 8) });
    try {
      const result = await dispatch(name, params ?? {}, {
        origin: 'local',
        log: requestLog,
        progress: (message, done, total) =>
          emit({ message, ...(done === undefined ? {} : { done }), ...(total === undefined ? {} : { total }) }),
      });
      return { status: 200, body: { ok: true, result } };
    } catch (err) {
      const e = toPgduplexError(err);
      if (e.code === 'INTERNAL') requestLog.error({ err: e.message }, 'action failed');
      else requestLog.info({ code: e.code }, e.message);
      return { status: 200, body: { ok: false, error: e.toJSON() } };
    }
  };
}
