/**
 * The Unicode script of a code point, as SentencePiece's trainer uses it: a piece may not mix
 * scripts (`split_by_unicode_script`), so "ab," is never a piece but "1," is (digits and
 * punctuation are both Common).
 *
 * SentencePiece 0.1.x ships a table built from Unicode 9's Scripts.txt and calls every code
 * point it does not list Common. We ask the JS engine (`\p{Script=…}`) for the same 137 scripts
 * and also call every other script Common, so the answers agree except for characters that
 * Unicode assigned after version 9.
 */

/** The scripts in SentencePiece's table, without Common and Inherited. */
const SCRIPT_NAMES: readonly string[] = [
  'Adlam',
  'Ahom',
  'Anatolian_Hieroglyphs',
  'Arabic',
  'Armenian',
  'Avestan',
  'Balinese',
  'Bamum',
  'Bassa_Vah',
  'Batak',
  'Bengali',
  'Bhaiksuki',
  'Bopomofo',
  'Brahmi',
  'Braille',
  'Buginese',
  'Buhid',
  'Canadian_Aboriginal',
  'Carian',
  'Caucasian_Albanian',
  'Chakma',
  'Cham',
  'Cherokee',
  'Coptic',
  'Cuneiform',
  'Cypriot',
  'Cyrillic',
  'Deseret',
  'Devanagari',
  'Duployan',
  'Egyptian_Hieroglyphs',
  'Elbasan',
  'Ethiopic',
  'Georgian',
  'Glagolitic',
  'Gothic',
  'Grantha',
  'Greek',
  'Gujarati',
  'Gurmukhi',
  'Han',
  'Hangul',
  'Hanunoo',
  'Hatran',
  'Hebrew',
  'Hiragana',
  'Imperial_Aramaic',
  'Inscriptional_Pahlavi',
  'Inscriptional_Parthian',
  'Javanese',
  'Kaithi',
  'Kannada',
  'Katakana',
  'Kayah_Li',
  'Kharoshthi',
  'Khmer',
  'Khojki',
  'Khudawadi',
  'Lao',
  'Latin',
  'Lepcha',
  'Limbu',
  'Linear_A',
  'Linear_B',
  'Lisu',
  'Lycian',
  'Lydian',
  'Mahajani',
  'Malayalam',
  'Mandaic',
  'Manichaean',
  'Marchen',
  'Meetei_Mayek',
  'Mende_Kikakui',
  'Meroitic_Cursive',
  'Meroitic_Hieroglyphs',
  'Miao',
  'Modi',
  'Mongolian',
  'Mro',
  'Multani',
  'Myanmar',
  'Nabataean',
  'New_Tai_Lue',
  'Newa',
  'Nko',
  'Ogham',
  'Ol_Chiki',
  'Old_Hungarian',
  'Old_Italic',
  'Old_North_Arabian',
  'Old_Permic',
  'Old_Persian',
  'Old_South_Arabian',
  'Old_Turkic',
  'Oriya',
  'Osage',
  'Osmanya',
  'Pahawh_Hmong',
  'Palmyrene',
  'Pau_Cin_Hau',
  'Phags_Pa',
  'Phoenician',
  'Psalter_Pahlavi',
  'Rejang',
  'Runic',
  'Samaritan',
  'Saurashtra',
  'Sharada',
  'Shavian',
  'Siddham',
  'SignWriting',
  'Sinhala',
  'Sora_Sompeng',
  'Sundanese',
  'Syloti_Nagri',
  'Syriac',
  'Tagalog',
  'Tagbanwa',
  'Tai_Le',
  'Tai_Tham',
  'Tai_Viet',
  'Takri',
  'Tamil',
  'Tangut',
  'Telugu',
  'Thaana',
  'Thai',
  'Tibetan',
  'Tifinagh',
  'Tirhuta',
  'Ugaritic',
  'Vai',
  'Warang_Citi',
  'Yi',
];

/** Script ids: Common and Inherited first, then SCRIPT_NAMES in order. */
export const SCRIPT_COMMON = 0;
export const SCRIPT_INHERITED = 1;
const FIRST_NAMED_SCRIPT = 2;

export const SCRIPT_HAN = FIRST_NAMED_SCRIPT + SCRIPT_NAMES.indexOf('Han');
export const SCRIPT_HIRAGANA = FIRST_NAMED_SCRIPT + SCRIPT_NAMES.indexOf('Hiragana');
export const SCRIPT_KATAKANA = FIRST_NAMED_SCRIPT + SCRIPT_NAMES.indexOf('Katakana');

const scriptPatterns = SCRIPT_NAMES.map((name) => new RegExp(`^\\p{Script=${name}}$`, 'u'));
const inheritedPattern = /^\p{Script=Inherited}$/u;
const cache = new Map<number, number>();

/** The script id of code point `cp` (cached: a corpus uses few distinct characters). */
export function scriptOf(cp: number): number {
  const hit = cache.get(cp);
  if (hit !== undefined) return hit;
  const ch = String.fromCodePoint(cp);
  let script = SCRIPT_COMMON;
  if (inheritedPattern.test(ch)) script = SCRIPT_INHERITED;
  else {
    for (let i = 0; i < scriptPatterns.length; i++) {
      if (scriptPatterns[i]!.test(ch)) {
        script = FIRST_NAMED_SCRIPT + i;
        break;
      }
    }
  }
  cache.set(cp, script);
  return script;
}
