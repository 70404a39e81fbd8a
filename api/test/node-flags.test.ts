/**
 * The services' Node flags live in one file (scripts/node-flags.json) that make start and the bench
 * read; the container images cannot read it at run time, so their CMD spells the flags out. This
 * keeps the three the same: the memory the bench measures is the memory production gets.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import nodeFlags from '../../scripts/node-flags.json' with { type: 'json' };

/** The exec-form CMD of a Dockerfile, as its argument list. */
function cmdOf(dockerfile: string): string[] {
  const line = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CMD '));
  if (!line) throw new Error(`${dockerfile} has no CMD`);
  return JSON.parse(line.slice('CMD '.length)) as string[];
}

describe('the services run with the Node flags of scripts/node-flags.json everywhere', () => {
  it('the API image runs node with the API flags', () => {
    expect(cmdOf('deploy/Dockerfile.api')).to.deep.equal(['node', ...nodeFlags.api, 'api/dist/main.js']);
  });

  it('the consumer image runs node with the consumer flags', () => {
    expect(cmdOf('deploy/Dockerfile.consumer')).to.deep.equal([
      'node',
      ...nodeFlags.consumer,
      'consumer/dist/main.js',
    ]);
  });

  it('this Node accepts the flags (it refuses an unknown one with exit code 9)', () => {
    for (const flags of [nodeFlags.api, nodeFlags.consumer]) {
      const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
      expect(run.status, run.stderr).to.equal(0);
    }
    expect(spawnSync(process.execPath, ['--no-such-flag-at-all', '-e', '0']).status).to.equal(9);
  });
});
