'use strict';
// What the driver's source must stay, for the action's start-up. Run by .ci/test with `node --test`.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

test('the driver is ASCII, so V8 holds its source as one byte per character, not two', () => {
  // One character outside ASCII anywhere (a comment's arrow) and Node reads the whole file into
  // a UTF-16 string: twice the memory, allocated in the young generation at every start.
  const dist = path.join(__dirname, '..', 'dist');
  const files = fs.readdirSync(dist).filter((f) => f.endsWith('.js'));
  assert.ok(files.includes('index.js'));
  for (const file of files) {
    const source = fs.readFileSync(path.join(dist, file), 'latin1');
    const at = source.search(/[^\x00-\x7f]/);
    const line = at < 0 ? 0 : source.slice(0, at).split('\n').length;
    assert.equal(at, -1, `node/dist/${file} has a non-ASCII character on line ${line}`);
  }
});
