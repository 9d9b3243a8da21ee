import { describe, expect, it } from 'vitest';
import { failure, parseUnitShow } from '../../../agent/postgres/settings-service.js';

const exec = (tail: string) =>
  `ExecStart={ path=/usr/bin/pg_ctlcluster ; argv[]=/usr/bin/pg_ctlcluster --skip-systemctl-redirect 17-main start ; ignore_errors=yes ; ${tail} }`;

describe('parseUnitShow', () => {
  it('sees the start that failed while Debian\'s unit still says "activating" (ExecStart=- and no start timeout)', () => {
    const text = [
      'MainPID=0',
      'ControlPID=0',
      'ActiveState=activating',
      'SubState=start',
      'InvocationID=13b216fbb99d4da68673f3b27f9f8828',
      exec(
        'start_time=[Mon 2026-11-23 03:06:41 UTC] ; stop_time=[Mon 2026-11-23 03:06:41 UTC] ; pid=468 ; code=exited ; status=1',
      ),
    ].join('\n');
    expect(parseUnitShow(text)).toEqual({
      active: 'activating',
      sub: 'start',
      invocation: '13b216fbb99d4da68673f3b27f9f8828',
      startFailed: true,
      result: '',
    });
  });

  it('does not call a start failed while pg_ctlcluster still runs or after it succeeded', () => {
    const running = [
      'ControlPID=812',
      'ActiveState=activating',
      'SubState=start',
      'InvocationID=x',
      exec('start_time=[Mon 2026-11-23 03:06:41 UTC] ; stop_time=[n/a] ; pid=812 ; code=(null) ; status=0/0'),
    ].join('\n');
    expect(parseUnitShow(running).startFailed).toBe(false);
    const ok = [
      'ControlPID=0',
      'ActiveState=active',
      'SubState=running',
      'InvocationID=y',
      exec('pid=468 ; code=exited ; status=0'),
    ].join('\n');
    expect(parseUnitShow(ok)).toEqual({
      active: 'active',
      sub: 'running',
      invocation: 'y',
      startFailed: false,
      result: '',
    });
    expect(
      parseUnitShow('ControlPID=0\nActiveState=activating\n' + exec('pid=1 ; code=killed ; status=9')).startFailed,
    ).toBe(true);
  });

  it('reads systemd\'s Result, which tells a spawn failure ("resources") from PostgreSQL refusing to start', () => {
    expect(parseUnitShow('ActiveState=failed\nSubState=failed\nResult=resources').result).toBe('resources');
    expect(parseUnitShow('ActiveState=failed\nResult=exit-code').result).toBe('exit-code');
  });
});

describe('failure', () => {
  it('says why a tool failed in one line, and nothing when it did not', () => {
    expect(
      failure('systemctl', 'restart', { failed: false, timedOut: false, stdout: '', stderr: '' }, 1000),
    ).toBeUndefined();
    expect(failure('systemctl', 'restart', { failed: true, timedOut: true, stdout: '', stderr: '' }, 1000)).toBe(
      'systemctl restart did not finish within 1000 ms',
    );
    expect(
      failure(
        'pg_ctlcluster',
        'start',
        { failed: true, timedOut: false, exitCode: 1, stdout: '', stderr: '\nError: could not start\nmore' },
        1000,
      ),
    ).toBe('pg_ctlcluster start failed: Error: could not start');
  });
});
