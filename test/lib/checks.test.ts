import assert from 'node:assert/strict';
import { compileChecks, detectLanguage, MAX_CANDIDATE_LENGTH, offersIn, parseSegmentOffers, type CheckName, type CheckSettings } from '../../lib/checks';
import { isMarketingError } from '../../lib/errors';

const vera = { firstName: 'Vera', name: 'Vera Keller', language: 'en', city: 'Munich' };
const ethan = { firstName: 'Ethan', name: 'Ethan Martin', language: 'en', city: 'Leeds' };
const victor = { firstName: 'Victor', name: 'Victor Wood', language: 'en', city: 'Cologne' };
const maChao = { firstName: '马超', name: '马超', language: 'zh', city: '成都' };

const SHOP = 'Example Shop';

/** Only `check` enabled, with `settings`. */
function only(check: CheckName, settings: CheckSettings = {}) {
  const enabled = Object.fromEntries(['greeting', 'language', 'offers', 'brand', 'banned', 'clean', 'custom'].map((name) => [name, name === check]));
  return compileChecks({ ...settings, enabled });
}

function codes(check: CheckName, text: string, contact: Record<string, unknown>, settings: CheckSettings = {}, extra: object = {}): string[] {
  const result = only(check, settings).check(text, { contact, ...extra });
  return [...result.failed, ...result.warnings].map((f) => f.code);
}

describe('copy checks (lib/checks)', function () {
  describe('addresses the contact', function () {
    it('passes a greeting that names the contact, in English and Chinese', function () {
      assert.deepEqual(codes('greeting', 'Dear Vera, thank you for your order.', vera), []);
      assert.deepEqual(codes('greeting', 'Hi Vera Keller! Your parcel is on its way.', vera), []);
      assert.deepEqual(codes('greeting', '尊敬的马超：感谢您一直以来的支持。', maChao), []);
      assert.deepEqual(codes('greeting', '马超，您好！欢迎回来。', maChao), []);
      assert.deepEqual(codes('greeting', 'Thank you, Vera, for shopping with us.', vera), []);
    });

    it('fails a greeting of someone else, with the excerpt (the texts quoted in issue 13)', function () {
      const result = only('greeting').check('Good morning Quentin, we have news for you.', { contact: vera });
      assert.equal(result.failed[0].code, 'wrongPerson');
      assert.equal(result.failed[0].params.name, 'Quentin');
      assert.match(result.failed[0].excerpt, /Good morning Quentin/);
      assert.deepEqual(codes('greeting', 'Dear Sara, welcome back!', ethan), ['wrongPerson']);
      assert.deepEqual(codes('greeting', '尊敬的韩雪：感谢您的支持。', maChao), ['wrongPerson']);
      assert.deepEqual(codes('greeting', 'Quentin, we miss you!', vera), ['wrongPerson']);
    });

    it('fails a text that greets nobody by name, and a later greeting of another person', function () {
      assert.deepEqual(codes('greeting', 'Hey十亚麻床品套装，欢迎选购。', victor), ['notAddressed']);
      assert.deepEqual(codes('greeting', 'Dear customer, thank you.', vera), ['notAddressed']);
      assert.deepEqual(codes('greeting', 'Our new collection is here.', vera), ['notAddressed']);
      assert.deepEqual(codes('greeting', 'Hi Vera, good news. Hi Sara, you too.', vera), ['wrongPerson']);
      assert.deepEqual(codes('greeting', '感谢您一直以来的支持。', maChao), ['notAddressed']);
    });

    it('uses the configured name fields', function () {
      assert.deepEqual(codes('greeting', 'Dear Ms Keller, thanks.', vera, { nameFields: ['name'] }), ['wrongPerson']);
      assert.deepEqual(codes('greeting', 'Dear Ms Keller, thanks.', { ...vera, lastName: 'Keller' }, { nameFields: ['lastName'] }), []);
    });
  });

  describe('right language', function () {
    it('passes texts in the contact\'s language', function () {
      assert.deepEqual(codes('language', 'Dear Vera, thank you for shopping with us, we hope you love your new shoes.', vera), []);
      assert.deepEqual(codes('language', '尊敬的马超：感谢您一直以来对我们的支持，祝您生活愉快！', maChao), []);
      assert.deepEqual(codes('language', '尊敬的马超：感谢您的支持。', { ...maChao, language: 'zh-CN' }), []);
    });

    it('fails a text in another language, and Chinese characters in an English text', function () {
      assert.deepEqual(codes('language', '尊敬的马超：感谢您一直以来对我们的支持，祝您生活愉快！', vera), ['wrongLanguage']);
      assert.deepEqual(codes('language', 'Hey十亚麻床品套装，欢迎选购。', victor), ['wrongLanguage']);
      assert.deepEqual(codes('language', 'Dear 马超, thank you for shopping with us this year.', maChao), ['wrongLanguage']);
      assert.deepEqual(codes('language', 'Thank you for shopping with us, we hope you love your new shoes and come back soon.', maChao), ['wrongLanguage']);
    });

    it('says undetermined for a text too short to tell, a warning unless set to fail', function () {
      assert.equal(detectLanguage('Hello'), '');
      assert.equal(detectLanguage('感谢'), '');
      assert.deepEqual(codes('language', 'Hello Vera!', vera), ['languageUndetermined']);
      const result = only('language').check('Hello Vera!', { contact: vera });
      assert.equal(result.passed, true);
      assert.equal(only('language', { undeterminedLanguage: 'fail' }).check('Hello Vera!', { contact: vera }).passed, false);
    });

    it('lets a contact without a language pass', function () {
      assert.deepEqual(codes('language', 'Anything at all, in any language.', { firstName: 'Vera' }), []);
    });
  });

  describe('only real offers', function () {
    it('finds codes, percentages, N折, prices and URLs', function () {
      const found = offersIn('Here is 25% off your first order with the code SUMMER30, from $19.99 at https://shop.example/new.');
      assert.deepEqual(found.map((o) => [o.kind, o.text]), [['percentage', '25%'], ['code', 'SUMMER30'], ['price', '$19.99'], ['url', 'https://shop.example/new']]);
      assert.deepEqual(offersIn('首单使用优惠码COMEBACK即可享受七五折优惠，满199元包邮').map((o) => o.text), ['COMEBACK', '七五折', '199元']);
      assert.deepEqual(offersIn('THANK YOU from the TEAM, we love NYC.').map((o) => o.text), []);
    });

    it('fails invented offers (issue 13) and passes allowed ones, case and width ignored', function () {
      assert.deepEqual(codes('offers', 'Here is 25% off your first order with the code SUMMER30.', vera), ['inventedOffer', 'inventedOffer']);
      assert.deepEqual(codes('offers', '首单使用优惠码COMEBACK即可享受七五折优惠。', maChao), ['inventedOffer', 'inventedOffer']);
      assert.deepEqual(codes('offers', 'Use WELCOME10 for 10 % off at shop.example/new.', vera, { allowedOffers: ['welcome10', '10%', 'shop.example'] }), []);
      assert.deepEqual(codes('offers', '使用优惠码ＷＥＬＣＯＭＥ１０享受９折。', maChao, { allowedOffers: ['WELCOME10', '9折'] }), []);
      assert.deepEqual(codes('offers', 'Thank you for your order.', vera), []);
    });

    it('gives each place in the text to the first kind that finds it, however many offers the text holds', function () {
      // 'shop.example/20%' is a URL first; the percentage inside it is not a second offer.
      const text = Array.from({ length: 300 }, (_, i) => `See shop.example/${i}% or pay $${i} with CODE${i}.`).join(' ');
      const found = offersIn(text);
      assert.equal(found.length, 900);
      assert.deepEqual(found.slice(0, 3).map((o) => [o.kind, o.text]), [['url', 'shop.example/0%'], ['price', '$0'], ['code', 'CODE0']]);
      for (let i = 1; i < found.length; i++) assert.ok(found[i].start >= found[i - 1].end, 'no two offers overlap');
    });

    it('allows offers per segment', function () {
      const settings = { segmentOffers: parseSegmentOffers('at risk: COMEBACK, 20%\nloyal: VIP5') };
      assert.deepEqual(codes('offers', 'Use the code COMEBACK for 20% off.', vera, settings, { segment: 'at risk' }), []);
      assert.deepEqual(codes('offers', 'Use the code COMEBACK for 20% off.', vera, settings, { segment: 'loyal' }), ['inventedOffer', 'inventedOffer']);
    });
  });

  describe('brand', function () {
    it('passes a text naming only the brand', function () {
      assert.deepEqual(codes('brand', 'Welcome to Example Shop, Vera!', vera, { brand: SHOP }), []);
      assert.deepEqual(codes('brand', 'Thanks for shopping at Example Shop in Munich.', vera, { brand: SHOP }), []);
      assert.deepEqual(codes('brand', '欢迎来到Example Shop！', maChao, { brand: SHOP }), []);
    });

    it('fails another brand from the list and a shop name the text made up (issue 13)', function () {
      assert.deepEqual(codes('brand', 'Welcome to Greenleaf Tea!', vera, { brand: SHOP }), ['otherBrand']);
      assert.deepEqual(codes('brand', 'You are part of the FitFlow family now.', vera, { brand: SHOP }), ['otherBrand']);
      assert.deepEqual(codes('brand', 'Example Shop beats Acme any day.', vera, { brand: SHOP, otherBrands: ['ACME'] }), ['otherBrand']);
      assert.deepEqual(codes('brand', '欢迎来到绿叶茶庄！', maChao, { brand: SHOP }), ['otherBrand']);
      assert.deepEqual(codes('brand', '您的城市食仓账户已经开通，欢迎您！', maChao, { brand: SHOP }), ['otherBrand']);
      assert.deepEqual(codes('brand', '您的Example Shop账户已经开通，欢迎您！', maChao, { brand: SHOP }), []);
    });

    it('warns when the brand is not named at all', function () {
      const result = only('brand', { brand: SHOP }).check('Thank you for your order, Vera.', { contact: vera });
      assert.equal(result.passed, true);
      assert.deepEqual(result.warnings.map((w) => w.code), ['brandNotNamed']);
    });
  });

  describe('no banned phrases', function () {
    it('fails a banned phrase, whole words, case and width ignored', function () {
      assert.deepEqual(codes('banned', 'This is 100% FREE, act now!', vera, { bannedPhrases: ['act now', '100% free'] }), ['bannedPhrase', 'bannedPhrase']);
      assert.deepEqual(codes('banned', 'Ａｃｔ Ｎｏｗ please.', vera, { bannedPhrases: ['act now'] }), ['bannedPhrase']);
      assert.deepEqual(codes('banned', 'We react nowhere near that.', vera, { bannedPhrases: ['act now'] }), []);
      assert.deepEqual(codes('banned', '限时抢购，立即下单！', maChao, { bannedPhrases: ['限时抢购'] }), ['bannedPhrase']);
    });
  });

  describe('clean text', function () {
    it('passes a clean text', function () {
      assert.deepEqual(codes('clean', 'Dear Vera, thank you for your order. We hope to see you again soon!', vera), []);
      assert.deepEqual(codes('clean', '尊敬的马超：感谢您的支持，祝您生活愉快！', maChao), []);
    });

    it('fails repetition, a repeated sentence, an echo, a template tag and an unfinished end', function () {
      assert.deepEqual(codes('clean', 'Shoes made for city runs and made for city runs.', vera), ['repetition']);
      assert.deepEqual(codes('clean', 'We miss you a lot. We miss you a lot.', vera), ['repeatedSentence']);
      assert.deepEqual(codes('clean', 'Write a short welcome email for Vera. Hello Vera.', vera), ['promptEcho']);
      assert.deepEqual(codes('clean', 'Hello Vera, our new range is here.', vera, {}, { prompt: 'Our new range is here for all of our customers' }), []);
      assert.deepEqual(codes('clean', 'Hello Vera, our new range is here for all of our customers.', vera, {}, { prompt: 'Our new range is here for all of our customers' }), ['promptEcho']);
      assert.deepEqual(codes('clean', 'Hello {{name}}, welcome.', vera), ['templateTag']);
      assert.deepEqual(codes('clean', 'Hello [First Name], welcome.', vera), ['templateTag']);
      assert.deepEqual(codes('clean', 'Hello Vera, we have great', vera), ['unfinished']);
      assert.deepEqual(codes('clean', 'Hello Vera, enjoy your benefits.\nCheers,\nThe Example Shop team', vera), [], 'a sign-off is finished');
      assert.deepEqual(codes('clean', '马超，您好！\n感谢您的支持。\n祝好！\nExample Shop', maChao), [], 'a Chinese sign-off is finished');
      assert.deepEqual(codes('clean', '马超，您好！\n感谢您的支持。\n此致\n敬礼', maChao), [], '此致 敬礼 is finished');
      assert.deepEqual(codes('clean', '马超，您好！\n感谢您一直以来对我们的大力支持！\n我们会', maChao), ['unfinished'], 'a long line with ！ is no closing');
      assert.deepEqual(codes('clean', '感谢您一直以来的支持，感谢您一直以来的支持。', maChao), ['repetition']);
    });

    it('fails lengths out of bounds, in characters or words', function () {
      assert.deepEqual(codes('clean', 'Hi Vera.', vera, { minLength: 20 }), ['tooShort']);
      assert.deepEqual(codes('clean', 'Hi Vera, thanks a lot for everything.', vera, { maxLength: 3, lengthUnit: 'words' }), ['tooLong']);
      assert.deepEqual(codes('clean', '尊敬的马超：谢谢。', maChao, { minLength: 5, maxLength: 10 }), []);
    });
  });

  describe('custom', function () {
    it('fails a text that matches a forbidden pattern, or misses a required one', function () {
      assert.deepEqual(codes('custom', 'Call 555-1234 now.', vera, { customPattern: String.raw`\d{3}-\d{4}`, customMode: 'mustNot' }), ['customMatched']);
      assert.deepEqual(codes('custom', 'Hello Vera.', vera, { customPattern: 'unsubscribe', customMode: 'must', customIgnoreCase: true }), ['customMissing']);
      assert.deepEqual(codes('custom', 'Click UNSUBSCRIBE.', vera, { customPattern: 'unsubscribe', customMode: 'must', customIgnoreCase: true }), []);
    });

    it('refuses a pattern that cannot run in bounded time, as the segment rules do', function () {
      assert.throws(() => compileChecks({ customPattern: '(a)\\1' }), (err: unknown) => isMarketingError(err) && err.code === 'unsupportedRegex');
      assert.throws(() => compileChecks({ customPattern: '(' }), (err: unknown) => isMarketingError(err) && err.code === 'badRegex');
    });
  });

  describe('settings', function () {
    it('refuses bad bounds', function () {
      assert.throws(() => compileChecks({ minLength: -1 }), (err: unknown) => isMarketingError(err) && err.code === 'badNumber');
      assert.throws(() => compileChecks({ minLength: 50, maxLength: 10 }), (err: unknown) => isMarketingError(err) && err.code === 'badLengthBounds');
    });
  });

  describe('selection', function () {
    const checker = compileChecks({ brand: SHOP, minLength: 20, maxLength: 120, allowedOffers: ['WELCOME10'] });
    const context = { contact: vera };

    it('picks the passing candidate with fewest warnings, then closest to the target length, then the first', function () {
      const selection = checker.select([
        'Dear Sara, welcome to Example Shop!',
        'Dear Vera, thank you for your order.',
        'Dear Vera, thank you for shopping at Example Shop, use WELCOME10 next time.',
      ], context);
      assert.equal(selection.passed, true);
      assert.equal(selection.chosen, 2, 'no brandNotNamed warning');
      assert.deepEqual(selection.candidates.map((c) => c.passed), [false, true, true]);
      assert.equal(selection.candidates[1].warnings[0].code, 'brandNotNamed');

      const tie = checker.select(['Dear Vera, welcome to Example Shop!', 'Dear Vera, welcome to Example Shop, we are glad you are here!', 'Dear Vera, welcome to Example Shop!'], context);
      assert.equal(tie.chosen, 1, 'closer to 70 characters');
      const same = checker.select(['Dear Vera, welcome to Example Shop!', 'Dear Vera, welcome to Example Shop!'], context);
      assert.equal(same.chosen, 0);
      assert.deepEqual(checker.select(['Dear Vera, welcome to Example Shop!'], context), checker.select(['Dear Vera, welcome to Example Shop!'], context));
    });

    it('refuses a candidate longer than MAX_CANDIDATE_LENGTH characters, and checks one of exactly that length', function () {
      const longest = `Dear Vera, ${'welcome to Example Shop. '.repeat(MAX_CANDIDATE_LENGTH)}`.slice(0, MAX_CANDIDATE_LENGTH);
      assert.equal(checker.select([longest], context).candidates.length, 1);
      assert.throws(() => checker.select(['Dear Vera, welcome to Example Shop!', `${longest}!`], context), (err: unknown) =>
        isMarketingError(err) && err.code === 'candidateTooLong' && err.params.index === 1 && err.params.length === MAX_CANDIDATE_LENGTH + 1);
    });

    it('holds everything for review when no candidate passes, each with its failures', function () {
      const selection = checker.select(['Good morning Quentin, welcome to Example Shop!', 'Dear Vera, here is 25% off with SUMMER30 at Example Shop.'], context);
      assert.equal(selection.passed, false);
      assert.equal(selection.chosen, -1);
      assert.deepEqual(selection.candidates.map((c) => c.failed.map((f) => f.code)), [['wrongPerson'], ['inventedOffer', 'inventedOffer']]);
      assert.equal(selection.candidates[1].failed[1].excerpt.includes('SUMMER30'), true);
    });
  });
});
