/**
 * Hostile requests generated from openapi.yaml: for a random operation of the contract, a request
 * that would succeed (real ids, a body built from the operation's schema), then one to three
 * mutations of it (wrong types, missing and extra fields, huge and deep values, broken JSON and
 * encodings, NUL and lone surrogates, injection strings, bad ids and cursors, odd headers, bad
 * Idempotency-Keys, malformed HTTP), written out as raw bytes so nothing repairs them on the way.
 * A seeded PRNG makes every run reproducible from its seed.
 */
import { serialize, percentEncode, type Draft, type Operation, type Schema } from './draft.ts';
import { malform, MUTATIONS } from './mutations.ts';
import type { Random } from './random.ts';
import { METHODS } from './values.ts';
import type { World } from './world.ts';

type Document = {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
};

export interface HostileRequest {
  /** What was done to the request, for the failure report. */
  label: string;
  /** The operation the request was built from (its mutations may have sent it elsewhere). */
  operationId: string;
  method: string;
  /** The path as sent, without the query. */
  path: string;
  bytes: Buffer;
}

export class HostileRequests {
  private readonly operations: Operation[];

  constructor(
    private readonly document: Document,
    private readonly random: Random,
  ) {
    this.operations = [];
    for (const [path, item] of Object.entries(document.paths)) {
      const shared = (item.parameters as Schema[] | undefined) ?? [];
      for (const [method, value] of Object.entries(item)) {
        if (!METHODS.includes(method.toUpperCase())) continue;
        const op = value as Schema;
        const parameters = [...shared, ...((op.parameters as Schema[] | undefined) ?? [])].map(
          (p) => this.resolve(p) as Operation['parameters'][number],
        );
        const requestBody = op.requestBody ? this.resolve(op.requestBody as Schema) : undefined;
        const content = requestBody?.content as Record<string, { schema: Schema }> | undefined;
        this.operations.push({
          operationId: op.operationId as string,
          method: method.toUpperCase(),
          path,
          parameters,
          body: content?.['application/json']?.schema,
        });
      }
    }
  }

  /** Every operation of the contract, by id: the generator aims at each in turn. */
  get operationIds(): string[] {
    return this.operations.map((o) => o.operationId);
  }

  /** The next hostile request, aimed at the `index`-th operation (round robin keeps coverage even). */
  next(index: number, world: World): HostileRequest {
    const op = this.operations[index % this.operations.length]!;
    const random = this.random;
    const draft = this.baseline(op, world, random);
    const count = 1 + random.int(3);
    for (let i = 0; i < count; i++) random.pick(MUTATIONS)(draft, op, world, random);
    if (random.chance(1 / 16)) malform(draft, random);
    const path = '/' + draft.segments.join('/');
    return {
      label: `${op.operationId}: ${draft.labels.join(', ')}`,
      operationId: op.operationId,
      method: draft.method,
      path,
      bytes: serialize(draft, path),
    };
  }

  /** A request to `op` that the server would accept: real ids, valid parameters, a valid body. */
  private baseline(op: Operation, world: World, random: Random): Draft {
    const segments = op.path
      .split('/')
      .slice(1)
      .map((segment) => {
        const name = /^\{(.+)\}$/.exec(segment)?.[1];
        return name ? percentEncode(world.ids[name] ?? 'unknown') : segment;
      });
    const query: Array<[string, string]> = [];
    const headers: Array<[string, string | Buffer]> = [];
    for (const p of op.parameters) {
      if (p.in === 'path' || (!p.required && random.chance(0.5))) continue;
      const value = String(this.sample(p.schema ?? {}, p.name, world));
      if (p.in === 'query' && p.name !== 'user_id') query.push([p.name, percentEncode(value)]);
      if (p.in === 'header') headers.push([p.name, value]);
    }
    const session = random.next();
    if (session < 0.6) headers.push(['Authorization', `session_id ${world.token}`]);
    else if (session < 0.75) headers.push(['Authorization', `session_id ${world.strangerToken}`]);
    let body: Buffer | undefined;
    if (op.body || ['POST', 'PATCH'].includes(op.method)) {
      body = Buffer.from(JSON.stringify(op.body ? this.sample(op.body, '', world) : {}));
      headers.push(['Content-Type', 'application/json']);
    }
    return {
      method: op.method,
      segments,
      query,
      headers,
      body,
      rawFraming: false,
      labels: [],
    };
  }

  /** A valid value for a schema: its example, else one built from its constraints. */
  sample(schemaOrRef: Schema, name: string, world: World): unknown {
    const schema = this.resolve(schemaOrRef);
    if (name === 'user_name' || name === 'sender') return world.userName;
    if (name === 'password' || name === 'old_password') return 'not the password at all';
    if (name === 'new_password') return 'a brand new passphrase';
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (variants) return this.sample(variants[0]!, name, world);
    switch (schema.type) {
      case 'object': {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = new Set((schema.required as string[] | undefined) ?? []);
        return Object.fromEntries(
          Object.entries(properties)
            .filter(([key]) => required.has(key) || key === 'message')
            .map(([key, value]) => [key, this.sample(value, key, world)]),
        );
      }
      case 'array': {
        const min = Math.max(1, (schema.minItems as number | undefined) ?? 1);
        return Array.from({ length: min }, () => this.sample(schema.items as Schema, name, world));
      }
      case 'integer':
      case 'number':
        return schema.minimum ?? 1;
      case 'boolean':
        return true;
      default:
        return 'x'.repeat(Math.max(1, (schema.minLength as number | undefined) ?? 4));
    }
  }

  private resolve(schema: Schema): Schema {
    let current = schema;
    while (typeof current.$ref === 'string') {
      const [, , section, name] = current.$ref.split('/');
      current = this.document.components[section!]![name!] as Schema;
    }
    return current;
  }
}
