import { expect } from 'chai';
import { OpenAPIRouter, type Operation } from 'openapi-backend';
import { readSpec } from '../src/http/contract.ts';
import { RouteTable } from '../src/http/route-table.ts';

/** openapi-backend's own matcher: the table must answer what it answers, only faster. */
const reference = new OpenAPIRouter({ definition: readSpec().document });
const operations = reference.getOperations();
const table = new RouteTable(operations);

/** A concrete path for a template: each parameter filled with `value`. */
const fill = (template: string, value: string) => template.replace(/\{[^}]+\}/g, value);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function referenceMatch(method: string, path: string): Operation | 'not-found' | 'method-not-allowed' {
  try {
    return reference.matchOperation({ method, path, headers: {} }, true);
  } catch (err) {
    return (err as Error).message.startsWith('405') ? 'method-not-allowed' : 'not-found';
  }
}

describe('the route table (routing compiled once)', () => {
  it('routes every method on every path of the contract as openapi-backend does', () => {
    const paths = new Set<string>();
    for (const op of operations) {
      for (const value of ['abc', 'search', '12345', 'a.b', 'me']) paths.add(fill(op.path, value));
    }
    for (const extra of ['/nowhere', '/v1', '/v1/chats/x/y/z/w', '/v1/chats/', '/v1/chats//messages'])
      paths.add(extra);
    let compared = 0;
    for (const path of paths) {
      for (const method of METHODS) {
        const expected = referenceMatch(method, path);
        const got = table.match(method, path);
        if (typeof expected === 'string') expect(got.kind, `${method} ${path}`).to.equal(expected);
        else {
          expect(got.kind, `${method} ${path}`).to.equal('found');
          if (got.kind === 'found') {
            expect(got.operation.operationId, `${method} ${path}`).to.equal(expected.operationId);
            const params = reference.parseRequest({ method, path, headers: {} }, expected).params;
            expect(got.params, `${method} ${path}`).to.deep.equal(params);
          }
        }
        compared += 1;
      }
    }
    expect(compared).to.be.above(operations.length * METHODS.length);
  });

  it('prefers an exact path to a template that also matches it', () => {
    const found = table.match('post', '/v1/chats/search');
    expect(found.kind === 'found' && found.operation.operationId).to.equal('createSearchTask');
  });

  it('decodes path parameters and ignores a trailing slash and the query string', () => {
    const found = table.match('get', '/v1/chats/a%20b/messages/?limit=5');
    expect(found.kind).to.equal('found');
    if (found.kind === 'found') {
      expect(found.operation.operationId).to.equal('listMessages');
      expect(found.params).to.deep.equal({ chat_id: 'a b' });
    }
    expect(
      table.paramsOf('/v1/chats/{chat_id}/messages/{message_id}', '/v1/chats/c1/messages/m2'),
    ).to.deep.equal({ chat_id: 'c1', message_id: 'm2' });
    expect(table.paramsOf('/v1/chats/{chat_id}', '/v1/users/me')).to.deep.equal({});
  });

  it('tells a path no operation has from a method its path does not take', () => {
    expect(table.match('get', '/v1/nothing/here').kind).to.equal('not-found');
    expect(table.match('delete', '/ping').kind).to.equal('method-not-allowed');
  });
});
