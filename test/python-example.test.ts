// docs/service.md's Python example, run as written (its base URL, key and file names put in) against a server.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/cli.js';
import { SHARED } from './fixtures.js';
import { startTestServer } from './helpers/server.js';

/** A Python 3 with requests: the one on PATH, else Debian's (.ci/run installs python3-requests when neither has it). */
function python(): string {
  for (const p of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(p, ['-c', 'import requests'], { stdio: 'ignore' });
      return p;
    } catch {
      // next
    }
  }
  throw new Error('no python3 with requests: apt-get install python3-requests (.ci/run does)');
}

test('the Python example of docs/service.md enrols an imported embedding into a collection and identifies with it', async () => {
  const doc = readFileSync(join(ROOT, 'docs/service.md'), 'utf8');
  const example = /From Python, nothing but `requests`[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)![1];
  const s = await startTestServer();
  try {
    const bbt = join(SHARED, 'faces/identities/bbt/amy');
    const script = example
      .replace('"http://127.0.0.1:8080"', JSON.stringify(s.url))
      .replace('"Bearer fp_…"', JSON.stringify(`Bearer ${s.key.admin}`))
      .replace('"amy1.jpg"', JSON.stringify(join(bbt, 'amy1.png')))
      .replace('"door.jpg"', JSON.stringify(join(bbt, 'amy3.png')));
    assert.notEqual(script, example);
    const dir = join(ROOT, 'scratch');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'service-example.py'), script);
    const { stdout } = await promisify(execFile)(python(), [join(dir, 'service-example.py')]);
    assert.equal(stdout, "['amy']\n");
    // run again: the collection is there already (409, as the comment says) and the same vector is a duplicate
    assert.equal((await promisify(execFile)(python(), [join(dir, 'service-example.py')])).stdout, "['amy']\n");
  } finally {
    await s.close();
  }
});
