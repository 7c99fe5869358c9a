import assert from 'node:assert/strict';
import { MarketingError } from '../../lib/errors';
import {
  compilePromptTemplates,
  contextReferences,
  normalisePromptSettings,
  readPromptInput,
  renderPrompt,
  selectPromptTemplate,
} from '../../lib/prompt';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    assert.ok(err instanceof MarketingError, String(err));
    return err.code;
  }
  assert.fail('no error');
}

describe('lib/prompt', () => {
  it('reads editor settings with defaults, skipping blank and repeated names', () => {
    assert.deepEqual(normalisePromptSettings({}), { template: '', segments: [], partials: [], missing: 'empty', maxValueLength: 500 });
    const settings = normalisePromptSettings({
      template: 'T',
      segments: [{ segment: ' vip ', template: 'A' }, { segment: 'vip', template: 'B' }, { segment: ' ', template: 'C' }, 'junk'],
      partials: [{ name: 'brand', template: 'P' }, { name: 'brand', template: 'Q' }],
      missing: 'error',
      maxValueLength: '80',
    });
    assert.deepEqual(settings, {
      template: 'T', segments: [{ segment: 'vip', template: 'A' }], partials: [{ name: 'brand', template: 'P' }], missing: 'error', maxValueLength: 80,
    });
    assert.equal(normalisePromptSettings({ missing: 'ignore', maxValueLength: -1 }).missing, 'empty');
    assert.equal(normalisePromptSettings({ maxValueLength: -1 }).maxValueLength, 500);
    assert.equal(normalisePromptSettings({ maxValueLength: '' }).maxValueLength, 500);
    assert.equal(normalisePromptSettings({ maxValueLength: 0 }).maxValueLength, 0);
  });

  it('recognises flow, global and env names as the core Template node does', () => {
    assert.deepEqual(contextReferences(['contact.name', 'flow.offer.text', 'global[file].deadline', 'env.BRAND', 'flowers', 'segment.name']), [
      { name: 'flow.offer.text', scope: 'flow', store: undefined, key: 'offer.text' },
      { name: 'global[file].deadline', scope: 'global', store: 'file', key: 'deadline' },
      { name: 'env.BRAND', scope: 'env', store: undefined, key: 'BRAND' },
    ]);
  });

  it('takes the contact from msg.contact, else msg.payload, and refuses anything else', () => {
    const contact = { firstName: 'Ann' };
    assert.equal(readPromptInput({ contact, payload: 'text' }).contact, contact);
    assert.equal(readPromptInput({ payload: contact }).contact, contact);
    assert.deepEqual(readPromptInput({ contact, segment: { name: ' vip ', index: 0 } }).segmentName, 'vip');
    assert.deepEqual(readPromptInput({ contact, segment: 'lapsed' }).segmentName, 'lapsed');
    assert.equal(codeOf(() => readPromptInput({ payload: [contact] })), 'contactList');
    for (const payload of ['text', 42, null, undefined]) assert.equal(codeOf(() => readPromptInput({ payload })), 'noContact');
  });

  it('selects the segment template or the default, and renders contact, segment and msg', () => {
    const templates = compilePromptTemplates({
      template: 'Hi {{contact.firstName}} ({{segment.name}}, {{msg.topic}})',
      segments: [{ segment: 'vip', template: 'VIP {{contact.firstName}} {{> sig}}' }],
      partials: [{ name: 'sig', template: '-- {{segment.name}}' }],
    });
    const msg = { topic: 'spring', contact: { firstName: 'Ann' }, segment: 'vip' };
    const input = readPromptInput(msg);
    const vip = selectPromptTemplate(templates, input);
    assert.equal(vip.label, 'vip');
    assert.equal(renderPrompt(vip, input, msg), 'VIP Ann -- vip');
    const other = readPromptInput({ ...msg, segment: { name: 'new' } });
    assert.equal(renderPrompt(selectPromptTemplate(templates, other), other, msg), 'Hi Ann (new, spring)');
  });

  it('has no template for an unlisted segment when the default template is blank', () => {
    const templates = compilePromptTemplates({ template: ' \n', segments: [{ segment: 'vip', template: 'V' }] });
    assert.equal(codeOf(() => selectPromptTemplate(templates, readPromptInput({ payload: {}, segment: 'new' }))), 'noTemplate');
  });

  it('labels syntax errors with the template they are in', () => {
    assert.throws(() => compilePromptTemplates({ template: 'ok', segments: [{ segment: 'vip', template: '{{#x}}' }] }),
      (err: MarketingError) => err.code === 'templateSyntax' && err.params.template === 'vip');
    assert.throws(() => compilePromptTemplates({ template: '{{/x}}' }),
      (err: MarketingError) => err.code === 'templateSyntax' && err.params.template === 'default');
  });
});
