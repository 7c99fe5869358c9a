/**
 * The editor in a real browser: Debian's Chromium driven by playwright-core against one real
 * Node-RED process with this package installed in its user dir (admin authentication on).
 * One Node-RED and one browser serve every part, to keep CI time low; each part opens its
 * own page. Screenshots land in test-results/editor/; `npm run docs:images` also refreshes
 * the ones committed in docs/images/.
 */
import { describeExampleImport } from './example-import';
import { describePaletteAndDialogs } from './palette-and-dialogs';
import { describePrompt, PROMPT_FLOWS } from './prompt';
import { describeSegmentRuleBuilder } from './segment-rule-builder';
import { EditorSession } from './session';

describe('the editor in Chromium', function () {
  this.timeout(60000);
  const session = new EditorSession();

  before(async () => {
    await session.start(PROMPT_FLOWS);
  });
  after(async () => {
    await session.stop();
  });

  describePaletteAndDialogs(session);
  describeSegmentRuleBuilder(session);
  describePrompt(session);
  describeExampleImport(session);
});
