import type { Server } from 'node:http'
import { Socket } from 'node:net'

const uncorkNow = Socket.prototype.uncork

/** Sockets with a response waiting for the end of this event-loop turn, and whether one is due. */
const waiting = new Set<Socket>()
let flushScheduled = false

/**
 * Sends each connection's finished responses once per event-loop turn, after every request that
 * arrived in that turn has been answered, instead of one `writev` per response as it ends.
 *
 * Node already corks a connection while a response is written and uncorks it in `res.end()`,
 * which flushes at once. Here that last uncork waits for `setImmediate`, which runs right after
 * the turn's I/O callbacks. Nothing is reordered or held across turns: a connection's bytes go
 * out in the order written, a lone request is flushed as soon as its turn ends, and a stream
 * that waits for `drain` gets it once the flush has written its buffer.
 *
 * Why: under concurrent load every response used to wake the client's process separately (in
 * a VM an inter-processor interrupt each). `perf` put that wake-up at about 11 µs of the server's
 * time per warm value read. Flushed together, one wake-up serves a whole turn's responses. On
 * two cores, in alternating autocannon runs at 32 connections, warm value reads went from 8,750
 * to 14,703 req/s, the server's CPU per read from 117 to 68 µs and the client's context switches
 * per response from 0.91 to 0.06; `npm run bench` put them at 0.39x the hello-world ceiling
 * instead of 0.25x. One request at a time reads as fast as before.
 *
 * A response's bytes (a revealed value among them) wait in the socket's buffer for the rest of
 * the turn, as they would in the kernel's; nothing outlives the write.
 */
export function coalesceWrites(server: Server): void {
  server.on('connection', (socket: Socket) => {
    socket.uncork = uncorkAtEndOfTurn
  })
}

function uncorkAtEndOfTurn(this: Socket): void {
  // Only the outermost uncork is deferred; an inner one only unwinds a nested cork.
  if (this.writableCorked !== 1) {
    uncorkNow.call(this)
    return
  }
  waiting.add(this)
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flushWaiting)
  }
}

function flushWaiting(): void {
  flushScheduled = false
  const sockets = [...waiting]
  waiting.clear()
  // A socket destroyed meanwhile only has its cork count unwound: it writes nothing.
  for (const socket of sockets) while (socket.writableCorked > 0) uncorkNow.call(socket)
}
