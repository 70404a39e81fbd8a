/**
 * The contract's routes, compiled once at start-up. openapi-backend's own matching builds a RegExp
 * for every operation on every request (and a request is matched twice, and its path parameters
 * parsed three times with a freshly compiled pattern each): that was 10–35% of the CPU of the
 * cheapest requests. This table answers the same question with the same rules, from patterns built
 * once: an exact path with its method first; else every path template that matches, the most
 * specific (longest literal part) first, and the first of those with the method.
 */
export interface RoutedOperation {
  readonly operationId?: string;
  readonly path: string;
  readonly method: string;
}

interface Route<O> {
  readonly operation: O;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export type RouteMatch<O> =
  | { readonly kind: 'found'; readonly operation: O; readonly params: Record<string, string> }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed' };

export class RouteTable<O extends RoutedOperation> {
  /** path → method → operation, for paths without parameters. */
  private readonly exact = new Map<string, Map<string, O>>();
  /** Every operation (templated or not), most specific first, as openapi-backend orders them. */
  private readonly routes: ReadonlyArray<Route<O>>;
  private readonly byPath = new Map<string, Route<O>>();

  constructor(operations: readonly O[]) {
    for (const operation of operations) {
      const byMethod = this.exact.get(operation.path) ?? new Map<string, O>();
      if (!byMethod.has(operation.method)) byMethod.set(operation.method, operation);
      this.exact.set(operation.path, byMethod);
    }
    const literalLength = (path: string) => path.replace(/\{.*?\}/g, '').length;
    // Array.prototype.sort is stable: equally specific paths keep the contract's order.
    this.routes = operations
      .map((operation) => ({ operation, ...compile(operation.path) }))
      .sort((a, b) => literalLength(b.operation.path) - literalLength(a.operation.path));
    for (const route of this.routes) this.byPath.set(route.operation.path, route);
  }

  /** The path parameters of a path under one path template (none when it does not match it). */
  paramsOf(template: string, rawPath: string): Record<string, string> {
    const route = this.byPath.get(template);
    const m = route?.pattern.exec(normalizePath(rawPath));
    return route && m ? paramsFrom(route, m) : {};
  }

  /**
   * The operation for a method (lower case) and a path (the API root is `/`); trailing slashes are
   * ignored, as openapi-backend ignores them. Path parameters come back percent-decoded.
   */
  match(method: string, rawPath: string): RouteMatch<O> {
    const path = normalizePath(rawPath);
    const exact = this.exact.get(path)?.get(method);
    if (exact) return { kind: 'found', operation: exact, params: {} };
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.operation.method !== method) continue;
      return { kind: 'found', operation: route.operation, params: paramsFrom(route, m) };
    }
    return pathMatched ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
  }
}

function paramsFrom(route: Route<unknown>, m: RegExpExecArray): Record<string, string> {
  const params: Record<string, string> = {};
  route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? '')));
  return params;
}

function compile(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (part.startsWith('{') && part.endsWith('}')) {
        names.push(part.slice(1, -1));
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`), names };
}

/** Without its query string and trailing slashes, with a leading one. */
function normalizePath(raw: string): string {
  let path = raw.trim();
  if (!path.startsWith('/')) path = `/${path}`;
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}
