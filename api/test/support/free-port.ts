import { createServer } from 'node:net';

/**
 * Ports handed out by this test process. Between freePort() closing its probe and the child process
 * binding the port, the OS may offer the same port again: two children started together would then
 * race for one port, and one would exit with EADDRINUSE.
 */
const handedOut = new Set<number>();

/** A port nothing listens on right now (the OS picks it), for a child process to listen on. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await probePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port that this run has not handed out already');
}

function probePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
