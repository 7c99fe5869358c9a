// What the bundled demo model writes for prompts it cannot have memorised: names and shops that
// tools/demo-model/corpus.py holds out of its corpus (HELD_OUT), in example 01's prompt shape
// (the facts, then the greeting the model writes on from). Greedy decoding, so the texts are the
// model's most likely ones and the test is deterministic. Each is framed as example 01 sends it
// (the greeting, which is the prompt's last line, then the text, then the sign-off with the shop)
// and must pass the check node's checks: it greets the contact and no one else, is in the
// contact's language, offers exactly what the prompt offers or nothing, names no other shop,
// and neither repeats nor echoes the prompt.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { compileChecks, offersIn, type CopyChecker } from '../../lib/checks';
import { loadLocalModel, resolveLocalModelSpec } from '../../lib/generation/model-loader';
import type { OnnxTextGenerator } from '../../lib/generation/onnx-generator';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';

interface Case {
  contact: { firstName: string; name: string; language: 'en' | 'zh'; city: string };
  brand: string;
  task: string;
  offer?: { code: string; value: string };
}

const EN_TASKS: Record<string, (c: Case) => string> = {
  welcome: (c) => `Write a short welcome email from ${c.brand} to ${c.contact.firstName}, a new customer in ${c.contact.city}.`,
  loyal: (c) => `Write a short thank-you email from ${c.brand} to ${c.contact.firstName}, a loyal customer in ${c.contact.city}.`,
  winback: (c) => `Write a short "we miss you" email from ${c.brand} to ${c.contact.firstName} in ${c.contact.city}, who has not ordered for a while.`,
};
const ZH_TASKS: Record<string, (c: Case) => string> = {
  welcome: (c) => `为${c.brand}给${c.contact.city}的新客户${c.contact.name}写一封简短的欢迎邮件。`,
  loyal: (c) => `为${c.brand}给${c.contact.city}的老客户${c.contact.name}写一封简短的感谢邮件。`,
  winback: (c) => `为${c.brand}给${c.contact.city}的${c.contact.name}写一封“我们想念您”的邮件。`,
};

const en = (firstName: string, last: string, city: string) => ({ firstName, name: `${firstName} ${last}`, language: 'en' as const, city });
const zh = (name: string, city: string) => ({ firstName: name, name, language: 'zh' as const, city });

/** Held out of the corpus: corpus.py's HELD_OUT names and shops, and Example Shop. */
const CASES: Case[] = [
  { contact: en('Quirin', 'Hale', 'Leeds'), brand: 'Copperfield Candles', task: 'welcome', offer: { code: 'HELLO15', value: '15%' } },
  { contact: en('Thandiwe', 'Moyo', 'Dublin'), brand: 'Blue Heron Books', task: 'loyal' },
  { contact: en('Ottoline', 'Price', 'Porto'), brand: 'Marrow & Thyme', task: 'winback', offer: { code: 'COMEBACK20', value: '20%' } },
  { contact: en('Barnabas', 'Reed', 'Austin'), brand: 'Example Shop', task: 'welcome' },
  { contact: zh('欧阳靖', '杭州'), brand: '青石书房', task: 'welcome', offer: { code: 'HELLO15', value: '15%' } },
  { contact: zh('司马青', '成都'), brand: '晨光花坊', task: 'loyal' },
  { contact: zh('诸葛岚', '西安'), brand: '云杉户外', task: 'winback', offer: { code: 'COMEBACK20', value: '20%' } },
  { contact: zh('上官瑶', '上海'), brand: 'Example Shop', task: 'welcome' },
];

const SHOPS = [...new Set(CASES.map((c) => c.brand))];
// The first demo model's shops, which it named whatever the prompt said.
const OLD_SHOPS = ['Northwind Coffee', 'Lumen Skincare', 'Bergblick Outdoor', 'Urban Pantry', 'PixelPeak', 'Kite & Co', 'Greenleaf Tea', 'FitFlow',
  '北风咖啡', '光屿护肤', '山景户外', '城市食仓', '像素峰', '风筝家居', '青叶茶社', '乐动健身'];

function promptOf(c: Case): { prompt: string; greeting: string; signoff: string } {
  if (c.contact.language === 'zh') {
    const offer = c.offer ? `优惠：优惠码${c.offer.code}，${c.offer.value}折扣。` : '优惠：无。';
    const greeting = `${c.contact.name}，您好！`;
    return { prompt: `${ZH_TASKS[c.task](c)}${offer}\n${greeting}`, greeting, signoff: `祝好！\n${c.brand}` };
  }
  const offer = c.offer ? `Offer: code ${c.offer.code}, ${c.offer.value} off.` : 'Offer: none.';
  const greeting = `Hi ${c.contact.firstName},`;
  return { prompt: `${EN_TASKS[c.task](c)} ${offer}\n${greeting}`, greeting, signoff: `Warm regards,\nThe ${c.brand} team` };
}

describe('the bundled demo model on held-out names and shops', function () {
  this.timeout(120_000);
  let generator: OnnxTextGenerator;
  const texts: string[] = [];

  before(async () => {
    // Loaded as a marketing-llm node with the bundled model loads it.
    generator = await loadLocalModel(resolveLocalModelSpec({ source: 'bundled' }, tmpdir()), () => undefined);
    for (const c of CASES) {
      const { prompt, greeting, signoff } = promptOf(c);
      const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, {
        do_sample: false, max_new_tokens: c.contact.language === 'zh' ? 200 : 90, cut_at_sentence_end: true,
      });
      const [sequence] = (await generator.generate([prompt], options)).prompts[0].sequences;
      texts.push(`${greeting}\n${sequence.text}\n${signoff}`);
    }
  });

  after(() => generator.dispose());

  function checker(c: Case): CopyChecker {
    return compileChecks({
      brand: c.brand,
      otherBrands: [...SHOPS.filter((shop) => shop !== c.brand), ...OLD_SHOPS],
      allowedOffers: c.offer ? [c.offer.code, c.offer.value] : [],
      minLength: 30,
      maxLength: 600,
    });
  }

  CASES.forEach((c, i) => {
    const what = `${c.contact.language} ${c.task} from ${c.brand} to ${c.contact.name}, ${c.offer ? `code ${c.offer.code}` : 'no offer'}`;
    it(`writes copy that passes every check: ${what}`, () => {
      const text = texts[i];
      const { prompt } = promptOf(c);
      const result = checker(c).check(text, { contact: c.contact, segment: c.task, prompt });
      assert.deepEqual(result.failed, [], `${text}\n(prompt: ${prompt})`);
    });

    it(`offers exactly what the prompt gives: ${what}`, () => {
      const text = texts[i];
      const offers = offersIn(text).map((o) => o.text);
      if (c.offer) assert.ok(text.includes(c.offer.code), `the code ${c.offer.code} is in: ${text}`);
      else assert.deepEqual(offers, [], `no code, percentage or price in: ${text}`);
    });
  });
});
