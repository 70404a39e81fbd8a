/** OwedWrites: store writes retried in the background until they land. */
import { expect } from 'chai';
import { OwedWrites } from '../src/store/owed-writes.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A write that fails `failures` times, then lands; counts its tries. */
function flakyWrite(failures: number) {
  const write = async () => {
    write.tries += 1;
    if (write.tries <= failures) throw new Error('the store does not answer');
    write.landed = true;
  };
  write.tries = 0;
  write.landed = false;
  return write;
}

describe('OwedWrites', () => {
  it('retries an owed write in the background until it lands, and owes it no longer', async () => {
    const owed = new OwedWrites();
    const write = flakyWrite(2);
    owed.owe('k', write);
    expect(owed.has('k')).to.equal(true);
    for (let waited = 0; !write.landed && waited < 2_000; waited += 50) await sleep(50);
    expect(write).to.include({ tries: 3, landed: true });
    expect(owed.has('k')).to.equal(false);
    expect(owed.keys).to.deep.equal([]);
  });

  it('keeps only the newest write owed for a key', async () => {
    const owed = new OwedWrites();
    const older = flakyWrite(0);
    const newer = flakyWrite(0);
    owed.owe('k', older);
    owed.owe('k', newer);
    await owed.flush();
    expect([older.tries, newer.tries]).to.deep.equal([0, 1]);
    expect(owed.has('k')).to.equal(false);
  });

  it('forgets a forgiven write', async () => {
    const owed = new OwedWrites();
    const write = flakyWrite(0);
    owed.owe('k', write);
    owed.forgive('k');
    await owed.flush();
    expect(write.tries).to.equal(0);
  });

  it('flush makes one last try and leaves owed what the store still refuses', async () => {
    const owed = new OwedWrites();
    const refused = flakyWrite(Infinity);
    owed.owe('a', refused);
    await owed.flush();
    expect(refused.tries).to.equal(1);
    expect(owed.keys).to.deep.equal(['a']);
  });
});
