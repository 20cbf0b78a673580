import { spawn } from 'node:child_process'
import type { Socket } from 'node:net'

/**
 * A parent killed with SIGKILL runs no `exit` handler, and Node offers no way to ask Linux to
 * kill our children with us (prctl PDEATHSIG). So a tiny shell holds the read end of a pipe
 * that only this process writes to: when we die, the pipe closes, and the shell stops `pid`
 * (TERM, then KILL after 5 s). Call `release()` once the child has exited or been stopped.
 */
export function stopWithParent(pid: number): { release(): void } {
  const watchdog = spawn('/bin/sh', ['-c', SCRIPT, 'parent-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  // Without a shell (Windows) the caller's `exit` handler alone has to do.
  watchdog.on('error', () => {})
  watchdog.unref()
  ;(watchdog.stdin as unknown as Socket | null)?.unref()
  return { release: () => watchdog.kill('SIGKILL') }
}

const SCRIPT = `cat >/dev/null
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while [ $i -lt 50 ]; do kill -0 "$1" 2>/dev/null || exit 0; sleep 0.1; i=$((i+1)); done
kill -KILL "$1" 2>/dev/null`
