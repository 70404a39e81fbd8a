import { randomInt } from 'node:crypto';
import { expect } from 'chai';
import { readSpec } from '../src/http/contract.ts';
import { ContractValidator } from './support/contract-validator.ts';
import { Random } from './support/hostile/random.ts';
import { HostileRequests, type HostileRequest } from './support/hostile/requests.ts';
import { makeWorld, repairWorld } from './support/hostile/world.ts';
import { ANSWER_WITHIN_MS, NoResponse, sendRaw, type RawResponse } from './support/raw-http.ts';
import { TestContext } from './support/test-context.ts';

// What these runs found, each as a test of its own: hostile-input-cases.test.ts.

/** Requests per run: HOSTILE_REQUESTS overrides (an operator's long run: 10000 or more). */
const COUNT = Number(process.env.HOSTILE_REQUESTS ?? 2000);
/** HOSTILE_SEED repeats a run exactly (the seed is printed). */
const SEED = Number(process.env.HOSTILE_SEED ?? randomInt(2 ** 31));
const CONCURRENCY = 4;
/** Requests between two checks that the world (sessions, chat) is still there. */
const BATCH = 50;
/** What the HTTP server answers before any route is known (server-refusals.ts), on any path. */
const SERVER_REFUSALS = new Set([400, 408, 417, 431]);

let repairs = 0;

/** What is wrong with the answer to one hostile request (nothing, for most). */
function problemsOf(validator: ContractValidator, request: HostileRequest, response: RawResponse): string[] {
  const problems: string[] = [];
  if (response.status >= 500) problems.push(`answered ${response.status}`);
  let body: unknown;
  if ((response.headers.get('content-type') ?? '').startsWith('application/json')) {
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      problems.push('a JSON content type over a body that is not JSON');
    }
  }
  const error = body as { message?: unknown; detail?: unknown } | undefined;
  if (response.status >= 400 && (typeof error?.message !== 'string' || typeof error.detail !== 'string')) {
    problems.push(
      `${response.status} without the {message, detail} body: ${response.body.toString('latin1').slice(0, 100)}`,
    );
  }
  const operation = validator.operationAt(request.method, request.path);
  if (operation || !SERVER_REFUSALS.has(response.status)) {
    problems.push(
      ...validator.problemsAt(
        request.method,
        request.path,
        response.status,
        new Headers([...response.headers]),
        body,
      ),
    );
  } else if (!response.headers.get('x-request-id')) {
    problems.push('no X-Request-Id header');
  }
  return problems;
}

/** Runs `work` over `items`, at most `limit` at once. */
async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe('hostile input', function () {
  // A couple of thousand requests take ~20 s on two cores; a long operator run takes what it takes.
  this.timeout(Math.max(120_000, COUNT * 100));
  let t: TestContext;
  let validator: ContractValidator;

  before(async () => {
    t = await TestContext.start();
    validator = await ContractValidator.create();
  });
  after(() => t.stop());

  it('answers requests generated from openapi.yaml for every operation with a declared status, never a 5xx', async () => {
    const generator = new HostileRequests(readSpec().document as never, new Random(SEED));
    const port = Number(new URL(t.baseUrl).port);
    console.log(
      `      hostile input: ${COUNT} requests, seed ${SEED} (HOSTILE_SEED=${SEED} repeats the run)`,
    );
    const histogram = new Map<number | string, number>();
    const failures: string[] = [];
    const aimedAt = new Set<string>();
    const world = await makeWorld(t);
    for (let start = 0; start < COUNT; start += BATCH) {
      repairs += await repairWorld(t, world);
      const requests = Array.from({ length: Math.min(BATCH, COUNT - start) }, (_, i) =>
        generator.next(start + i, world),
      );
      await inPool(requests, CONCURRENCY, async (request) => {
        aimedAt.add(request.operationId);
        let response: RawResponse;
        try {
          response = await sendRaw(port, request.bytes, ANSWER_WITHIN_MS);
        } catch (err) {
          if (!(err instanceof NoResponse)) throw err;
          histogram.set('none', (histogram.get('none') ?? 0) + 1);
          failures.push(`${request.label}: ${err.message}`);
          return;
        }
        histogram.set(response.status, (histogram.get(response.status) ?? 0) + 1);
        for (const problem of problemsOf(validator, request, response)) {
          failures.push(`${request.method} ${request.path.slice(0, 80)} (${request.label}): ${problem}`);
        }
      });
    }
    const statuses = [...histogram].sort(([a], [b]) => String(a).localeCompare(String(b)));
    console.log(`      statuses: ${statuses.map(([status, n]) => `${status}: ${n}`).join(', ')}`);
    console.log(`      ${failures.length} problems, ${repairs} repairs of the world`);

    expect(failures.slice(0, 25), `${failures.length} problems (seed ${SEED})`).to.deep.equal([]);
    expect([...aimedAt].sort()).to.deep.equal([...generator.operationIds].sort());
    // Still alive and still serving real work after all of it.
    expect((await fetch(`${t.baseUrl}/ping`)).status).to.equal(200);
    await repairWorld(t, world);
    // (the run may have deleted the world's message: deleteMessage is one of the operations)
    const owner = t.client(world.token);
    const chat = { params: { path: { chat_id: world.ids.chat_id! } } };
    const posted = await owner.POST('/v1/chats/{chat_id}/messages', {
      ...chat,
      body: { message: 'still here' },
    });
    expect(posted.response.status).to.equal(201);
    const history = await t.history(owner, world.ids.chat_id!, { limit: 1000 });
    expect(history.data?.messages.map((m) => m.message_id)).to.include(posted.data?.message_id);
  });
});
