import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelKey } from '../../lib/generation/backends';
import { BUNDLED_MODEL_DIR, resolveLocalModelSpec as resolveModelSpec } from '../../lib/generation/model-loader';
import { ModelRegistry } from '../../lib/generation/model-registry';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';

const base = tmpdir();

describe('lib/generation/model-registry (bundled model)', function () {
  this.timeout(30_000);

  it('resolves model settings: bundled by default, folders from the base directory', () => {
    const bundled = resolveModelSpec({}, base);
    assert.equal(bundled.source, 'bundled');
    assert.equal(bundled.quantized, true);
    assert.equal(bundled.cacheDir, join(base, 'marketing-automation', 'models'));
    const folder = resolveModelSpec({ source: 'folder', folder: 'models/x', quantized: 'false' }, base);
    assert.equal(folder.location, join(base, 'models/x'));
    assert.equal(folder.quantized, false);
    const hub = resolveModelSpec({ source: 'hub', model: ' Xenova/gpt2 ', allowDownloads: false }, base);
    assert.equal(hub.location, 'Xenova/gpt2');
    assert.equal(hub.allowDownloads, false);
    assert.equal(hub.remoteHost, 'https://huggingface.co/');
    // The bundled model is the same model whatever the cache settings say.
    assert.equal(modelKey(bundled), modelKey(resolveModelSpec({ cacheDir: '/elsewhere' }, '/other')));
    assert.equal(modelKey(resolveModelSpec({ source: 'folder', folder: BUNDLED_MODEL_DIR }, base)), modelKey(resolveModelSpec({ source: 'folder', folder: `${BUNDLED_MODEL_DIR}/` }, '/x')));
  });

  it('shares one model per settings, loads it once and disposes it with the last release', async () => {
    const registry = new ModelRegistry();
    const spec = resolveModelSpec({}, base);
    const first = registry.acquire(spec);
    const second = registry.acquire(spec);
    const other = registry.acquire({ ...spec, quantized: false });
    assert.equal(first.model, second.model);
    assert.notEqual(first.model, other.model);
    assert.equal(registry.size, 2);
    assert.equal(registry.users(spec), 2);

    const states: string[] = [];
    first.model.on('state', (state: string) => states.push(state));
    const [a, b] = await Promise.all([first.model.load(), second.model.load()]);
    assert.equal(a, b, 'one load for concurrent users');
    assert.deepEqual(states, ['loading', 'ready']);

    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { max_new_tokens: 3, seed: 1 });
    const result = await second.model.generate(['Hello'], options);
    assert.equal(result.prompts[0].sequences.length, 1);

    await first.release();
    await first.release(); // a second release of the same lease changes nothing
    assert.equal(registry.users(spec), 1);
    assert.equal(second.model.state, 'ready');
    await second.release();
    assert.equal(registry.users(spec), 0);
    assert.equal(second.model.state, 'unloaded');
    await assert.rejects(second.model.generate(['Hello'], options), { code: 'modelReleased' });
    await other.release();
    assert.equal(registry.size, 0);
  });

  it('remembers a failed load and tries again on the next load', async () => {
    const registry = new ModelRegistry();
    const lease = registry.acquire(resolveModelSpec({ source: 'folder', folder: 'missing-model' }, base));
    await assert.rejects(lease.model.load(), { code: 'modelFolderMissing' });
    assert.equal(lease.model.state, 'failed');
    assert.equal((lease.model.error as Error & { code?: string }).code, 'modelFolderMissing');
    await assert.rejects(lease.model.load(), { code: 'modelFolderMissing' });
    await lease.release();
  });
});
