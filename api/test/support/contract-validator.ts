import { OpenAPIBackend } from 'openapi-backend';
import addFormats from 'ajv-formats';
import { readSpec } from '../../src/http/contract.ts';

/**
 * Checks every response the tests receive against openapi.yaml: the status must be one the
 * operation documents, a JSON body must match its schema, and X-Request-Id must be there.
 * A mismatch throws, so the test that made the call fails.
 */
export class ContractValidator {
  private constructor(private readonly api: OpenAPIBackend) {}

  static async create(): Promise<ContractValidator> {
    const api = new OpenAPIBackend({
      definition: readSpec().document,
      strict: true,
      quick: false,
      customizeAjv: (ajv) => {
        addFormats.default(ajv);
        return ajv;
      },
    });
    await api.init();
    return new ContractValidator(api);
  }

  /** Answers the problems found (empty when the response honours the contract). */
  problems(method: string, url: URL, status: number, headers: Headers, body: unknown): string[] {
    return this.problemsAt(method, url.pathname, status, headers, body);
  }

  /** The operation a request for this method and path (as sent) reaches, if any. */
  operationAt(method: string, path: string): string | undefined {
    return this.api.matchOperation({ method: method.toLowerCase(), path, headers: {}, query: {} })
      ?.operationId;
  }

  /**
   * The same, for a path exactly as it was sent (a `URL` would resolve `..` and re-encode, so it
   * could name another operation than the server saw).
   */
  problemsAt(method: string, path: string, status: number, headers: Headers, body: unknown): string[] {
    const found: string[] = [];
    if (!headers.get('x-request-id')) found.push('no X-Request-Id header');
    const operation = this.api.matchOperation({ method: method.toLowerCase(), path, headers: {}, query: {} });
    const isErrorBody = (b: unknown) =>
      typeof b === 'object' && b !== null && typeof (b as { message?: unknown }).message === 'string';
    if (!operation) {
      // Unknown routes and methods: only the generic error body applies.
      if (![404, 405].includes(status) || !isErrorBody(body)) {
        found.push(`${method} ${path} matches no operation and answered ${status}`);
      }
      return found;
    }
    const documented = Object.keys(operation.responses ?? {});
    if (!documented.includes(String(status)) && !documented.includes('default')) {
      found.push(
        `${operation.operationId} answered ${status}, which it does not document (${documented.join(', ')})`,
      );
      return found;
    }
    const type = headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) {
      const result = this.api.validateResponse(body, operation, status);
      for (const e of result.errors ?? []) {
        found.push(`${operation.operationId} ${status} body${e.instancePath} ${e.message}`);
      }
    }
    return found;
  }
}
