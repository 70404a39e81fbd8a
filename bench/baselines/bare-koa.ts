/**
 * The HTTP ceiling: a Koa app that answers every request with a constant JSON body, no middleware.
 * The bench bundles it to plain JS as the API is bundled and runs it as its own process (PORT set)
 * on the same Node, so that "history at 0.3 of bare Koa" compares like with like.
 */
import Koa from 'koa';

const body = JSON.stringify({ ok: true });
const app = new Koa();
app.use((ctx) => {
  ctx.type = 'application/json';
  ctx.body = body;
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    // autocannon may leave keep-alive sockets open: do not wait for them.
    server.closeAllConnections();
  });
}
