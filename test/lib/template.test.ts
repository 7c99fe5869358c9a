import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MarketingError } from '../../lib/errors';
import { compileTemplate, lineAndColumn, type TemplateOptions } from '../../lib/template';

function render(source: string, context: Record<string, unknown>, options?: TemplateOptions): string {
  return compileTemplate(source, options).render(context);
}

function syntaxErrorOf(source: string, options?: TemplateOptions): MarketingError {
  try {
    compileTemplate(source, options);
  } catch (err) {
    assert.ok(err instanceof MarketingError, String(err));
    assert.equal(err.code, 'templateSyntax');
    return err;
  }
  assert.fail(`no syntax error for ${JSON.stringify(source)}`);
}

describe('lib/template', () => {
  const contact = { firstName: "O'Brien & Co", city: '<Lyon>', tags: ['vip', 'golf'] };

  describe('values and escaping', () => {
    it('never escapes in plain-text mode, whatever the tag', () => {
      const text = render('{{contact.firstName}} {{{contact.firstName}}} {{& contact.city}} {{contact.city}}', { contact });
      assert.equal(text, "O'Brien & Co O'Brien & Co <Lyon> <Lyon>");
    });

    it('escapes {{x}} values for HTML and leaves {{{x}}} raw', () => {
      const text = render('<p>{{contact.firstName}} {{contact.city}}</p>{{{contact.city}}}', { contact }, { escape: 'html' });
      assert.equal(text, '<p>O&#39;Brien &amp; Co &lt;Lyon&gt;</p><Lyon>');
    });

    it('writes numbers, booleans, arrays, dates and objects readably', () => {
      const text = render('{{n}}|{{zero}}|{{no}}|{{list}}|{{when}}|{{obj}}', {
        n: 12.5, zero: 0, no: false, list: ['a', 2, { b: 1 }], when: new Date(Date.UTC(2024, 0, 2)), obj: { a: [1] },
      });
      assert.equal(text, '12.5|0|false|a, 2, {"b":1}|2024-01-02T00:00:00.000Z|{"a":[1]}');
    });

    it('strips control characters from values but keeps newlines and tabs', () => {
      const text = render('[{{v}}]', { v: 'a\u0000b\u0007c\r\nd\te\u001bf\u007fg\u0085h' });
      assert.equal(text, '[abc\nd\tefgh]');
    });

    it('puts values on one line when asked (newlines and tabs become one space)', () => {
      assert.equal(render('Re: {{v}}', { v: 'a\r\nBcc: x@example.com\t\tb\u2028c' }, { singleLine: true }), 'Re: a Bcc: x@example.com b c');
    });

    it('leaves the template text itself untouched', () => {
      assert.equal(render('line1\r\n{{v}}\n', { v: 'x' }), 'line1\r\nx\n');
    });

    it('caps each value at 500 characters by default, at the configured cap, or not at 0', () => {
      const long = 'x'.repeat(2000);
      assert.equal(render('{{v}}', { v: long }).length, 500);
      assert.equal(render('{{v}}-{{w}}', { v: long, w: 'short' }, { maxValueLength: 10 }), `${'x'.repeat(10)}-short`);
      assert.equal(render('{{v}}', { v: long }, { maxValueLength: 0 }).length, 2000);
    });

    it('caps before escaping, and never inside a surrogate pair', () => {
      assert.equal(render('{{v}}', { v: '&&&&' }, { escape: 'html', maxValueLength: 2 }), '&amp;&amp;');
      assert.equal(render('{{v}}', { v: 'ab😀c' }, { maxValueLength: 3 }), 'ab');
    });

    it('does not reach inherited properties such as constructor or __proto__', () => {
      assert.equal(render('[{{contact.constructor}}{{contact.__proto__}}{{contact.toString}}]', { contact }), '[]');
    });

    it('reads only own properties of objects and arrays, in sections too', () => {
      const source = '[{{#contact}}{{constructor}}{{hasOwnProperty}}{{/contact}}' +
        '{{#contact.firstName}}{{length}}{{/contact.firstName}}{{contact.firstName.length}}]{{contact.tags.length}}';
      assert.equal(render(source, { contact }), '[]2');
      assert.equal(render('{{#contact.constructor}}reached{{/contact.constructor}}{{^contact.toString}}none{{/contact.toString}}', { contact }), 'none');
    });

    it('never calls functions: a function value is missing, as a value and as a section', () => {
      let calls = 0;
      const fn = () => {
        calls++;
        return 'called';
      };
      const source = '[{{fn}}{{{fn}}}{{#fn}}section{{/fn}}{{^fn}}inverted{{/fn}}{{#list}}<{{.}}>{{/list}}{{flow.fn}}]';
      const text = compileTemplate(source).render({ fn, list: [fn, 'b'] }, () => fn);
      assert.equal(text, '[inverted<><b>]');
      assert.equal(calls, 0);
      assert.throws(() => render('{{fn}}', { fn }, { missing: 'error' }), (err: MarketingError) => err.code === 'missingVariables' && err.params.names === 'fn');
    });
  });

  describe('context lookups', () => {
    it('resolves dotted paths, sections, inverted sections and the current item', () => {
      const source = '{{#contact.tags}}<{{.}}>{{/contact.tags}}{{^contact.orders}}none{{/contact.orders}}' +
        '{{#contact}} in {{city}}{{/contact}}{{#vip}} VIP{{/vip}}{{#segment}} ({{name}}){{/segment}}';
      assert.equal(render(source, { contact, vip: true, segment: { name: 'loyal' } }), '<vip><golf>none in <Lyon> VIP (loyal)');
    });

    it('looks names up in outer sections as mustache does', () => {
      const source = '{{#items}}{{name}} for {{contact.firstName}}; {{/items}}';
      assert.equal(render(source, { contact, items: [{ name: 'boots' }, { name: 'hat' }] }), "boots for O'Brien & Co; hat for O'Brien & Co; ");
    });

    it('asks the lookup callback only for names the context lacks', () => {
      const asked: string[] = [];
      const template = compileTemplate('{{contact.city}} {{flow.offer}} {{env.BRAND}} {{#global.open}}open{{/global.open}}');
      const text = template.render({ contact }, (name) => {
        asked.push(name);
        return { 'flow.offer': '10% off', 'env.BRAND': 'Acme', 'global.open': true }[name];
      });
      assert.equal(text, '<Lyon> 10% off Acme open');
      assert.deepEqual(asked, ['flow.offer', 'env.BRAND', 'global.open']);
    });

    it('lists the names a template uses, partials included, without defaults', () => {
      const template = compileTemplate('{{a.b|x}}{{#s}}{{c}}{{/s}}{{> p}}', { partials: { p: '{{flow.d}}' } });
      assert.deepEqual([...template.names].sort(), ['a.b', 'c', 'flow.d', 's']);
    });

    it('renders many contexts from one compilation', () => {
      const template = compileTemplate('Hi {{contact.firstName}}');
      assert.equal(template.render({ contact: { firstName: 'Ann' } }), 'Hi Ann');
      assert.equal(template.render({ contact: { firstName: 'Bob' } }), 'Hi Bob');
    });
  });

  describe('missing variables', () => {
    const source = 'Hi {{contact.firstName|there}}, {{contact.company}} {{contact.city}}{{#contact.vip}}!{{/contact.vip}}';
    const sparse = { contact: { firstName: '  ', city: 'Lyon' } };

    it('empty (the default): missing values render as nothing and written defaults are not used', () => {
      assert.equal(render(source, sparse), 'Hi   ,  Lyon');
      assert.equal(render(source, sparse, { missing: 'empty' }), 'Hi   ,  Lyon');
    });

    it('default: missing or blank values use their written default, or nothing', () => {
      assert.equal(render(source, sparse, { missing: 'default' }), 'Hi there,  Lyon');
      assert.equal(render('{{v | dear customer }}', { v: null }, { missing: 'default' }), 'dear customer');
      assert.equal(render('{{v|a|b}}', {}, { missing: 'default' }), 'a|b');
    });

    it('default: 0 and false are values, not missing', () => {
      assert.equal(render('{{n|none}} {{b|none}}', { n: 0, b: false }, { missing: 'default' }), '0 false');
    });

    it('escapes written defaults like values in HTML mode', () => {
      assert.equal(render('{{v|Tom & Jerry}}', {}, { missing: 'default', escape: 'html' }), 'Tom &amp; Jerry');
    });

    it('error: one error names every missing variable without a default, once each', () => {
      const template = compileTemplate(`${source} {{contact.company}} {{msg.topic}}`, { missing: 'error' });
      assert.throws(() => template.render(sparse), (err: unknown) => {
        assert.ok(err instanceof MarketingError);
        assert.equal(err.code, 'missingVariables');
        assert.deepEqual(err.params, { names: 'contact.company, msg.topic', count: 2 });
        assert.match(err.message, /contact\.company, msg\.topic/);
        return true;
      });
      assert.equal(template.render({ contact: { company: 'Acme', city: 'Lyon' }, msg: { topic: 't' } }), 'Hi there, Acme Lyon Acme t');
    });

    it('error: section names are conditions, not required variables', () => {
      assert.equal(render('{{#contact.vip}}VIP{{/contact.vip}}ok', { contact: {} }, { missing: 'error' }), 'ok');
    });
  });

  describe('partials', () => {
    const partials = { brand: 'Acme: {{brand.voice|warm}}', signature: '{{> brand}} team' };

    it('inlines partials, nested ones included, with the same context', () => {
      assert.equal(render('{{> signature}}.', { brand: { voice: 'bold' } }, { partials }), 'Acme: bold team.');
    });

    it('indents a standalone partial on every line, as mustache does', () => {
      const text = render('List:\n  {{> items}}\nEnd', {}, { partials: { items: 'one\ntwo\n' } });
      assert.equal(text, 'List:\n  one\n  two\nEnd');
    });

    it('replaces a partial tag alone on its line with the partial, whose own line break ends the line, as mustache does', () => {
      const source = 'Intro\n{{> brand}}\nBody {{> tone}} end\n{{> brand}}';
      assert.equal(render(source, {}, { partials: { brand: 'Acme', tone: 'calm' } }), 'Intro\nAcmeBody calm end\nAcme');
      assert.equal(render(source, {}, { partials: { brand: 'Acme\n', tone: 'calm' } }), 'Intro\nAcme\nBody calm end\nAcme\n');
    });

    it('reports an unknown partial with its line and column', () => {
      const err = syntaxErrorOf('Hello\n  {{> footer}}', { partials, name: 'vip' });
      assert.deepEqual(err.params, { template: 'vip', line: 2, column: 3, detail: 'unknown partial "footer"' });
    });

    it('reports partials that include each other', () => {
      const err = syntaxErrorOf('{{> a}}', { partials: { a: 'x {{> b}}', b: '{{> a}}' } });
      assert.deepEqual(err.params, { template: '> b', line: 1, column: 1, detail: 'partials include each other: a > b > a' });
    });

    it('knows only the partials it is given, not the names every object inherits', () => {
      const err = syntaxErrorOf('{{> constructor}}', { partials });
      assert.equal(err.params.detail, 'unknown partial "constructor"');
    });

    it('reports a syntax error inside a partial, even an unused one, at its place in the partial', () => {
      const err = syntaxErrorOf('fine', { partials: { brand: 'one\ntwo {{#x}}' } });
      assert.deepEqual(err.params, { template: '> brand', line: 2, column: 5, detail: 'section "x" is never closed with {{/x}}' });
    });
  });

  describe('syntax errors', () => {
    it('points at an unclosed section', () => {
      const err = syntaxErrorOf('Hi\n{{#contact.vip}}\nVIP', { name: 'default' });
      assert.deepEqual(err.params, {
        template: 'default', line: 2, column: 1, detail: 'section "contact.vip" is never closed with {{/contact.vip}}',
      });
      assert.match(err.message, /in default at line 2, column 1/);
    });

    it('points at a closing tag that does not match the open section', () => {
      const err = syntaxErrorOf('{{#a}}\n x {{/b}}');
      assert.equal(err.params.line, 2);
      assert.equal(err.params.column, 4);
      assert.equal(err.params.detail, 'section "a" must be closed with {{/a}} before this tag');
    });

    it('points at a section closed without being opened', () => {
      const err = syntaxErrorOf('ok {{/a}}');
      assert.deepEqual([err.params.line, err.params.column, err.params.detail], [1, 4, 'section "a" is closed but was never opened']);
    });

    it('points at an unclosed tag', () => {
      const err = syntaxErrorOf('Dear {{contact.firstName,\nbye');
      assert.deepEqual([err.params.line, err.params.column, err.params.detail], [1, 6, 'unclosed tag: "}}" expected']);
    });

    it('says it in the words of the nodes\' catalogs', () => {
      const err = syntaxErrorOf('{{/a}}', { name: 'subject' });
      const catalogText = (node: string, lang: string): string =>
        JSON.parse(readFileSync(resolve(__dirname, `../../../nodes/${node}/locales/${lang}/${node}.json`), 'utf8'))[node].errors.templateSyntax;
      const english = ['prompt', 'send-email'].map((node) =>
        catalogText(node, 'en-US').replace(/__(\w+)__/g, (_, key: string) => String(err.params[key])));
      assert.deepEqual(english, [err.message, err.message]);
      assert.equal(catalogText('prompt', 'zh-CN'), catalogText('send-email', 'zh-CN'));
    });

    it('counts lines and columns from 1', () => {
      assert.deepEqual(lineAndColumn('ab\ncd', 0), { line: 1, column: 1 });
      assert.deepEqual(lineAndColumn('ab\ncd', 4), { line: 2, column: 2 });
    });
  });
});
