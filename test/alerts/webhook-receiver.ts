/**
 * A real HTTP server that receives webhook POSTs and keeps each request's
 * headers and raw body. `respond` picks the status per request (default 200),
 * so tests can make it fail, then succeed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook { headers: http.IncomingHttpHeaders; body: string; status: number }

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(respond: (n: number) => number | 'hang' = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const status = respond(received.length + 1);
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8'), status: status === 'hang' ? 0 : status });
      if (status === 'hang') return; // never answers: the sender's timeout must fire
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/strata`,
    received,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
