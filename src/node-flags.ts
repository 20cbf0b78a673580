/**
 * The Node flags the server runs with: `npm start`, the Dockerfile, docker-compose.yml,
 * `keystash dev` and the bench all start it with these (test/unit/node-flags.test.ts checks
 * that they agree).
 *
 * A larger young generation. Every request allocates short-lived objects (its request and
 * response, headers, cipher buffers); with the default semi-space (16 MiB on 64-bit machines)
 * the scavenger runs every few thousand value reads. Twice that space halves the scavenges:
 * about 8 % more warm value reads per second and 11 % less CPU per read, measured against the
 * default in alternating autocannon runs, for at most 32 MiB more memory. 64 MiB measured no
 * better; a hello-world server gains nothing.
 */
export const SERVER_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=32'])
