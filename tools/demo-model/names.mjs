// Writes the word lists the corpus draws people, places and shop names from, out of the
// locale data of @faker-js/faker (MIT; a devDependency, read only here): first and last names
// of 17 Latin-script locales, city names of 6, English adjectives and nouns. No randomness:
// the same faker version writes the same file.
//
//     node tools/demo-model/names.mjs tools/demo-model/build/names.json
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { allLocales } = require('@faker-js/faker');

const LATIN_LOCALES = ['en', 'en_GB', 'en_IE', 'en_AU', 'en_IN', 'de', 'fr', 'es', 'it', 'nl', 'pt_BR', 'sv', 'pl',
  'nb_NO', 'da', 'fi', 'cs_CZ'];
const CITY_LOCALES = ['en', 'de', 'fr', 'es', 'it', 'pl'];

/** Every string of a faker list that is `string[]` or `{ female, male, generic }`. */
function flat(list) {
  if (!list) return [];
  return Array.isArray(list) ? list : Object.values(list).flat();
}

/** One or two capitalised words in Latin letters (Basic Latin to Latin Extended-B). */
const latin = (word) => /^\p{Lu}[\p{L}'’-]*( \p{Lu}[\p{L}'’-]*)?$/u.test(word) && [...word].every((c) => c <= '\u024F' || c === '’');
const unique = (words) => [...new Set(words)].sort();

const first = [];
const last = [];
for (const locale of LATIN_LOCALES) {
  const person = allLocales[locale]?.person ?? {};
  first.push(...flat(person.first_name).filter(latin));
  last.push(...flat(person.last_name).filter(latin));
}
const cities = CITY_LOCALES.flatMap((locale) => flat(allLocales[locale]?.location?.city_name)).filter(latin);
const word = allLocales.en.word;
const simple = (w) => /^[a-z]{3,10}$/.test(w);
const out = {
  source: `@faker-js/faker ${require('@faker-js/faker/package.json').version}`,
  firstNames: unique(first),
  lastNames: unique(last),
  cities: unique(cities),
  adjectives: unique(flat(word.adjective).filter(simple)),
  nouns: unique(flat(word.noun).filter(simple)),
};
writeFileSync(process.argv[2], JSON.stringify(out, null, 1));
console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.isArray(v) ? v.length : v]))));
