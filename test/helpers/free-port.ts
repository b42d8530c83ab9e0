// A free TCP port for a server a test starts itself (a child process, or one it restarts on the same port).
import { createServer as createTcpServer } from 'node:net';

/**
 * A port nothing listens on now (the server is started on it again after a kill). Taken below the
 * kernel's ephemeral range (32768+), so a listen(0) or an outgoing connection of a parallel test can't
 * take it between this check and the server's listen.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = createTcpServer();
    const free = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (free) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
}
