import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTransformers, withTransformersEnv } from '../../lib/generation/transformers';

describe('lib/generation/transformers', () => {
  it('is loaded with a real dynamic import() in the compiled CommonJS (the package is ESM-only)', () => {
    const compiled = readFileSync(join(__dirname, '..', '..', 'lib', 'generation', 'transformers.js'), 'utf8');
    assert.match(compiled, /import\('@xenova\/transformers'\)/);
    assert.doesNotMatch(compiled, /require\('@xenova\/transformers'\)/);
  });

  it("sets transformers.js's process-wide env only for the task, then restores it", async () => {
    const { env } = await loadTransformers();
    const before = { allowRemoteModels: env.allowRemoteModels, useFSCache: env.useFSCache, localModelPath: env.localModelPath };
    const seen = await withTransformersEnv({ allowRemoteModels: false, useFSCache: false, localModelPath: '/tmp/models/' }, async (t) => ({
      allowRemoteModels: t.env.allowRemoteModels,
      useFSCache: t.env.useFSCache,
      localModelPath: t.env.localModelPath,
    }));
    assert.deepEqual(seen, { allowRemoteModels: false, useFSCache: false, localModelPath: '/tmp/models/' });
    assert.deepEqual({ allowRemoteModels: env.allowRemoteModels, useFSCache: env.useFSCache, localModelPath: env.localModelPath }, before);
    await assert.rejects(
      withTransformersEnv({ allowRemoteModels: false }, async () => {
        throw new Error('load failed');
      }),
      /load failed/,
    );
    assert.equal(env.allowRemoteModels, before.allowRemoteModels, 'restored after a failure too');
  });
});
